"""Named points on the dispatch path where the crash tests kill the process with SIGKILL.

Set ``PAYCHANNELS_CRASH_AT=name`` (or ``name@N`` for the N-th time the point is reached) in
a process's environment and it dies there, without cleanup, exactly like a power cut or an
``kill -9``. ``PAYCHANNELS_CRASH_TRACE=file`` appends each point reached to a file, so a test
can first learn every step a flow passes and then kill it at each in turn. Unset (always,
outside tests) a crash point costs one check.
"""

from __future__ import annotations

import os
import signal
import threading

__all__ = ["POINTS", "crashpoint"]

#: every point, in the order a payment passes them; the crash tests walk this list
POINTS: tuple[str, ...] = (
    "collect.before_intent",
    "journal.before_commit",
    "collect.after_dispatch_mark",
    "channel.before_send",
    "channel.after_send",
    "collect.after_outcome",
    "collect.after_journal",
    "recover.after_unknown_mark",
    "recover.after_inquiry",
)

_armed: tuple[str, int] | None = None
_trace: str | None = None
_hits = 0
_lock = threading.Lock()


def _arm_from_env() -> None:
    global _armed, _trace
    _trace = os.environ.get("PAYCHANNELS_CRASH_TRACE") or None
    spec = os.environ.get("PAYCHANNELS_CRASH_AT", "")
    if not spec:
        _armed = None
        return
    name, _, nth = spec.partition("@")
    if name not in POINTS:
        raise ValueError(f"PAYCHANNELS_CRASH_AT={spec!r}: unknown point; known: {POINTS}")
    _armed = (name, int(nth or "1"))


def crashpoint(name: str) -> None:
    """Die here with SIGKILL if this point is armed (see the module docstring)."""
    global _hits
    if _trace is not None:
        with open(_trace, "a", encoding="utf-8") as fh:
            fh.write(name + "\n")
    if _armed is None or _armed[0] != name:
        return
    with _lock:
        _hits += 1
        if _hits >= _armed[1]:
            os.kill(os.getpid(), signal.SIGKILL)


_arm_from_env()
