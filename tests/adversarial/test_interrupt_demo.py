"""Ctrl-C and SIGTERM during the real ``paychannels demo``, at random moments.

Each trial starts the demo as a process (``--payers 100``, its workspace kept), waits for
it to be running (its workspace exists), signals it at a random moment of its run —
alternating SIGINT and SIGTERM — and expects: exit 130 / 143 (never a negative code: a
segfault or death by the signal), no hang, one line on stderr and no traceback. Then the
kept journal opens, ``recover()`` runs without raising and leaves nothing DISPATCHED, and
the journal is checked against the simulators' own ledgers the demo kept on its way out:
nothing taken twice, nothing the journal credits that no simulator took, nothing a
simulator took that the journal has as failed (in doubt is allowed: the simulators are
gone with the process, recovery will ask them when they are back).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from paychannels import Collector, MemoryChannel
from paychannels.demo.channels import CHANNELS
from paychannels.reconcile.taken import receipt_of
from paychannels.values.models import Record
from paychannels.values.status import Status

TRIALS = int(os.environ.get("PAYCHANNELS_INTERRUPT_TRIALS", "30"))
PAYERS = "100"
_DOUBT = {Status.DISPATCHED, Status.UNKNOWN, Status.PENDING, Status.NEEDS_ATTENTION}
_CHANNELS = tuple(c.name for c in CHANNELS)  # every channel of the demo day, as it grows


def demo(folder: Path) -> subprocess.Popen[str]:
    """The real command in a process of its own (as the console script runs it)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from paychannels.cli.main import main; sys.exit(main())",
            "demo",
            "--payers",
            PAYERS,
            "--out",
            str(folder),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_running(proc: subprocess.Popen[str], folder: Path) -> None:
    deadline = time.monotonic() + 60
    while not (folder / "roster.csv").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the demo never started"
        time.sleep(0.01)


def records(col: Collector) -> list[Record]:
    out: list[Record] = []
    after = None
    while page := col.journal.find(after_id=after, limit=500):
        out += page
        after = page[-1].id
    return out


def check_journal(folder: Path) -> dict[str, int]:
    """Recover, then the journal against the simulators' ledgers; counts seen."""
    with Collector.open(f"sqlite:///{folder}/journal.db", migrate=False) as col:
        for name in _CHANNELS:  # the simulators are gone: channels that cannot answer
            device = MemoryChannel(name=name)
            device.inquiry_down = True
            col.add_channel(name, device)
        report = col.recover()  # must not raise
        everything = records(col)
    assert not any(r.status is Status.DISPATCHED for r in everything), report
    doubt = {r.id for r in everything if r.status in _DOUBT}
    assert set(report.still_in_doubt) | set(report.needs_attention) >= {
        r.id for r in everything if r.status in {Status.UNKNOWN, Status.DISPATCHED}
    }
    ledgers_file = folder / "simulator-ledgers.json"
    if not ledgers_file.exists():  # stopped before the simulators ran, or after they closed
        return {"records": len(everything), "compared": 0}
    ledgers: dict[str, dict[str, int]] = json.loads(ledgers_file.read_text("utf-8"))
    payments = [r for r in everything if r.kind == "payment" and r.channel in ledgers]
    refunded = {r.parent_id for r in everything if r.kind == "refund"}
    matched: dict[str, set[str]] = {name: set() for name in ledgers}
    compared = 0
    for r in payments:
        taken = ledgers[r.channel]
        key = r.id
        if key not in taken and (receipt := receipt_of(r.channel_ref)) is not None:
            key = f"receipt:{receipt}"
        times = taken.get(key, 0)
        compared += 1
        if times:
            matched[r.channel].add(key)
        assert times <= 1, f"{r.id} taken {times} times"
        if r.id in doubt or r.id in refunded:  # recovery asks; a refund may have reversed it
            continue
        if r.status is Status.SUCCEEDED:
            assert times == 1, f"{r.id}: credited, never taken"
        if times:
            assert r.status is Status.SUCCEEDED, f"{r.id}: taken, the journal says {r.status}"
    in_doubt = Counter(r.channel for r in payments if r.id in doubt)
    for name, taken in ledgers.items():
        unmatched = [k for k in taken if k not in matched[name]]
        assert len(unmatched) <= in_doubt[name], f"{name}: money taken unknown to the journal"
    return {"records": len(everything), "compared": compared}


def uninterrupted(folder: Path) -> float:
    began = time.monotonic()
    proc = demo(folder)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "BALANCED" in out
    return time.monotonic() - began


def trial(n: int, folder: Path, delay: float) -> dict[str, int]:
    """One demo, one signal after ``delay`` s of its run; what was seen."""
    sig = signal.SIGINT if n % 2 == 0 else signal.SIGTERM
    proc = demo(folder)
    wait_running(proc, folder)
    time.sleep(delay)
    proc.send_signal(sig)
    try:
        _out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"trial {n}: the demo hung after {sig.name}")
    where = f"trial {n} ({sig.name} after {delay:.2f}s)"
    if proc.returncode == 0:  # the day ended before the signal came
        return {"finished first": 1}
    assert proc.returncode == 128 + sig, f"{where}: exit {proc.returncode}: {err}"
    assert "Traceback" not in err, f"{where}: {err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("paychannels: interrupted by"), err
    counts = check_journal(folder)
    return {
        "interrupted": 1,
        "records": counts["records"],
        "compared with ledgers": counts["compared"],
    }


@pytest.mark.slow
def test_interrupting_the_demo_anywhere_ends_it_cleanly(tmp_path: Path) -> None:
    length = uninterrupted(tmp_path / "whole")
    rnd = random.Random(int(os.environ.get("PAYCHANNELS_TRIAL_SEED", "11")))
    delays = [rnd.uniform(0, length * 0.9) for _ in range(TRIALS)]
    seen: Counter[str] = Counter()
    with ThreadPoolExecutor(max_workers=2) as pool:  # two demos at a time: mostly waiting
        folders = [tmp_path / f"t{n}" for n in range(TRIALS)]
        for counts in pool.map(trial, range(TRIALS), folders, delays):
            seen.update(counts)
    print(dict(seen))
    assert seen["interrupted"] >= TRIALS * 2 // 3, seen
