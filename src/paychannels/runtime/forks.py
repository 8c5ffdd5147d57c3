"""What a forked child must not inherit: the parent's name, its locks, its connections.

A Collector made before a fork (gunicorn ``--preload``, prefork workers, multiprocessing)
lives on in every child. Objects that name the process or hold per-process resources
register here; in the child, right after ``fork()`` (one thread, nothing else running yet),
each gets ``after_fork()`` to take a name of its own and drop what belongs to the parent.
An inherited database connection is *kept* but never used or closed: closing it in the
child would end the parent's session (psycopg sends a terminate on the shared socket).
"""

from __future__ import annotations

import os
import weakref
from typing import Any, Protocol

__all__ = ["ForkAware", "abandon", "renew_after_fork"]


class ForkAware(Protocol):
    """An object that must renew itself in a forked child."""

    def after_fork(self) -> None:
        """Called in the child right after a fork; drop or replace what is the parent's."""
        ...


_registered: weakref.WeakSet[Any] = weakref.WeakSet()
#: the parent's connections, held in the child so that they are never closed from here
_abandoned: list[Any] = []


def renew_after_fork(obj: ForkAware) -> None:
    """Call ``obj.after_fork()`` in every child forked while ``obj`` lives."""
    _registered.add(obj)


def abandon(resources: list[Any]) -> None:
    """Keep the parent's ``resources`` referenced in this child: never used, never closed."""
    _abandoned.extend(resources)


def _in_child() -> None:
    for obj in list(_registered):
        obj.after_fork()


os.register_at_fork(after_in_child=_in_child)
