"""The arrival funnel per channel as a bar chart: collected → settled → credited.

Three bars per channel on one scale — what the journal holds, what the channel says it
settled, what reached the collection account — with the credited bar split into on time,
late and short/missing, so a glance shows where money stopped. A
``documents.svgchart.Chart``, drawn by ``templates/chart.html.j2``.
"""

from __future__ import annotations

from collections.abc import Sequence

from paychannels.documents.svgchart import Bar, Chart, Swatch, Text
from paychannels.reconcile.arrivals import Funnel
from paychannels.reconcile.money import grouped

__all__ = ["funnel_chart"]

_ROW, _BAR, _LABEL, _WIDTH, _RIGHT = 78, 18, 150, 420, 200
_STEPS = (("实收 collected", "#546e7a"), ("结算 settled", "#1565c0"), ("到账 credited", "#2e7d32"))
_LATE, _GAP_COLOUR = "#ef6c00", "#c62828"


def funnel_chart(funnels: Sequence[Funnel], *, currency: str) -> Chart:
    """The chart of ``funnels`` in the order given."""
    top = max([1, *(max(f.collected_minor, f.settled_minor, f.credited_minor) for f in funnels)])
    chart = Chart(
        width=_LABEL + _WIDTH + _RIGHT,
        height=34 + len(funnels) * _ROW,
        title="各渠道资金到账 collected → settled → credited, by channel",
        cls="chart funnel",
    )
    x = _LABEL
    for label, colour in (*_STEPS, ("逾期 late", _LATE), ("短款/未到 short/missing", _GAP_COLOUR)):
        chart.legend.append(Swatch(x, colour, label))
        x += 24 + 8 * len(label)
    for row, f in enumerate(funnels):
        y0 = 30 + row * _ROW
        chart.texts.append(Text(_LABEL - 8, y0 + 2 * _BAR, f.channel, "channel", right=True))
        values = (f.collected_minor, f.settled_minor, f.credited_minor)
        for i, ((label, colour), minor) in enumerate(zip(_STEPS, values, strict=True)):
            y = y0 + i * (_BAR + 4)
            w = _WIDTH * max(minor, 0) / top
            if i == 2 and f.late_minor:  # the credited bar: on time, then late
                on_time = _WIDTH * max(minor - f.late_minor, 0) / top
                chart.bars.append(Bar(_LABEL, y, on_time, _BAR, colour, f"{f.channel}: on time"))
                chart.bars.append(
                    Bar(_LABEL + on_time, y, w - on_time, _BAR, _LATE, f"{f.channel}: late")
                )
            else:
                chart.bars.append(Bar(_LABEL, y, w, _BAR, colour, f"{f.channel}: {label}"))
            if i == 2 and (f.short_minor or f.missing_minor):
                gap = _WIDTH * (f.short_minor + f.missing_minor) / top
                chart.bars.append(
                    Bar(_LABEL + w, y, gap, _BAR, _GAP_COLOUR, f"{f.channel}: short/missing")
                )
            chart.texts.append(
                Text(_LABEL + _WIDTH + 8, y + _BAR - 4, f"{label} {grouped(minor, currency)}")
            )
    return chart
