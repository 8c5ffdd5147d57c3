"""A till process SIGKILLed at each step of an Alipay code payment; a fresh process recovers.

The kill comes from the provider's side (as in tests/adversarial): the simulator sees the
step happen — the pay call arriving, the pay done (money may have moved), a query while the
payer confirms, the cancel arriving, the cancel done — and kills the real child process
there, leaving its request unanswered. A second process, minutes later and without the code,
runs ``recover()`` until the payment is settled. Then the journal must match the payers'
wallets: paid once and kept (SUCCEEDED), paid once and given back (REVERSED), or never
taken (DECLINED / NOT_SENT) — never charged twice, never money the journal does not show.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from paychannels import Status, open_journal
from paychannels.simulators.provider import ProviderSimulator
from paychannels.simulators.provider.server import DROP, Request, Response
from tests.contract.harnesses.mobile import started_sim
from tests.crashkit import ROOT

CHILD = Path(__file__).with_name("alipay_crash_child.py")
AMOUNT = 38000

#: (payer, step killed at) → the status the journal must end in
CASES = {
    ("confirms", "pay.arrived"): Status.NOT_SENT,
    ("confirms", "pay.done"): Status.SUCCEEDED,
    ("confirms", "query@1"): Status.SUCCEEDED,
    ("walks_away", "pay.done"): Status.DECLINED,
    ("walks_away", "query@1"): Status.DECLINED,
    ("walks_away", "cancel.arrived"): Status.DECLINED,
    ("walks_away", "cancel.done"): Status.DECLINED,
    ("pays_at_cancel", "cancel.arrived"): Status.SUCCEEDED,  # paid while nobody asked
    ("pays_at_cancel", "cancel.done"): Status.REVERSED,  # paid, then the cancel gave it back
}

#: on PostgreSQL too (the journal's side is the same code; these cover each kind of end)
ON_POSTGRES = {
    ("confirms", "pay.arrived"),
    ("walks_away", "cancel.done"),
    ("pays_at_cancel", "cancel.done"),
}


sim = pytest.fixture(started_sim, name="sim")


class StepKiller:
    """Wraps the simulated gateway: at ``step`` it kills the child and leaves it unanswered."""

    def __init__(self, sim: ProviderSimulator, step: str, payer: str) -> None:
        self.sim, self.payer = sim, payer
        self.step, _, nth = step.partition("@")
        self.nth = int(nth or 1)
        self.seen: dict[str, int] = {}
        self.child: subprocess.Popen[str] | None = None
        self.killed = False
        self.inner: Callable[[Request], Response] = sim.alipay.handle

    def __call__(self, request: Request) -> Response:
        method = self.sim.alipay.params(request).get("method", "")
        kind = {"alipay.trade.pay": "pay", "alipay.trade.query": "query",
                "alipay.trade.cancel": "cancel"}.get(method, "")  # fmt: skip
        self.seen[kind] = self.seen.get(kind, 0) + 1
        at = self.seen[kind] == self.nth and not self.killed
        if kind == "cancel" and self.payer == "pays_at_cancel":
            self.sim.alipay.codes.confirm(self._number(request))  # just in time
        if at and self.step in (f"{kind}.arrived", kind):
            return self._kill()
        response = self.inner(request)
        if at and self.step == f"{kind}.done":
            return self._kill()
        return response

    def _number(self, request: Request) -> str:
        biz = json.loads(self.sim.alipay.params(request).get("biz_content") or "{}")
        return str(biz.get("out_trade_no", ""))

    def _kill(self) -> Response:
        assert self.child is not None
        os.kill(self.child.pid, signal.SIGKILL)
        self.killed = True
        return DROP


def run(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.parametrize(("payer", "step"), list(CASES))
def test_killed_at_each_step_then_recovered(
    sim: ProviderSimulator, journal_url: str, tmp_path: Path, payer: str, step: str
) -> None:
    if journal_url.startswith("postgresql") and (payer, step) not in ON_POSTGRES:
        pytest.skip("covered on SQLite; PostgreSQL runs one case of each end")
    keys = tmp_path / "keys"
    sim.keys.write(keys, base_url=sim.url, notify_url="http://127.0.0.1:9/notify")
    url = (
        f"alipay+{sim.alipay_gateway}?app_id={sim.keys.alipay_app_id}&product=bar_code"
        "&wait_interval=0.1&wait_limit=1.0"
    )
    confirm_after = {"confirms": 0.3, "walks_away": None, "pays_at_cancel": None}[payer]
    wallet = sim.wallets.open("payer", 100_000, confirm_after=confirm_after)
    killer = StepKiller(sim, step, payer)
    sim.alipay.handle = killer  # type: ignore[method-assign]
    config = str(keys / "alipay.toml")

    child = run(["collect", journal_url, url, config, sim.wallets.code("payer", "alipay")])
    killer.child = child
    _, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, f"not killed at {step}: {err[-2000:]}"
    time.sleep(0.5)  # a payer who confirms does so while the till is down

    later = run(["recover", journal_url, url, config])
    out, err = later.communicate(timeout=60)
    assert later.returncode == 0, err[-2000:]

    journal = open_journal(journal_url)
    try:
        (record,) = journal.find(limit=10)
        assert record.status is CASES[(payer, step)], (record.status, record.reason_detail, out)
        assert journal.verify(record.id) == []
    finally:
        journal.close()
    taken, charges = sim.wallets.net_taken(record.id), sim.wallets.charges(record.id)
    assert charges <= 1, "charged twice"
    match record.status:
        case Status.SUCCEEDED:
            assert (taken, charges) == (AMOUNT, 1), "the journal shows money never taken"
        case Status.REVERSED:
            assert (taken, charges) == (0, 1) and record.amount_taken is not None
        case _:
            assert (taken, charges) == (0, 0), "money taken that the journal does not show"
    assert wallet.balance_minor == 100_000 - taken
