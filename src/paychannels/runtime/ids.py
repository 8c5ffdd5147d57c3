"""Identifiers: payment ids, and the owner name this process puts on claims and locks.

Payment ids are like ULIDs: 48 bits of milliseconds then 80 random bits in Crockford base32,
so ids sort by creation time in the journal and in logs, and two processes never collide.

An owner is ``host/pid/token``. It is read per use: a forked child gets a pid and token of
its own (never its parent's, or it would take over the parent's terminal lock and count a
dead parent as alive), and an owner retired in this process (its Collector closed, no call
left in flight) is known dead here at once.
"""

from __future__ import annotations

import base64
import os
import secrets
import socket
import threading
import time
import weakref

__all__ = ["Owner", "local_owner_alive", "new_id"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_live: set[str] = set()  # owner names of this process still in use
_live_lock = threading.Lock()
_owners: weakref.WeakSet[Owner] = weakref.WeakSet()


#: RFC 4648 base32 (what ``b32encode`` writes, in C) to Crockford's alphabet
_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """A new id like ``pay_01JD3M8Q2W5X7Y9Z0ABCDEFGHJ`` (prefix, ``_``, 26 characters)."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    # 130 bits (48 of time, 80 random) shifted to 160 = 20 bytes = 32 characters, of which
    # the first 26 are the id: one C call instead of 26 divisions a payment
    value = ((ms << 80) | secrets.randbits(80)) << 30
    text = base64.b32encode(value.to_bytes(20, "big"))[:26].translate(_TO_CROCKFORD)
    return f"{prefix}_{text.decode()}"


class Owner:
    """This process's name on claims and locks; see the module docstring."""

    def __init__(self) -> None:
        self.host = socket.gethostname()
        self._retired = False
        self._state = (0, "")
        self._renew()
        _owners.add(self)

    def _renew(self) -> None:
        pid = os.getpid()
        name = f"{self.host}/{pid}/{secrets.token_hex(4)}"
        self._state = (pid, name)
        if not self._retired:
            with _live_lock:
                _live.add(name)

    @property
    def name(self) -> str:
        """``host/pid/token``, this process's (renewed if the pid changed under us)."""
        pid, name = self._state
        if pid != os.getpid():  # forked by a path that ran no at-fork hook
            self._renew()
            name = self._state[1]
        return name

    def retire(self) -> None:
        """Nothing runs under this name any more: claims and locks bearing it are dead."""
        self._retired = True
        with _live_lock:
            _live.discard(self._state[1])

    def __str__(self) -> str:
        return self.name


def local_owner_alive(owner: str) -> bool | None:
    """For an owner of this very process, whether it is still in use; None for others."""
    host, _, rest = owner.partition("/")
    pid_text = rest.partition("/")[0]
    if host != socket.gethostname() or pid_text != str(os.getpid()):
        return None
    with _live_lock:
        return owner in _live


def _forget_parent_owners() -> None:
    """In a forked child: the parent's names are not ours; each Owner takes a new one."""
    global _live_lock
    _live_lock = threading.Lock()  # a parent thread may have held it at the fork
    _live.clear()
    for owner in list(_owners):
        owner._renew()


os.register_at_fork(after_in_child=_forget_parent_owners)
