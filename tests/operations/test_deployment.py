"""The deployment of docs/operations.md, from one config file, against the simulators.

One ``paychannels.toml`` names a PostgreSQL journal, a WeChat Pay channel on the provider
simulator (with its daily bill), a ZVT terminal on the terminal simulator over TCP (its
password from the environment, its day closed on schedule) and the callback server;
``paychannels serve`` (2 uvicorn workers) and ``paychannels recover --loop`` run as real
processes from it. This test is the collecting backend: it opens its Collector from the same
file and takes orders; the simulator's payers pay and call back into ``serve`` over real
HTTP; one payment's callback is lost on the way, and the janitor settles it by asking the
provider; a card payment at the hall's terminal is in the terminal's end-of-day totals the
janitor records. ``/metrics`` is scraped over HTTP (valid exposition text: transitions, a
zero backlog), ``/healthz`` answers, and SIGTERM ends both processes with 0.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from paychannels import Collector, Money, PaymentRequest, Status
from paychannels.channels.settlement import recorded_settlements
from paychannels.simulators.provider import ProviderSimulator, Script
from paychannels.simulators.terminal import TerminalSimulator
from tests.contract.harnesses.mobile import sim_keys
from tests.loopback import free_port
from tests.operations.serving import command, get, healthy, samples, stop, wait_for
from tests.zvt.conftest import CARD, PASSWORD, TIMERS

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ORDERS = 6


@pytest.fixture
def sim() -> Iterator[ProviderSimulator]:
    script = Script(default_payer="pay", pay_delay=0.2)
    simulator = ProviderSimulator(sim_keys(), script=script, time_scale=600).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A ZVT terminal on TCP; its address. The password reaches every process by env."""
    simulator = TerminalSimulator(password=int(PASSWORD), card=CARD, t2=0.3, ack_timeout=1.0)
    host, port = simulator.serve_tcp("127.0.0.1", 0)
    monkeypatch.setenv("HALL1_ZVT_PASSWORD", PASSWORD)
    yield f"{host}:{port}"
    simulator.close()


def deployment_file(
    folder: Path, journal: str, sim: ProviderSimulator, terminal: str, port: int
) -> Path:
    keys = sim.keys
    keys.write(
        folder / "keys", base_url=sim.url, notify_url=f"http://127.0.0.1:{port}/callbacks/wx"
    )
    path = folder / "paychannels.toml"
    path.write_text(
        f"""\
[journal]
url = "{journal}"
create = true

[county]
zone = "Asia/Shanghai"

[channels.wx]
url = "wechatpay+{sim.url}?mchid={keys.mchid}&appid={keys.appid}"
config = "{folder / "keys" / "wechatpay.toml"}"
bills_at = "00:00"

[channels.hall-1]
url = "zvt+tcp://{terminal}?{TIMERS}&currency=CNY"
password = {{ env = "HALL1_ZVT_PASSWORD" }}
end_of_day_at = "00:00"

[callbacks]
listen = "127.0.0.1:{port}"
prefix = "/callbacks"
workers = 2

[janitor]
interval = "2s"
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def test_a_deployment_runs_from_one_config_file(
    pg_url: str, sim: ProviderSimulator, terminal: str, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = deployment_file(tmp_path, pg_url, sim, terminal, port)
    backend = Collector.from_config(config)  # the first process: it makes the journal
    at_hall = PaymentRequest(
        payer_id="payer-card", amount=Money("50.00", "CNY"), reference="2026",
        idempotency_key="deploy-card",
    )  # fmt: skip
    card = backend.collect(at_hall, "hall-1")
    assert card.status is Status.SUCCEEDED  # before the janitor closes the terminal's day
    serve = command("serve", "--config", str(config), log=tmp_path / "serve.log")
    janitor = command(
        "recover", "--loop", "--json", "--config", str(config), log=tmp_path / "janitor.log"
    )
    try:
        wait_for(lambda: healthy(base, serve), 30, "serve answers /healthz")
        ids = []
        for i in range(ORDERS):
            if i == ORDERS - 1:
                sim.script.payer("manual")  # this payer pays once its callback is set to be lost
            request = PaymentRequest(
                payer_id=f"payer-{i}", amount=Money("380.00", "CNY"), reference="2026",
                idempotency_key=f"deploy-{i}",
            )  # fmt: skip
            ids.append(backend.collect(request, "wx").id)
        lost = ids[-1]
        sim.notifier.lose(lost)
        sim.pay("wechatpay", lost)

        def all_paid() -> bool:
            assert serve.poll() is None and janitor.poll() is None
            return all(backend.status(i).status is Status.SUCCEEDED for i in ids)

        wait_for(all_paid, 20, "every order SUCCEEDED in the journal")
        # the lost one: no callback reached serve; the janitor asked the provider
        reached = [a for a in sim.notifier.attempts() if a.number == lost and a.status]
        assert reached == [] and sim.book.queries[lost] >= 1
        for number in ids:
            credits = [
                e for e in backend.events(payment_id=number) if e.to_status is Status.SUCCEEDED
            ]
            assert len(credits) == 1 and sim.charges(number) == 1, number
        by_callback = {a.number for a in sim.notifier.attempts() if a.accepted}
        assert by_callback, "no payment was credited through serve"

        # /metrics over real HTTP: each scrape is one worker's; wait for one that took callbacks
        seen: dict[str, list[tuple[dict[str, str], float]]] = {}

        def scraped_transitions() -> bool:
            reply = get(base + "/metrics")
            assert reply is not None and reply.status_code == 200
            assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
            seen.clear()
            seen.update(samples(reply.text))
            return any(
                labels == {"channel": "wx", "from": "PENDING", "to": "SUCCEEDED"} and value >= 1
                for labels, value in seen.get("paychannels_transitions_total", [])
            )

        wait_for(scraped_transitions, 15, "a scrape shows PENDING -> SUCCEEDED on wx")
        backlog = seen["paychannels_backlog"]
        assert {labels["kind"] for labels, _ in backlog} >= {"unknown", "needs_attention"}
        assert all(value == 0 for _, value in backlog), backlog
        health = get(base + "/healthz")
        assert health is not None and health.status_code == 200
        assert health.json()["status"] == "ok"
    finally:
        serve_code = stop(serve)
        janitor_code = stop(janitor)
        backend.close()
    serve_log = (tmp_path / "serve.log").read_text()
    janitor_log = (tmp_path / "janitor.log").read_text()
    assert serve_code == 0, serve_log
    assert janitor_code == 0, janitor_log
    assert "Traceback" not in serve_log + janitor_log
    rounds = [json.loads(line) for line in janitor_log.splitlines() if line.startswith("{")]
    assert sum(r["resolved"].get("SUCCEEDED", 0) for r in rounds) >= 1, rounds
    bills = [j for r in rounds for j in r["jobs"] if j["kind"] == "bill"]
    assert bills and bills[0]["channel"] == "wx" and bills[0]["outcome"] == "done", bills
    closes = [j for r in rounds for j in r["jobs"] if j["kind"] == "end-of-day"]
    assert closes and closes[0]["channel"] == "hall-1" and closes[0]["outcome"] == "done", closes
    with Collector.open(pg_url) as reader:
        [day] = recorded_settlements(reader.journal)["hall-1"]
    assert (day.payments, day.net_minor) == (1, 5000)
