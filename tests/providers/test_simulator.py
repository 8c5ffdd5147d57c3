"""The provider simulator as a program and its notifier: schedules, slow backends, payers.

The CLI test runs ``paychannels-sim provider`` as a separate process, opens both channels
from the config files it writes, and lets its payers pay and its notifier call a real
callback app, the way a backend developer would use it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest

from paychannels import Collector, Money, PaymentRequest, Status, open_channel
from paychannels.callbacks import CallbackASGI
from paychannels.simulators.provider import NotifyFaults, ProviderSimulator, SimKeys
from paychannels.simulators.provider.notifier import WECHAT_SCHEDULE
from tests.contract.harnesses.mobile import sim_keys
from tests.loopback import free_port
from tests.providers.support import Served


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class FlakyBackend:
    """Answers 500 to the first ``fails`` calls (or sleeps ``slow`` s), then 204."""

    def __init__(self, fails: int = 0, slow: float = 0.0) -> None:
        self.fails, self.slow, self.calls = fails, slow, 0
        self.times: list[float] = []
        self.server = make_server("127.0.0.1", 0, self.app, handler_class=_Quiet)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/n"

    def app(self, environ: dict[str, object], start_response: object) -> list[bytes]:
        self.calls += 1
        self.times.append(time.monotonic())
        if self.calls <= self.fails:
            if self.slow:
                time.sleep(self.slow)
            start_response("500 Internal Server Error", [])  # type: ignore[operator]
            return ['{"code":"FAIL","message":"失败"}'.encode()]
        start_response("204 No Content", [])  # type: ignore[operator]
        return [b""]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def keys() -> SimKeys:
    return sim_keys()


def order(sim: ProviderSimulator, keys: SimKeys, url: str) -> str:
    ch = open_channel(
        f"wechatpay+{sim.url}?mchid={keys.mchid}&appid={keys.appid}",
        notify_url=url,
        **keys.wechat_options(),
    )
    col = Collector.open("sqlite:///:memory:", create=True)
    col.add_channel("wx", ch)
    request = PaymentRequest(
        payer_id="p", amount=Money("1.00", "CNY"), reference="r", idempotency_key="k"
    )
    p = col.collect(request, channel="wx")
    col.close()
    return p.id


@pytest.mark.slow
def test_notifier_retries_on_the_compressed_schedule(keys: SimKeys) -> None:
    backend = FlakyBackend(fails=3)
    scale = 150.0  # 15 s -> 0.1 s
    sim = ProviderSimulator(keys, time_scale=scale).start()
    try:
        number = order(sim, keys, backend.url)
        sim.pay("wechatpay", number)
        deadline = time.monotonic() + 10
        while backend.calls < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sim.notifier.wait_idle(5)
    finally:
        sim.stop()
        backend.close()
    attempts = [a for a in sim.notifier.attempts() if a.number == number]
    assert [a.accepted for a in attempts] == [False, False, False, True]
    gaps = [b - a for a, b in zip(backend.times, backend.times[1:], strict=False)]
    expected = [s / scale for s in WECHAT_SCHEDULE[:3]]  # 15 s, 15 s, 30 s compressed
    for gap, want in zip(gaps, expected, strict=True):
        assert want * 0.8 <= gap <= want + 0.5, (gaps, expected)


@pytest.mark.slow
def test_a_slow_backend_counts_as_a_failure(keys: SimKeys) -> None:
    backend = FlakyBackend(fails=1, slow=1.5)
    sim = ProviderSimulator(keys, time_scale=100.0, notify_timeout=0.5).start()
    try:
        number = order(sim, keys, backend.url)
        sim.pay("wechatpay", number)
        deadline = time.monotonic() + 10
        while not any(a.accepted for a in sim.notifier.attempts()) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sim.stop()
        backend.close()
    first, *rest = [a for a in sim.notifier.attempts() if a.number == number]
    assert not first.accepted and "Timeout" in first.error
    assert rest and rest[-1].accepted


@pytest.mark.slow
def test_duplicates_and_fakes_are_sent(keys: SimKeys) -> None:
    backend = FlakyBackend()
    faults = NotifyFaults(duplicate=1.0, copies=3, forged=1.0, probe=1.0, stale=1.0)
    sim = ProviderSimulator(keys, faults=faults, seed=7).start()
    try:
        number = order(sim, keys, backend.url)
        sim.pay("wechatpay", number)
        assert sim.notifier.wait_idle(10)
    finally:
        sim.stop()
        backend.close()
    variants = sorted(a.variant for a in sim.notifier.attempts() if a.number == number)
    assert variants == ["forged", "genuine", "genuine", "genuine", "probe", "stale"]


@pytest.fixture
def cli_sim(tmp_path: Path) -> Iterator[tuple[int, Path, int]]:
    """``paychannels-sim provider`` in its own process, with payers who pay after 0.2 s."""
    port, receiver = free_port(), free_port()
    keys_dir = tmp_path / "keys"
    summary = tmp_path / "summary.json"
    cmd = [
        sys.executable, "-c", "from paychannels.simulators.cli import main; main()",
        "provider", "--port", str(port), "--keys", str(keys_dir), "--payers", "pay",
        "--pay-delay", "0.2", "--time-scale", "600", "--duration", "20", "--json",
        "--notify-url", f"http://127.0.0.1:{receiver}/callbacks/wx",
    ]  # fmt: skip
    with summary.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 20
            while not (keys_dir / "alipay.toml").exists():
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "the simulator did not start"
                time.sleep(0.05)
            yield port, keys_dir, receiver
        finally:
            proc.terminate()  # SIGTERM: it stops and prints its summary
            proc.wait(timeout=10)
    report = json.loads(summary.read_text())
    assert report["orders"] == {"alipay:paid": 1, "wechatpay:paid": 1}
    assert report["callbacks"]["genuine:accepted"] >= 2


@pytest.mark.slow
def test_cli_simulator_with_config_files(cli_sim: tuple[int, Path, int], tmp_path: Path) -> None:
    port, keys_dir, receiver = cli_sim
    ids = json.loads((keys_dir / "ids.json").read_text())
    col = Collector.open(f"sqlite:///{tmp_path}/j.db", create=True)
    served = Served(CallbackASGI(col), port=receiver)
    try:
        col.add_channel(
            "wx",
            f"wechatpay+http://127.0.0.1:{port}?mchid={ids['mchid']}&appid={ids['appid']}",
            config=str(keys_dir / "wechatpay.toml"),
        )
        col.add_channel(
            "ali",
            f"alipay+http://127.0.0.1:{port}/gateway.do?app_id={ids['alipay_app_id']}",
            config=str(keys_dir / "alipay.toml"),
            notify_url=served.url("/callbacks/ali"),  # an option wins over the file
        )
        payments = [
            col.collect(
                PaymentRequest(
                    payer_id=name, amount=Money(amount, "CNY"), reference="r", idempotency_key=name
                ),
                channel=name,
            )
            for name, amount in (("wx", "2.00"), ("ali", "3.00"))
        ]
        assert all(p.status is Status.PENDING for p in payments)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if all(col.status(p.id).status is Status.SUCCEEDED for p in payments):
                break
            time.sleep(0.1)
        assert [col.status(p.id).status for p in payments] == [Status.SUCCEEDED] * 2
        orders = httpx.get(f"http://127.0.0.1:{port}/_sim/orders").json()
        assert {o["status"] for o in orders} == {"paid"}
    finally:
        served.close()
        col.close()


@pytest.mark.slow
def test_cli_refuses_bad_arguments() -> None:
    from paychannels.simulators.cli import main

    assert main(["provider", "--payers", "everyone", "--port", "0"]) == 2
    assert main(["provider", "--duplicate", "2", "--port", "0"]) == 2


def test_cli_writes_each_providers_own_callback_url(tmp_path: Path) -> None:
    """Each config file names its own provider's callback path, not the other's."""
    keys_dir = tmp_path / "keys"
    cmd = [
        sys.executable, "-c", "from paychannels.simulators.cli import main; main()",
        "provider", "--port", "0", "--keys", str(keys_dir), "--duration", "0.2", "--json",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    wechat = (keys_dir / "wechatpay.toml").read_text(encoding="utf-8")
    alipay = (keys_dir / "alipay.toml").read_text(encoding="utf-8")
    assert 'notify_url = "http://127.0.0.1:8000/callbacks/wechatpay"' in wechat
    assert 'notify_url = "http://127.0.0.1:8000/callbacks/alipay"' in alipay
