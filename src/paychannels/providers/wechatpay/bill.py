"""WeChat Pay trade bills (交易账单, API v3): where the day's file is, and reading it.

``GET /v3/bill/tradebill?bill_date=YYYY-MM-DD&bill_type=ALL&tar_type=GZIP`` answers
(signed) with ``download_url``, ``hash_type`` and ``hash_value``; the file at the download
URL is fetched with a signed ``GET`` on the same API host and is *not* signed itself: its
SHA-1 (of the uncompressed text) must equal the signed answer's ``hash_value``.

The file is CSV, UTF-8: a header line, one line per payment (``交易状态`` SUCCESS) or
refund (REFUND) with every value prefixed by a backtick, then a totals header (``总交易单数``)
and the totals line. Columns are found by their names; the lines must add up to the totals.
The layout is modelled on WeChat Pay's public description of the bill (refund lines carry
``应结订单金额`` 0.00 and the refund in ``退款金额``); check a real bill before relying on
the details.
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import quote

from paychannels.providers.bills import (
    MAX_BILL_BYTES,
    BillError,
    BillLine,
    BillLocation,
    ProviderBill,
    fee_yuan,
    gunzip_bounded,
    yuan_minor,
)

__all__ = ["HEADER", "TOTALS", "bill_path", "read_trade_bill"]

#: the columns of an ALL trade bill, in WeChat Pay's order
HEADER = (
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
)
TOTALS = (
    "总交易单数",
    "应结订单总金额",
    "退款总金额",
    "充值券退款总金额",
    "手续费总金额",
    "订单总金额",
    "申请退款总金额",
)
_NEEDED = ("交易时间", "商户号", "微信订单号", "商户订单号", "交易状态", "货币种类", "应结订单金额",
           "微信退款单号", "商户退款单号", "退款金额")  # fmt: skip


def bill_path(day: date) -> str:
    """The API path asking where the day's bill is (all trades, gzip)."""
    return f"/v3/bill/tradebill?bill_date={quote(day.isoformat())}&bill_type=ALL&tar_type=GZIP"


def read_trade_bill(data: bytes, *, day: date, location: BillLocation, mchid: str) -> ProviderBill:
    """Read a downloaded trade bill; ``BillError`` if it is not one or does not add up."""
    text_bytes = gunzip_bounded(data) if location.compressed else data
    if len(text_bytes) > MAX_BILL_BYTES:
        raise BillError(f"the bill is larger than {MAX_BILL_BYTES} bytes; refused")
    _check_hash(text_bytes, location)
    try:
        text = text_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BillError(f"the bill is not UTF-8 text (byte {exc.start})") from None
    rows = csv.reader(io.StringIO(text, newline=""))
    header = next(rows, None)
    if header is None or header[:1] != ["交易时间"]:
        raise BillError("the bill does not start with the trade bill header (交易时间,...)")
    at = {name.strip(): i for i, name in enumerate(header)}
    missing = [name for name in _NEEDED if name not in at]
    if missing:
        raise BillError(f"the bill lacks the column(s) {', '.join(missing)}")
    lines: list[BillLine] = []
    settled = refunded = count = 0
    fees = Decimal(0)
    fee_minor = 0
    totals: list[str] | None = None
    for row in rows:
        line = rows.line_num
        if not row or not any(cell.strip() for cell in row):
            continue
        if row[0].strip() == TOTALS[0]:
            totals = next(rows, None)
            break
        if len(row) != len(header):
            raise BillError(f"bill line {line}: {len(row)} values, the header has {len(header)}")
        v = {name: _value(row[i]) for name, i in at.items()}
        if v["商户号"] != mchid:
            raise BillError(f"bill line {line}: merchant {v['商户号'][:20]!r} is not ours")
        if v["货币种类"] != "CNY":
            raise BillError(f"bill line {line}: currency {v['货币种类'][:8]!r}; we bill CNY")
        count += 1
        due = yuan_minor(v["应结订单金额"], where=f"bill line {line} 应结订单金额")
        back = yuan_minor(v["退款金额"], where=f"bill line {line} 退款金额")
        settled += due
        refunded += back
        if "手续费" in v:  # 5 decimals of a yuan; deducted per trade in fen, half up
            fee = fee_yuan(v["手续费"], where=f"bill line {line} 手续费")
            fees += fee
            fee_minor += int((fee * 100).quantize(Decimal(1), ROUND_HALF_UP))
        match v["交易状态"]:
            case "SUCCESS":
                lines.append(
                    BillLine(v["商户订单号"], "payment", due, v["微信订单号"], v["交易时间"])
                )
            case "REFUND":
                lines.append(
                    BillLine(v["商户退款单号"], "refund", back, v["微信退款单号"], v["交易时间"])
                )
            case "REVOKED":
                pass  # a code payment reversed at once: no money moved
            case other:
                raise BillError(f"bill line {line}: trade state {other[:20]!r} is not known")
    if totals is None:
        raise BillError("the bill has no totals line (总交易单数,...)")
    _check_totals(totals, count=count, settled=settled, refunded=refunded)
    if totals is not None and len(totals) > 4 and "手续费" in at:
        stated_fees = fee_yuan(_value(totals[4]), where="手续费总金额")
        if stated_fees != fees:
            raise BillError(f"the bill states fees of {stated_fees}, its lines add up to {fees}")
    return ProviderBill(
        "wechatpay",
        day,
        "CNY",
        tuple(lines),
        f"WeChat Pay trade bill of {day.isoformat()}",
        fee_minor=fee_minor,
    )


def _value(cell: str) -> str:
    """A bill value: WeChat Pay prefixes each with a backtick (so spreadsheets keep digits)."""
    cell = cell.strip()
    return cell[1:] if cell.startswith("`") else cell


def _check_hash(data: bytes, location: BillLocation) -> None:
    if location.hash_type is None or location.hash_value is None:
        raise BillError("the bill's location came without its hash; it cannot be checked")
    if location.hash_type.upper() != "SHA1":
        raise BillError(f"hash type {location.hash_type[:12]!r} is not SHA1")
    actual = hashlib.sha1(data, usedforsecurity=False).hexdigest()
    if actual != location.hash_value.lower():
        raise BillError(
            f"the bill's SHA-1 is {actual}, the signed answer says {location.hash_value[:40]}"
        )


def _check_totals(row: list[str] | None, *, count: int, settled: int, refunded: int) -> None:
    if row is None or len(row) < 3:
        raise BillError("the bill's totals line is missing or short")
    stated_count = _value(row[0])
    if not stated_count.isdigit() or int(stated_count) != count:
        raise BillError(f"the bill states {stated_count[:12]} trades, its lines hold {count}")
    stated = yuan_minor(_value(row[1]), where="应结订单总金额")
    back = yuan_minor(_value(row[2]), where="退款总金额")
    if (stated, back) != (settled, refunded):
        raise BillError(
            f"the bill states {stated} fen settled and {back} refunded, its lines add up to "
            f"{settled} and {refunded}"
        )
