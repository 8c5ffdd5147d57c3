"""A reconciliation for people: the summary table (text), the HTML report and the CSV files.

The HTML report is one printable file: the verdict, the summary by category, the chart of
collection progress by township, the township and period tables, the settlement checks,
the collecting operators and channels, and what needs attention (the first ``LISTED``; the
full list is in ``attention.csv``). ``details.csv`` has one line per obligation (IDs
masked). CSV files are UTF-8 with a BOM so that spreadsheet programs read the Chinese.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from paychannels.documents.htmldoc import page, section, table
from paychannels.reconcile.chart import progress_chart
from paychannels.reconcile.classify import yuan
from paychannels.reconcile.funnelchart import funnel_chart
from paychannels.reconcile.model import Category, GroupTotals
from paychannels.reconcile.result import CSV_HEADER, Reconciliation
from paychannels.runtime.countytime import CountyTime
from paychannels.security.textrules import csv_writer

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


def _m(rec: Reconciliation, minor: int) -> str:
    return yuan(minor, rec.currency)


def _g(rec: Reconciliation, minor: int) -> str:
    """Money for people: thousands grouped (``4,451,100.00``)."""
    text = yuan(minor, rec.currency)
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, dot, frac = digits.partition(".")
    return f"{sign}{int(whole):,}{dot}{frac}"


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


def _arrivals(rec: Reconciliation) -> str:
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
    notes = "".join(f"<li>{escape(n)}</li>" for n in rec.arrivals.statements.notes)
    chart = funnel_chart(rec.arrivals.funnels, currency=rec.currency)
    return (
        f'<div class="chart-box">{chart}</div>'
        + table(
            [
                "channel 渠道",
                "trade day 交易日",
                "due 应到账",
                "settled 结算",
                "credited 到账",
                "status 状态",
                "why 说明",
            ],
            rows,
            numeric=(3, 4),
            raw_headers=True,
            cls="arrivals",
        )
        + (f'<ul class="small">{notes}</ul>' if notes else "")
    )


_STATUS_ZH = {
    "in_full": "足额",
    "late": "逾期",
    "short": "短款",
    "over": "多款",
    "missing": "未到账",
    "not_due": "未到期",
}


def write_outputs(rec: Reconciliation, folder: str | Path) -> dict[str, Path]:
    """Write ``report.html``, ``details.csv``, ``unpaid.csv`` (whom to contact), ``attention.csv``
    and ``summary.json``."""
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
    paths["html"].write_text(html_report(rec), "utf-8")
    return paths


def _details_csv(rec: Reconciliation, path: Path, *, only: Category | None = None) -> None:
    """details.csv, or with ``only`` the rows of one category (unpaid.csv: whom to contact)."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv_writer(fh)
        w.writerow(CSV_HEADER)
        column = CSV_HEADER.index("category")
        rows = rec.csv_rows()
        w.writerows(rows if only is None else (r for r in rows if r[column] == only.value))


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


_GROUP_HEAD = [
    "",
    "obligations",
    "paid 已缴",
    "partly 部分",
    "in doubt 待确认",
    "unpaid 未缴",
    "owed 应缴",
    "received 实收",
    "paid 缴费率",
]


def html_report(rec: Reconciliation) -> str:
    """The report as one HTML document."""
    verdict = (
        '<p class="verdict ok">平衡 BALANCED — every yuan accounted for</p>'
        if rec.balanced
        else '<p class="verdict bad">不平衡 NOT BALANCED — see the settlement checks and what '
        "needs attention</p>"
    )
    if rec.arrivals is not None:
        ok = rec.arrivals.in_full_and_on_time
        verdict += (
            f'<p class="verdict {"ok" if ok else "bad"}">'
            f"{'及时足额' if ok else '未及时足额'} {escape(rec.arrivals.verdict())}</p>"
        )
    townships = list(rec.townships.values())
    parts = [
        verdict,
        section("summary", _summary_table(rec)),
        section(
            "progress",
            f'<div class="chart-box">{progress_chart(townships, currency=rec.currency)}</div>'
            + table(
                _GROUP_HEAD,
                _group_rows(rec, townships),
                numeric=range(1, 9),
                raw_headers=True,
                cls="townships",
            ),
        ),
        section(
            "periods",
            table(
                _GROUP_HEAD,
                _group_rows(rec, list(rec.periods.values())),
                numeric=range(1, 9),
                raw_headers=True,
                cls="periods",
            ),
        ),
        section("settlements", _settlements(rec)),
        *([section("arrivals", _arrivals(rec))] if rec.arrivals is not None else []),
        section("operators", _operators(rec)),
        section("channels", _channels(rec)),
        section("attention", _attention(rec), extra=f"({len(rec.concerns):,})"),
    ]
    subtitle = (
        f"{rec.roster} · {rec.journal} · {CountyTime(rec.zone).stamp(rec.generated_at)} · "
        "证件号码已脱敏 IDs masked"
    )
    return page("reconciliation", "\n".join(parts), subtitle=subtitle)


def _summary_table(rec: Reconciliation) -> str:
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
    return table(
        [
            "category 类别",
            "obligations 笔数",
            f"owed 应缴 {rec.currency}",
            f"received 实收 {rec.currency}",
        ],
        rows,
        numeric=(1, 2, 3),
        raw_headers=True,
        cls="summary",
    ) + (
        f'<p class="small">lost 丢失 {_g(rec, rec.lost_minor)} · unconfirmed 未确认 '
        f"{_g(rec, rec.unconfirmed_minor)} · paid twice 重复 {rec.doubled} · in doubt 待确认 "
        f"{rec.in_doubt} · journal records {rec.journal_rows:,}</p>"
    )


def _settlements(rec: Reconciliation) -> str:
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
    notes = [
        f"<li>{escape(c.channel)}: {escape(n)}</li>"
        for c in rec.checks
        for n in c.notes
        if c.status != "unchecked"
    ]
    return table(
        [
            "channel 渠道",
            "kind",
            "statement 对账单",
            "channel says 渠道",
            "journal 账本",
            "result 结果",
        ],
        rows,
        numeric=(3, 4),
        raw_headers=True,
        cls="settlements",
    ) + (f'<ul class="small">{"".join(notes)}</ul>' if notes else "")


def _held_table(first: str, count: str, detail: str, rows: list[list[object]], cls: str) -> str:
    """Who or what took money: count, taken, refunded, held, in doubt, a breakdown."""
    return table(
        [first, count, "taken 收取", "refunded 退还", "held 实收", "in doubt 待确认", detail],
        rows,
        numeric=(1, 2, 3, 4, 5),
        raw_headers=True,
        cls=cls,
    )


def _held_row(
    rec: Reconciliation, name: str, count: int, taken: int, back: int, doubt: int, detail: str
) -> list[object]:
    return [name, f"{count:,}", _g(rec, taken), _g(rec, back), _g(rec, taken - back), doubt, detail]


def _operators(rec: Reconciliation) -> str:
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
    return _held_table("operator 收缴人", "payments 笔数", "by channel 渠道", rows, "operators")


def _channels(rec: Reconciliation) -> str:
    rows = [
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
    return _held_table("channel 渠道", "succeeded 成功", "by status 状态", rows, "channels")


def _attention(rec: Reconciliation) -> str:
    shown = rec.concerns[:LISTED]
    html = table(
        [
            "category 类别",
            "line 行",
            "payer 证件",
            "name 姓名",
            "township 苏木乡镇",
            "village 嘎查村",
            "why 原因",
        ],
        [[c.category, c.line or "", c.payer, c.name, c.township, c.village, c.text] for c in shown],
        numeric=(1,),
        raw_headers=True,
        cls="attention",
    )
    if len(rec.concerns) > LISTED:
        more = len(rec.concerns) - LISTED
        html += f'<p class="small">… and {more:,} more in attention.csv</p>'
    return html
