"""Shared helpers of the bank tests: a creditor, payment requests with bank metadata."""

from __future__ import annotations

from datetime import UTC, datetime

from paychannels import ManualClock, Money, PaymentRequest
from paychannels.bankfiles.model import Creditor
from paychannels.values.idnumbers import with_check_digit

CREDITOR = Creditor(
    name="科尔沁右翼前旗社会保险事业管理局",
    account="15050171001234567890",
    bank="105191000011",
    scheme_id="CN12ZZZ150422",
    msg_prefix="KYQ",
)
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing


def clock() -> ManualClock:
    return ManualClock(T0)


def payer_id(i: int) -> str:
    return with_check_digit(f"15042219{70 + i % 30:02d}0101{i % 1000:03d}")


def bank_request(i: int, amount: str = "380.00", **meta: str) -> PaymentRequest:
    metadata = {
        "account": f"6217000010{i:09d}",
        "bank": "105191000011",
        "mandate_id": f"DK2025{i:08d}",
        "mandate_date": "2025-03-01",
        **meta,
    }
    return PaymentRequest(
        payer_id=f"{payer_id(i)}",
        amount=Money(amount, "CNY"),
        reference="2026-养老保险",
        idempotency_key=f"roster-2026:{i}",
        payer_name="张三" if i % 2 else "ᠪᠠᠲᠤ",
        period="2026",
        description="城乡居民养老保险 2026",
        metadata=metadata,
    )
