"""Voids: giving a SUCCEEDED payment back in full, with the intent journaled before the call.

A void (a payment code's reverse, a terminal's reversal) may return the money the moment the
channel receives it, so "a void was sent" must be in the journal before any byte leaves,
never only in the sending process: the payment keeps SUCCEEDED (the table's only edge out of
it is REVERSED, and the money is still taken until the channel says otherwise) and gets a
claim naming this process, with a lease, in one write with a ``note`` event. Its answer ends
the void: REVERSED (the status change drops the claim), or a certain "not done" (the claim
is released). With no trustworthy answer — or if the process dies — the claim stays with an
expired lease, and ``recover()`` asks the channel and concludes from what it says.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from datetime import datetime

from pydantic import JsonValue

from paychannels.channels.base import Channel
from paychannels.collector.context import Contexts
from paychannels.collector.dispatch import Dispatcher
from paychannels.collector.resolution import attention, resolve
from paychannels.collector.writer import JournalWriter
from paychannels.journal import Change, Claim, Journal
from paychannels.runtime.clock import Clock
from paychannels.runtime.crashpoints import crashpoint
from paychannels.security.masking import scrub
from paychannels.values.errors import IllegalTransition, NotSentError
from paychannels.values.models import EventType, Outcome, Record, as_payment
from paychannels.values.reasons import Reason
from paychannels.values.status import Status

__all__ = ["Voids"]

log = logging.getLogger("paychannels.collector")

#: the channel's answers that leave a void in doubt (ask again); any other one ends it
_IN_DOUBT = (Status.UNKNOWN, Status.PENDING, Status.DISPATCHED)
#: refunds that gave (or may have given) money back; a void must not return it twice
_GIVING_BACK = (
    Status.DISPATCHED,
    Status.PENDING,
    Status.UNKNOWN,
    Status.NEEDS_ATTENTION,
    Status.SUCCEEDED,
)
#: the attention flag of a void unanswered past the deadline (cleared once it is settled)
_UNANSWERED = "a void stayed unanswered"


def _note(text: str, **data: JsonValue) -> dict[str, JsonValue]:
    return {"via": "void", "text": text, **data}


class Voids:
    """Sends voids and settles interrupted ones; see the module docstring."""

    def __init__(
        self,
        journal: Journal,
        writer: JournalWriter,
        contexts: Contexts,
        dispatcher: Dispatcher,
        clock: Clock,
    ) -> None:
        self._journal = journal
        self._writer = writer
        self._contexts = contexts
        self._dispatcher = dispatcher
        self._clock = clock

    def void(self, record: Record, ch: Channel) -> Record:
        """Journal the void, send it, and journal what the channel answered."""
        claimed = self._intent(record, ch)
        crashpoint("void.after_intent")
        ctx = self._contexts.for_record(claimed)
        try:
            outcome = ch.void(as_payment(claimed), ctx)
        except NotSentError as exc:  # provably never left: the payment stands as it was
            self._end(claimed, ctx.held(), f"void not sent: {scrub(str(exc))}")
            raise
        except Exception as exc:  # it may have reached the channel: ask before anything else
            self._in_doubt(claimed, ctx.held(), f"{type(exc).__name__}: {scrub(str(exc))}")
            raise
        crashpoint("void.after_answer")
        if outcome.status in _IN_DOUBT:
            detail = outcome.reason_detail or outcome.message or str(outcome.status)
            return self._in_doubt(claimed, ctx.held(), scrub(detail))
        release = Change(event=EventType.NOTE, release_claim=True, data=_note("void answered"))
        return self._writer.apply_outcome(
            claimed.id,
            outcome,
            via="void",
            notes=[*ctx.held(), release],
            attempt=claimed.attempt,
        )

    def settle(self, seen: Record, ch: Channel, *, attention_after_since: datetime) -> Record:
        """Ask the channel what became of an interrupted void and conclude from its answer:
        REVERSED (the money went back), or the payment stands (the provider holds it paid).

        ``attention_after_since``: a void in doubt since before this is flagged for a person.
        """
        ctx = self._contexts.for_record(seen)
        try:
            outcome = ch.inquire(seen, ctx)
        except Exception as exc:  # the question did not get through: we learned nothing
            detail = scrub(f"{type(exc).__name__}: {exc}")
            log.info("%s: inquiry about its void failed: %s", seen.id, detail)
            outcome = Outcome.unknown(f"inquiry failed: {detail}")
        crashpoint("recover.after_inquiry")
        held = ctx.held()

        def decide(current: Record) -> list[Change]:
            if current.claimed_by != seen.claimed_by or not current.voiding:
                return []  # settled meanwhile, by its sender or another recovery
            if outcome.status in _IN_DOUBT:
                text = f"void still unanswered: {outcome.reason_detail or outcome.status}"
                steps = [*held, Change(event=EventType.NOTE, data=_note(scrub(text)))]
                since = current.lease_until or current.updated_at
                if since <= attention_after_since and current.attention is None:
                    steps += attention(current, _UNANSWERED, Reason.RECOVERY_DEADLINE)
                return steps
            if outcome.status is Status.SUCCEEDED:
                text = "void did not take effect: the channel holds the payment paid"
            else:
                text = f"void settled by recovery: {outcome.status}"
            release = Change(
                event=EventType.NOTE,
                release_claim=True,
                data=_note(text),
                # the flag this void's silence raised is answered now; any other one stays
                attention="" if current.attention == _UNANSWERED else None,
            )
            answer = resolve(current, outcome, via="void recovery", attempt=seen.attempt)
            return [*held, release, *answer]

        return self._writer.modify(seen.id, decide)

    # -- the journal's side ----------------------------------------------------------------

    def _intent(self, record: Record, ch: Channel) -> Record:
        """The void's claim on the SUCCEEDED payment, committed before the channel is called."""
        refunds = self._journal.find(parent_id=record.id, statuses=_GIVING_BACK, limit=1)
        if refunds:
            raise IllegalTransition(
                f"{record.id} has refund {refunds[0].id} ({refunds[0].status}); a void gives "
                "all back: refund the rest instead"
            )
        claim = self._dispatcher.lease(ch)
        change = Change(
            event=EventType.NOTE,
            claim=claim,
            attempt=record.attempt,
            data=_note("void requested", owner=claim.owner),
        )

        def decide(current: Record) -> list[Change]:
            if current.status is not Status.SUCCEEDED:
                raise IllegalTransition(f"{record.id} moved to {current.status} meanwhile")
            if current.voiding and not self._unanswered(current):
                raise IllegalTransition(
                    f"{record.id}: a void is in flight ({current.claimed_by}); "
                    "wait for its answer, or recover() once its lease is over"
                )
            if current.voiding:  # asked again after no answer: the channel's void asks first
                again = _note("void requested again", owner=claim.owner)
                return [dataclasses.replace(change, data=again)]
            return [change]

        return self._writer.modify(record.id, decide)

    def _unanswered(self, record: Record) -> bool:
        """A journaled void whose sender has given up waiting (its lease is over): asking
        again is safe, because every channel's void first asks whether the last one took."""
        return record.lease_until is not None and record.lease_until <= self._clock.now()

    def _end(self, claimed: Record, held: Sequence[Change], text: str) -> Record:
        release = Change(event=EventType.NOTE, release_claim=True, data=_note(text))
        return self._writer.modify(claimed.id, lambda _current: [*held, release])

    def _in_doubt(self, claimed: Record, held: Sequence[Change], detail: str) -> Record:
        """Keep the claim, with its lease ended now: recovery (in any process) asks."""
        ended = Claim(str(claimed.claimed_by), self._clock.now())
        note = Change(
            event=EventType.NOTE,
            claim=ended,
            data=_note(f"void unanswered ({detail}); recover() asks the channel"),
        )
        log.warning("%s: void unanswered (%s)", claimed.id, detail)
        return self._writer.modify(claimed.id, lambda _current: [*held, note])
