"""Running a child process that may be killed at a crash point (shared by the crash tests).

The library only names its crash points (``paychannels.runtime.crashpoints``); the killer lives
here.
A child calls ``install_from_env()`` before it does anything: ``PAYCHANNELS_CRASH_AT=name``
(or ``name@N`` for the N-th time the point is reached) kills it there with SIGKILL, without
cleanup, exactly like a power cut or ``kill -9``; ``PAYCHANNELS_CRASH_TRACE=file`` appends each
point reached to a file, so a test can first learn every step a flow passes and then kill it at
each in turn.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from paychannels import Money, PaymentRequest, Status, open_journal
from paychannels.runtime import crashpoints
from paychannels.values.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[1]


class Killer:
    """A crash hook that SIGKILLs this process the ``nth`` time ``point`` is reached."""

    def __init__(self, point: str, nth: int = 1) -> None:
        if point not in crashpoints.POINTS:
            raise ConfigurationError(f"crash point {point!r}: unknown; known: {crashpoints.POINTS}")
        self.point, self.nth = point, nth
        self.hits = 0
        self._lock = threading.Lock()

    @classmethod
    def parse(cls, spec: str) -> Killer:
        """``name`` or ``name@N``."""
        name, _, nth = spec.partition("@")
        return cls(name, int(nth or "1"))

    def __call__(self, name: str) -> None:
        if name != self.point:
            return
        with self._lock:
            self.hits += 1
            if self.hits >= self.nth:
                os.kill(os.getpid(), signal.SIGKILL)


class Tracer:
    """A crash hook that appends each point reached to a file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __call__(self, name: str) -> None:
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(name + "\n")


def install_from_env(environ: Mapping[str, str] = os.environ) -> None:
    """Install the tracer and the killer a parent asked for (called first thing in a child)."""
    trace = environ.get("PAYCHANNELS_CRASH_TRACE", "")
    if trace:
        crashpoints.install(Tracer(trace))
    spec = environ.get("PAYCHANNELS_CRASH_AT", "")
    if spec:
        crashpoints.install(Killer.parse(spec))


def run_child(
    child: Path, args: Sequence[str], *, crash_at: str = "", trace: Path | None = None
) -> int:
    """Run ``child`` with ``args``; 0 or -SIGKILL (killed at ``crash_at``), else fail."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYCHANNELS_CRASH")}
    env["PYTHONPATH"] = str(ROOT)
    if crash_at:
        env["PAYCHANNELS_CRASH_AT"] = crash_at
    if trace is not None:
        env["PAYCHANNELS_CRASH_TRACE"] = str(trace)
    proc = subprocess.run(
        [sys.executable, str(child), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"child failed ({proc.returncode}):\n{proc.stderr}")
    return proc.returncode


def numbered_steps(trace: Path) -> list[str]:
    """Each crash point a traced run reached, numbered: ['collect.before_intent@1', ...]."""
    seen: Counter[str] = Counter()
    out = []
    for name in trace.read_text().split():
        seen[name] += 1
        out.append(f"{name}@{seen[name]}")
    return out


#: three payments through a simulated terminal; the terminal declines 300.00
TERMINAL_PLAN = {"crash-1": "100.00", "crash-2": "200.00", "crash-3": "300.00"}
TERMINAL_EXPECTED = {
    "crash-1": (Status.SUCCEEDED, 1),
    "crash-2": (Status.SUCCEEDED, 1),
    "crash-3": (Status.DECLINED, 0),
}


def terminal_requests() -> list[PaymentRequest]:
    """The crash children's payments (the same keys in every run, so a restart retries)."""
    return [
        PaymentRequest(
            payer_id=f"15042219900101{i:04d}",
            amount=Money(amount, "CNY"),
            reference="2026-养老",
            idempotency_key=key,
            payer_name="张三",
        )
        for i, (key, amount) in enumerate(TERMINAL_PLAN.items(), start=1)
    ]


def check_terminal_truth(db: str, sim: Any) -> None:
    """After the restart: every payment as the simulated terminal's journal says, none twice."""
    journal = open_journal(db)
    try:
        records = {r.idempotency_key: r for r in journal.find(limit=100)}
        assert set(records) == set(TERMINAL_EXPECTED), "a payment was lost or duplicated"
        for key, (status, charges) in TERMINAL_EXPECTED.items():
            record = records[key]
            minor = int(TERMINAL_PLAN[key].replace(".", ""))
            assert record.status is status, f"{key}: {record.status} ({record.reason_detail})"
            assert sim.terminal.journal.charges(amount=minor) == charges, f"{key} charged wrongly"
            assert journal.verify(record.id) == []
        assert sim.terminal.journal.charges() == 2, "the terminal took money nobody journaled"
    finally:
        journal.close()
