"""Tables for people on a command's stdout, drawn by rich.

On a terminal: a simple ruled table (colour unless ``NO_COLOR`` is set). Piped or redirected,
or with ``NO_COLOR``: plain columns separated by spaces, no colour, no box-drawing, no trailing
blanks, nothing cut to a terminal's width — so ``| head``, ``grep`` and ``cut`` keep working.
rich loads only when a table is printed (``paychannels --help`` stays quick).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TextIO

__all__ = ["fancy", "print_table"]

#: a width no row of ours reaches: plain output is never wrapped or cut
_UNBOUNDED = 100_000


def fancy(stream: TextIO) -> bool:
    """Whether ``stream`` gets rich's drawing: a terminal, and ``NO_COLOR`` not set."""
    if os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def print_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    right: Sequence[int] = (),
    stream: TextIO | None = None,
) -> None:
    """Print ``rows`` under ``headers`` (columns ``right`` aligned right, e.g. amounts)."""
    from rich import box
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    out = stream or sys.stdout
    drawn = fancy(out)
    table = Table(
        box=box.SIMPLE_HEAD if drawn else None,
        show_edge=False,
        pad_edge=False,
        padding=(0, 2, 0, 0) if not drawn else (0, 1),
        header_style="bold" if drawn else "",
    )
    for i, name in enumerate(headers):
        table.add_column(name, justify="right" if i in right else "left", no_wrap=True)
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    if drawn:
        console = Console(file=out, highlight=False)
        # an id cut to fit the terminal is no id: wider than the screen rather than cut
        wide = console.options.update(width=_UNBOUNDED, max_width=_UNBOUNDED)
        console.width = max(console.width, Measurement.get(console, wide, table).maximum)
        console.print(table)
        return
    console = Console(
        file=out,
        width=_UNBOUNDED,
        no_color=True,
        color_system=None,
        force_terminal=False,
        highlight=False,
        emoji=False,
        markup=False,
    )
    with console.capture() as captured:
        console.print(table)
    out.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
