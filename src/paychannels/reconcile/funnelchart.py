"""The arrival funnel per channel as an inline SVG: collected → settled → credited.

Three bars per channel on one scale — what the journal holds, what the channel says it
settled, what reached the collection account — with the credited bar split into on time,
late and short/missing, so a glance shows where money stopped. Plain SVG, no scripts.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from paychannels.documents.htmldoc import CJK_FONTS
from paychannels.reconcile.arrivals import Funnel
from paychannels.reconcile.classify import yuan

__all__ = ["funnel_chart"]

_ROW, _BAR, _LABEL, _WIDTH, _RIGHT = 78, 18, 150, 420, 200
_STEPS = (("实收 collected", "#546e7a"), ("结算 settled", "#1565c0"), ("到账 credited", "#2e7d32"))
_LATE, _GAP_COLOUR = "#ef6c00", "#c62828"


def funnel_chart(funnels: Sequence[Funnel], *, currency: str) -> str:
    """The SVG element for ``funnels`` in the order given."""
    top = max([1, *(max(f.collected_minor, f.settled_minor, f.credited_minor) for f in funnels)])
    height = 34 + len(funnels) * _ROW
    width = _LABEL + _WIDTH + _RIGHT
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart funnel" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'style="font-family: {escape(CJK_FONTS, quote=True)}; font-size: 12px">',
        "<title>各渠道资金到账 collected → settled → credited, by channel</title>",
    ]
    x = _LABEL
    for label, colour in (*_STEPS, ("逾期 late", _LATE), ("短款/未到 short/missing", _GAP_COLOUR)):
        out.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 16}" y="16">{escape(label)}</text>')
        x += 24 + 8 * len(label)
    for row, f in enumerate(funnels):
        y0 = 30 + row * _ROW
        out.append(
            f'<text x="{_LABEL - 8}" y="{y0 + 2 * _BAR}" text-anchor="end" class="channel">'
            f"{escape(f.channel)}</text>"
        )
        values = (f.collected_minor, f.settled_minor, f.credited_minor)
        for i, ((label, colour), minor) in enumerate(zip(_STEPS, values, strict=True)):
            y = y0 + i * (_BAR + 4)
            w = _WIDTH * max(minor, 0) / top
            if i == 2 and f.late_minor:  # the credited bar: on time, then late
                on_time = _WIDTH * max(minor - f.late_minor, 0) / top
                out.append(_rect(_LABEL, y, on_time, colour, f"{f.channel}: on time"))
                out.append(_rect(_LABEL + on_time, y, w - on_time, _LATE, f"{f.channel}: late"))
            else:
                out.append(_rect(_LABEL, y, w, colour, f"{f.channel}: {label}"))
            if i == 2 and (f.short_minor or f.missing_minor):
                gap = _WIDTH * (f.short_minor + f.missing_minor) / top
                out.append(_rect(_LABEL + w, y, gap, _GAP_COLOUR, f"{f.channel}: short/missing"))
            out.append(
                f'<text x="{_LABEL + _WIDTH + 8}" y="{y + _BAR - 4}">{escape(label)} '
                f"{yuan(minor, currency)}</text>"
            )
    out.append("</svg>")
    return "\n".join(out)


def _rect(x: float, y: int, w: float, colour: str, title: str) -> str:
    return (
        f'<rect x="{x:.2f}" y="{y}" width="{max(w, 0):.2f}" height="{_BAR}" fill="{colour}">'
        f"<title>{escape(title)}</title></rect>"
    )
