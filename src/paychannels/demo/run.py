"""The demo collection day: every channel, faults injected, then reconciled.

1. **Set up**: a workspace (a temporary folder unless kept), the county roster, the journal
   (embedded SQLite), the callback endpoint and every simulator of ``CHANNELS``.
2. **A backend crash**: a second process takes payments at the first hall terminal and is
   killed after the terminal approved one, before the journal heard of it; recovered here.
3. **Collect**: each channel's payers, all channels at once, faults injected — in this
   process, or with ``workers`` dealt out whole to worker processes on one PostgreSQL
   journal (``demo.workers``), the simulators and the callback endpoint staying here.
4. **Recover**: the callbacks that came are applied; ``recover()`` asks the channels about
   everything in doubt; payments that provably never left are sent again.
5. **Follow up** as the office does: a payer already paid in the app is refused at the hall
   (``AlreadyPaid``), any duplicate payment refunded, the rest of a partial
   debit and the payers whose debit failed or who abandoned their QR code paid at the hall,
   unpaid QR orders closed.
6. **Settle**: terminals close their day, the providers' bills are downloaded, the bank's
   result files are in — all recorded in the journal.
7. **Reconcile**, post the village notice lists and write the offices' feeds; check the
   journal against each simulator's own ledger (nothing lost, nothing taken twice, nothing
   unconfirmed).

A Ctrl-C or SIGTERM (``DemoOptions.stopping``) closes the Collector — payments in flight
finish, new ones are refused — and ends the day; a kept workspace then also holds the
simulators' ledgers (``simulator-ledgers.json``) to check the journal against.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from paychannels.collector import Collector
from paychannels.console.interrupt import Stopping
from paychannels.console.progress import Progress
from paychannels.demo.arrivals import ACCOUNT, account_statements
from paychannels.demo.channels import CHANNELS, DemoChannel
from paychannels.demo.crash import crash_and_recover
from paychannels.demo.dayfeeds import write_day_feeds
from paychannels.demo.dice import Dice
from paychannels.demo.drivers import Plan, collect
from paychannels.demo.followup import follow_up, settle_in_doubt
from paychannels.demo.logfile import log_to
from paychannels.demo.receiver import Receiver
from paychannels.demo.roster_gen import RosterStats, generate_roster
from paychannels.demo.sims import Stage
from paychannels.demo.summary import Outputs, summarize
from paychannels.demo.tamper import tamper
from paychannels.demo.truth import check_truth, fault_outcomes
from paychannels.demo.workers import WorkerRun, run_workers
from paychannels.documents.notices import Level, build_notices, write_notices
from paychannels.documents.roster import RosterEntry, load_roster
from paychannels.reconcile import reconcile
from paychannels.reconcile.arrivals import ArrivalRules
from paychannels.reconcile.report import write_outputs
from paychannels.runtime.countytime import CountyTime
from paychannels.security.masking import redact_url
from paychannels.simulators.provider import SimKeys
from paychannels.values.errors import ConfigurationError, PaychannelsError

__all__ = ["COUNTY", "MAX_WORKERS", "ROSTER_AS_OF", "DemoOptions", "demo_roster", "run_demo"]

#: share of payers who do not pay at all today (away, forgot)
AWAY = 0.03
COUNTY = "科尔沁右翼前旗"
#: the roster's people are drawn as of this day (the contribution year's first), any day
ROSTER_AS_OF = date(2026, 1, 1)


@dataclass
class DemoOptions:
    """How big a day, where, and what to keep."""

    payers: int = 3000
    seed: int = 2026
    folder: Path | None = None  # the workspace; a temporary one when None
    keep: bool = False
    channels: Sequence[DemoChannel] = CHANNELS
    stream: TextIO | None = None  # where progress bars go (default stderr, only a terminal)
    tamper: str | None = None  # spoil the day on purpose (paychannels.demo.tamper)
    #: what a Ctrl-C / SIGTERM closes and removes (the CLI's); None: nothing registered
    stopping: Stopping | None = None
    #: the journal; None: an embedded SQLite file in the workspace. Another journal must be
    #: empty (a new PostgreSQL schema): the day is reconciled against everything in it
    db: str | None = None
    #: collect in this many worker processes (``demo.workers``); None: in this process
    workers: int | None = None


@dataclass
class Day:
    """The day being run: its workspace, journal, simulators and what happened so far."""

    options: DemoOptions
    folder: Path
    col: Collector
    stage: Stage
    plans: dict[str, Plan]
    dice: Dice  # every decision about a payer: the seed's, whatever runs first
    db: str  # the journal's URL as given, secrets and all: for our own processes, never shown
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    workers: list[WorkerRun] = field(default_factory=list)  # with --workers: how each ended

    def lap(self, name: str, since: float) -> float:
        """Record the seconds since ``since`` as phase ``name``; now. Between phases a
        Ctrl-C / SIGTERM stops the day (``Interrupted``)."""
        if self.options.stopping is not None:
            self.options.stopping.check()
        now = time.perf_counter()
        self.timings[name] = round(now - since, 3)
        return now


def run_demo(options: DemoOptions) -> dict[str, Any]:
    """Run the day; the summary (``balanced`` is the verdict)."""
    _check(options)
    folder = options.folder or Path(tempfile.mkdtemp(prefix="paychannels-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    kept = options.keep or options.folder is not None
    if options.stopping is not None:
        options.stopping.folder(folder, temporary=not kept)
    with log_to(folder / "demo.log"):
        try:
            day = _setup(options, folder)
        except BaseException:
            if not kept:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        try:
            summary = _run(day, started)
        finally:
            if options.stopping is not None and options.stopping.requested and kept:
                _keep_ledgers(day)
            for plan in day.plans.values():
                plan.running.close()
            day.stage.receiver.close()
            day.col.close()
            if not kept:
                shutil.rmtree(folder, ignore_errors=True)
    if kept:
        text = json.dumps(summary, ensure_ascii=False, indent=2) + "\n"
        (folder / "demo-summary.json").write_text(text, "utf-8")
    return summary


def _keep_ledgers(day: Day) -> None:
    """An interrupted day: the simulators' own ledgers (they end with this process) go to
    ``simulator-ledgers.json``, so the journal can be checked against them afterwards."""
    try:
        ledgers = {name: plan.running.truth() for name, plan in day.plans.items()}
        text = json.dumps(ledgers, indent=1) + "\n"
        (day.folder / "simulator-ledgers.json").write_text(text, "utf-8")
    except Exception as exc:  # winding down after a signal: never a traceback
        logging.getLogger("paychannels.demo").warning("simulator ledgers not kept: %s", exc)


#: the most worker processes a day is split into (there are eight channels to deal out)
MAX_WORKERS = 8


def _check(options: DemoOptions) -> None:
    """Refuse what cannot make a sound day, naming the option, before anything starts."""
    if options.workers is None:
        return
    if not 1 <= options.workers <= MAX_WORKERS:
        raise ConfigurationError(f"--workers must be between 1 and {MAX_WORKERS}")
    scheme = urlsplit(options.db).scheme if options.db else "sqlite"
    if options.workers > 1 and scheme == "sqlite":
        raise ConfigurationError(
            f"--workers {options.workers} needs a PostgreSQL journal (--db postgresql://…): "
            "SQLite commits one writer at a time, so worker processes would only queue on its "
            "lock; on SQLite the day runs in one process"
        )


def _setup(options: DemoOptions, folder: Path) -> Day:
    today = CountyTime().today()
    db = options.db or f"sqlite:///{folder}/journal.db?synchronous=normal"
    col = Collector.open(db, create=True)
    if options.stopping is not None:
        options.stopping.watch(col)
    held = sum(col.journal.count_by_status().values())
    if held:
        col.close()
        where = f"--db {redact_url(db)}" if options.db else f"--out {folder}"
        raise ConfigurationError(
            f"{where}: the journal there already holds {held:,} payment(s); a demo day needs "
            "an empty one (a new schema, a new folder), as it reconciles all it holds"
        )
    roster = folder / "roster.csv"
    demo_roster(roster, options.payers, options.seed)
    stage = Stage(
        folder, SimKeys.generate(), Receiver(col), options.seed, today, col.watch_progress
    )
    plans: dict[str, Plan] = {}
    try:
        for spec in options.channels:
            running = spec.start(stage)
            plans[spec.name] = Plan(spec, running)
            running.attach(col.add_channel(spec.name, running.url, **running.options))
    except BaseException:
        for plan in plans.values():
            plan.running.close()
        stage.receiver.close()
        col.close()
        raise
    day = Day(options, folder, col, stage, plans, Dice(options.seed), db)
    _assign(day, load_roster(roster))
    return day


def demo_roster(path: Path, payers: int, seed: int) -> RosterStats:
    """The day's roster of ``payers`` people, drawn from ``seed`` alone: as the county knew
    them at the start of the contribution year (``ROSTER_AS_OF``), not on the day the demo
    runs — birth dates in ID numbers and agreements' dates would move with it, and every
    decision keyed by a payer with them."""
    return generate_roster(path, payers, seed=seed, today=ROSTER_AS_OF)


def _assign(day: Day, entries: list[RosterEntry]) -> None:
    """Each payer to a channel serving their preference (round robin); some stay away."""
    serving: dict[str, list[Plan]] = {}
    for plan in day.plans.values():
        serving.setdefault(plan.channel.serves, []).append(plan)
    fallback = next(p for p in day.plans.values() if p.channel.style == "sync")
    turn: dict[str, int] = {}
    for entry in entries:
        if day.dice.chance(AWAY, "away", entry.payer_id):
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


def _run(day: Day, started: float) -> dict[str, Any]:
    stream = day.options.stream
    t = day.lap("set up", started)
    crash = crash_and_recover(day.col, day.plans, day.dice, db=day.db)
    t = day.lap("backend crash and recovery", t)
    total = sum(len(p.payers) for p in day.plans.values())
    with Progress("collecting", total=total, stream=stream) as bar:
        lock = threading.Lock()

        def tick(n: int) -> None:
            with lock:
                bar.advance(n)

        if day.options.workers is None:
            channel_seconds = _parallel(day, tick)
        else:
            channel_seconds = _in_workers(day, tick)
    t = day.lap("collection", t)
    settle_in_doubt(day.col, day.plans, stream=stream)
    t = day.lap("recovery", t)
    day.notes += follow_up(day.col, day.plans, day.folder / "roster.csv", day.dice)
    settle_in_doubt(day.col, day.plans, stream=stream)
    t = day.lap("follow-up", t)
    if day.options.tamper:
        day.notes.append(tamper(day.options.tamper, day.col, day.plans))
    with Progress("settling", total=len(day.plans), stream=stream) as bar:
        for name, plan in day.plans.items():
            try:
                day.notes.append(f"{name}: {plan.running.settle(day.col, name)}")
            except PaychannelsError as exc:  # the reconciliation will show it unchecked
                day.notes.append(f"{name}: could not settle: {exc}")
            bar.advance()
    t = day.lap("settlement", t)
    rules = ArrivalRules(account=ACCOUNT)
    statements, planted = account_statements(day.col.journal, day.folder / "statements", rules)
    with Progress("reconciling", stream=stream) as bar:
        rec = reconcile(
            day.col.journal,
            day.folder / "roster.csv",
            progress=bar.advance,
            statements=statements,
            rules=rules,
            county=CountyTime(),
        )
    files = write_outputs(rec, day.folder / "reconciliation")
    notices = build_notices(rec, Level.VILLAGE, county=COUNTY)
    written = write_notices(notices, day.folder / "notices", on=day.stage.day)
    feeds = write_day_feeds(day.col.journal, day.stage.day, day.folder / "feeds")
    t = day.lap("reconciliation", t)
    truth = check_truth(day.col, day.plans)
    faults = [f for p in day.plans.values() for f in p.found]
    if crash is not None:
        faults.insert(0, crash.fault)
        day.notes.append(f"crash: {crash.recovery_note()}")
        if crash.stderr and not crash.killed:
            day.notes.append(f"crash: the process said: {crash.stderr}")
    fault_outcomes(day.col, faults, rec)
    day.lap("truth check", t)
    day.timings["total"] = round(time.perf_counter() - started, 3)
    summary = summarize(
        rec,
        truth,
        faults,
        Outputs(files, written, day.folder if day.options.keep or day.options.folder else None),
        payers=day.options.payers,
        crash=crash,
        notes=day.notes,
        timings=day.timings | {f"collection {k}": v for k, v in channel_seconds.items()},
        planted=planted,
        scanning=[n for n, p in day.plans.items() if p.channel.style == "scan"],
        workers=[w.as_dict() for w in day.workers] if day.options.workers else None,
    )
    summary["feeds"] = feeds
    summary["cpu"] = _cpu()
    return summary


def _cpu() -> dict[str, float]:
    """CPU seconds (user + system) of this process and of its ended children (the workers,
    the crashed backend): what the day cost, and how much of it stays with the simulators."""
    now = os.times()  # children: those waited for; none counted where the OS keeps none
    return {
        "demo": round(now.user + now.system, 1),
        "children": round(now.children_user + now.children_system, 1),
    }


def _parallel(day: Day, tick: Callable[[int], None]) -> dict[str, float]:
    """Every channel collects at once; the seconds each took."""
    errors: list[BaseException] = []
    seconds: dict[str, float] = {}

    def work(plan: Plan) -> None:
        began = time.perf_counter()
        try:
            collect(day.col, plan, day.dice, tick)
        except BaseException as exc:  # surfaced below, after every channel stopped
            errors.append(exc)
        seconds[plan.channel.name] = round(time.perf_counter() - began, 3)

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
    return seconds


def _in_workers(day: Day, tick: Callable[[int], None]) -> dict[str, float]:
    """The channels dealt out to worker processes (``demo.workers``); the bank's batch runs
    here meanwhile. A worker that failed is noted: the day goes on, but does not balance."""
    seconds: dict[str, float] = {}

    def bank() -> None:
        for plan in day.plans.values():
            if plan.channel.style == "batch":
                began = time.perf_counter()
                collect(day.col, plan, day.dice, tick)
                seconds[plan.channel.name] = round(time.perf_counter() - began, 3)

    assert day.options.workers is not None
    day.workers, dealt = run_workers(
        day.col,
        day.plans,
        workers=day.options.workers,
        seed=day.options.seed,
        log=day.folder / "demo.log",
        roster=day.folder / "roster.csv",
        tick=tick,
        here=bank,
        check=day.options.stopping.check if day.options.stopping else lambda: None,
    )
    day.notes += [f"worker failed: {w.note()}" for w in day.workers if w.failed]
    return seconds | dealt
