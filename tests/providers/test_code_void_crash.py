"""A payment code's reverse (撤销) interrupted by SIGKILL: the journal still ends as the wallet.

Two reverses give money back: the till's ``cancel`` (void) of a paid code payment, and the
reverse the code channel sends itself when the payer's password wait runs out. The provider's
side kills the real child process (as in test_alipay_code_crash) once the reverse has arrived
or has been applied, leaving it unanswered; a fresh process recovers. Then the journal must
show what the payer's wallet shows: SUCCEEDED only if the money is still taken, REVERSED if
it was taken and given back, DECLINED if it never was — for WeChat Pay and Alipay alike.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import pytest

from paychannels import Collector, Status, open_journal
from paychannels.simulators.provider import ProviderSimulator
from paychannels.simulators.provider.server import DROP, Request, Response
from tests.contract.harnesses.mobile import sim_keys
from tests.crashkit import ROOT

CHILD = Path(__file__).with_name("void_crash_child.py")
FEN = 38000
START = 100_000
Provider = Literal["wechatpay", "alipay"]


@pytest.fixture
def sim() -> Iterator[ProviderSimulator]:
    s = ProviderSimulator(sim_keys(), auto_notify=False).start()
    try:
        yield s
    finally:
        s.stop()


class ReverseKiller:
    """Wraps a simulated gateway: kills the child at its first reverse (撤销 / cancel), before
    or after the provider applied it, and leaves the call unanswered."""

    def __init__(self, sim: ProviderSimulator, provider: Provider, step: str) -> None:
        self.sim, self.provider, self.step = sim, provider, step
        self.child: subprocess.Popen[str] | None = None
        self.pays_at_reverse = False  # the payer confirms just as the reverse arrives
        self.killed = False
        self.inner: Callable[[Request], Response] = (
            sim.alipay.handle if provider == "alipay" else sim.wechat.handle
        )

    def install(self) -> None:
        """Stand in front of the provider's gateway."""
        if self.provider == "alipay":
            self.sim.alipay.handle = self  # type: ignore[method-assign]
        else:
            self.sim.wechat.handle = self  # type: ignore[method-assign]

    def __call__(self, request: Request) -> Response:
        number = self._reverse_of(request)
        if number is None or self.child is None or self.killed:
            return self.inner(request)
        if self.pays_at_reverse:
            codes = self.sim.alipay.codes if self.provider == "alipay" else self.sim.codepay
            codes.confirm(number)
        if self.step == "reverse.arrived":
            return self._kill()
        self.inner(request)  # applied: the money (if taken) is back in the wallet
        return self._kill()

    def _reverse_of(self, request: Request) -> str | None:
        """The order number a reverse/cancel call is about; None for any other call."""
        if self.provider == "wechatpay":
            parts = request.path.split("/")
            if request.method == "POST" and parts[-1] == "reverse":
                return parts[-2]
            return None
        params = self.sim.alipay.params(request)
        if params.get("method") != "alipay.trade.cancel":
            return None
        return str(json.loads(params.get("biz_content") or "{}").get("out_trade_no", ""))

    def _kill(self) -> Response:
        assert self.child is not None
        os.kill(self.child.pid, signal.SIGKILL)
        self.killed = True
        return DROP


def plan(tmp: Path, sim: ProviderSimulator, provider: Provider, journal_url: str) -> Path:
    """The child's plan file: journal, channel URL and options for ``provider``."""
    Collector.open(journal_url, create=True).close()
    k = sim.keys
    if provider == "wechatpay":
        url = (
            f"wechatpay+{sim.url}?mchid={k.mchid}&appid={k.appid}&trade_type=codepay"
            "&wait_interval=0.1&wait_limit=0.5&code_lifetime=4&timeout=3"
        )
        options = {"notify_url": "http://127.0.0.1:9/n", "backoff": 0.01, **k.wechat_options()}
    else:
        keys = tmp / "keys"
        k.write(keys, base_url=sim.url, notify_url="http://127.0.0.1:9/notify")
        url = (
            f"alipay+{sim.alipay_gateway}?app_id={k.alipay_app_id}&product=bar_code"
            "&wait_interval=0.1&wait_limit=0.5"
        )
        options = {"config": str(keys / "alipay.toml"), "backoff": 0.01}
    path = tmp / "plan.json"
    path.write_text(json.dumps({"db": journal_url, "url": url, "options": options, "fen": FEN}))
    return path


def run(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(child: subprocess.Popen[str]) -> str:
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err[-2000:]
    return out.strip()


def killed(child: subprocess.Popen[str]) -> None:
    _, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, f"not killed at the reverse: {err[-2000:]}"


def journal_matches_wallet(
    sim: ProviderSimulator, journal_url: str, provider: Provider, recovered: str
) -> Status:
    """The one record against the payer's wallet; returns its status."""
    journal = open_journal(journal_url)
    try:
        (record,) = journal.find(limit=10)
        assert journal.verify(record.id) == []
    finally:
        journal.close()
    wallet = sim.wallets.wallet("payer")
    taken, charges = sim.wallets.net_taken(record.id), sim.wallets.charges(record.id)
    assert charges <= 1, "charged twice"
    assert record.claimed_by is None, f"a void left in flight after recovery ({recovered})"
    match record.status:
        case Status.SUCCEEDED:
            assert taken == FEN, f"SUCCEEDED but the wallet got {FEN - taken} back"
        case Status.REVERSED:
            assert (taken, charges) == (0, 1) and record.amount_taken is not None
        case Status.DECLINED:
            assert (taken, charges) == (0, 0), "DECLINED but the money was kept"
        case _:
            pytest.fail(f"left {record.status} ({record.reason_detail}); recovery said {recovered}")
    assert wallet.balance_minor == START - taken
    return record.status


#: the till voids a paid payment and dies at the provider's reverse → the journal's end
VOIDS = {
    ("wechatpay", "reverse.done"): Status.REVERSED,  # the money went back
    ("alipay", "reverse.done"): Status.REVERSED,
    ("wechatpay", "reverse.arrived"): Status.SUCCEEDED,  # the void never reached the provider
    ("alipay", "reverse.arrived"): Status.SUCCEEDED,
}


@pytest.mark.parametrize(("provider", "step"), list(VOIDS))
def test_void_killed_at_the_reverse_then_recovered(
    sim: ProviderSimulator, journal_url: str, tmp_path: Path, provider: Provider, step: str
) -> None:
    if journal_url.startswith("postgresql") and step != "reverse.done":
        pytest.skip("covered on SQLite; PostgreSQL runs the money-returned case")
    path = plan(tmp_path, sim, provider, journal_url)
    sim.wallets.open("payer", START, confirm_after=0.0)
    code = sim.wallets.code("payer", provider)
    assert finish(run(["pay", str(path), code])) == "SUCCEEDED"

    killer = ReverseKiller(sim, provider, step)
    killer.install()
    voiding = run(["void", str(path)])
    killer.child = voiding
    killed(voiding)

    recovered = finish(run(["recover", str(path)]))
    assert journal_matches_wallet(sim, journal_url, provider, recovered) is VOIDS[(provider, step)]


#: the payer walks away; the channel's own reverse at the wait's end is killed → the end
WAITS = {
    ("wechatpay", "walks_away", "reverse.done"): Status.DECLINED,
    ("wechatpay", "walks_away", "reverse.arrived"): Status.DECLINED,  # recovery reverses
    ("wechatpay", "pays_at_reverse", "reverse.done"): Status.REVERSED,
    ("wechatpay", "pays_at_reverse", "reverse.arrived"): Status.SUCCEEDED,
    ("alipay", "walks_away", "reverse.done"): Status.DECLINED,
    ("alipay", "pays_at_reverse", "reverse.done"): Status.REVERSED,
}


@pytest.mark.slow
@pytest.mark.parametrize(("provider", "payer", "step"), list(WAITS))
def test_wait_reverse_killed_then_recovered(
    sim: ProviderSimulator,
    journal_url: str,
    tmp_path: Path,
    provider: Provider,
    payer: str,
    step: str,
) -> None:
    if journal_url.startswith("postgresql") and step != "reverse.done":
        pytest.skip("covered on SQLite; PostgreSQL runs the applied-reverse cases")
    path = plan(tmp_path, sim, provider, journal_url)
    sim.wallets.open("payer", START, confirm_after=None)  # never confirms by itself
    killer = ReverseKiller(sim, provider, step)
    killer.pays_at_reverse = payer == "pays_at_reverse"
    killer.install()
    paying = run(["pay", str(path), sim.wallets.code("payer", provider)])
    killer.child = paying
    killed(paying)
    time.sleep(0.2)

    recovered = finish(run(["recover", str(path)]))
    end = journal_matches_wallet(sim, journal_url, provider, recovered)
    assert end is WAITS[(provider, payer, step)]
