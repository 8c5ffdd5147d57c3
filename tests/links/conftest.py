"""What the link tests share: a real pty pair, the far end a serial device would be."""

from __future__ import annotations

import os
import tty
from collections.abc import Iterator

import pytest


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    """The master end (ours to write and read) and the slave's device path, raw."""
    master, slave = os.openpty()
    tty.setraw(slave)
    yield master, os.ttyname(slave)
    os.close(master)
    os.close(slave)
