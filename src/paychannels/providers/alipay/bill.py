"""Alipay trade bills (业务明细): where the day's file is, and reading it.

``alipay.data.dataservice.bill.downloadurl.query`` with ``{"bill_type": "trade",
"bill_date": "YYYY-MM-DD"}`` answers (signed) with ``bill_download_url``, valid for a
short while; the file there is a ZIP holding GBK CSV files, among them
``<seller>_<date>_业务明细.csv``: ``#`` comment lines (account, period), a header line, one
line per trade (``业务类型`` 交易) or refund (退款, ``商家实收`` negative, our refund id in
``退款批次号/请求号``), then the totals lines ``#交易合计：N笔，商家实收共X元`` and
``#退款合计：M笔，商家实收退款共-Y元`` the others must add up to. Values may be padded
with tabs. ``服务费（元）`` is the fee Alipay keeps back from a trade (given back, in part,
on a refund); the archive's ``(汇总)`` file states the day's 服务费 and 实收净额 (商家实收
less the fees) on its ``合计`` line, and the detail lines must add up to them. The fees
(rounded half up per line to the fen) travel with the bill, so the money expected in the
collection account is the net less them. The layout is modelled on Alipay's public
description of the merchant bill; check a real file before relying on details.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from paychannels.providers.bills import (
    MAX_BILL_BYTES,
    BillError,
    BillLine,
    ProviderBill,
    fee_yuan,
    yuan_minor,
)

__all__ = ["BILL_METHOD", "DETAIL_SUFFIX", "SUMMARY_SUFFIX", "read_trade_bill"]

BILL_METHOD = "alipay.data.dataservice.bill.downloadurl.query"
DETAIL_SUFFIX = "_业务明细.csv"
SUMMARY_SUFFIX = "_业务明细(汇总).csv"
_FEE_COLUMN = "服务费（元）"
_MAX_MEMBERS = 16
_TRADES = re.compile(r"^#交易合计：(\d+)笔，商家实收共(-?[0-9.]+)元")
_REFUNDS = re.compile(r"^#退款合计：(\d+)笔，商家实收退款共(-?[0-9.]+)元")
_ACCOUNT = re.compile(r"^#账号：\[(\d+)\]")


def read_trade_bill(data: bytes, *, day: date, seller_id: str | None) -> ProviderBill:
    """Read a downloaded bill archive; ``BillError`` if it is not one or does not add up."""
    files = _bill_files(data)
    name, text = files.detail
    lines: list[BillLine] = []
    kept = Decimal(0)  # the fees as the file states them, summed exactly
    fee_minor = 0
    stated: dict[str, tuple[int, int]] = {}
    header: dict[str, int] | None = None
    trades = [0, 0]
    refunds = [0, 0]
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.startswith("#"):
            _comment(raw, stated, seller_id)
            continue
        if not raw.strip():
            continue
        row = [cell.strip() for cell in next(csv.reader([raw]))]
        if header is None:
            if row[:2] != ["支付宝交易号", "商户订单号"]:
                raise BillError(f"bill line {number}: expected the header (支付宝交易号,...)")
            header = {name: i for i, name in enumerate(row)}
            missing = [n for n in _NEEDED if n not in header]
            if missing:
                raise BillError(f"the bill lacks the column(s) {', '.join(missing)}")
            continue
        if len(row) < len(header):
            raise BillError(f"bill line {number}: {len(row)} values, the header has {len(header)}")
        v = {name: row[i] for name, i in header.items()}
        received = yuan_minor(v["商家实收（元）"], where=f"bill line {number} 商家实收")
        fee = _line_fee(v, v["业务类型"], f"{name} line {number} ({_FEE_COLUMN})")
        kept += fee
        fee_minor += _to_fen(fee)
        match v["业务类型"]:
            case "交易":
                trades[0] += 1
                trades[1] += received
                lines.append(
                    BillLine(v["商户订单号"], "payment", received, v["支付宝交易号"], v["完成时间"])
                )
            case "退款":
                refunds[0] += 1
                refunds[1] += received
                number_of_refund = v["退款批次号/请求号"] or v["商户订单号"]
                lines.append(
                    BillLine(
                        number_of_refund, "refund", -received, v["支付宝交易号"], v["完成时间"]
                    )
                )
            case other:
                raise BillError(f"bill line {number}: business type {other[:12]!r} is not known")
    if header is None:
        raise BillError("the bill has no header line")
    for what, counted in (("trades", trades), ("refunds", refunds)):
        if what not in stated:
            raise BillError(f"the bill has no total line for its {what} (#交易合计 / #退款合计)")
        if stated[what] != (counted[0], counted[1]):
            raise BillError(
                f"the bill states {stated[what][0]} {what} of {stated[what][1]} fen, its lines "
                f"add up to {counted[0]} of {counted[1]}"
            )
    if files.summary is not None:
        _check_summary(*files.summary, trades=trades, refunds=refunds, kept=kept)
    return ProviderBill(
        "alipay",
        day,
        "CNY",
        tuple(lines),
        f"Alipay trade bill of {day.isoformat()}",
        fee_minor=fee_minor,
    )


def _line_fee(v: dict[str, str], kind: str, where: str) -> Decimal:
    """What Alipay keeps of one line: the trade's fee, less a fee given back on a refund.

    The column's sign is not relied on (bills show the fee as a deduction or as a charge):
    a trade's fee is kept, a refund's fee is given back."""
    text = v.get(_FEE_COLUMN, "")
    if not text:
        return Decimal(0)
    fee = abs(fee_yuan(text, where=where))
    return -fee if kind == "退款" else fee


def _to_fen(fee: Decimal) -> int:
    """A line's fee in fen, rounded half up (away from zero) as the provider deducts it."""
    fen = (abs(fee) * 100).quantize(Decimal(1), ROUND_HALF_UP)
    return int(fen) if fee >= 0 else -int(fen)


def _check_summary(
    name: str, text: str, *, trades: list[int], refunds: list[int], kept: Decimal
) -> None:
    """The ``(汇总)`` file's ``合计`` line against the detail lines; ``BillError`` naming the
    file, line and column that disagree. A summary without that line states nothing."""
    header: dict[str, int] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw.startswith("#") or not raw.strip():
            continue
        row = [cell.strip() for cell in next(csv.reader([raw]))]
        if header is None:
            header = {n: i for i, n in enumerate(row)}
            continue
        if row[0] != "合计":
            continue
        where = f"{name} line {number}"
        v = {n: row[i] if i < len(row) else "" for n, i in header.items()}
        expected = {
            "交易订单总笔数": str(trades[0]),
            "退款订单总笔数": str(refunds[0]),
        }
        for column, counted in expected.items():
            if column in v and v[column] != counted:
                raise BillError(
                    f"{where} ({column}): states {v[column][:12]!r}, the detail lines hold "
                    f"{counted}"
                )
        got = Decimal(trades[1] + refunds[1]) / 100
        figures = {"商家实收（元）": got, _FEE_COLUMN: kept, "实收净额（元）": got - kept}
        for column, value in figures.items():
            if column not in v or not v[column]:
                continue
            stated = fee_yuan(v[column], where=f"{where} ({column})")
            if column == _FEE_COLUMN:
                stated, value = abs(stated), abs(value)  # shown as a deduction or a charge
            if stated != value:
                raise BillError(
                    f"{where} ({column}): states {stated}, the detail lines add up to {value}"
                )
        return


@dataclass(frozen=True)
class _Files:
    """The archive's detail file and, when it has one, its summary: (name, text) each."""

    detail: tuple[str, str]
    summary: tuple[str, str] | None


_NEEDED = (
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "完成时间",
    "商家实收（元）",
    "退款批次号/请求号",
)


def _comment(raw: str, stated: dict[str, tuple[int, int]], seller_id: str | None) -> None:
    if m := _TRADES.match(raw):
        stated["trades"] = (int(m.group(1)), yuan_minor(m.group(2), where="#交易合计"))
    elif m := _REFUNDS.match(raw):
        stated["refunds"] = (int(m.group(1)), yuan_minor(m.group(2), where="#退款合计"))
    elif (m := _ACCOUNT.match(raw)) and seller_id and m.group(1) != seller_id:
        raise BillError(f"the bill is for account {m.group(1)}, not our seller {seller_id}")


def _bill_files(data: bytes) -> _Files:
    """The 业务明细 file of the archive and its 汇总, decoded (GBK, or UTF-8 with a BOM)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise BillError(f"the bill is not a ZIP archive: {exc}") from None
    with archive:
        members = archive.infolist()
        if len(members) > _MAX_MEMBERS:
            raise BillError(f"the bill archive holds {len(members)} files; refused")
        detail = [m for m in members if _name(m).endswith(DETAIL_SUFFIX)]
        if len(detail) != 1:
            names = ", ".join(_name(m) for m in members)[:200]
            raise BillError(f"the archive holds no single *{DETAIL_SUFFIX} file ({names})")
        summary = [m for m in members if _name(m).endswith(SUMMARY_SUFFIX)]
        return _Files(
            (_name(detail[0]), _member_text(archive, detail[0])),
            (_name(summary[0]), _member_text(archive, summary[0])) if len(summary) == 1 else None,
        )


def _member_text(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> str:
    """One file of the archive as text, within the size limit; ``BillError``."""
    if member.file_size > MAX_BILL_BYTES:
        raise BillError(f"the bill is larger than {MAX_BILL_BYTES} bytes; refused")
    try:
        with archive.open(member) as fh:
            raw = fh.read(MAX_BILL_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
        raise BillError(f"the bill cannot be unpacked: {exc}") from None
    if len(raw) > MAX_BILL_BYTES:
        raise BillError(f"the bill is larger than {MAX_BILL_BYTES} bytes; refused")
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "gb18030"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise BillError(f"{_name(member)} is not {encoding} text (byte {exc.start})") from None


def _name(member: zipfile.ZipInfo) -> str:
    """A member's name: Alipay writes GBK names without the UTF-8 flag (read as cp437)."""
    if member.flag_bits & 0x800:
        return member.filename
    try:
        return member.filename.encode("cp437").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return member.filename
