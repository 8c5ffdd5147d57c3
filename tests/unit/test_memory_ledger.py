"""The memory device's ledger: a refund is one write; a bad ledger path is a typed error."""

from __future__ import annotations

from pathlib import Path

import pytest

from paychannels import ConfigurationError, open_channel
from paychannels.channels.ledger import FileLedger, InMemoryLedger, Ledger, LedgerEntry


def _paid(ledger: Ledger, key: str = "pay_1", status: str = "SUCCEEDED") -> None:
    ledger.record(LedgerEntry(key, status, 10_000, "CNY", "mem-1", "00", charges=1))


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_refund_gives_back_and_records_together(kind: str, tmp_path: Path) -> None:
    ledger: Ledger = InMemoryLedger() if kind == "memory" else FileLedger(tmp_path / "l.db")
    _paid(ledger)
    stored = ledger.refund("pay_1", LedgerEntry("rfd_1", "SUCCEEDED", 2_500, "CNY", "mem-r1"))
    assert stored is not None and stored.key == "rfd_1"
    original = ledger.get("pay_1")
    assert original is not None and original.refunded_minor == 2_500
    assert original.status == "SUCCEEDED" and original.charges == 1


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_refund_of_a_payment_not_succeeded_writes_nothing(kind: str, tmp_path: Path) -> None:
    ledger: Ledger = InMemoryLedger() if kind == "memory" else FileLedger(tmp_path / "l.db")
    _paid(ledger, status="REVERSED")
    assert ledger.refund("pay_1", LedgerEntry("rfd_1", "SUCCEEDED", 1, "CNY", "r")) is None
    assert ledger.refund("pay_none", LedgerEntry("rfd_2", "SUCCEEDED", 1, "CNY", "r")) is None
    assert ledger.get("rfd_1") is None and ledger.get("rfd_2") is None
    original = ledger.get("pay_1")
    assert original is not None and original.refunded_minor == 0


def test_bad_memory_paths_are_configuration_errors(tmp_path: Path) -> None:
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_bytes(b"this is not a database at all, just text " * 40)
    for path in (tmp_path / "missing" / "deeper" / "l.db", tmp_path, not_sqlite):
        with pytest.raises(ConfigurationError, match="memory ledger"):
            open_channel(f"memory://{path}")
