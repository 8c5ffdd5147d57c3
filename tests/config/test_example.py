"""docs/examples/paychannels.toml, loaded as written and opened against the simulators.

Only what a test cannot have is changed, and each change must find its text: the journal
(a fresh SQLite file or PostgreSQL schema, ``create = true``), the simulators' ports, and the
merchant certificate's serial (the simulator makes its own certificate). The ids, the secret
references and the key files' names are the example's own.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from paychannels import Collector, Money, PaymentRequest, Status
from paychannels.config import load_config
from paychannels.simulators.provider import ProviderSimulator
from paychannels.simulators.terminal import TerminalSimulator
from tests.contract.harnesses.mobile import sim_keys

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "paychannels.toml"
PASSWORD = "246813"


def replaced(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"the example no longer holds {old!r}"
    return text.replace(old, new)


def test_the_example_runs_against_the_simulators(
    journal_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = EXAMPLE.read_text(encoding="utf-8")
    keys = dataclasses.replace(
        sim_keys(),
        mchid="1900000109",
        appid="wx8888888888888888",
        pubkey_id="PUB_KEY_ID_0114232134912410000000000000",
    )
    provider = ProviderSimulator(keys, auto_notify=False).start()
    terminal = TerminalSimulator(password=int(PASSWORD), card="6222021234567890123", t2=0.3)
    host, port = terminal.serve_tcp("127.0.0.1", 0)
    try:
        text = replaced(example, "postgresql://paychannels@127.0.0.1:5432/paychannels", journal_url)
        text = replaced(text, "create = false", "create = true")
        text = replaced(text, "zvt+tcp://127.0.0.1:20007", f"zvt+tcp://{host}:{port}")
        text = replaced(text, "wechatpay+http://127.0.0.1:8700", f"wechatpay+{provider.url}")
        text = replaced(text, "5157F09EFDC096DE15EBE81A47057A7232F1B8E1", keys.merchant_serial)
        config = tmp_path / "paychannels.toml"
        config.write_text(text, encoding="utf-8")
        keys.write(tmp_path / "secrets", base_url=provider.url, notify_url="http://127.0.0.1:9/x")
        monkeypatch.setenv("HALL1_ZVT_PASSWORD", PASSWORD)
        monkeypatch.setenv("WX_API_V3_KEY", keys.apiv3_key)

        loaded = load_config(config)
        assert PASSWORD not in repr(loaded) and keys.apiv3_key not in repr(loaded)
        assert [d.at.isoformat("minutes") for d in loaded.janitor.for_channel("wx")] == [
            "10:00",
            "14:00",
        ]
        with Collector.from_config(loaded) as col:
            assert sorted(col.channels) == ["hall-1", "wx"]
            paid = col.collect(request("hall"), "hall-1")
            assert paid.status is Status.SUCCEEDED
            assert sum(t.approved for t in terminal.terminal.journal.txns) == 1
            ordered = col.collect(request("wx"), "wx")
            assert ordered.status is Status.PENDING  # a QR code is shown: the payer scans it
    finally:
        terminal.close()
        provider.stop()


def request(key: str) -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"p-{key}", amount=Money("380.00", "CNY"), reference="2026", idempotency_key=key
    )
