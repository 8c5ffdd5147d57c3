"""A progress bar on stderr for long commands, drawn by rich; silent when stderr is not a
terminal (a log file or a pipe gets no carriage returns), colourless with ``NO_COLOR``.

rich loads when a bar is first shown on a terminal, not when a command starts.
"""

from __future__ import annotations

import os
import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID, TextColumn

__all__ = ["Progress"]


class Progress:
    """``with Progress("writing", total=n) as bar: bar.advance(k)``; safe from any thread.

    ``total`` None: a count with a spinner (how much is left is not known)."""

    def __init__(
        self, label: str, *, total: int | None = None, stream: TextIO | None = None
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._lock = threading.Lock()
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more items done."""
        with self._lock:
            self.done += n
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, n)

    def __enter__(self) -> Progress:
        if self.enabled:
            self._bar = _rich_bar(self.stream, known=self.total is not None)
            self._task = self._bar.add_task(self.label, total=self.total)
            self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _rich_bar(stream: TextIO, *, known: bool) -> RichProgress:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(file=stream, no_color=bool(os.environ.get("NO_COLOR")), highlight=False)
    counted = [BarColumn(), MofNCompleteColumn()] if known else [SpinnerColumn(), _count()]
    return Progress(
        TextColumn("{task.description}"),
        *counted,
        TimeElapsedColumn(),
        console=console,
        transient=False,
        refresh_per_second=10,
    )


def _count() -> TextColumn:
    from rich.progress import TextColumn

    return TextColumn("{task.completed:,.0f}")
