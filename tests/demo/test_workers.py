"""``paychannels demo --workers N``: the collection in worker processes on one PostgreSQL.

Real demo processes on a real PostgreSQL (a fresh schema each): a day collected by two
workers balances and is the same day (``demo.stable``) as one collected by one worker; a
worker killed mid-day leaves the day unbalanced and the command exits 1, naming the worker;
``--workers 2`` on SQLite and a journal that already holds payments are refused, naming the
option. How channels are dealt out is checked on the plans themselves.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from paychannels.collector import Collector
from paychannels.demo.channels import CHANNELS
from paychannels.demo.drivers import Plan
from paychannels.demo.stable import stable_view
from paychannels.demo.workers import deal
from paychannels.values.models import PaymentRequest
from paychannels.values.money import Money
from tests.conftest import pg_schema

PAYERS = 300
_DEMO = [sys.executable, "-m", "paychannels.cli.main", "demo", "--json"]


def _start(folder: Path, db: str, *extra: str, payers: int = PAYERS) -> subprocess.Popen[str]:
    argv = [*_DEMO, "--payers", str(payers), "--seed", "7", "--out", str(folder), "--db", db]
    return subprocess.Popen(
        [*argv, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _summary(proc: subprocess.Popen[str], timeout: float = 240) -> tuple[int, dict[str, Any]]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    assert out.lstrip().startswith("{"), err[-2000:]
    return proc.returncode, json.loads(out)


@pytest.fixture
def two_schemas() -> Iterator[tuple[str, str]]:
    with ExitStack() as stack:
        yield stack.enter_context(pg_schema()), stack.enter_context(pg_schema())


@pytest.mark.slow
@pytest.mark.xdist_group("demo")
def test_two_workers_on_postgresql_balance_and_make_the_same_day_as_one(
    tmp_path: Path, two_schemas: tuple[str, str]
) -> None:
    one = _start(tmp_path / "one", two_schemas[0], "--workers", "1")
    two = _start(tmp_path / "two", two_schemas[1], "--workers", "2")
    (code1, s1), (code2, s2) = _summary(one), _summary(two)
    for code, s in ((code1, s1), (code2, s2)):
        assert code == 0 and s["balanced"], s["notes"]
        assert (s["lost"], s["doubled"], s["unconfirmed"], s["in_doubt"]) == (0, 0, 0, 0)
        assert sum(s["categories"].values()) == PAYERS
    assert [len(w["channels"]) for w in s1["workers"]] == [8]
    assert len(s2["workers"]) == 2
    for w in s2["workers"]:  # whole channels each, every payer reached, a clean exit
        assert w["exit"] == 0 and not w["failed"] and w["reached"] == w["payers"] > 0
    dealt = sorted(c for w in s2["workers"] for c in w["channels"])
    assert dealt == sorted(c.name for c in CHANNELS if c.style != "batch")
    # the day's CPU split: the demo's own (simulators, bank) and its children's (workers)
    for s in (s1, s2):
        assert s["cpu"]["demo"] > 0 and s["cpu"]["children"] > 0
    assert stable_view(s1) == stable_view(s2)
    # the workers' channels were collected in the workers (their log lines say which)
    log = (tmp_path / "two" / "demo.log").read_text("utf-8")
    assert re.search(r"\[worker 2\] INFO paychannels\.channel\.", log)


@pytest.mark.slow
@pytest.mark.xdist_group("demo")
def test_a_worker_killed_mid_day_leaves_the_day_unbalanced_and_is_named(
    tmp_path: Path, pg_url: str
) -> None:
    folder = tmp_path / "day"
    proc = _start(folder, pg_url, "--workers", "2", payers=1500)
    pid = _collecting_worker(folder / "demo.log", worker=1, proc=proc)
    time.sleep(1.0)  # well into its payers (1,500 payers take the workers tens of seconds)
    os.kill(pid, signal.SIGKILL)
    code, s = _summary(proc)
    assert code == 1 and s["balanced"] is False
    killed = next(w for w in s["workers"] if w["worker"] == 1)
    assert killed["failed"] and killed["exit"] == -signal.SIGKILL
    assert killed["reached"] < killed["payers"]
    other = next(w for w in s["workers"] if w["worker"] == 2)
    assert not other["failed"]
    note = next(n for n in s["notes"] if n.startswith("worker failed: worker 1 "))
    assert "was killed (signal 9)" in note and "not reached today" in note
    assert s["in_doubt"] == 0  # what it had in flight was settled by the demo's recovery


def _collecting_worker(log: Path, *, worker: int, proc: subprocess.Popen[str]) -> int:
    """The pid of ``worker`` once it is collecting (from the day's log), bounded."""
    deadline = time.monotonic() + 180
    started = re.compile(rf"worker {worker} started \(pid (\d+)\)")
    while time.monotonic() < deadline and proc.poll() is None:
        text = log.read_text("utf-8") if log.exists() else ""
        found = started.search(text)
        if found and f"worker {worker}: channels open, collecting" in text:
            return int(found[1])
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"worker {worker} never started collecting: {proc.communicate()[1][-2000:]}")


def test_more_than_one_worker_on_sqlite_is_refused_naming_the_option(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*_DEMO, "--payers", "20", "--workers", "2", "--out", str(tmp_path / "day")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "--workers 2 needs a PostgreSQL journal" in proc.stderr
    assert not (tmp_path / "day" / "journal.db").exists()  # refused before anything started


def test_a_journal_that_already_holds_payments_is_refused(tmp_path: Path, pg_url: str) -> None:
    with Collector.open(pg_url, create=True) as col:
        col.add_channel("till", "memory://")
        col.collect(
            PaymentRequest(
                payer_id="p-1",
                amount=Money.of_minor(100, "CNY"),
                reference="r-1",
                idempotency_key="k-1",
            ),
            channel="till",
        )
    proc = subprocess.run(
        [*_DEMO, "--payers", "20", "--workers", "2", "--db", pg_url, "--out", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "already holds 1 payment(s)" in proc.stderr and "--db" in proc.stderr


def test_channels_are_dealt_whole_largest_first_and_the_bank_stays() -> None:
    plans = {
        spec.name: Plan(spec, None, [None] * size)  # type: ignore[arg-type, list-item]
        for spec, size in zip(CHANNELS, (30, 20, 20, 10, 50, 40, 10, 10, 400), strict=True)
    }
    assert [c.style for c in CHANNELS][-1] == "batch"
    two = deal(plans, 2)
    assert sorted(c for names in two for c in names) == sorted(c.name for c in CHANNELS[:-1])
    loads = [sum(len(plans[c].payers) for c in names) for names in two]
    assert loads == [100, 90]  # wx 50 -> 1, ali 40 -> 2, hall-1 30 -> 2, ...
    assert deal(plans, 1) == [[n for n in sorted(plans, key=lambda n: (-len(plans[n].payers), n))
                               if n != "bank"]]  # fmt: skip
    assert len(deal(plans, 8)) == 8 and all(len(names) == 1 for names in deal(plans, 8))
    assert len(deal(plans, 9)) == 8  # never an idle worker


@pytest.mark.slow
@pytest.mark.xdist_group("demo")
def test_workers_stop_when_the_demo_process_is_gone(tmp_path: Path, pg_url: str) -> None:
    """A demo killed outright (no cleanup) leaves no worker collecting on its own."""
    folder = tmp_path / "day"
    proc = _start(folder, pg_url, "--workers", "2", payers=1500)
    pids = [_collecting_worker(folder / "demo.log", worker=n, proc=proc) for n in (1, 2)]
    proc.kill()
    proc.communicate(timeout=60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.2)
    assert not [pid for pid in pids if _alive(pid)]
    assert "the demo's process is gone; stopping" in (folder / "demo.log").read_text("utf-8")


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie, reaped by init later, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_a_worker_may_ask_a_simulator_only_for_its_verbs() -> None:
    """What crosses the pipe names a verb: the channel's side verbs, never ``close`` or
    ``settle`` (those are the demo's, once, at the end of the day)."""
    from paychannels.demo.sims import Running

    class Sim(Running):
        def inject(self, fault: str) -> None:
            self.armed = fault

        def settle(self, collector: Collector, name: str) -> str:
            raise AssertionError("never through call")

        def truth(self) -> dict[str, int]:
            return {"pay_1": 1}

        def close(self) -> None:
            raise AssertionError("never through call")

    sim = Sim()
    sim.call("inject", "timeout")
    assert sim.armed == "timeout" and sim.call("truth") == {"pay_1": 1}
    for verb in ("close", "settle", "__class__", "tag"):
        with pytest.raises(ValueError, match=verb):
            sim.call(verb)
