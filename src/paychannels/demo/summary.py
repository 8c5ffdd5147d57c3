"""The demo's summary: the verdict and everything it rests on, as JSON and as text.

``balanced`` is true only when the reconciliation balances (every channel's settlement
figures equal the journal, nothing in doubt, paid twice or from outside the roster), the
simulators' own ledgers agree with the journal (nothing lost, doubled or unconfirmed), no
simulator saw anything that must not happen, and every injected fault is resolved or
listed for a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from paychannels.console.readable import clipped, more_line
from paychannels.demo.arrivals import Planted
from paychannels.demo.crash import Crash
from paychannels.demo.drivers import Fault
from paychannels.reconcile import Category, Reconciliation
from paychannels.security.masking import mask_name

__all__ = ["Outputs", "summarize", "summary_text"]


@dataclass
class Outputs:
    """What the day wrote, and where (``workspace`` None: it is removed at the end)."""

    reports: dict[str, Path]
    notices: list[Path]
    workspace: Path | None


def summarize(
    rec: Reconciliation,
    truth: dict[str, Any],
    faults: list[Fault],
    outputs: Outputs,
    *,
    payers: int,
    crash: Crash | None,
    notes: list[str],
    timings: dict[str, float],
    planted: Planted | None = None,
    scanning: Sequence[str] = (),
    workers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The summary (JSON-ready); ``balanced`` is the verdict (a worker process that failed
    leaves the day short: never balanced)."""
    summary = rec.summary(concerns=50)
    resolved = sum(1 for f in faults if f.resolved)
    listed = sum(1 for f in faults if not f.resolved and f.attention and not f.problem)
    still_open = len(faults) - resolved - listed
    balanced = (
        rec.balanced
        and truth["lost"] == 0
        and truth["doubled"] == 0
        and truth["unconfirmed"] == 0
        and not truth["problems"]
        and still_open == 0
        and not any(w["failed"] for w in workers or ())
    )
    return {
        "payers": payers,
        "balanced": balanced,
        "reconciliation_balanced": rec.balanced,
        "lost": truth["lost"],
        "doubled": truth["doubled"],
        "unconfirmed": truth["unconfirmed"],
        "truth_examples": truth["examples"],
        "simulator_problems": truth["problems"],
        "lost_minor": rec.lost_minor,
        "unconfirmed_minor": rec.unconfirmed_minor,
        "paid_twice": rec.doubled,
        "in_doubt": rec.in_doubt,
        "categories": summary["totals"]["counts"],
        "owed_minor": rec.totals.owed_minor,
        "received_minor": rec.totals.received_minor,
        "channels": {
            c["channel"]: {
                "kind": c["kind"],
                "status": c["status"],
                "statements": len(c["statements"]),
            }
            for c in summary["settlements"]
        },
        "operators": {o.operator: o.held_minor for o in rec.operators},
        "scanned": _scanned(rec, scanning),
        "crash": crash.as_dict() if crash is not None else None,
        "faults": [asdict(f) for f in faults],
        "faults_injected": len(faults),
        "faults_resolved": resolved,
        "faults_for_attention": listed,
        "faults_open": still_open,
        "attention": summary["concerns"],
        "attention_total": summary["concerns_total"],
        "follow_up": unpaid_after_trying(rec),
        "notes": notes,
        "timings": timings,
        "reconcile_timings": rec.timings,
        "arrivals": _arrivals(rec, planted),
        "workers": workers,
        "workspace": str(outputs.workspace) if outputs.workspace else None,
        "files": {k: str(v) for k, v in outputs.reports.items()}
        | {"notices": [str(p) for p in outputs.notices]},
    }


def _scanned(rec: Reconciliation, channels: Sequence[str]) -> dict[str, Any]:
    """What each village assistant took by scanning payers' codes (the code channels), as
    the reconciliation's per-operator totals show it: by assistant, and in all."""
    by_operator = {
        o.operator: got
        for o in rec.operators
        if (got := sum(o.by_channel.get(c, 0) for c in channels))
    }
    return {
        "channels": list(channels),
        "total_minor": sum(by_operator.values()),
        "by_operator": dict(sorted(by_operator.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def unpaid_after_trying(rec: Reconciliation, *, shown: int = 20) -> dict[str, Any]:
    """Payers still unpaid after an attempt failed (a closed account, a returned debit):
    the office contacts them. Counted by the reason of the last attempt; names masked as the
    notices mask them (beside a masked id, a full name would unmask it)."""
    reasons: dict[str, int] = {}
    examples: list[str] = []
    for row in rec.details():
        if row.category is not Category.UNPAID or not row.why:
            continue
        why = row.why.rpartition(": ")[2]
        reasons[why] = reasons.get(why, 0) + 1
        if len(examples) < shown:
            examples.append(
                f"{row.payer} {mask_name(row.name)} ({row.township} {row.village}): {row.why}"
            )
    return {"payers": sum(reasons.values()), "by_reason": reasons, "examples": examples}


def _arrivals(rec: Reconciliation, planted: Planted | None) -> dict[str, Any] | None:
    """In full and on time: the verdict, who was late or short, and whether exactly the
    planted faults were found (the demo's own check of the third level)."""
    if rec.arrivals is None:
        return None
    late = sorted({a.channel for a in rec.arrivals.arrivals if a.late})
    short = sorted({a.channel for a in rec.arrivals.named("short")})
    expected = (
        None
        if planted is None
        else (sorted(filter(None, [planted.late])), sorted(filter(None, [planted.short])))
    )
    return {
        "in_full_and_on_time": rec.arrivals.in_full_and_on_time,
        "verdict": rec.arrivals.verdict(),
        "late": late,
        "short": short,
        "missing": sorted({a.channel for a in rec.arrivals.named("missing")}),
        "unexplained": len(rec.arrivals.unexplained),
        "as_planted": expected == (late, short)
        and not rec.arrivals.unexplained
        and not rec.arrivals.named("missing")
        and not rec.arrivals.named("over")
        and not rec.arrivals.statements.notes,
        "statements": [h.file for h in rec.arrivals.statements.heads],
    }


def _yuan(minor: int) -> str:
    return f"{minor // 100:,}.{minor % 100:02d}"


def _rest(s: dict[str, Any], rest: int, file: str) -> list[str]:
    """The line that ends a cut list: where the rest is (the file, when the workspace is
    kept), else how to keep it."""
    where = s.get("files", {}).get(file) if s.get("workspace") else None
    if where:
        line = more_line(rest, see=Path(where).name)
    else:
        line = more_line(rest, how="run with --keep for the full list")
    return [f"  {line}"] if line else []


def summary_text(s: dict[str, Any]) -> str:
    """The summary for a terminal: totals, checks, faults, what needs a person, the verdict."""
    cats = s["categories"]
    lines = [
        f"collection day: {s['payers']:,} payers, {_yuan(s['received_minor'])} of "
        f"{_yuan(s['owed_minor'])} CNY received",
        "  " + ", ".join(f"{k} {v:,}" for k, v in sorted(cats.items(), key=lambda kv: -kv[1])),
        "settlement checks: " + ", ".join(f"{k} {v['status']}" for k, v in s["channels"].items()),
        f"against the simulators' ledgers: lost {s['lost']}, taken twice {s['doubled']}, "
        f"unconfirmed {s['unconfirmed']}; in doubt {s['in_doubt']}",
    ]
    lines += [f"  simulator saw: {p}" for p in s["simulator_problems"]]
    scanned = s["scanned"]
    if scanned["by_operator"]:
        top = ", ".join(f"{k} {_yuan(v)}" for k, v in list(scanned["by_operator"].items())[:3])
        lines.append(
            f"scanned payment codes ({', '.join(scanned['channels'])}): "
            f"{len(scanned['by_operator'])} assistant(s), {_yuan(scanned['total_minor'])} CNY; "
            f"most: {top}"
        )
    lines.append(
        f"faults injected {s['faults_injected']}: resolved {s['faults_resolved']}, for "
        f"attention {s['faults_for_attention']}, open {s['faults_open']}"
    )
    for f in s["faults"]:
        lines.append(f"  {f['channel']:<9} {f['fault']:<45} -> {f['outcome']}")
        if f["problem"]:
            lines.append(f"  {'':<9} {'':<45} !! {f['problem']}")
    lines.append(f"needs attention ({s['attention_total']}):")
    shown = s["attention"][:12]
    for c in shown:
        lines.append(clipped(f"  [{c['category']}] {c['payer'] or ''} {c['text']}", 160))
    lines += _rest(s, s["attention_total"] - len(shown), "attention")
    follow = s["follow_up"]
    lines.append(
        f"unpaid after a failed attempt, to contact ({follow['payers']:,}): "
        + (", ".join(f"{k} {v:,}" for k, v in sorted(follow["by_reason"].items())) or "none")
    )
    examples = follow["examples"][:5]
    lines += [clipped(f"  {example}", 160) for example in examples]
    lines += _rest(s, follow["payers"] - len(examples), "unpaid")
    lines += [f"  note: {note}" for note in s["notes"]]
    workers = s.get("workers")
    if workers:
        failed = sum(1 for w in workers if w["failed"])
        lines.append(
            f"collected by {len(workers)} worker process(es)"
            + (f": {failed} FAILED (see the notes)" if failed else "")
        )
    lines.append("timings: " + ", ".join(f"{k} {v:.1f}s" for k, v in s["timings"].items()))
    if s["workspace"]:
        lines.append(f"workspace (journal, reports, notices): {s['workspace']}")
    arrivals = s.get("arrivals")
    if arrivals is not None:
        found = "as planted" if arrivals["as_planted"] else "NOT as planted"
        lines.append(f"arrival in the collection account: {arrivals['verdict']} ({found})")
    lines.append(
        "BALANCED: every payer accounted for, nothing lost or doubled"
        if s["balanced"]
        else "NOT BALANCED (see above)"
    )
    return "\n".join(lines)
