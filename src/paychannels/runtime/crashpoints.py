"""Named points on the dispatch path, and a registry of hooks run when one is reached.

The library only names the points (``crashpoint("journal.before_commit")``) and calls whatever
hooks were installed, none by default: a point costs one check of an empty tuple. What a hook
does is up to whoever installs it — the crash tests' kit kills the process there with SIGKILL
(like a power cut) or records the points a flow passes; the demo halts its backend there so it
can be killed from outside. The library itself reads no environment and kills nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["POINTS", "CrashHook", "crashpoint", "install", "installed", "uninstall"]

#: every point, in the order a payment passes them; the crash tests walk this list
POINTS: tuple[str, ...] = (
    "collect.before_intent",
    # many payments at once (journal.bulkcreate): staged and checked, not yet inserted
    "journal.bulk_create.classified",
    "journal.before_commit",
    "collect.after_dispatch_mark",
    "channel.before_send",
    "channel.after_send",
    # a bank chunk: its debits appended to the spool under the exchange lock
    "bank.before_spool",
    "bank.after_spool",
    # a payment code (付款码): scan -> wait -> query -> reverse
    "codepay.before_send",
    "codepay.after_send",
    "codepay.before_query",
    "codepay.before_reverse",
    "codepay.after_reverse",
    "collect.after_outcome",
    "collect.after_journal",
    # a void of a SUCCEEDED payment: its intent journaled, then the channel's answer
    "void.after_intent",
    "void.after_answer",
    "recover.after_unknown_mark",
    "recover.after_inquiry",
    # a department's feed: recorded in the journal, then its file renamed into place
    "feed.recorded",
    "feed.written",
)

#: a hook gets the name of the point reached (bank files add ``bank.before_spool``/``after``)
CrashHook = Callable[[str], None]

_hooks: tuple[CrashHook, ...] = ()
_lock = threading.Lock()


def crashpoint(name: str) -> None:
    """Run every installed hook with ``name``, in the order they were installed."""
    for hook in _hooks:
        hook(name)


def install(hook: CrashHook) -> CrashHook:
    """Run ``hook`` at every crash point from now on (returns it, so it can be uninstalled)."""
    global _hooks
    with _lock:
        _hooks = (*_hooks, hook)
    return hook


def uninstall(hook: CrashHook) -> None:
    """Stop running ``hook``; uninstalling one that is not installed does nothing."""
    global _hooks
    with _lock:
        _hooks = tuple(h for h in _hooks if h is not hook)


def installed() -> tuple[CrashHook, ...]:
    """The hooks installed now (none, unless a test kit or the demo put one there)."""
    return _hooks
