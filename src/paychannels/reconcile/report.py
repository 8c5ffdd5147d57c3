"""A reconciliation for people: the summary table (text), the HTML report and the CSV files.

The HTML report is one printable file: the verdict, the summary by category, the chart of
collection progress by township, the township and period tables, the settlement checks,
the collecting operators and channels, and what needs attention (the first ``LISTED``; the
full list is in ``attention.csv``). ``details.csv`` has one line per obligation (IDs
masked). CSV files are UTF-8 with a BOM so that spreadsheet programs read the Chinese.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from paychannels.documents.htmldoc import render
from paychannels.reconcile.chart import by_paid_rate, progress_chart
from paychannels.reconcile.funnelchart import funnel_chart
from paychannels.reconcile.model import Category, GroupTotals
from paychannels.reconcile.money import grouped
from paychannels.reconcile.result import CSV_HEADER, Reconciliation
from paychannels.runtime.countytime import CountyTime
from paychannels.security.textrules import csv_writer
from paychannels.values.errors import ConfigurationError

__all__ = ["LISTED", "summary_text", "write_outputs"]

LISTED = 500
_ORDER = (
    Category.PAID,
    Category.UNPAID,
    Category.PARTLY_PAID,
    Category.OVERPAID,
    Category.PAID_TWICE,
    Category.AMOUNT_MISMATCH,
    Category.IN_DOUBT,
)


def _g(rec: Reconciliation, minor: int) -> str:
    """Money for people: thousands grouped (``4,451,100.00``)."""
    return grouped(minor, rec.currency)


def summary_text(rec: Reconciliation) -> str:
    """The summary table and verdict, for a terminal."""
    t = rec.totals
    lines = [
        f"reconciliation of {rec.roster} against {rec.journal} ({rec.journal_rows:,} records)",
        "",
        f"{'category':<18}{'obligations':>12}{'owed':>18}{'received':>18}",
    ]
    for c in _ORDER:
        owed, got = t.money.get(c.value, (0, 0))
        lines.append(f"{c.value:<18}{t.count(c):>12,}{_g(rec, owed):>18}{_g(rec, got):>18}")
    lines.append(
        f"{'all':<18}{t.obligations:>12,}{_g(rec, t.owed_minor):>18}{_g(rec, t.received_minor):>18}"
    )
    if rec.outside.obligations:
        lines.append(
            f"{'not in roster':<18}{rec.outside.obligations:>12,}{'':>18}"
            f"{_g(rec, rec.outside.received_minor):>18}"
        )
    lines.append("")
    for check in rec.checks:
        lines.append(f"settlement {check.channel} ({check.kind}): {check.status}")
        for stmt in check.statements:
            if not stmt.matches:
                lines.extend(f"    {stmt.source}: {d}" for d in stmt.differences[:5])
    lines.append("")
    ops = sum(o.held_minor for o in rec.operators)
    lines.append(f"collected by operator: {len(rec.operators)} operator(s), {_g(rec, ops)} in all")
    lines.append(
        f"lost {_g(rec, rec.lost_minor)}, unconfirmed {_g(rec, rec.unconfirmed_minor)}, "
        f"paid twice {rec.doubled}, in doubt {rec.in_doubt}, needing attention "
        f"{len(rec.concerns)}"
    )
    lines.append("BALANCED" if rec.balanced else "NOT BALANCED")
    if rec.arrivals is not None:
        lines[-1:-1] = _arrival_lines(rec)
        lines.append(rec.arrivals.verdict())
    return "\n".join(lines)


def _arrival_lines(rec: Reconciliation) -> list[str]:
    """The third level for a terminal: each channel's funnel, then what did not arrive."""
    assert rec.arrivals is not None
    out = [
        "",
        f"{'arrival':<18}{'collected':>16}{'settled':>16}{'fees':>12}{'credited':>16}"
        "  late/short/missing",
    ]
    for f in rec.arrivals.funnels:
        gaps = (f.late_minor, f.short_minor, f.missing_minor)
        out.append(
            f"{f.channel:<18}{_g(rec, f.collected_minor):>16}{_g(rec, f.settled_minor):>16}"
            f"{_g(rec, f.fee_minor):>12}{_g(rec, f.credited_minor):>16}  "
            + " / ".join(_g(rec, g) for g in gaps)
        )
    for a in rec.arrivals.arrivals:
        if a.status not in ("in_full", "not_due"):
            out.append(f"    {a.channel} {a.status}: {a.note}")
    out.extend(f"    unexplained: {u}" for u in rec.arrivals.unexplained[:10])
    out.extend(f"    statement: {n}" for n in rec.arrivals.statements.notes[:10])
    out.append("")
    return out


def _arrivals(rec: Reconciliation) -> dict[str, object]:
    """The funnel chart and one row per expected arrival."""
    assert rec.arrivals is not None
    rows = [
        [
            a.channel,
            a.trade_day.isoformat(),
            a.due.isoformat(),
            _g(rec, a.expected_minor),
            _g(rec, a.arrived_minor),
            _STATUS_ZH.get(a.status, "") + " " + a.status,
            a.note,
        ]
        for a in rec.arrivals.arrivals
    ]
    rows += [["—", "", "", "", "", "未明 unexplained", u] for u in rec.arrivals.unexplained]
    return {
        "ok": rec.arrivals.in_full_and_on_time,
        "verdict": rec.arrivals.verdict(),
        "chart": funnel_chart(rec.arrivals.funnels, currency=rec.currency),
        "rows": rows,
        "notes": list(rec.arrivals.statements.notes),
    }


_STATUS_ZH = {
    "in_full": "足额",
    "late": "逾期",
    "short": "短款",
    "over": "多款",
    "missing": "未到账",
    "not_due": "未到期",
}


def write_outputs(
    rec: Reconciliation, folder: str | Path, *, call_out_below: int | Decimal = 90
) -> dict[str, Path]:
    """Write ``report.html`` (villages paid under ``call_out_below`` percent named),
    ``details.csv``, ``unpaid.csv`` (whom to contact), ``attention.csv`` and ``summary.json``."""
    html = html_report(rec, call_out_below=call_out_below)  # a bad threshold: nothing written
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "html": out / "report.html",
        "details": out / "details.csv",
        "attention": out / "attention.csv",
        "unpaid": out / "unpaid.csv",
        "json": out / "summary.json",
    }
    _details_csv(rec, paths["details"])
    _details_csv(rec, paths["unpaid"], only=Category.UNPAID)
    _attention_csv(rec, paths["attention"])
    paths["json"].write_text(
        json.dumps(rec.summary(concerns=LISTED), ensure_ascii=False, indent=2) + "\n", "utf-8"
    )
    paths["html"].write_text(html, "utf-8")
    return paths


def _details_csv(rec: Reconciliation, path: Path, *, only: Category | None = None) -> None:
    """details.csv, or with ``only`` the rows of one category (unpaid.csv: whom to contact)."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv_writer(fh)
        w.writerow(CSV_HEADER)
        w.writerows(rec.csv_rows(only))


def _attention_csv(rec: Reconciliation, path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv_writer(fh)
        w.writerow(
            [
                "category",
                "line",
                "payer_id",
                "name",
                "township",
                "village",
                "reference",
                "records",
                "why",
            ]
        )
        w.writerows(
            (
                c.category,
                c.line or "",
                c.payer,
                c.name,
                c.township,
                c.village,
                c.reference,
                ";".join(c.records),
                c.text,
            )
            for c in rec.concerns
        )


def _group_rows(rec: Reconciliation, groups: list[GroupTotals]) -> list[list[object]]:
    return [
        [
            g.name,
            g.obligations,
            g.count(Category.PAID),
            g.count(Category.PARTLY_PAID),
            g.count(Category.IN_DOUBT),
            g.count(Category.UNPAID),
            _g(rec, g.owed_minor),
            _g(rec, g.received_minor),
            f"{100 * g.paid_share:.1f}%",
        ]
        for g in groups
    ]


#: villages named above the chart at most; the rest are counted (unpaid.csv has them all)
CALLED_OUT = 20


def html_report(rec: Reconciliation, *, call_out_below: int | Decimal = 90) -> str:
    """The report as one HTML document (``templates/report.html.j2``); villages whose paid
    rate is under ``call_out_below`` percent are named above the township chart."""
    threshold = _percent(call_out_below)
    stamp = CountyTime(rec.zone).stamp(rec.generated_at)
    return render(
        "report.html.j2",
        subtitle=f"{Path(rec.roster).name} · {stamp} · 证件号码已脱敏 IDs masked",
        balanced=rec.balanced,
        arrivals=_arrivals(rec) if rec.arrivals is not None else {},
        currency=rec.currency,
        summary=_summary(rec),
        below=_below(rec, threshold),
        progress=progress_chart(list(rec.townships.values()), currency=rec.currency),
        townships=_group_rows(rec, list(rec.townships.values())),
        periods=_group_rows(rec, list(rec.periods.values())),
        settlements=_settlements(rec),
        operators=_operators(rec),
        channels=_channels(rec),
        attention=_attention(rec),
    )


def _percent(value: int | Decimal) -> Decimal:
    """A percentage from 0 to 100, exactly (a float is a ``TypeError``)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"call_out_below must be an int or a Decimal, not {type(value).__name__}")
    percent = Decimal(value)
    if not percent.is_finite() or not 0 <= percent <= 100:
        raise ConfigurationError(f"call_out_below={value}: a percentage from 0 to 100")
    return percent


def _below(rec: Reconciliation, threshold: Decimal) -> dict[str, object]:
    """The villages paid below ``threshold`` percent, lowest first, as the call-out says."""
    low = [g for g in by_paid_rate(list(rec.villages.values())) if _under(g, threshold)]
    return {
        "threshold": f"{threshold}%",
        "villages": [
            {
                "name": g.name,
                "rate": f"{100 * g.paid_share:.1f}",
                "paid": f"{g.paid_count:,}",
                "of": f"{g.obligations:,}",
                "outstanding": _g(rec, max(g.owed_minor - g.received_minor, 0)),
            }
            for g in low[:CALLED_OUT]
        ],
        "count": f"{len(low):,}",
        "more": f"{len(low) - CALLED_OUT:,}" if len(low) > CALLED_OUT else "",
    }


def _under(group: GroupTotals, threshold: Decimal) -> bool:
    """Paid rate strictly under ``threshold`` percent, compared exactly."""
    return group.obligations > 0 and 100 * group.paid_count < threshold * group.obligations


def _summary(rec: Reconciliation) -> dict[str, object]:
    t = rec.totals
    money = {c: t.money.get(c.value, [0, 0]) for c in _ORDER}
    rows = [
        [f"{c.zh} {c.value}", f"{t.count(c):,}", _g(rec, money[c][0]), _g(rec, money[c][1])]
        for c in _ORDER
    ]
    rows.append(
        ["合计 all", f"{t.obligations:,}", _g(rec, t.owed_minor), _g(rec, t.received_minor)]
    )
    if rec.outside.obligations:
        rows.append(
            [
                "名册外 not in roster",
                f"{rec.outside.obligations:,}",
                "",
                _g(rec, rec.outside.received_minor),
            ]
        )
    return {
        "rows": rows,
        "lost": _g(rec, rec.lost_minor),
        "unconfirmed": _g(rec, rec.unconfirmed_minor),
        "doubled": f"{rec.doubled:,}",
        "in_doubt": f"{rec.in_doubt:,}",
        "records": f"{rec.journal_rows:,}",
    }


def _settlements(rec: Reconciliation) -> dict[str, object]:
    rows: list[list[object]] = [
        [
            c.channel,
            c.kind,
            s.source,
            _g(rec, s.stated_net_minor),
            _g(rec, s.journal_net_minor),
            "✓ match" if s.matches else "✗ " + "; ".join(s.differences),
        ]
        for c in rec.checks
        for s in c.statements
    ]
    rows += [
        [c.channel, "—", "—", "", "", "unchecked: " + "; ".join(c.notes)]
        for c in rec.checks
        if c.status == "unchecked"
    ]
    notes = [f"{c.channel}: {n}" for c in rec.checks for n in c.notes if c.status != "unchecked"]
    return {"rows": rows, "notes": notes}


def _held_row(
    rec: Reconciliation, name: str, count: int, taken: int, back: int, doubt: int, detail: str
) -> list[object]:
    return [name, f"{count:,}", _g(rec, taken), _g(rec, back), _g(rec, taken - back), doubt, detail]


def _operators(rec: Reconciliation) -> list[list[object]]:
    ops = rec.operators
    rows = [
        _held_row(
            rec,
            o.operator,
            o.payments,
            o.taken_minor,
            o.refunded_minor,
            o.in_doubt,
            ", ".join(f"{k} {_g(rec, v)}" for k, v in sorted(o.by_channel.items())),
        )
        for o in ops
    ]
    rows.append(
        _held_row(
            rec,
            "合计 all",
            sum(o.payments for o in ops),
            sum(o.taken_minor for o in ops),
            sum(o.refunded_minor for o in ops),
            sum(o.in_doubt for o in ops),
            "",
        )
    )
    return rows


def _channels(rec: Reconciliation) -> list[list[object]]:
    return [
        _held_row(
            rec,
            c.channel,
            c.succeeded,
            c.taken_minor,
            c.refunded_minor,
            c.in_doubt,
            ", ".join(f"{k} {v:,}" for k, v in sorted(c.payments.items())),
        )
        for c in rec.channels
    ]


def _attention(rec: Reconciliation) -> dict[str, object]:
    shown = rec.concerns[:LISTED]
    more = len(rec.concerns) - LISTED
    return {
        "count": f"({len(rec.concerns):,})",
        "rows": [
            [c.category, c.line or "", c.payer, c.name, c.township, c.village, c.text]
            for c in shown
        ],
        "more": f"{more:,}" if more > 0 else "",
    }
