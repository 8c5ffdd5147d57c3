"""Ctrl-C and SIGTERM: every command ends cleanly — exit 130 / 143, one line on stderr.

Python's default turns SIGINT into a ``KeyboardInterrupt`` raised wherever the main thread
happens to be (inside a lock, between a ``BEGIN`` and its ``ROLLBACK``) and SIGTERM kills
outright. Instead a command's work runs on a worker thread and the main thread only waits
for it and for signals. On a signal it closes what the command registered with its
``Stopping`` (Collectors and journals: calls in flight finish within a bound, new ones are
refused), lets the work unwind, removes the temporary folders (or names those it keeps or
cannot remove) and returns 128 + the signal's number. Work still running after the bound
is left behind: the process then ends at once without running interpreter shutdown under
live threads (the journal is crash-safe by design; ``recover()`` resolves what was cut).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import inspect
import logging
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Protocol, TypeVar

from paychannels.values.errors import PaychannelsError

__all__ = [
    "DEFAULT_GRACE",
    "Closeable",
    "Interrupted",
    "Stopping",
    "catching",
    "run",
    "watched",
]

log = logging.getLogger("paychannels.console")

#: seconds a signalled command has to wind down (calls in flight, then its work)
DEFAULT_GRACE = 10.0
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Closeable(Protocol):
    """A Collector or a journal: closing refuses new work, lets running work finish."""

    def close(self) -> None:
        """Close (a Collector waits, bounded, for its calls in flight)."""
        ...


_C = TypeVar("_C", bound=Closeable)


class Interrupted(PaychannelsError):
    """A signal stopped the command between two of its steps."""


class Stopping:
    """What a signal must stop in one command: its Collectors and journals, its folders."""

    def __init__(self, *, grace: float = DEFAULT_GRACE) -> None:
        self.grace = grace
        self.signum: int | None = None
        #: the command ends itself at its next step when told (a loop between rounds): a
        #: first signal only tells it; a second one winds it down as usual
        self.draining = False
        self._signals = 0
        self._event = threading.Event()
        self._guard = threading.Lock()
        self._closeables: list[Closeable] = []
        self._folders: dict[Path, bool] = {}  # folder -> temporary (remove) or kept (name)

    @property
    def requested(self) -> bool:
        """Whether a signal asked the command to stop."""
        return self._event.is_set()

    def check(self) -> None:
        """Raise ``Interrupted`` if a signal came: long work calls it between steps."""
        if self.requested:
            raise Interrupted(f"stopped by {signal.Signals(self.signum or 2).name}")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a signal (True) or ``timeout`` seconds (False): for servers."""
        return self._event.wait(timeout)

    def watch(self, thing: _C) -> _C:
        """Close ``thing`` on a signal (at once, if one came already); returns it."""
        with self._guard:
            self._closeables.append(thing)
            late = self.requested
        if late:
            thing.close()
        return thing

    def folder(self, path: Path, *, temporary: bool) -> None:
        """A workspace: removed on a signal when ``temporary``, else named as kept."""
        with self._guard:
            self._folders[path] = temporary

    def request(self, signum: int) -> None:
        """A signal came (the first one counts)."""
        if self.signum is None:
            self.signum = signum
        self._signals += 1
        self._event.set()

    @property
    def must_wind_down(self) -> bool:
        """A signal came that the command does not end by itself (see ``draining``)."""
        return self.requested and (not self.draining or self._signals > 1)

    def close_all(self, deadline: float) -> None:
        """Close what was registered, each within what is left of the bound (passed to a
        ``close`` that takes a ``timeout``, as ``Collector.close`` does)."""
        with self._guard:
            things = list(self._closeables)
        for thing in things:
            try:
                if _takes_timeout(thing):
                    thing.close(timeout=max(0.0, deadline - time.monotonic()))  # type: ignore[call-arg]
                else:
                    thing.close()
            except Exception as exc:  # winding down: report, never a traceback
                log.info("closing %r after a signal failed: %s", thing, exc)

    def tidy(self) -> list[str]:
        """Remove temporary folders; what the user should know about the rest."""
        notes: list[str] = []
        with self._guard:
            folders = dict(self._folders)
        for path, temporary in folders.items():
            if temporary:
                shutil.rmtree(path, ignore_errors=True)
                if path.exists():
                    notes.append(f"temporary folder {path} left behind")
            elif path.exists():
                notes.append(f"workspace kept at {path}")
        return notes


def _takes_timeout(thing: Closeable) -> bool:
    try:
        return "timeout" in inspect.signature(thing.close).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        return False


def watched(args: argparse.Namespace, thing: _C) -> _C:
    """``thing``, closed on a signal when the command runs under ``run`` (``args.stopping``)."""
    stopping = getattr(args, "stopping", None)
    return stopping.watch(thing) if isinstance(stopping, Stopping) else thing


def run(work: Callable[[], int], stopping: Stopping, *, prog: str) -> int:
    """Run ``work`` so that SIGINT/SIGTERM end it cleanly (see the module docstring).

    Off the main thread (signals cannot be caught there) it simply runs ``work``.
    """
    if threading.current_thread() is not threading.main_thread():
        return work()
    outcome: list[tuple[int | None, BaseException | None]] = []

    def target() -> None:
        try:
            outcome.append((work(), None))
        except BaseException as exc:  # handed to the main thread as it is
            outcome.append((None, exc))

    worker = threading.Thread(target=target, name=f"{prog}-command", daemon=True)
    with catching(stopping):
        if not stopping.requested:  # a signal during start-up: nothing to run
            worker.start()
        while worker.is_alive() and not stopping.must_wind_down:
            worker.join(0.1)
        if stopping.must_wind_down and stopping.signum is not None:
            return _wind_down(stopping, worker, prog, stopping.signum)
    code, error = outcome[0]
    if error is not None:
        raise error
    assert code is not None
    return code


@contextlib.contextmanager
def catching(stopping: Stopping, *, restore: bool = True) -> Iterator[None]:
    """SIGINT and SIGTERM only tell ``stopping`` (main thread; nested uses share one).

    ``restore=False`` keeps the handlers after the block: a console script is about to
    exit, and a late Ctrl-C must not kill it half-way through its own exit.
    """
    if threading.current_thread() is not threading.main_thread() or _installed:
        yield
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        stopping.request(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in _SIGNALS}
    _installed.append(stopping)
    if not restore:
        atexit.register(_ignore_late_signals)
    try:
        yield
    finally:
        _installed.remove(stopping)
        if restore and not stopping.requested:  # once stopping, another Ctrl-C changes nothing
            for sig, handler in previous.items():
                signal.signal(sig, handler)


_installed: list[Stopping] = []


def _ignore_late_signals() -> None:
    """At exit (threads joined, the command's work done): a late signal changes nothing.

    CPython gives Python-handled signals their default disposition back before it clears
    its modules, so a SIGTERM during that teardown would kill a finished command (exit -15
    instead of its own code); an ignored signal is left ignored.
    """
    for sig in _SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def _wind_down(stopping: Stopping, worker: threading.Thread, prog: str, signum: int) -> int:
    """Close, wait (bounded), tidy, say one line; leave at once if work is still running."""
    _quiet_threads()
    deadline = time.monotonic() + stopping.grace
    stopping.close_all(deadline)
    if worker.ident is not None:  # started (a signal during start-up comes before)
        worker.join(max(0.0, deadline - time.monotonic()))
    notes = stopping.tidy()
    if worker.is_alive():
        notes.append("work still running was cut short; 'recover()' resolves what it left")
    name = signal.Signals(signum).name
    print(f"{prog}: interrupted by {name}" + "".join(f"; {n}" for n in notes), file=sys.stderr)
    code = 128 + signum
    if worker.is_alive():
        _leave_now(code)
    return code


def _quiet_threads() -> None:
    """Threads winding down fail as they are closed under: log it, print no traceback."""

    def hook(args: threading.ExceptHookArgs) -> None:
        log.debug("thread %s ended after a signal: %r", args.thread, args.exc_value)

    def unraisable(args: object) -> None:
        log.debug("ignored while winding down: %r", args)

    threading.excepthook = hook
    sys.unraisablehook = unraisable
    for handler in logging.getLogger().handlers:  # the one line is all the screen gets
        if isinstance(handler, logging.StreamHandler) and handler.level < logging.CRITICAL:
            handler.setLevel(logging.CRITICAL)


def _leave_now(code: int) -> None:
    """End the process without tearing the interpreter down under running threads."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    logging.shutdown()
    os._exit(code)
