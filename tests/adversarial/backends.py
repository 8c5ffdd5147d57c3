"""Backends for the race tests: each is a Collector of its own over one journal and one
device ledger, run in a thread of the test or in a real child process.

``python -m tests.adversarial.backends DB LEDGER GATES ROLE PAUSE [PAYMENT_ID]`` runs one
role in a child process and prints the status it ended with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from paychannels import Collector, Money, PaymentRequest
from paychannels.channels.ledger import FileLedger
from paychannels.channels.memory import MemoryChannel
from tests.adversarial.gates import GatedChannel, Gates

ROOT = Path(__file__).resolve().parents[2]
AMOUNT = Money("25.00", "CNY")
REQUEST = PaymentRequest(
    payer_id="P000001", amount=AMOUNT, reference="2026", idempotency_key="race-1"
)
WAIT = 60.0


def open_backend(db: str, ledger: Path, gates: Gates, pause_at: tuple[str, ...] = ()) -> Collector:
    """A backend process's Collector: its own channel object on the shared device."""
    col = Collector.open(db, lock_linger=0)
    col.add_channel("hall", GatedChannel(MemoryChannel(FileLedger(ledger)), gates, pause_at))
    return col


def run_role(db: str, ledger: Path, gates: Gates, role: str, pause: str, arg: str = "") -> str:
    """Play one backend's part: ``recover``, ``collect`` or ``refund`` (of payment ``arg``)."""
    with open_backend(db, ledger, gates, (pause,) if pause else ()) as col:
        if role == "recover":
            return json.dumps(col.recover().as_dict(), sort_keys=True)
        if role == "collect":
            return col.collect(REQUEST, channel="hall").status.value
        if role == "refund":
            return col.refund(arg, AMOUNT).status.value
        raise ValueError(f"unknown role {role!r}")


class Background:
    """A role running in a thread or a child process; ``result()`` waits (bounded)."""

    def __init__(self, wait: Callable[[], str]) -> None:
        self._wait = wait

    def result(self) -> str:
        return self._wait()


def in_thread(
    db: str, ledger: Path, gates: Gates, role: str, pause: str, arg: str = ""
) -> Background:
    box: dict[str, str | BaseException] = {}

    def run() -> None:
        try:
            box["out"] = run_role(db, ledger, gates, role, pause, arg)
        except BaseException as exc:  # handed to the test's thread
            box["out"] = exc

    thread = threading.Thread(target=run, name=f"backend-{role}", daemon=True)
    thread.start()

    def wait() -> str:
        thread.join(WAIT)
        if thread.is_alive():
            raise TimeoutError(f"{role} did not finish in {WAIT} s")
        out = box["out"]
        if isinstance(out, BaseException):
            raise out
        return out

    return Background(wait)


def in_process(
    db: str, ledger: Path, gates: Gates, role: str, pause: str, arg: str = ""
) -> Background:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "tests.adversarial.backends", db, str(ledger)]
    proc = subprocess.Popen(
        [*argv, str(gates.folder), role, pause, arg],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def wait() -> str:
        try:
            out, err = proc.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        if proc.returncode != 0:
            raise AssertionError(f"{role} process failed ({proc.returncode}): {err[-2000:]}")
        return out.strip().splitlines()[-1]

    return Background(wait)


if __name__ == "__main__":
    db, ledger, folder, role, pause, *rest = sys.argv[1:]
    print(run_role(db, Path(ledger), Gates(Path(folder)), role, pause, *rest))
