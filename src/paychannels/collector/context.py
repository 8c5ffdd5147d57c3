"""The ``ChannelContext`` a Collector hands its adapters: progress, counters, state, locks.

Everything an adapter may ask of the backend goes through here, so an adapter never holds
the journal itself: progress lines travel with the verb's outcome, counters and state are
the journal's per-channel rows, locks are the journal's cross-process leases.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from pydantic import JsonValue

from paychannels.collector.channelset import ChannelSet
from paychannels.collector.feed import EventFeed
from paychannels.journal import Change, Journal, StateEntry
from paychannels.journal.locks import LockTable
from paychannels.runtime.clock import Clock
from paychannels.runtime.crashpoints import crashpoint
from paychannels.values.models import EventType, Record
from paychannels.values.paymentcode import PaymentCode

__all__ = ["LEASE_MARGIN", "CollectorContext", "Contexts"]

#: seconds a channel lock outlives the channel's longest dispatch
LEASE_MARGIN = 60.0


class Contexts:
    """What a Collector's contexts share — journal, clock, feed, locks, channels — and the
    maker of one context per verb."""

    def __init__(
        self,
        journal: Journal,
        clock: Clock,
        feed: EventFeed,
        locks: LockTable,
        channels: ChannelSet,
    ) -> None:
        self.journal = journal
        self.clock = clock
        self.feed = feed
        self.locks = locks
        self.channels = channels
        self._codes: dict[str, PaymentCode] = {}
        self._codes_lock = threading.Lock()

    @contextmanager
    def holding_code(self, record_id: str, code: PaymentCode) -> Iterator[None]:
        """Hold ``code`` for the one dispatch of ``record_id`` that follows its intent;
        whatever that dispatch did, the code is dropped when it ends (memory only)."""
        with self._codes_lock:
            self._codes[record_id] = code
        try:
            yield
        finally:
            with self._codes_lock:
                self._codes.pop(record_id, None)

    def take_code(self, record_id: str) -> PaymentCode | None:
        """The code held for ``record_id``, handed out once: a second take gets None."""
        with self._codes_lock:
            return self._codes.pop(record_id, None)

    def for_record(self, record: Record) -> CollectorContext:
        """The context for one verb on ``record`` (its progress belongs to it)."""
        return CollectorContext(self, record.channel, record.id)

    def for_channel(self, name: str) -> CollectorContext:
        """The context for a channel's own work outside a payment (end of day, a ledger)."""
        return CollectorContext(self, name, None)


class CollectorContext:
    """The ``ChannelContext`` the Collector hands an adapter for one verb on one record
    (``record_id``), or for the channel's own work outside a payment (``None``)."""

    def __init__(self, shared: Contexts, channel_name: str, record_id: str | None) -> None:
        self._shared = shared
        self._channel_name = channel_name
        self._record_id = record_id
        self._progress: list[Change] = []

    @property
    def channel_name(self) -> str:
        return self._channel_name

    def _target(self) -> str:
        if self._record_id is None:
            raise RuntimeError("progress belongs to a payment; none is in hand")
        return self._record_id

    @property
    def clock(self) -> Clock:
        return self._shared.clock

    def progress(self, text: str, **data: JsonValue) -> None:
        """Published live now; journaled with the verb's outcome, in the same commit.

        A progress text is news for a screen, not a state: persisting each in its own
        commit cost more than the payment's state changes, and a crash mid-dialogue loses
        only texts the outcome (UNKNOWN, then asked) does not need.
        """
        shared = self._shared
        payload: dict[str, JsonValue] = {"text": text, **data, "at": shared.clock.now().isoformat()}
        target = self._target()
        self._progress.append(Change(event=EventType.PROGRESS, data=payload))
        shared.feed.progress(target, payload)

    def held(self) -> list[Change]:
        """The progress events not journaled yet (they go with the next write of the record)."""
        out, self._progress = self._progress, []
        return out

    def next_number(self, key: str, *, start: int = 1) -> int:
        shared = self._shared
        return shared.journal.state_next(
            self.channel_name, key, now=shared.clock.now(), start=start
        )

    def state_get(self, key: str) -> StateEntry | None:
        return self._shared.journal.state_get(self.channel_name, key)

    def state_put(self, key: str, value: JsonValue, *, expected_version: int) -> bool:
        shared = self._shared
        return shared.journal.state_put(
            self.channel_name, key, value, expected_version=expected_version, now=shared.clock.now()
        )

    def lock(self, name: str, *, timeout: float) -> AbstractContextManager[None]:
        shared = self._shared
        lease = shared.channels.get(self.channel_name).capabilities.dispatch_timeout + LEASE_MARGIN
        return shared.locks.hold(f"{self.channel_name}:{name}", lease=lease, timeout=timeout)

    def crashpoint(self, name: str) -> None:
        crashpoint(name)

    def take_payment_code(self) -> PaymentCode | None:
        """The record's scanned code if this process holds it for this dispatch (once)."""
        if self._record_id is None:
            return None
        return self._shared.take_code(self._record_id)
