"""The demo's backend crash: a process killed after its terminal approved a payment.

A second process (``paychannels.demo.crash_child``) takes three payments at the first
channel marked ``crash`` and is killed (SIGKILL, at the crash point
``collect.after_outcome`` of its second payment) after the terminal approved, before the
journal heard of it. This process then recovers the channel: ``recover()`` finds the
payment interrupted, asks the terminal, and books what the terminal booked — once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paychannels.collector import Collector
from paychannels.demo.drivers import Fault, Plan, request_for
from paychannels.masking import mask_id_number

__all__ = ["Crash", "crash_and_recover"]

#: the payment (1-based) of the child's three at which it is killed
_KILLED_AT = 2


@dataclass
class Crash:
    """What happened: whether the process died at the crash point, and what recovery did."""

    channel: str
    fault: Fault
    killed: bool
    exit: int
    recovered: dict[str, int] = field(default_factory=dict)
    stderr: str = ""

    def as_dict(self) -> dict[str, Any]:
        """For the summary."""
        return {
            "channel": self.channel,
            "killed": self.killed,
            "exit": self.exit,
            "payment": self.fault.payment,
            "recovered": dict(self.recovered),
        }


def crash_and_recover(
    col: Collector, plans: dict[str, Plan], folder: Path, rnd: random.Random
) -> Crash | None:
    """Run, kill and recover; None when no channel is marked for it or too few payers."""
    plan = next((p for p in plans.values() if p.channel.crash), None)
    if plan is None or len(plan.payers) < 6:
        return None
    victims = plan.payers[:3]
    requests = [request_for(e, plan.channel, rnd).model_dump(mode="json") for e in victims]
    file = folder / "crash-work.json"
    work = {"options": plan.running.options, "requests": requests}
    with os.fdopen(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
        json.dump(work, fh, ensure_ascii=False)  # the channel's options: for us alone
    proc = _run_child(col, plan, file)
    fault = Fault(
        plan.channel.name,
        "backend killed after the terminal approved, before the journal was updated",
        mask_id_number(victims[_KILLED_AT - 1].payer_id),
    )
    killed = proc.returncode == -signal.SIGKILL
    if not killed:
        fault.problem = f"the backend was not killed at the crash point (exit {proc.returncode})"
    found = col.journal.get_by_key(requests[_KILLED_AT - 1]["idempotency_key"])
    fault.payment = found.id if found is not None else ""
    report = col.recover(channel=plan.channel.name)
    return Crash(
        plan.channel.name,
        fault,
        killed,
        proc.returncode,
        {k: int(v) for k, v in report.resolved.items()},
        proc.stderr[-300:],
    )


def _run_child(col: Collector, plan: Plan, work: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYCHANNELS_CRASH")}
    env["PAYCHANNELS_CRASH_AT"] = f"collect.after_outcome@{_KILLED_AT}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "paychannels.demo.crash_child",
            "--db",
            col.journal.url,
            "--channel",
            plan.channel.name,
            "--url",
            plan.running.url,
            "--work",
            str(work),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
