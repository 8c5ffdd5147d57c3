"""The demo's backend crash: a process killed after its terminal approved a payment.

A second process (``paychannels.demo.crash_child``) takes three payments at the first
channel marked ``crash``; it halts at the crash point ``collect.after_outcome`` of its
second payment (a hook it installs itself: the library only names the point) and this
process kills it there (SIGKILL) — after the terminal approved, before the journal heard of
it. This process then recovers the channel: ``recover()`` finds the payment interrupted, asks
the terminal, and books what the terminal booked — once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from paychannels.collector import Collector
from paychannels.console.readable import counts
from paychannels.demo.crash_child import HALTED
from paychannels.demo.dice import Dice
from paychannels.demo.drivers import Fault, Plan, request_for
from paychannels.security.masking import mask_id_number

__all__ = ["Crash", "crash_and_recover"]

#: the payment (1-based) of the child's three at which it is killed
_KILLED_AT = 2

#: the most a step of the child may take (start-up to halt; dying after the kill)
_CHILD_TIMEOUT = 120.0


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

    def recovery_note(self) -> str:
        """What recovery did after the kill, for the summary's notes (as people read it)."""
        return f"recovery after the killed process: {counts(self.recovered)}"


def crash_and_recover(
    col: Collector, plans: dict[str, Plan], dice: Dice, *, db: str
) -> Crash | None:
    """Run, kill and recover; None when no channel is marked for it or too few payers.

    ``db`` is the journal's URL as given (``col.journal.url`` hides its password).
    """
    plan = next((p for p in plans.values() if p.channel.crash), None)
    if plan is None or len(plan.payers) < 6:
        return None
    victims = plan.payers[:3]
    requests = [request_for(e, plan.channel, dice).model_dump(mode="json") for e in victims]
    # on the child's stdin: a command line is public (ps), and a file would outlive the day
    work = {
        "db": db,
        "channel": plan.channel.name,
        "url": plan.running.url,
        "options": plan.running.options,
        "requests": requests,
    }
    proc = _run_child(json.dumps(work, ensure_ascii=False))
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


def _run_child(work: str) -> subprocess.CompletedProcess[str]:
    """Start the backend with ``work`` on its stdin, wait until it halts at its crash point,
    and kill it there (SIGKILL)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    argv = [
        sys.executable,
        "-m",
        "paychannels.demo.crash_child",
        "--halt-at",
        f"collect.after_outcome@{_KILLED_AT}",
    ]
    with subprocess.Popen(  # noqa: S603 - our own interpreter and module
        argv,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdin is not None
        with suppress(BrokenPipeError):  # a child dead at start-up: its stderr says why
            proc.stdin.write(work)
            proc.stdin.close()
        proc.stdin = None  # sent: communicate() must not touch it again
        halted = threading.Event()
        watcher = threading.Thread(target=_watch, args=(proc, halted), daemon=True)
        watcher.start()
        halted.wait(_CHILD_TIMEOUT)  # set at the halt line, or when the child's stdout ends
        proc.kill()  # the power cut: a halted child is killed where it stands
        try:
            _, stderr = proc.communicate(timeout=_CHILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            stderr = ""
        watcher.join(_CHILD_TIMEOUT)
        return subprocess.CompletedProcess(argv, proc.wait(), "", stderr or "")


def _watch(proc: subprocess.Popen[str], halted: threading.Event) -> None:
    """Set ``halted`` when the child says it reached its point, or when its stdout ends."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(HALTED):
            break
    halted.set()
