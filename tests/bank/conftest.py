"""Shared helpers of the bank tests: a creditor, payment requests with bank metadata, and
what a request file we sent holds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

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


@dataclass
class Sent:
    """A pain.008 request file as the bank reads it: ids, end-to-end ids, amounts in fen."""

    msg_id: str
    batch: str
    e2e: list[str]
    minor: list[int]


def sent_file(path: Path) -> Sent:
    """What the request file at ``path`` asked the bank for (one batch)."""
    text = path.read_text("utf-8")
    msg = re.search(r"<MsgId>([^<]+)</MsgId>", text)
    batch = re.search(r"<PmtInfId>([^<]+)</PmtInfId>", text)
    assert msg and batch
    e2e = re.findall(r"<EndToEndId>([^<]+)</EndToEndId>", text)
    amounts = re.findall(r'<InstdAmt Ccy="CNY">([0-9.]+)</InstdAmt>', text)
    return Sent(msg[1], batch[1], e2e, [int(a.replace(".", "")) for a in amounts])
