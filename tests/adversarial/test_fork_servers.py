"""Callbacks through real prefork servers: gunicorn ``--preload`` (the Collector made in
the master, then forked into 2 workers) with the WSGI app, and uvicorn ``--workers 2`` with
the ASGI app. The provider simulator pays each order and calls back twice (duplicates, on
concurrent connections); every payment ends SUCCEEDED exactly once, both workers served,
each under its own owner name — never the master's. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from paychannels import Collector, Money, PaymentRequest, Status
from paychannels.simulators.provider import NotifyFaults, ProviderSimulator, Script
from tests.contract.harnesses.mobile import sim_keys
from tests.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]
PAYMENTS = 12


def wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text(errors="replace")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail("the server did not start")


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[tuple[ProviderSimulator, Path]]:
    keys = sim_keys()
    sim = ProviderSimulator(
        keys,
        script=Script(payer_mix=(("pay", 1.0),), pay_delay=0.1),
        time_scale=600,
        faults=NotifyFaults(duplicate=1.0),
    ).start()
    yield sim, tmp_path / "keys"
    sim.stop()


def served_by(served: Path) -> dict[str, set[str]]:
    """Worker pid -> the owner names it put on the requests it served."""
    owners: dict[str, set[str]] = {}
    for pid, owner in (line.split() for line in served.read_text().splitlines()):
        owners.setdefault(pid, set()).add(owner)
    return owners


def both_workers_seen(port: int, served: Path, seconds: float = 20) -> dict[str, set[str]]:
    """The workers that served; if the callbacks all landed on one (the kernel hands
    connections to whichever worker accepts first, and under load that may be one), plain
    requests on fresh connections (404s, nothing journaled) until the other shows itself."""
    deadline = time.monotonic() + seconds
    while len(owners := served_by(served)) < 2 and time.monotonic() < deadline:
        httpx.get(f"http://127.0.0.1:{port}/who-serves", timeout=5)
    return owners


def server_command(kind: str, port: int) -> list[str]:
    if kind == "gunicorn":
        exe = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or "gunicorn"
        return [
            exe, "--preload", "--workers", "2", "--bind", f"127.0.0.1:{port}",
            "--timeout", "30", "--graceful-timeout", "5", "tests.adversarial.fork_app:wsgi",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "uvicorn", "--workers", "2", "--host", "127.0.0.1",
        "--port", str(port), "--log-level", "warning", "tests.adversarial.fork_app:asgi",
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn"])
def test_callbacks_through_prefork_workers_apply_once(
    kind: str, journal_url: str, provider: tuple[ProviderSimulator, Path], tmp_path: Path
) -> None:
    sim, keys_dir = provider
    port = free_port()
    notify = f"http://127.0.0.1:{port}/callbacks/wx"
    sim.keys.write(keys_dir, base_url=sim.url, notify_url=notify)
    ids = json.loads((keys_dir / "ids.json").read_text())
    Collector.open(journal_url, create=True).close()  # the journal exists before the server starts
    served = tmp_path / "served.log"
    out = tmp_path / "server.out"
    env = {
        **os.environ,
        "PAYCHANNELS_FORK_DB": journal_url,
        "PAYCHANNELS_FORK_KEYS": str(keys_dir),
        "PAYCHANNELS_FORK_SIM": sim.url,
        "PAYCHANNELS_FORK_LOG": str(served),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            server_command(kind, port), cwd=ROOT, env=env, stdout=sink, stderr=sink
        )
    col = Collector.open(journal_url)
    try:
        wait_listening(proc, port, out)
        col.add_channel(
            "wx",
            f"wechatpay+{sim.url}?mchid={ids['mchid']}&appid={ids['appid']}",
            config=str(keys_dir / "wechatpay.toml"),
        )
        payments = [
            col.collect(
                PaymentRequest(
                    payer_id=f"payer-{i}",
                    amount=Money("3.00", "CNY"),
                    reference="2026",
                    idempotency_key=f"{kind}-{i}",
                ),
                "wx",
            )
            for i in range(PAYMENTS)
        ]
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if all(col.status(p.id).status is Status.SUCCEEDED for p in payments):
                break
            time.sleep(0.1)
        statuses = [col.status(p.id).status for p in payments]
        assert statuses == [Status.SUCCEEDED] * PAYMENTS, out.read_text(errors="replace")
        time.sleep(0.5)  # let the duplicates land too
        for p in payments:
            succeeded = [e for e in col.events(payment_id=p.id) if e.to_status is Status.SUCCEEDED]
            assert len(succeeded) == 1, p.id
        owners = both_workers_seen(port, served)
        assert len(owners) == 2, f"not both workers served: {owners}"
        for pid, names in owners.items():
            assert len(names) == 1, names
            (name,) = names
            assert name.split("/")[1] == pid, f"worker {pid} goes by {name}"
        assert str(proc.pid) not in owners
        assert "Traceback" not in out.read_text(errors="replace")
    finally:
        col.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
