"""The ``ChannelContext`` a Collector hands its adapters: progress, counters, state, locks.

Everything an adapter may ask of the backend goes through here, so an adapter never holds
the journal itself: progress lines travel with the verb's outcome, counters and state are
the journal's per-channel rows, locks are the journal's cross-process leases.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from pydantic import JsonValue

from paychannels.clock import Clock
from paychannels.crashpoints import crashpoint
from paychannels.journal import Change, StateEntry
from paychannels.models import EventType

if TYPE_CHECKING:
    from paychannels.collector import Collector

__all__ = ["LEASE_MARGIN", "CollectorContext"]

#: seconds a channel lock outlives the channel's longest dispatch
LEASE_MARGIN = 60.0


class CollectorContext:
    """The ``ChannelContext`` the Collector hands an adapter for one verb on one record
    (``record_id``), or for the channel's own work outside a payment (``None``)."""

    def __init__(self, collector: Collector, channel_name: str, record_id: str | None) -> None:
        self._collector = collector
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
        return self._collector.clock

    def progress(self, text: str, **data: JsonValue) -> None:
        """Published live now; journaled with the verb's outcome, in the same commit.

        A progress text is news for a screen, not a state: persisting each in its own
        commit cost more than the payment's state changes, and a crash mid-dialogue loses
        only texts the outcome (UNKNOWN, then asked) does not need.
        """
        col = self._collector
        payload: dict[str, JsonValue] = {"text": text, **data, "at": col.clock.now().isoformat()}
        target = self._target()
        self._progress.append(Change(event=EventType.PROGRESS, data=payload))
        col.feed.progress(target, payload)

    def held(self) -> list[Change]:
        """The progress events not journaled yet (they go with the next write of the record)."""
        out, self._progress = self._progress, []
        return out

    def next_number(self, key: str, *, start: int = 1) -> int:
        col = self._collector
        return col.journal.state_next(self.channel_name, key, now=col.clock.now(), start=start)

    def state_get(self, key: str) -> StateEntry | None:
        return self._collector.journal.state_get(self.channel_name, key)

    def state_put(self, key: str, value: JsonValue, *, expected_version: int) -> bool:
        col = self._collector
        return col.journal.state_put(
            self.channel_name, key, value, expected_version=expected_version, now=col.clock.now()
        )

    def lock(self, name: str, *, timeout: float) -> AbstractContextManager[None]:
        col = self._collector
        lease = col.channel(self.channel_name).capabilities.dispatch_timeout + LEASE_MARGIN
        return col.locks.hold(f"{self.channel_name}:{name}", lease=lease, timeout=timeout)

    def crashpoint(self, name: str) -> None:
        crashpoint(name)
