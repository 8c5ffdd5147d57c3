"""This process's I/O counters (``/proc/self/io``, Linux), for tests of bytes written or read."""

from __future__ import annotations

from pathlib import Path


def io_count(field: str) -> int:
    """The counter ``field`` (``write_bytes``, ``rchar``, …) of ``/proc/self/io``."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/io")
