"""The random-kill harness: kill a collecting backend, restart it, compare with the device.

A trial starts a rig's device, runs the backend (``worker.py``) and SIGKILLs it — at a
random moment after it is ready, or right after the device's n-th write of money — maybe
twice, then runs it once more to the end (it recovers until settled, retries its keys,
settles again) and compares the journal with the device's own ledger:

- **lost**: the device took or gave back money the journal does not show (a payment ended
  without money, a refund not journaled, money on the device for no journaled payment);
- **doubled**: the device took a payment or gave a refund back more than once;
- **phantom**: the journal shows money taken or given back that the device does not have;
- **in doubt**: left UNKNOWN / NEEDS_ATTENTION for a person (counted, not a failure).

Seeds: ``ADVERSARIAL_SEED`` (default fixed) and the trial's name make each trial's seed; a
failure prints it. ``ADVERSARIAL_TRIALS`` sets the random trials per rig and journal.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from paychannels import Record, Status, open_journal
from tests.adversarial.rigs import DECLINED, LOST_REPLY, RIGS, Rig
from tests.adversarial.tally import REPORTS, Tally

ROOT = Path(__file__).resolve().parents[2]
BASE_SEED = int(os.environ.get("ADVERSARIAL_SEED", "20261207"))
TRIALS = int(os.environ.get("ADVERSARIAL_TRIALS", "2"))
#: how many of the device's first writes of money each rig is killed right after, in turn
WRITES = int(os.environ.get("ADVERSARIAL_WRITES", "3"))
RUN_TIMEOUT = 120.0
_NO_MONEY = (Status.DECLINED, Status.NOT_SENT, Status.CANCELLED, Status.EXPIRED)
_IN_DOUBT = (Status.UNKNOWN, Status.NEEDS_ATTENTION, Status.DISPATCHED, Status.PENDING)


def seed_of(name: str) -> int:
    digest = hashlib.sha256(f"{BASE_SEED}:{name}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def make_plan(rng: random.Random, n: int, *, refunds: float) -> list[dict[str, object]]:
    """``n`` payments of distinct amounts (some declined, some whose answer is lost), the
    first one approved; each refunded in full with probability ``refunds``."""
    amounts: set[int] = set()
    plan = []
    for i in range(n):
        pool = rng.choices(["ok", "declined", "lost_reply"], weights=[6, 1, 1])[0] if i else "ok"
        span = {"ok": range(10_000, 99_999), "declined": DECLINED, "lost_reply": LOST_REPLY}[pool]
        amount = rng.choice(span)
        while amount in amounts:
            amount = rng.choice(span)
        amounts.add(amount)
        plan.append(
            {
                "key": f"adv-{i}-{amount}",
                "payer": f"1504221990010{i:05d}",
                "amount": amount,
                "refund": rng.random() < refunds,
            }
        )
    return plan


class Trials:
    """The trials of one test: a rig kind on one journal URL maker."""

    def __init__(self, test_id: str, rig: str, tmp: Path) -> None:
        self.test_id = test_id
        self.rig_cls: type[Rig] = RIGS[rig]
        self.tmp = tmp
        self.tally = REPORTS.setdefault(test_id, Tally())
        self.window = 0.5  # seconds of work after "ready"; learned from unkilled runs

    # -- one backend run -------------------------------------------------------------------

    def run(
        self,
        rig: Rig,
        spec: dict[str, object],
        *,
        kill_after: float | None,
        kill_on_write: int,
        write_delay: float = 0.0,
    ) -> int:
        """One backend process; killed ``kill_after`` s after ready, or ``write_delay`` s
        after the device's n-th write (at once: before the device even answers)."""
        path = self.tmp / f"spec-{time.monotonic_ns()}.json"
        if kill_on_write and type(rig).device_in_backend:
            spec = {**spec, "channel": rig.kill_after_writes(spec["channel"], kill_on_write)}
        path.write_text(json.dumps(spec), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAYCHANNELS_CRASH")}
        env["PYTHONPATH"] = str(ROOT)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.adversarial.worker", str(path)],
            cwd=self.tmp,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        writes = [0]

        def on_write(_what: str) -> None:
            writes[0] += 1
            if writes[0] != kill_on_write:
                return
            if write_delay:
                threading.Timer(write_delay, lambda: _kill(proc)).start()
            else:
                os.kill(proc.pid, signal.SIGKILL)

        if kill_on_write and not type(rig).device_in_backend:
            rig.on_device_write(on_write)
        timer: threading.Timer | None = None
        try:
            ready_at = self._wait_ready(proc)
            if kill_after is not None and ready_at is not None:
                timer = threading.Timer(kill_after, lambda: _kill(proc))
                timer.start()
            try:
                _, err = proc.communicate(timeout=RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                _kill(proc)
                _, err = proc.communicate()
                hung = f"the backend hung for {RUN_TIMEOUT:g} s:\n{err.decode()}"
                raise AssertionError(hung) from None
            if ready_at is not None and proc.returncode == 0 and kill_after is None:
                self.window = max(0.2, time.monotonic() - ready_at)
        finally:
            if timer is not None:
                timer.cancel()
            rig.on_device_write(None)
        if proc.returncode not in (0, -signal.SIGKILL):
            raise AssertionError(f"the backend failed ({proc.returncode}):\n{err.decode()}")
        return proc.returncode

    @staticmethod
    def _wait_ready(proc: subprocess.Popen[bytes]) -> float | None:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], RUN_TIMEOUT)
        line = proc.stdout.readline() if ready else b""
        return time.monotonic() if line.strip() == b"ready" else None

    # -- one trial -----------------------------------------------------------------------------

    def trial(
        self,
        db: str,
        name: str,
        *,
        payments: int = 5,
        after_write: int = 0,
        write_delay: float = 0.0,
    ) -> Tally:
        """One trial (see the module docstring); its figures, also added to the test's."""
        seed = seed_of(f"{self.test_id}:{name}")
        rng = random.Random(seed)
        rig = self.rig_cls(self.tmp / f"rig-{name}")
        rig.root.mkdir(parents=True)
        share = (1.0 if after_write else 0.4) if self.rig_cls.refunds else 0.0
        plan = make_plan(rng, payments, refunds=share)
        result = Tally(trials=1)
        open_journal(db, create=True).close()  # made once; every backend opens that one
        try:
            spec = {
                "db": db,
                "channel": rig.start(),
                "plan": plan,
                "currency": "CNY",
                "batch": self.rig_cls.batch,
                "settle": 10.0,
            }
            if after_write:
                code = self.run(
                    rig,
                    spec,
                    kill_after=None,
                    kill_on_write=after_write,
                    write_delay=rng.uniform(0.0, write_delay),
                )
                result.kills += code == -signal.SIGKILL
            else:
                for _ in range(rng.choice([1, 1, 2])):
                    delay = rng.uniform(0.0, self.window)
                    result.kills += self.run(rig, spec, kill_after=delay, kill_on_write=0) != 0
            assert self.run(rig, spec, kill_after=None, kill_on_write=0) == 0
            compare(rig, db, plan, result)
        except AssertionError as exc:  # a backend that failed or hung: say how to replay it
            raise AssertionError(f"{self._replay(name, seed)}: {exc}") from None
        finally:
            rig.stop()
        result.problems = [f"{self._replay(name, seed)}: {p}" for p in result.problems]
        self.tally.add(result)
        return result

    def _replay(self, name: str, seed: int) -> str:
        return f"{self.test_id} trial {name} (seed {seed}; replay: ADVERSARIAL_SEED={BASE_SEED})"


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)


def compare(rig: Rig, db: str, plan: list[dict[str, object]], out: Tally) -> None:
    """The journal against the device's ledger, payment by payment (see the docstring)."""
    journal = open_journal(db)
    try:
        records = journal.find(limit=10_000)
        by_key = {r.idempotency_key: r for r in records if r.kind == "payment"}
        refunds: dict[str, list[Record]] = {}
        for r in records:
            if r.parent_id:
                refunds.setdefault(r.parent_id, []).append(r)
            out.problems.extend(f"{r.id}: verify: {p}" for p in journal.verify(r.id))
        for item in plan:
            key, amount = str(item["key"]), int(str(item["amount"]))
            out.payments += 1
            record = by_key.get(key)
            if record is None:
                out.problems.append(f"{key}: not in the journal at all")
                continue
            device = rig.taken(record, amount)
            out.moved += device.charges + device.refunds
            journaled = 1 if record.status is Status.SUCCEEDED else 0
            _judge(out, f"payment {key} ({record.status})", device.charges, journaled, record)
            children = refunds.get(record.id, [])
            if item["refund"] or children or device.refunds:
                out.refunds += 1
                given = sum(1 for c in children if c.status is Status.SUCCEEDED)
                doubt = next((c for c in children if c.status in _IN_DOUBT), None)
                states = ",".join(c.status.value for c in children) or "none"
                _judge(out, f"refund of {key} ({states})", device.refunds, given, doubt)
        known = {r.id for r in records}
        stray = rig.stray(known, {int(str(i["amount"])) for i in plan})
        if stray:
            out.lost += max(stray, 1)
            out.problems.append(f"the device moved money for no journaled payment ({stray})")
    finally:
        journal.close()


def _judge(out: Tally, what: str, device: int, journaled: int, doubt: Record | None) -> None:
    if device > 1:
        out.doubled += device - 1
        out.problems.append(f"{what}: the device did it {device} times")
    if journaled > 1:
        out.doubled += journaled - 1
        out.problems.append(f"{what}: the journal shows it {journaled} times")
    if device >= 1 and journaled == 0:
        if doubt is not None and doubt.status in _IN_DOUBT:
            out.in_doubt += 1
        else:
            out.lost += 1
            out.problems.append(f"{what}: the device did it, the journal does not show it")
    if device == 0 and journaled >= 1:
        out.phantom += 1
        out.problems.append(f"{what}: the journal shows it, the device never did it")


@contextmanager
def journal_url(backend: str, tmp: Path, name: str) -> Iterator[str]:
    """A fresh journal for one trial: a SQLite file or a private PostgreSQL schema."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp}/{name}.db"
        return
    from tests.conftest import pg_schema

    with pg_schema() as url:
        yield url
