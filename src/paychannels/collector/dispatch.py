"""Dispatch: claiming a journaled record and handing it to its channel.

The claim (DISPATCHED, with this process as claimant and a lease) is committed before the
channel is touched; whatever the channel then does — answers, raises, hangs — ends in an
outcome applied through the one resolution policy, naming the attempt the claim opened (an
answer never lands on a later attempt). ``NotSentError`` means provably nothing left
(NOT_SENT, safe to send again); any other failure after the claim is UNKNOWN.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from paychannels.channels.base import Channel
from paychannels.collector.context import LEASE_MARGIN, CollectorContext
from paychannels.crashpoints import crashpoint
from paychannels.errors import ChannelError, NotSentError
from paychannels.journal import Change, Claim
from paychannels.journal.base import Applied, Decide
from paychannels.masking import scrub
from paychannels.models import Outcome, Record, Refund, as_payment
from paychannels.status import Status

if TYPE_CHECKING:
    from paychannels.collector import Collector

__all__ = ["claim", "claim_all", "claim_change", "dispatch", "dispatch_all"]

log = logging.getLogger("paychannels.collector")


def claim_all(col: Collector, records: Sequence[Record], ch: Channel) -> list[Record]:
    change = claim_change(col, ch)

    def decide(current: Record) -> list[Change]:
        return [change] if current.status in (Status.CREATED, Status.NOT_SENT) else []

    items: list[tuple[str, Decide]] = [(r.id, decide) for r in records]
    applied = col._modify_all(items)
    return [a.record for a in applied if isinstance(a, Applied) and a.events]


def dispatch_all(col: Collector, records: Sequence[Record], ch: Channel) -> list[Record]:
    """Send claimed payments: together on a batch channel, else one by one."""
    if not ch.capabilities.batch:
        return [dispatch(col, r, ch) for r in records]
    payments = [as_payment(r) for r in records]
    try:
        outcomes = ch.start_batch(payments, CollectorContext(col, records[0].channel, None))
        if len(outcomes) != len(payments):
            raise ChannelError(
                f"{ch.describe()} answered {len(outcomes)} outcomes for {len(payments)}"
            )
    except NotSentError as exc:
        outcomes = [Outcome.not_sent(scrub(str(exc)))] * len(payments)
    except Exception as exc:  # the file may have been written: every payment is in doubt
        detail = scrub(f"{type(exc).__name__}: {exc}")
        log.warning(
            "%s: batch of %d raised %s; outcomes UNKNOWN", ch.describe(), len(payments), detail
        )
        outcomes = [Outcome.unknown(detail)] * len(payments)
    crashpoint("collect.after_outcome")
    return col.apply_outcomes(
        [(p.id, o) for p, o in zip(payments, outcomes, strict=True)],
        via="dispatch",
        attempts={r.id: r.attempt for r in records},
    )


def claim_change(col: Collector, ch: Channel) -> Change:
    until = col.clock.now() + timedelta(seconds=ch.capabilities.dispatch_timeout + LEASE_MARGIN)
    return Change(
        to_status=Status.DISPATCHED,
        claim=Claim(col.owner, until),
        new_attempt=True,
        data={"owner": col.owner},
    )


def claim(col: Collector, record: Record, ch: Channel) -> Record | None:
    """Mark a CREATED/NOT_SENT record DISPATCHED for us; None if someone else has it."""
    if record.status not in (Status.CREATED, Status.NOT_SENT):
        return None
    change = claim_change(col, ch)

    def decide(current: Record) -> list[Change]:
        return [change] if current.status in (Status.CREATED, Status.NOT_SENT) else []

    applied = col._write(lambda now: col.journal.modify(record.id, decide, now=now))
    crashpoint("collect.after_dispatch_mark")
    return applied.record if applied.events else None


def dispatch(col: Collector, record: Record, ch: Channel) -> Record:
    ctx = CollectorContext(col, record.channel, record.id)
    try:
        if isinstance(record, Refund):
            parent = as_payment(col.journal.get(record.parent_id))
            outcome = ch.refund(record, parent, ctx)
        else:
            outcome = ch.start(as_payment(record), ctx)
    except NotSentError as exc:
        outcome = Outcome.not_sent(scrub(str(exc)))
    except Exception as exc:  # anything else after the mark: money may have moved
        log.warning(
            "%s: %s raised %s; outcome UNKNOWN",
            record.id,
            ch.describe(),
            scrub(f"{type(exc).__name__}: {exc}"),
        )
        outcome = Outcome.unknown(scrub(f"{type(exc).__name__}: {exc}"))
    crashpoint("collect.after_outcome")
    updated = col.apply_outcome(
        record.id, outcome, via="dispatch", notes=ctx.held(), attempt=record.attempt
    )
    crashpoint("collect.after_journal")
    return updated
