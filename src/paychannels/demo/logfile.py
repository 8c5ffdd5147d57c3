"""The demo's log file: the library's warnings (every injected fault makes some) go to the
workspace's ``demo.log``, not the screen — from the demo's process and from its workers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["log_to"]


@contextmanager
def log_to(path: Path, *, who: str = "") -> Iterator[None]:
    """Append the ``paychannels`` loggers' INFO and above to ``path`` while inside; ``who``
    names the process on each line (a worker's lines beside the demo's)."""
    logger = logging.getLogger("paychannels")
    handler = logging.FileHandler(path, encoding="utf-8")
    prefix = f"[{who}] " if who else ""
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s {prefix}%(levelname)s %(name)s: %(message)s")
    )
    saved = (logger.propagate, logger.level)
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.propagate, logger.level = saved
