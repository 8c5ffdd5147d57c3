"""Asking a channel what became of a record, and applying the answer to the attempt asked about.

Used by recovery (in-doubt records) and intake (an unverified hint). A question that did not
get through teaches nothing: it is noted, the record stays as it was.
"""

from __future__ import annotations

import logging

from paychannels.channels.base import Channel
from paychannels.collector.context import Contexts
from paychannels.collector.resolution import resolve
from paychannels.collector.verbs import Verbs
from paychannels.collector.writer import JournalWriter
from paychannels.journal import Change
from paychannels.runtime.crashpoints import crashpoint
from paychannels.security.masking import scrub
from paychannels.values.models import EventType, Record

__all__ = ["Inquirer"]

log = logging.getLogger("paychannels.collector")


class Inquirer:
    """Asks channels about records (``Channel.inquire``) and journals what they said."""

    def __init__(self, writer: JournalWriter, contexts: Contexts, verbs: Verbs) -> None:
        self._writer = writer
        self._contexts = contexts
        self._verbs = verbs

    def ask(self, record: Record, ch: Channel, *, via: str) -> Record:
        """The record after asking ``ch`` about it; unchanged (no write) if nothing moved."""
        with self._verbs.observe("inquire", record.channel, record.id) as verb:
            answered = self._ask(record, ch, via=via)
            verb.done(answered)
        return answered

    def _ask(self, record: Record, ch: Channel, *, via: str) -> Record:
        ctx = self._contexts.for_record(record)
        try:
            outcome = ch.inquire(record, ctx)
        except Exception as exc:  # the question did not get through: we learned nothing
            detail = scrub(f"{type(exc).__name__}: {exc}")
            log.info("%s: inquiry failed: %s", record.id, detail)
            note = Change(event=EventType.NOTE, data={"text": f"inquiry failed: {detail}"})
            changes = [*ctx.held(), note]
            return self._writer.modify(record.id, lambda _current: changes)
        crashpoint("recover.after_inquiry")
        held = ctx.held()
        attempt = record.attempt  # the answer is about the attempt we asked about
        if not held and not resolve(record, outcome, via=via, attempt=attempt):
            # nothing to change as of what we read (a PENDING order still pending): no write;
            # had the record moved meanwhile, its writer handled it and we learned nothing new
            return record
        return self._writer.apply_outcome(record.id, outcome, via=via, notes=held, attempt=attempt)
