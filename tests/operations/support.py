"""What the janitor's tests share: a journal with payments left in doubt on a memory device
whose ledger is a file (so other processes ask the same device), and a bank exchange folder."""

from __future__ import annotations

from pathlib import Path

from paychannels import Collector, Money, PaymentRequest, Status

CREDITOR_TOML = """\
name = "Test County Social Insurance"
account = "15050171001234567890"
bank = "105191000011"
scheme_id = "CN12ZZZ150422"
msg_prefix = "KYQ"
"""


def request(i: int) -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"P{i:06d}",
        amount=Money("10.00", "CNY"),
        reference="2026",
        idempotency_key=f"janitor-{i}",
    )


def leave_in_doubt(db: str, ledger: Path, n: int, *, first: int = 0) -> list[str]:
    """``n`` payments whose answers were lost after the device charged: UNKNOWN in the journal."""
    with Collector.open(db, create=True) as col:
        col.add_channel("mem", f"memory://{ledger}?default=lose_reply")
        ids = [col.collect(request(first + i), "mem").id for i in range(n)]
        assert all(col.status(i).status is Status.UNKNOWN for i in ids)
    return ids


def bank_url(exchange: Path) -> str:
    """A bank channel over ``exchange`` with its creditor file beside it."""
    creditor = exchange.parent / "creditor.toml"
    creditor.write_text(CREDITOR_TOML, encoding="utf-8")
    return f"bankfile+dir://{exchange}?format=pain.008.001.08&creditor={creditor}"
