"""A horizontal bar chart as plain values, drawn as inline SVG by ``templates/chart.html.j2``.

The reports' charts work out where each bar goes here, in numbers; the template only draws
what it is given. No scripts, no fonts fetched: it prints the same as it shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Bar", "Chart", "Swatch", "Text"]


@dataclass(frozen=True, slots=True)
class Swatch:
    """One legend entry: a coloured square at ``x`` and its label."""

    x: int
    colour: str
    label: str


@dataclass(frozen=True, slots=True)
class Text:
    """A line of text at (``x``, ``y``); ``right`` ends it there (a row's name)."""

    x: int
    y: int
    text: str
    cls: str = ""
    right: bool = False


@dataclass(frozen=True, slots=True)
class Bar:
    """One coloured bar, with what it counts as its tooltip."""

    x: float
    y: int
    width: float
    height: int
    colour: str
    title: str

    @property
    def box(self) -> dict[str, str]:
        """The SVG attributes, to two decimals."""
        return {
            "x": f"{self.x:.2f}",
            "y": str(self.y),
            "width": f"{max(self.width, 0):.2f}",
            "height": str(self.height),
        }


@dataclass
class Chart:
    """A whole chart: its size, title, legend, the rows' names, bars and captions."""

    width: int
    height: int
    title: str
    cls: str = "chart"
    legend: list[Swatch] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
