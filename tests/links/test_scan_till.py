"""``paychannels scan``: a real till process reads the code from a scanner and takes one payment.

The scanner is a real pty (serial mode) or the process's standard input (keyboard mode); the
provider is the simulator over HTTP; the journal a real SQLite file. The digits never appear
in the command's output.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from paychannels import Collector, Status
from paychannels.simulators.provider import ProviderSimulator
from tests.contract.harnesses.mobile import sim_keys


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[ProviderSimulator]:
    s = ProviderSimulator(sim_keys(), auto_notify=False).start()
    s.keys.write(tmp_path / "keys", base_url=s.url, notify_url="http://127.0.0.1:9/n")
    try:
        yield s
    finally:
        s.stop()


def _till(sim: ProviderSimulator, tmp_path: Path, scanner: str, *extra: str) -> list[str]:
    k = sim.keys
    url = (
        f"wechatpay+{sim.url}?mchid={k.mchid}&appid={k.appid}&trade_type=codepay"
        "&wait_interval=0.05&wait_limit=0.5"
    )
    return [
        sys.executable, "-m", "paychannels.cli.main", "scan",
        "--db", f"sqlite:///{tmp_path}/j.db", "--code-channel", f"wx-codes={url}",
        "--channel-config", f"wx-codes={tmp_path / 'keys' / 'wechatpay.toml'}",
        "--payer", "150422199001011234", "--amount", "12.00", "--reference", "2026-fee",
        "--operator", "clerk-07", "--scanner", scanner, "--wait", "20", "--json", *extra,
    ]  # fmt: skip


@pytest.fixture
def journal(tmp_path: Path) -> None:
    Collector.open(f"sqlite:///{tmp_path}/j.db", create=True).close()


@pytest.mark.usefixtures("journal")
def test_a_code_from_a_serial_scanner_pays(
    sim: ProviderSimulator, tmp_path: Path, pty_pair: tuple[int, str]
) -> None:
    sim.wallets.open("w", 5000, confirm_after=0.2)  # types the password for a moment
    code = sim.wallets.code("w")
    master, device = pty_pair
    proc = subprocess.Popen(
        _till(sim, tmp_path, f"serial://{device}"), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    if not select.select([proc.stderr], [], [], 30)[0]:  # bounded: a stuck till fails
        proc.kill()
    ready = proc.stderr.readline()  # the port is open: the clerk may scan
    assert ready.startswith(b"ready: scan"), ready
    os.write(master, b"8888\r\n" + code.encode() + b"\r\n")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    result = json.loads(out)
    assert (result["status"], result["tell"], result["channel"]) == (
        "SUCCEEDED",
        "paid",
        "wx-codes",
    )
    assert result["payer"] == "150422********1234" and result["code"].endswith(code[-4:])
    assert "not a payment code" in err.decode() and "line 1" in err.decode()
    assert code not in (out + err).decode() and "8888" not in err.decode()
    assert sim.wallets.wallet("w").balance_minor == 5000 - 1200


@pytest.mark.usefixtures("journal")
def test_keyboard_mode_the_same_code_read_twice_is_sent_once(
    sim: ProviderSimulator, tmp_path: Path
) -> None:
    sim.wallets.open("w", 5000)
    code = sim.wallets.code("w")
    results = []
    for _ in range(2):  # the scanner typed the code twice: two runs of the till
        proc = subprocess.run(
            _till(sim, tmp_path, "-"), input=f"{code}\n".encode(), capture_output=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr.decode()
        results.append(json.loads(proc.stdout))
    assert results[0]["payment"] == results[1]["payment"]  # the same payment, not a new one
    assert sim.wallets.charges(results[0]["payment"]) == 1
    assert sim.wallets.wallet("w").balance_minor == 5000 - 1200


@pytest.mark.usefixtures("journal")
def test_a_payer_who_walks_away_is_told_nothing_was_taken(
    sim: ProviderSimulator, tmp_path: Path
) -> None:
    sim.wallets.open("w", 5000, confirm_after=None)
    proc = subprocess.run(
        _till(sim, tmp_path, "-"),
        input=f"{sim.wallets.code('w')}\n".encode(),
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 1
    result = json.loads(proc.stdout)
    assert (result["status"], result["reason"]) == ("DECLINED", "PIN_TIMEOUT")
    assert "nothing was taken" in result["tell"]
    col = Collector.open(f"sqlite:///{tmp_path}/j.db")
    try:
        assert col.status(result["payment"]).status is Status.DECLINED
    finally:
        col.close()


@pytest.mark.usefixtures("journal")
def test_the_till_takes_its_channel_and_journal_from_the_config_file(
    sim: ProviderSimulator, tmp_path: Path
) -> None:
    sim.wallets.open("w", 5000)
    k = sim.keys
    keys = tmp_path / "keys"
    config = tmp_path / "paychannels.toml"
    config.write_text(
        f'[journal]\nurl = "sqlite:///{tmp_path}/j.db"\n\n[channels.wx-codes]\n'
        f'url = "wechatpay+{sim.url}?mchid={k.mchid}&appid={k.appid}&trade_type=codepay'
        '&wait_interval=0.05&wait_limit=0.5"\n'
        'notify_url = "http://127.0.0.1:9/n"\n'
        f'merchant_serial = "{k.merchant_serial}"\n'
        f'private_key = {{ file = "{keys / "wechatpay_merchant_key.pem"}" }}\n'
        'apiv3_key = { env = "T_SCAN_APIV3" }\n'
        f'public_key = {{ file = "{keys / "wechatpay_pub_key.pem"}" }}\n'
        f'public_key_id = "{k.pubkey_id}"\n'
        f'platform_certificates = [{{ file = "{keys / "wechatpay_platform_cert.pem"}" }}]\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "PAYCHANNELS_DB"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "paychannels.cli.main",
            "scan",
            "--code-channel",
            "wx-codes",
            "--payer",
            "150422199001011234",
            "--amount",
            "12.00",
            "--reference",
            "2026-fee",
            "--scanner",
            "-",
            "--wait",
            "20",
            "--json",
        ],
        input=f"{sim.wallets.code('w')}\n".encode(),
        capture_output=True,
        timeout=60,
        env={**env, "PAYCHANNELS_CONFIG": str(config), "T_SCAN_APIV3": k.apiv3_key},
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert json.loads(proc.stdout)["status"] == "SUCCEEDED"
    assert sim.wallets.wallet("w").balance_minor == 5000 - 1200
