"""What makes a write survive a power cut: the file's bytes, or a folder's new entry, synced."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_path"]


def fsync_path(path: Path) -> None:
    """``fsync`` a written file, or a folder after a file was created or renamed in it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
