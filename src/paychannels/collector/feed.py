"""The live feed of a Collector: event subscribers and progress watchers in this process.

Subscribers hear each journal event after it is committed; progress watchers hear a
channel's progress text the moment it is said (a cashier's screen). A subscriber's or a
watcher's bug is logged and never breaks the payment flow.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from pydantic import JsonValue

from paychannels.runtime import forks
from paychannels.values.models import Event

__all__ = ["EventFeed", "ProgressWatcher", "Subscriber"]

log = logging.getLogger("paychannels.collector")

Subscriber = Callable[[Event], None]
ProgressWatcher = Callable[[str, dict[str, JsonValue]], None]
_Listener = TypeVar("_Listener")


class EventFeed:
    """Who listens, and telling them; safe to use from many threads."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._watchers: list[ProgressWatcher] = []
        self._lock = threading.Lock()
        forks.renew_after_fork(self)

    def after_fork(self) -> None:
        """In a forked child: a parent thread may have held the lock at the fork."""
        self._lock = threading.Lock()

    @property
    def has_subscribers(self) -> bool:
        """Whether anyone listens to events (bulk paths skip reading events back if not)."""
        return bool(self._subscribers)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Add an event subscriber; returns its unsubscribe."""
        return self._add(self._subscribers, callback)

    def watch_progress(self, callback: ProgressWatcher) -> Callable[[], None]:
        """Add a progress watcher; returns its unsubscribe."""
        return self._add(self._watchers, callback)

    def _add(self, listeners: list[_Listener], callback: _Listener) -> Callable[[], None]:
        with self._lock:
            listeners.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in listeners:
                    listeners.remove(callback)

        return remove

    def publish(self, events: Sequence[Event]) -> None:
        """Tell every subscriber of each committed event, in order."""
        if not events:
            return
        with self._lock:
            subscribers = list(self._subscribers)
        for event in events:
            for callback in subscribers:
                try:
                    callback(event)
                except Exception:  # a subscriber's bug must not break the payment flow
                    log.exception("event subscriber %r failed on event %s", callback, event.seq)

    def progress(self, record_id: str, data: dict[str, JsonValue]) -> None:
        """Tell every progress watcher what a channel just said about a record."""
        with self._lock:
            watchers = list(self._watchers)
        for callback in watchers:
            try:
                callback(record_id, dict(data))
            except Exception:  # a screen's bug must not break the payment flow
                log.exception("progress watcher %r failed", callback)
