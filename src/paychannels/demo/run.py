"""The demo collection day: every channel, faults injected, then reconciled.

1. **Set up**: a workspace (a temporary folder unless kept), the county roster, the journal
   (embedded SQLite), the callback endpoint and every simulator of ``CHANNELS``.
2. **A backend crash**: a second process takes payments at the first hall terminal and is
   killed after the terminal approved one, before the journal heard of it.
3. **Collect**: each channel's payers, all channels at once, faults injected.
4. **Recover**: the callbacks that came are applied; ``recover()`` asks the channels about
   everything in doubt; payments that provably never left are sent again.
5. **Follow up** as the office does: duplicate payments refunded, the rest of a partial
   debit and the payers whose debit failed or who abandoned their QR code paid at the hall,
   unpaid QR orders closed.
6. **Settle**: terminals close their day, the providers' bills are downloaded, the bank's
   result files are in — all recorded in the journal.
7. **Reconcile** and post the village notice lists; check the journal against each
   simulator's own ledger (nothing lost, nothing taken twice).
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from paychannels.cli.progress import Progress
from paychannels.collector import Collector
from paychannels.demo.channels import CHANNELS, DemoChannel
from paychannels.demo.drivers import Fault, Plan, collect, request_for
from paychannels.demo.followup import follow_up, settle_in_doubt
from paychannels.demo.receiver import Receiver
from paychannels.demo.roster_gen import generate_roster
from paychannels.demo.sims import BEIJING, PASSWORD, Stage
from paychannels.demo.truth import check_truth, fault_outcomes
from paychannels.errors import PaychannelsError
from paychannels.masking import mask_id_number
from paychannels.notices import Level, build_notices, write_notices
from paychannels.reconcile import reconcile
from paychannels.reconcile.report import write_outputs
from paychannels.roster import RosterEntry, load_roster
from paychannels.simulators.provider import SimKeys

__all__ = ["DemoOptions", "run_demo"]

#: share of payers who do not pay at all today (away, forgot)
AWAY = 0.03


@dataclass
class DemoOptions:
    """How big a day, where, and what to keep."""

    payers: int = 3000
    seed: int = 2026
    folder: Path | None = None  # the workspace; a temporary one when None
    keep: bool = False
    channels: Sequence[DemoChannel] = CHANNELS
    stream: Any = None  # where progress bars go (default stderr, only if a terminal)


@dataclass
class _Day:
    options: DemoOptions
    folder: Path
    col: Collector
    stage: Stage
    plans: dict[str, Plan]
    rnd: random.Random
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def lap(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.timings[name] = round(now - since, 3)
        return now


def run_demo(options: DemoOptions) -> dict[str, Any]:
    """Run the day; the JSON summary (``balanced`` is the verdict)."""
    folder = options.folder or Path(tempfile.mkdtemp(prefix="paychannels-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with _log_to(folder / "demo.log"):
        day = _setup(options, folder)
        try:
            return _run(day, started)
        finally:
            for plan in day.plans.values():
                plan.running.close()
            day.stage.receiver.close()
            day.col.close()
            if not options.keep and options.folder is None:
                shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _log_to(path: Path) -> Iterator[None]:
    """The library's warnings (every injected fault makes some) go to the workspace's log,
    not the screen."""
    logger = logging.getLogger("paychannels")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved = (logger.propagate, logger.level)
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.propagate, logger.level = saved


def _setup(options: DemoOptions, folder: Path) -> _Day:
    today = datetime.now(BEIJING).date()
    roster = folder / "roster.csv"
    generate_roster(roster, options.payers, seed=options.seed, today=today)
    col = Collector.open(f"sqlite:///{folder}/journal.db?synchronous=normal")
    stage = Stage(folder, SimKeys.generate(), Receiver(col), options.seed, today)
    plans: dict[str, Plan] = {}
    for spec in options.channels:
        running = spec.start(stage)
        running.attach(col.add_channel(spec.name, running.url, **running.options))
        plans[spec.name] = Plan(spec, running)
    day = _Day(options, folder, col, stage, plans, random.Random(options.seed))  # noqa: S311
    _assign(day, load_roster(roster))
    return day


def _assign(day: _Day, entries: list[RosterEntry]) -> None:
    """Each payer to a channel serving their preference (round robin); some stay away."""
    serving: dict[str, list[Plan]] = {}
    for plan in day.plans.values():
        serving.setdefault(plan.channel.serves, []).append(plan)
    fallback = next(p for p in day.plans.values() if p.channel.style == "sync")
    turn: dict[str, int] = {}
    for entry in entries:
        if day.rnd.random() < AWAY:
            continue
        pref = entry.channels[0] if entry.channels else "hall"
        plans = serving.get(pref, [fallback])
        turn[pref] = turn.get(pref, -1) + 1
        plans[turn[pref] % len(plans)].payers.append(entry)
    for plan in day.plans.values():
        spread = max(2, len(plan.payers) // max(1, len(plan.channel.faults)) // 4)
        for k, fault in enumerate(plan.channel.faults):
            index = 3 + k * spread
            if index < len(plan.payers):
                plan.faults[index] = fault


def _run(day: _Day, started: float) -> dict[str, Any]:
    t = day.lap("set up", started)
    crash = _crash(day)
    t = day.lap("backend crash and recovery", t)
    total = sum(len(p.payers) for p in day.plans.values())
    with Progress("collecting", total=total, stream=day.options.stream) as bar:
        lock = threading.Lock()

        def tick(n: int) -> None:
            with lock:
                bar.advance(n)

        _parallel(day, tick)
    t = day.lap("collection", t)
    settle_in_doubt(day.col, day.plans, stream=day.options.stream)
    t = day.lap("recovery", t)
    day.notes += follow_up(day.col, day.plans, day.folder / "roster.csv", day.rnd)
    settle_in_doubt(day.col, day.plans, stream=day.options.stream)
    t = day.lap("follow-up", t)
    with Progress("settling", total=len(day.plans), stream=day.options.stream) as bar:
        for name, plan in day.plans.items():
            try:
                day.notes.append(f"{name}: {plan.running.settle(day.col, name)}")
            except PaychannelsError as exc:  # the reconciliation will show it unchecked
                day.notes.append(f"{name}: could not settle: {exc}")
            bar.advance()
    t = day.lap("settlement", t)
    with Progress("reconciling", stream=day.options.stream) as bar:
        rec = reconcile(day.col.journal, day.folder / "roster.csv", progress=bar.advance)
    files = write_outputs(rec, day.folder / "reconciliation")
    notices = build_notices(rec, Level.VILLAGE, county="科尔沁右翼前旗")
    written = write_notices(notices, day.folder / "notices", on=day.stage.day)
    t = day.lap("reconciliation", t)
    truth = check_truth(day.col, day.plans)
    faults = (
        [crash, *(f for p in day.plans.values() for f in p.found)]
        if crash
        else [f for p in day.plans.values() for f in p.found]
    )
    fault_outcomes(day.col, faults, rec)
    day.lap("truth check", t)
    day.timings["total"] = round(time.perf_counter() - started, 3)
    return _summary(day, rec, truth, faults, files, written)


def _parallel(day: _Day, tick: Callable[[int], None]) -> None:
    errors: list[BaseException] = []

    def work(plan: Plan) -> None:
        try:
            collect(day.col, plan, random.Random(f"{day.options.seed}:{plan.channel.name}"), tick)  # noqa: S311
        except BaseException as exc:  # surfaced below, after every channel stopped
            errors.append(exc)

    # the bank's simulator keeps its ledger in SQLite, bound to this thread: its channel
    # runs here, the others each in a thread of their own
    here = [p for p in day.plans.values() if p.channel.style == "batch"]
    threads = [
        threading.Thread(target=work, args=(plan,), name=f"demo-{name}", daemon=True)
        for name, plan in day.plans.items()
        if plan not in here
    ]
    for thread in threads:
        thread.start()
    for plan in here:
        work(plan)
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _crash(day: _Day) -> Fault | None:
    """Kill a backend process after its terminal approved a payment; recover it here."""
    plan = next((p for p in day.plans.values() if p.channel.crash), None)
    if plan is None or len(plan.payers) < 6:
        return None
    victims = plan.payers[:3]
    requests = [request_for(e, plan.channel, day.rnd).model_dump(mode="json") for e in victims]
    file = day.folder / "crash-requests.json"
    file.write_text(json.dumps(requests, ensure_ascii=False), "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYCHANNELS_CRASH")}
    env["PAYCHANNELS_CRASH_AT"] = "collect.after_outcome@2"
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    proc = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "paychannels.demo.crash_child",
            "--db",
            f"sqlite:///{day.folder}/journal.db?synchronous=normal",
            "--channel",
            plan.channel.name,
            "--url",
            plan.running.url,
            "--password",
            PASSWORD,
            "--requests",
            str(file),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    fault = Fault(
        plan.channel.name,
        "backend killed after the terminal approved, before the journal was updated",
        mask_id_number(victims[1].payer_id),
    )
    found = day.col.journal.get_by_key(requests[1]["idempotency_key"])
    fault.payment = found.id if found is not None else ""
    if proc.returncode != -9:
        day.notes.append(f"the crash child ended with {proc.returncode}: {proc.stderr[-300:]}")
    report = day.col.recover(channel=plan.channel.name)
    day.notes.append(
        f"crash: the killed process left {len(report.resolved) and sum(report.resolved.values())} "
        f"payment(s) to recovery: {report.resolved}"
    )
    return fault


def _unpaid_after_trying(rec: Any, *, shown: int = 20) -> dict[str, Any]:
    """Payers still unpaid after an attempt failed (a closed account, a returned debit):
    the office contacts them. Counted by the reason of the last attempt."""
    reasons: dict[str, int] = {}
    examples: list[str] = []
    for row in rec.details():
        if row.category.value != "unpaid" or not row.why:
            continue
        why = row.why.rpartition(": ")[2]
        reasons[why] = reasons.get(why, 0) + 1
        if len(examples) < shown:
            examples.append(f"{row.payer} {row.name} ({row.township} {row.village}): {row.why}")
    return {"payers": sum(reasons.values()), "by_reason": reasons, "examples": examples}


def _summary(
    day: _Day,
    rec: Any,
    truth: dict[str, Any],
    faults: list[Fault],
    files: dict[str, Path],
    notices: list[Path],
) -> dict[str, Any]:
    summary = rec.summary(concerns=50)
    resolved = sum(1 for f in faults if f.resolved)
    listed = sum(1 for f in faults if not f.resolved and f.attention)
    return {
        "payers": day.options.payers,
        "balanced": rec.balanced and truth["lost"] == 0 and truth["doubled"] == 0,
        "reconciliation_balanced": rec.balanced,
        "lost": truth["lost"],
        "doubled": truth["doubled"],
        "unconfirmed": truth["unconfirmed"],
        "lost_minor": rec.lost_minor,
        "unconfirmed_minor": rec.unconfirmed_minor,
        "paid_twice": rec.doubled,
        "in_doubt": rec.in_doubt,
        "categories": summary["totals"]["counts"],
        "owed_minor": rec.totals.owed_minor,
        "received_minor": rec.totals.received_minor,
        "channels": {
            c["channel"]: {"status": c["status"], "statements": len(c["statements"])}
            for c in summary["settlements"]
        },
        "operators": {o.operator: o.held_minor for o in rec.operators},
        "faults": [f.__dict__ for f in faults],
        "faults_injected": len(faults),
        "faults_resolved": resolved,
        "faults_for_attention": listed,
        "faults_open": len(faults) - resolved - listed,
        "attention": summary["concerns"],
        "attention_total": summary["concerns_total"],
        "follow_up": _unpaid_after_trying(rec),
        "notes": day.notes,
        "timings": day.timings,
        "reconcile_timings": rec.timings,
        "workspace": str(day.folder) if day.options.keep or day.options.folder else None,
        "files": {k: str(v) for k, v in files.items()} | {"notices": len(notices)},
    }
