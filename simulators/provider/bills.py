"""The simulated providers' bills: a day's payments and refunds as the files they publish.

WeChat Pay: CSV in UTF-8, every value after a backtick, a totals block at the end (gzip
when asked). Alipay: a ZIP of GBK CSV files (``业务明细`` and its ``(汇总)``), the member
names in GBK without the UTF-8 flag, values padded with a tab, ``#`` totals lines. The day
is Beijing time; a payment belongs to the day it was paid, a refund to the day it was made.
The provider's fee (0.6 % unless told otherwise: ``fee_rate``) is shown as the providers
show it — WeChat Pay's 手续费 to five decimals, Alipay's 服务费（元） per trade and in the
summary's 服务费 and 实收净额 — and is what the provider keeps back from its payout (the
expected arrival in the account).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

from paychannels.providers.wechatpay.bill import HEADER, TOTALS
from paychannels.runtime.clock import BEIJING
from paychannels.simulators.provider.book import Book, Order, OrderStatus, RefundEntry
from paychannels.simulators.provider.keys import SimKeys
from paychannels.simulators.provider.messages import beijing, yuan
from paychannels.simulators.provider.wechat_codepay import CodeOrder

__all__ = ["DEFAULT_FEE_RATE", "alipay_bill", "wechat_bill"]

#: the fee rate a provider charges when the simulator is not told another
DEFAULT_FEE_RATE = Decimal("0.006")
_ALIPAY_HEADER = (
    "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,"
    "对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,"
    "商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"
    "退款批次号/请求号,服务费（元）,分润（元）,备注"
)


def _on(moment: datetime | None, day: date) -> bool:
    return moment is not None and moment.astimezone(BEIJING).date() == day


def _fee(minor: int, rate: Decimal) -> Decimal:
    """The fee on an amount in yuan, to five decimals (WeChat Pay's precision)."""
    return (Decimal(minor) * rate / 100).quantize(Decimal("0.00001"), ROUND_HALF_UP)


def _fen(fee: Decimal) -> Decimal:
    """A fee as deducted, in yuan to the fen (Alipay's 服务费 per trade)."""
    return fee.quantize(Decimal("0.01"), ROUND_HALF_UP)


def _day_entries(
    book: Book, provider: str, day: date
) -> tuple[list[Order], list[tuple[Order, RefundEntry]]]:
    """The orders paid on ``day`` and the refunds made on it."""
    paid: list[Order] = []
    refunds: list[tuple[Order, RefundEntry]] = []
    with book.lock:
        for order in book.orders(provider):
            if order.status is OrderStatus.PAID and _on(order.paid_at, day):
                paid.append(order)
            refunds.extend(
                (order, r) for r in order.refunds.values() if r.done and _on(r.created, day)
            )
    paid.sort(key=lambda o: o.paid_at or datetime.min.replace(tzinfo=UTC))
    refunds.sort(key=lambda pair: pair[1].created)
    return paid, refunds


def _text(value: str) -> str:
    """A free text as a bill cell: no separators or line breaks inside."""
    return value.replace(",", " ").replace("\n", " ").replace("\r", " ")


def _code_entries(
    codes: Sequence[CodeOrder], day: date
) -> tuple[list[Order], list[tuple[Order, RefundEntry]], list[Order]]:
    """Scanned-code orders as bill entries: paid and kept, their refunds, and those paid then
    reversed (撤销: listed ``REVOKED``, the money went back, nothing to settle)."""
    paid: list[Order] = []
    refunds: list[tuple[Order, RefundEntry]] = []
    revoked: list[Order] = []
    for c in codes:
        if c.paid_at is None:
            continue  # never paid: nothing moved, WeChat Pay's bill does not list it
        order = Order(
            "wechatpay", c.number, c.amount_minor, c.description, None, None, "",
            attach=c.attach, trade_type="micropay", trade_no=c.trade_no, paid_at=c.paid_at,
        )  # fmt: skip
        if _on(c.paid_at, day):
            (revoked if c.state == "REVOKED" else paid).append(order)
        for number, (amount, refund_id, when) in c.refunds.items():
            if _on(when, day):
                refunds.append((order, RefundEntry(number, amount, refund_id, when)))
    return paid, refunds, revoked


def wechat_bill(
    book: Book,
    keys: SimKeys,
    day: date,
    codes: Sequence[CodeOrder] = (),
    *,
    fee_rate: Decimal = DEFAULT_FEE_RATE,
) -> bytes | None:
    """The ALL trade bill of ``day`` as WeChat Pay's CSV (the code desk's orders included);
    None when there was no trade."""
    paid, refunds = _day_entries(book, "wechatpay", day)
    code_paid, code_refunds, revoked = _code_entries(codes, day)
    paid = sorted(paid + code_paid, key=lambda o: o.paid_at or datetime.min.replace(tzinfo=UTC))
    refunds = sorted(refunds + code_refunds, key=lambda pair: pair[1].created)
    if not paid and not refunds and not revoked:
        return None
    rows: list[list[str]] = []
    rate = _rate(fee_rate)
    for o in paid:
        assert o.paid_at is not None
        fee = str(_fee(o.amount_minor, fee_rate))
        rows.append([
            beijing(o.paid_at), keys.appid, keys.mchid, "0", "", o.trade_no, o.number,
            "o" + o.trade_no[-27:], (o.trade_type or "native").upper(), "SUCCESS", "OTHERS",
            "CNY", yuan(o.amount_minor), "0.00", "0", "0", "0.00", "0.00", "", "",
            _text(o.description), _text(o.attach), fee, rate,
            yuan(o.amount_minor), "0.00", "",
        ])  # fmt: skip
    for o, r in refunds:
        rows.append([
            beijing(r.created), keys.appid, keys.mchid, "0", "", o.trade_no, o.number,
            "o" + o.trade_no[-27:], (o.trade_type or "native").upper(), "REFUND", "OTHERS",
            "CNY", "0.00", "0.00", r.refund_id, r.number, yuan(r.amount_minor), "0.00",
            "ORIGINAL", "SUCCESS", _text(o.description), _text(o.attach), "0.00000", rate,
            yuan(o.amount_minor), yuan(r.amount_minor), "",
        ])  # fmt: skip
    for o in revoked:
        assert o.paid_at is not None
        rows.append([
            beijing(o.paid_at), keys.appid, keys.mchid, "0", "", o.trade_no, o.number,
            "o" + o.trade_no[-27:], "MICROPAY", "REVOKED", "OTHERS", "CNY", "0.00", "0.00",
            "0", "0", "0.00", "0.00", "", "", _text(o.description), _text(o.attach), "0.00000",
            rate, yuan(o.amount_minor), "0.00", "",
        ])  # fmt: skip
    due = sum(o.amount_minor for o in paid)
    back = sum(r.amount_minor for _o, r in refunds)
    fees = sum(_fee(o.amount_minor, fee_rate) for o in paid)
    totals = [
        str(len(rows)), yuan(due), yuan(back), "0.00", f"{fees:.5f}",
        yuan(sum(o.amount_minor for o in paid) + sum(o.amount_minor for o, _r in refunds)),
        yuan(back),
    ]  # fmt: skip
    lines = [",".join(HEADER)]
    lines.extend(",".join("`" + cell for cell in row) for row in rows)
    lines.append(",".join(TOTALS))
    lines.append(",".join("`" + cell for cell in totals))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


class _GbkName(zipfile.ZipInfo):
    """Alipay's archives name their files in GBK, without the UTF-8 flag."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:  # noqa: N802 - zipfile's name
        return self.filename.encode("gb18030"), self.flag_bits & ~0x800


def _rate(rate: Decimal) -> str:
    """A rate as the bill shows it (``0.60%``)."""
    return f"{rate * 100:.2f}%"


def alipay_bill(
    book: Book, keys: SimKeys, day: date, *, fee_rate: Decimal = DEFAULT_FEE_RATE
) -> bytes | None:
    """The trade bill archive of ``day`` as Alipay's ZIP; None when there was no trade.

    Each trade's 服务费 is ``fee_rate`` of it, rounded to the fen; a refund gives none back."""
    paid, refunds = _day_entries(book, "alipay", day)
    if not paid and not refunds:
        return None
    stamp = day.strftime("%Y%m%d")
    fees = Decimal(0)
    cn_day = f"{day.year}年{day.month:02d}月{day.day:02d}日"
    detail = [
        "#支付宝业务明细查询",
        f"#账号：[{keys.alipay_seller_id}]",
        f"#起始日期：[{cn_day} 00:00:00]   终止日期：[{cn_day} 23:59:59]",
        "#-----------------------------------------业务明细列表----------------------------------------",
        _ALIPAY_HEADER,
    ]
    for o in paid:
        assert o.paid_at is not None
        fee = _fen(_fee(o.amount_minor, fee_rate))
        fees += fee
        detail.append(_alipay_row(o, "交易", beijing(o.paid_at), o.amount_minor, "", str(fee)))
    for o, r in refunds:
        detail.append(_alipay_row(o, "退款", beijing(r.created), -r.amount_minor, r.number, "0.00"))
    got = sum(o.amount_minor for o in paid)
    back = sum(r.amount_minor for _o, r in refunds)
    detail += [
        "#-----------------------------------------业务明细列表结束------------------------------------",
        f"#交易合计：{len(paid)}笔，商家实收共{yuan(got)}元，商家优惠共0.00元",
        f"#退款合计：{len(refunds)}笔，商家实收退款共-{yuan(back)}元，商家优惠退款共0.00元",
        f"#导出时间：[{datetime.now(BEIJING):%Y年%m月%d日 %H:%M:%S}]",
    ]
    summary = [
        "#支付宝业务汇总查询",
        f"#账号：[{keys.alipay_seller_id}]",
        "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,"
        "支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）",
        f"合计,,{len(paid)},{len(refunds)},{yuan(got)},{yuan(got - back)},0.00,0.00,0.00,"
        f"{fees:.2f},0.00,{Decimal(got - back) / 100 - fees:.2f}",
        f"#导出时间：[{datetime.now(BEIJING):%Y年%m月%d日 %H:%M:%S}]",
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (
            (f"{keys.alipay_seller_id}_{stamp}_业务明细.csv", detail),
            (f"{keys.alipay_seller_id}_{stamp}_业务明细(汇总).csv", summary),
        ):
            info = _GbkName(name, date_time=(day.year, day.month, day.day, 9, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, ("\r\n".join(text) + "\r\n").encode("gb18030"))
    return buffer.getvalue()


def _alipay_row(o: Order, kind: str, done: str, received: int, request_no: str, fee: str) -> str:
    sign = "-" if received < 0 else ""
    cells = [
        o.trade_no, o.number, kind, _text(o.description), beijing(o.created), done, "", "", "",
        "", "2088" + o.trade_no[-12:], yuan(o.amount_minor), sign + yuan(abs(received)), "0.00",
        "0.00", "0.00", "0.00", "0.00", "", "0.00", "0.00", request_no, fee, "0.00", "",
    ]  # fmt: skip
    return ",".join(f"{cell}\t" for cell in cells)
