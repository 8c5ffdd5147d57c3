"""Collection progress by township as a bar chart (``documents.svgchart.Chart``), lowest first.

One horizontal bar per township, split by category (paid, partly paid, in doubt, other
concerns, unpaid) as shares of its obligations, with the share paid and the money
received written beside it. The townships come lowest paid rate first: the chart opens on
where the collection is behind. Drawn by ``templates/chart.html.j2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from paychannels.documents.svgchart import Bar, Chart, Swatch, Text
from paychannels.reconcile.model import Category, GroupTotals
from paychannels.reconcile.money import grouped

__all__ = ["SEGMENTS", "by_paid_rate", "progress_chart"]

#: bar segments: label, colour, the categories they count
SEGMENTS: tuple[tuple[str, str, tuple[Category, ...]], ...] = (
    ("已缴费 paid", "#2e7d32", (Category.PAID,)),
    ("部分缴费 partly", "#f9a825", (Category.PARTLY_PAID,)),
    ("待确认 in doubt", "#ef6c00", (Category.IN_DOUBT,)),
    (
        "需处理 other",
        "#c62828",
        (Category.PAID_TWICE, Category.OVERPAID, Category.AMOUNT_MISMATCH),
    ),
    ("未缴费 unpaid", "#b0bec5", (Category.UNPAID,)),
)
_BAR, _GAP, _LABEL, _WIDTH, _RIGHT = 22, 8, 130, 460, 220


def by_paid_rate(groups: Sequence[GroupTotals]) -> list[GroupTotals]:
    """``groups`` lowest paid rate first (exactly, in whole obligations), then by name."""
    return sorted(groups, key=lambda g: (Fraction(g.paid_count, g.obligations or 1), g.name))


def progress_chart(groups: Sequence[GroupTotals], *, currency: str) -> Chart:
    """The chart of ``groups``, lowest paid rate first."""
    rows = by_paid_rate(groups)
    chart = Chart(
        width=_LABEL + _WIDTH + _RIGHT,
        height=40 + len(rows) * (_BAR + _GAP) + 30,
        title="各苏木乡镇收缴进度 collection progress by township (lowest paid rate first)",
    )
    x = _LABEL
    for label, colour, _cats in SEGMENTS:
        chart.legend.append(Swatch(x, colour, label))
        x += 24 + 9 * len(label)
    for row, group in enumerate(rows):
        y = 36 + row * (_BAR + _GAP)
        chart.texts.append(Text(_LABEL - 8, y + _BAR - 6, group.name, "township", right=True))
        start = float(_LABEL)
        for label, colour, cats in SEGMENTS:
            n = sum(group.count(c) for c in cats)
            if not n or not group.obligations:
                continue
            w = _WIDTH * n / group.obligations
            chart.bars.append(Bar(start, y, w, _BAR, colour, f"{group.name}: {label} {n:,}"))
            start += w
        caption = (
            f"{100 * group.paid_share:.1f}% · {grouped(group.received_minor, currency)} {currency}"
        )
        chart.texts.append(Text(_LABEL + _WIDTH + 8, y + _BAR - 6, caption))
    return chart
