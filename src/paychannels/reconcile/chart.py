"""Collection progress by township as an inline SVG bar chart (no scripts, no fonts fetched).

One horizontal bar per township, split by category (paid, partly paid, in doubt, other
concerns, unpaid) as shares of its obligations, with the share paid and the money
received written beside it. Plain SVG that prints the same as it shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from paychannels.documents.htmldoc import CJK_FONTS
from paychannels.reconcile.classify import yuan
from paychannels.reconcile.model import Category, GroupTotals

__all__ = ["SEGMENTS", "progress_chart"]

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


def progress_chart(groups: Sequence[GroupTotals], *, currency: str) -> str:
    """The SVG element (``<svg ...>...</svg>``) for ``groups`` in the order given."""
    height = 40 + len(groups) * (_BAR + _GAP) + 30
    width = _LABEL + _WIDTH + _RIGHT
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" '
        f'style="font-family: {escape(CJK_FONTS, quote=True)}; font-size: 12px">',
        "<title>各苏木乡镇收缴进度 collection progress by township</title>",
    ]
    x = _LABEL
    for label, colour, _cats in SEGMENTS:  # legend
        out.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 16}" y="16">{escape(label)}</text>')
        x += 24 + 9 * len(label)
    for row, group in enumerate(groups):
        y = 36 + row * (_BAR + _GAP)
        out.append(
            f'<text x="{_LABEL - 8}" y="{y + _BAR - 6}" text-anchor="end" class="township">'
            f"{escape(group.name)}</text>"
        )
        start = float(_LABEL)
        for label, colour, cats in SEGMENTS:
            n = sum(group.count(c) for c in cats)
            if not n or not group.obligations:
                continue
            w = _WIDTH * n / group.obligations
            out.append(
                f'<rect x="{start:.2f}" y="{y}" width="{w:.2f}" height="{_BAR}" fill="{colour}">'
                f"<title>{escape(group.name)}: {escape(label)} {n}</title></rect>"
            )
            start += w
        share = 100 * group.paid_share
        got = yuan(group.received_minor, currency)
        out.append(
            f'<text x="{_LABEL + _WIDTH + 8}" y="{y + _BAR - 6}">{share:.1f}% · '
            f"{got} {escape(currency)}</text>"
        )
    out.append("</svg>")
    return "\n".join(out)
