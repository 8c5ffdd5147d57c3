"""Pausing Python's cyclic garbage collector while a reconciliation builds its tables.

Reconciling a county allocates a few million small tuples and lists that form no cycles;
the collector would walk the ever-growing heap again and again (half the running time).
Reference counting still frees everything; the collector is switched back on afterwards
(only if it was on), and runs once.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["quiet_gc"]


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Run the block with the cyclic collector off, then restore it."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
