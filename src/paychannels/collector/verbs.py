"""Each channel verb timed and told once: one INFO line, and the instrumentation hooked in.

An operator reads one line per exchange with a channel (collect, refund, cancel, an inquiry,
a recovery pass) under ``paychannels.channel.<name>``; metrics and traces hook in through
``VerbHook`` (``Collector.instrument``) without the Collector knowing who listens. The line
carries ids, statuses and timings only — never a request's payer, amount or payment code.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from paychannels.runtime import forks
from paychannels.values.models import Record
from paychannels.values.status import Status

__all__ = ["VerbHook", "VerbResult", "VerbScope", "Verbs", "logger_for"]

log = logging.getLogger("paychannels.collector")


def logger_for(channel: str | None) -> logging.Logger:
    """The logger of a channel's verbs; a verb over every channel logs as the collector."""
    return logging.getLogger(
        f"paychannels.channel.{channel}" if channel else "paychannels.collector"
    )


@dataclass(frozen=True)
class VerbResult:
    """How one verb ended: what it was about, the status it left, how long it took."""

    verb: str
    channel: str | None
    record_id: str | None
    status: Status | None
    elapsed: float  # seconds, monotonic
    #: the exception's class name when the verb raised (the status then is what was known)
    error: str | None = None
    #: how many records a verb over many touched (collect_many, recover)
    count: int | None = None


class VerbHook(Protocol):
    """Instrumentation around channel verbs (spans, latency); see ``Collector.instrument``.

    ``started`` runs on the verb's thread before the channel is touched and returns a token
    (a span, a start time…) handed back to ``ended``. A hook's exception is logged, never raised.
    """

    def started(self, verb: str, channel: str | None, record_id: str | None) -> object: ...

    def ended(self, token: object, result: VerbResult) -> None: ...


class VerbScope:
    """What the verb learned while it ran: the record it is about, and how that ended."""

    def __init__(self, channel: str | None, record_id: str | None) -> None:
        self.channel = channel
        self.record_id = record_id
        self.status: Status | None = None
        self.count: int | None = None

    def done(self, record: Record | None = None, *, count: int | None = None) -> None:
        """The verb's result: the record as it left it, or how many records it touched."""
        if record is not None:
            self.record_id, self.channel, self.status = record.id, record.channel, record.status
        self.count = count


class Verbs:
    """The hooks listening to verbs, and the timing of each; safe to use from many threads."""

    def __init__(self) -> None:
        self._hooks: list[VerbHook] = []
        self._lock = threading.Lock()
        forks.renew_after_fork(self)

    def after_fork(self) -> None:
        """In a forked child: a parent thread may have held the lock at the fork."""
        self._lock = threading.Lock()

    def hook(self, hook: VerbHook) -> Callable[[], None]:
        """Add a hook; returns its removal."""
        with self._lock:
            self._hooks.append(hook)

        def remove() -> None:
            with self._lock:
                if hook in self._hooks:
                    self._hooks.remove(hook)

        return remove

    @contextmanager
    def observe(
        self, verb: str, channel: str | None, record_id: str | None = None
    ) -> Iterator[VerbScope]:
        """Time the block as ``verb``; the block tells its result with ``scope.done(...)``."""
        with self._lock:
            hooks = list(self._hooks)
        tokens = [(hook, self._start(hook, verb, channel, record_id)) for hook in hooks]
        scope = VerbScope(channel, record_id)
        began = time.perf_counter()
        error: str | None = None
        try:
            yield scope
        except BaseException as exc:
            error = type(exc).__name__
            raise
        finally:
            result = VerbResult(
                verb,
                scope.channel,
                scope.record_id,
                scope.status,
                time.perf_counter() - began,
                error,
                scope.count,
            )
            _log_line(result)
            for hook, token in tokens:
                try:
                    hook.ended(token, result)
                except Exception:  # instrumentation must never break a payment
                    log.exception("verb hook %r failed after %s", hook, verb)

    @staticmethod
    def _start(hook: VerbHook, verb: str, channel: str | None, record_id: str | None) -> object:
        try:
            return hook.started(verb, channel, record_id)
        except Exception:  # instrumentation must never break a payment
            log.exception("verb hook %r failed before %s", hook, verb)
            return None


def _log_line(result: VerbResult) -> None:
    """The one INFO line of a verb; its fields also ride on the record for JSON output."""
    logger = logger_for(result.channel)
    if not logger.isEnabledFor(logging.INFO):
        return
    elapsed_ms = round(result.elapsed * 1000, 1)
    status = result.status.value if result.status else None
    fields = {
        "verb": result.verb,
        "payment_id": result.record_id,
        "channel": result.channel,
        "status": status,
        "elapsed_ms": elapsed_ms,
    }
    text = "%s %s channel=%s status=%s elapsed_ms=%s"
    args: list[object] = [result.verb, result.record_id or "-", result.channel or "-"]
    args += [status or "-", elapsed_ms]
    if result.count is not None:
        fields["count"] = result.count
        text += " count=%s"
        args.append(result.count)
    if result.error:
        fields["error"] = result.error
        text += " error=%s"
        args.append(result.error)
    logger.info(text, *args, extra={"paychannels": fields})
