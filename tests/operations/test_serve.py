"""``paychannels serve`` as a real process: uvicorn workers on one socket, callbacks from the
provider simulator over real HTTP, ``/healthz`` against a journal the test makes unreachable,
``/metrics`` with and without the otel extra, a SIGTERM with a callback in flight, and two
workers under a storm of duplicate callbacks on one PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from paychannels import Collector, Money, PaymentRequest, Status
from paychannels.simulators.provider import ProviderSimulator, SimKeys
from paychannels.simulators.provider.notifier import Attempt
from tests.contract.harnesses.mobile import sim_keys
from tests.loopback import free_port
from tests.operations.serving import (
    CuttablePath,
    command,
    get,
    healthy,
    refused,
    samples,
    stop,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def sim() -> Iterator[ProviderSimulator]:
    simulator = ProviderSimulator(sim_keys(), auto_notify=False, notify_timeout=30).start()
    yield simulator
    simulator.stop()


def wechat_config(
    sim: ProviderSimulator, folder: Path, journal: str, **callbacks: str
) -> tuple[Path, int]:
    """A ``paychannels.toml`` in ``folder`` serving on a free port, ``[channels.wx]`` on the
    simulator (its keys file names the server's callback URL); the file and the port."""
    port = free_port()
    keys: SimKeys = sim.keys
    keys.write(
        folder / "keys", base_url=sim.url, notify_url=f"http://127.0.0.1:{port}/callbacks/wx"
    )
    table = (
        "[channels.wx]\n"
        f'url = "wechatpay+{sim.url}?mchid={keys.mchid}&appid={keys.appid}"\n'
        f'config = "{folder / "keys" / "wechatpay.toml"}"\n'
    )
    return write_config(folder, journal, port, table, **callbacks), port


def order(col: Collector, key: str) -> str:
    request = PaymentRequest(
        payer_id=f"payer-{key}", amount=Money("3.00", "CNY"), reference="2026", idempotency_key=key
    )
    return col.collect(request, "wx").id


def test_healthz_answers_while_the_journal_does(
    pg_url: str, sim: ProviderSimulator, tmp_path: Path
) -> None:
    Collector.open(pg_url, create=True).close()
    path = CuttablePath(pg_url)
    config, port = wechat_config(sim, tmp_path, path.url)
    server = command("serve", "--config", str(config), log=tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: healthy(base, server), 30, "serve answers /healthz")
        reply = get(base + "/healthz")
        assert reply is not None and reply.json()["status"] == "ok"
        assert reply.json()["schema"] >= 1 and reply.headers["content-type"] == "application/json"
        assert set(reply.json()) == {"status", "journal", "schema", "worker"}  # no URL, no secret
        path.cut()
        reply = get(base + "/healthz")
        assert reply is not None and reply.status_code == 503, reply
        assert reply.json() == {"status": "unavailable", "journal": "JournalUnavailable"}
        path.mend()
        wait_for(lambda: healthy(base), 10, "/healthz green again once the journal is back")
    finally:
        code = stop(server)
        path.cut()
    assert code == 0, (tmp_path / "serve.log").read_text()


def shadowed(folder: Path, *packages: str) -> dict[str, str]:
    """An environment in which ``packages`` cannot be imported (as if not installed)."""
    for name in packages:
        (folder / name).mkdir(parents=True)
        (folder / name / "__init__.py").write_text(
            f"raise ModuleNotFoundError('No module named {name}', name='{name}')\n"
        )
    return {"PYTHONPATH": str(folder)}


def test_without_the_otel_extra_metrics_is_a_404_naming_it(
    sqlite_url: str, sim: ProviderSimulator, tmp_path: Path
) -> None:
    Collector.open(sqlite_url, create=True).close()
    config, port = wechat_config(sim, tmp_path, sqlite_url)
    env = shadowed(tmp_path / "shadow", "opentelemetry")
    server = command("serve", "--config", str(config), env=env, log=tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: healthy(base, server), 30, "serve answers /healthz")
        reply = get(base + "/metrics")
        assert reply is not None and reply.status_code == 404
        assert reply.text == "metrics need OpenTelemetry: pip install 'paychannels[otel]'\n"
    finally:
        code = stop(server)
    assert code == 0
    assert "pip install 'paychannels[otel]'" in (tmp_path / "serve.log").read_text()


def test_without_uvicorn_serve_names_the_extra(sqlite_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, sqlite_url, free_port(), "")
    env = shadowed(tmp_path / "shadow", "uvicorn")
    proc = command("serve", "--config", str(config), env=env, log=tmp_path / "serve.log")
    assert proc.wait(30) == 2
    out = (tmp_path / "serve.log").read_text()
    assert out.strip() == (
        "paychannels: error: paychannels serve runs under uvicorn: pip install 'paychannels[serve]'"
    )


def waiting_on(holder: psycopg.Connection[tuple[object, ...]]) -> bool:
    """Whether another session waits for a lock the holder's transaction has."""
    row = holder.execute(
        "SELECT count(*) FROM pg_locks w JOIN pg_locks h ON h.transactionid = w.transactionid"
        " WHERE h.pid = pg_backend_pid() AND h.granted AND NOT w.granted"
    ).fetchone()
    return bool(row and row[0])


def test_sigterm_lets_a_callback_in_flight_finish_then_exits_0(
    pg_url: str, sim: ProviderSimulator, tmp_path: Path
) -> None:
    config, port = wechat_config(sim, tmp_path, pg_url)
    log = tmp_path / "serve.log"
    with Collector.from_config(config, create=True) as col:
        paid = order(col, "drain-1")
        server = command("serve", "--config", str(config), "--drain", "20", log=log)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: healthy(base, server), 30, "serve answers /healthz")
            sim.pay("wechatpay", paid)
            # the slow callback: its journal write waits for the row this test holds
            with psycopg.connect(pg_url) as holder:
                holder.execute("SELECT id FROM pc_payments WHERE id = %s FOR UPDATE", (paid,))
                delivered: list[Attempt] = []
                delivery = threading.Thread(
                    target=lambda: delivered.append(sim.deliver("wechatpay", paid)), daemon=True
                )
                delivery.start()
                wait_for(lambda: waiting_on(holder), 15, "the callback waits on the row")
                server.send_signal(signal.SIGTERM)
                wait_for(lambda: refused(port), 10, "new connections refused after SIGTERM")
                time.sleep(1.0)  # the callback is kept waiting a while longer: serve drains
                assert server.poll() is None, "serve ended with a callback in flight"
                assert col.status(paid).status is Status.PENDING
            # the test's transaction ends: the callback goes on
            delivery.join(20)
            assert delivered and delivered[0].accepted, delivered  # WeChat Pay's success: 204
            assert delivered[0].status == 204 and delivered[0].seconds > 1.0, delivered
            code = server.wait(20)
        finally:
            stop(server)
        assert code == 0, log.read_text()
        assert col.status(paid).status is Status.SUCCEEDED
        assert "Traceback" not in log.read_text()


def test_two_workers_take_a_storm_of_duplicate_callbacks_once_each(
    pg_url: str, sim: ProviderSimulator, tmp_path: Path
) -> None:
    config, port = wechat_config(sim, tmp_path, pg_url, workers="2")
    log = tmp_path / "serve.log"
    with Collector.from_config(config, create=True) as col:
        ids = [order(col, f"storm-{i}") for i in range(8)]
        server = command("serve", "--config", str(config), log=log)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: healthy(base, server), 30, "serve answers /healthz")
            workers: set[int] = set()

            def seen_both() -> bool:
                reply = get(base + "/healthz")
                if reply is not None and reply.status_code == 200:
                    workers.add(reply.json()["worker"])
                return len(workers) == 2

            wait_for(seen_both, 20, "both workers answer")
            for number in ids:
                sim.pay("wechatpay", number)
            storm = [number for number in ids for _ in range(6)]
            with ThreadPoolExecutor(12) as pool:
                attempts = list(pool.map(lambda n: sim.deliver("wechatpay", n), storm))
            # a scrape reaches one worker; each shows the server's 8 credits, not its own share
            credited: dict[str, float] = {}

            def each_worker_shows_all() -> bool:
                reply = get(base + "/metrics")
                assert reply is not None and reply.status_code == 200
                transitions = samples(reply.text).get("paychannels_transitions_total", [])
                credited[reply.headers["x-paychannels-worker"]] = sum(
                    value
                    for labels, value in transitions
                    if labels == {"channel": "wx", "from": "PENDING", "to": "SUCCEEDED"}
                )
                return len(credited) == 2 and set(credited.values()) == {len(ids)}

            wait_for(each_worker_shows_all, 20, f"both workers' scrapes show {len(ids)} credits")
        finally:
            code = stop(server)
        assert code == 0, log.read_text()
        assert all(a.accepted for a in attempts), [a for a in attempts if not a.accepted][:3]
        for number in ids:
            assert col.status(number).status is Status.SUCCEEDED
            credits = [e for e in col.events(payment_id=number) if e.to_status is Status.SUCCEEDED]
            assert len(credits) == 1, (number, credits)
            assert sim.charges(number) == 1
        assert "Traceback" not in log.read_text()


def test_serve_without_a_config_file_says_so(tmp_path: Path) -> None:
    proc = command("serve", log=tmp_path / "serve.log", env={"PAYCHANNELS_CONFIG": ""})
    assert proc.wait(30) == 2
    assert "serve needs the deployment's config file" in (tmp_path / "serve.log").read_text()


def test_a_worker_that_cannot_open_the_journal_stops_the_server(tmp_path: Path) -> None:
    """Not a restart loop: the reason once, exit 1 (a supervisor may try again later)."""
    config = write_config(tmp_path, f"sqlite:///{tmp_path}/missing.db", free_port(), "")
    proc = command("serve", "--config", str(config), log=tmp_path / "serve.log")
    assert proc.wait(60) == 1
    out = (tmp_path / "serve.log").read_text()
    assert out.count("paychannels serve: error: no journal at") == 1, out
    assert "Traceback" not in out


def test_a_worker_that_dies_is_replaced(
    sqlite_url: str, sim: ProviderSimulator, tmp_path: Path
) -> None:
    Collector.open(sqlite_url, create=True).close()
    config, port = wechat_config(sim, tmp_path, sqlite_url)
    server = command("serve", "--config", str(config), log=tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: healthy(base, server), 30, "serve answers /healthz")
        first = get(base + "/healthz")
        assert first is not None
        # killed as soon as it answers: it was ready, so it is replaced (a time window since
        # its start failed on a loaded machine: a slow start is not a failed one)
        os.kill(int(first.headers["x-paychannels-worker"]), signal.SIGKILL)  # a crash

        def replaced() -> bool:
            reply = get(base + "/healthz")
            return reply is not None and reply.headers["x-paychannels-worker"] != str(
                first.headers["x-paychannels-worker"]
            )

        wait_for(replaced, 30, "another worker answers")
    finally:
        code = stop(server)
    assert code == 0
    assert "ended (exit -9); starting another" in (tmp_path / "serve.log").read_text()
