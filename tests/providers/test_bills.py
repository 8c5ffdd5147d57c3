"""Provider bills: the codecs read WeChat Pay and Alipay bills, and refuse what does not add up.

Fixtures hold the documented answers and files (fixtures/wechatpay/tradebill_*,
fixtures/alipay/bill_*); Alipay's detail file is kept as UTF-8 text and packed here the way
Alipay ships it (GBK, inside a ZIP whose member names are GBK without the UTF-8 flag).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import time
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paychannels.channels.settlement import SettlementKind
from paychannels.providers.alipay import AlipayCodec, AlipayConfig
from paychannels.providers.alipay import bill as alipay_bill
from paychannels.providers.base import HttpReply, ProviderError
from paychannels.providers.bills import BillError, BillLocation, gunzip_bounded, gzip_bytes
from paychannels.providers.wechatpay import WechatPayCodec
from paychannels.providers.wechatpay import bill as wechat_bill
from paychannels.security.verification import Headers
from paychannels.simulators.provider import SimKeys
from paychannels.simulators.provider.bills import _GbkName
from paychannels.values.errors import ProtocolError
from paychannels.values.urls import parse_url
from tests.contract.harnesses.mobile import sim_keys
from tests.providers.test_wechatpay_codec import config as wechat_config
from tests.providers.test_wechatpay_codec import reply as wechat_reply

ROOT = Path(__file__).resolve().parents[2] / "fixtures"
DAY = date(2026, 1, 5)
PAY_A, PAY_B = "pay_01JD3M8Q2W5X7Y9Z0ABCDEFGHJ", "pay_01JD3M8Q2W5X7Y9Z0ABCDEFGHM"
REFUND = "rfd_01JD3M8Q2W5X7Y9Z0ABCDEFGHK"


@pytest.fixture(scope="module")
def keys() -> SimKeys:
    return dataclasses.replace(
        sim_keys(),
        mchid="1230000109",
        appid="wxd678efh567hg6787",
        alipay_seller_id="2088101122136241",
    )


@pytest.fixture(scope="module")
def wechat(keys: SimKeys) -> WechatPayCodec:
    return WechatPayCodec(wechat_config(keys), now=time.time)


@pytest.fixture(scope="module")
def alipay(keys: SimKeys) -> AlipayCodec:
    url = f"alipay+https://openapi.alipay.com/gateway.do?app_id={keys.alipay_app_id}"
    opts = {**keys.alipay_options(), "seller_id": keys.alipay_seller_id}
    return AlipayCodec(
        AlipayConfig.from_url(parse_url(url), opts), gateway_path="/gateway.do", now=time.time
    )


def wechat_file() -> bytes:
    return (ROOT / "wechatpay" / "tradebill_file_all.csv").read_bytes()


def location_for(data: bytes, *, compressed: bool = True) -> BillLocation:
    return BillLocation(
        "https://api.mch.weixin.qq.com/v3/billdownload/file?token=t",
        "SHA1",
        hashlib.sha1(data, usedforsecurity=False).hexdigest(),
        compressed=compressed,
    )


def alipay_zip(text: str, *, name: str = "2088101122136241_20260105_业务明细.csv") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_GbkName(name), text.encode("gb18030"))
        summary = "2088101122136241_20260105_业务明细(汇总).csv"
        archive.writestr(_GbkName(summary), "#汇总".encode("gbk"))
    return buffer.getvalue()


def alipay_text() -> str:
    return (ROOT / "alipay" / "bill_trade_detail.csv").read_text("utf-8")


# -- WeChat Pay -------------------------------------------------------------------------------


def test_wechat_trade_bill_where_and_what(wechat: WechatPayCodec, keys: SimKeys) -> None:
    call = wechat.bill_request(DAY)
    assert call.method == "GET"
    assert call.path == "/v3/bill/tradebill?bill_date=2026-01-05&bill_type=ALL&tar_type=GZIP"
    assert any(name == "Authorization" for name, _ in call.headers)
    answer = (ROOT / "wechatpay" / "tradebill_ok.json").read_bytes().strip()
    where = wechat.bill_location(DAY, wechat_reply(keys, 200, answer))
    assert where is not None and where.compressed and where.hash_type == "SHA1"
    assert where.url.startswith("https://api.mch.weixin.qq.com/v3/billdownload/file?token=")
    none = (ROOT / "wechatpay" / "tradebill_no_statement.json").read_bytes().strip()
    assert wechat.bill_location(DAY, wechat_reply(keys, 400, none)) is None
    fetch = wechat.bill_download(where, "/v3/billdownload/file?token=x")
    assert fetch.path == "/v3/billdownload/file?token=x" and fetch.headers  # signed
    with pytest.raises(ProtocolError, match="not on the API host"):
        wechat.bill_download(where, None)


def test_wechat_answer_without_signature_or_hash_is_refused(
    wechat: WechatPayCodec, keys: SimKeys
) -> None:
    answer = (ROOT / "wechatpay" / "tradebill_ok.json").read_bytes().strip()
    with pytest.raises(ProtocolError, match="not trustworthy"):
        wechat.bill_location(DAY, HttpReply(200, Headers({}), answer))
    with pytest.raises(ProtocolError, match="hash"):
        wechat.bill_location(DAY, wechat_reply(keys, 200, b'{"download_url":"https://x/y"}'))
    busy = b'{"code":"SYSTEM_ERROR","message":"busy"}'
    with pytest.raises(ProviderError, match="SYSTEM_ERROR"):
        wechat.bill_location(DAY, wechat_reply(keys, 500, busy))


def test_wechat_bill_lines_and_settlement(wechat: WechatPayCodec) -> None:
    data = wechat_file()
    bill = wechat.read_bill(DAY, location_for(data), gzip_bytes(data))
    assert [(x.record_id, x.kind, x.minor) for x in bill.lines] == [
        (PAY_A, "payment", 38000),
        (PAY_B, "payment", 10000),
        (REFUND, "refund", 10000),
    ]
    assert bill.lines[0].ref == "4200002026010512345678901234"
    s = bill.settlement(datetime(2026, 1, 6, tzinfo=UTC))
    assert (s.kind, s.key, s.net_minor, s.payments, s.refunds) == (
        SettlementKind.PROVIDER,
        "2026-01-05",
        38000,
        2,
        1,
    )
    assert s.dates == ("2026-01-05",) and s.items is not None and len(s.items) == 3
    # the fees (2.28 + 0.60) are kept back by WeChat Pay: the account receives net of them
    assert (bill.fee_minor, s.detail["fee_minor"]) == (288, 288)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("`1230000109", "`1900000001", 1), "not ours"),
        (lambda t: t.replace("`3,`480.00", "`3,`480.01"), "states 48001"),
        (lambda t: t.replace("`3,`480.00", "`2,`480.00"), "states 2 trades"),
        (lambda t: t.replace("`SUCCESS", "`MAYBE", 1), "MAYBE"),
        (lambda t: t.replace("`380.00", "`380.0O", 1), "not an amount"),
        (lambda t: t.split("总交易单数")[0], "no totals line"),
        (lambda t: t.replace("商户订单号", "order", 1), "lacks the column"),
        (lambda t: t.replace("`CNY", "`USD", 1), "currency"),
        (lambda t: t.replace("`2.88000", "`2.89000"), "states fees of 2.89000"),
        (lambda t: t.replace("`2.28000", "`2.28OOO"), "not a fee in yuan"),
    ],
)
def test_wechat_bill_that_does_not_add_up_is_refused(
    wechat: WechatPayCodec, change: object, message: str
) -> None:
    data = change(wechat_file().decode("utf-8")).encode("utf-8")  # type: ignore[operator]
    with pytest.raises(BillError, match=message):
        wechat.read_bill(DAY, location_for(data, compressed=False), data)


def test_wechat_bill_hash_and_compression_are_checked(wechat: WechatPayCodec) -> None:
    data = wechat_file()
    wrong = dataclasses.replace(location_for(data), hash_value="0" * 40)
    with pytest.raises(BillError, match="SHA-1"):
        wechat.read_bill(DAY, wrong, gzip_bytes(data))
    with pytest.raises(BillError, match="not gzip"):
        wechat.read_bill(DAY, location_for(data), data)
    with pytest.raises(BillError, match="truncated"):
        wechat.read_bill(DAY, location_for(data), gzip_bytes(data)[:-12])


def test_a_gzip_bomb_is_refused() -> None:
    bomb = gzip_bytes(b"0" * (3 << 20))
    assert len(bomb) < 10_000
    with pytest.raises(BillError, match="larger than"):
        gunzip_bounded(bomb, limit=1 << 20)


# -- Alipay -----------------------------------------------------------------------------------


def test_alipay_bill_where_and_what(alipay: AlipayCodec, keys: SimKeys) -> None:
    from tests.providers.test_alipay_codec import answer

    call = alipay.bill_request(DAY)
    assert b"alipay.data.dataservice.bill.downloadurl.query" in call.body
    assert b"bill_date" in call.body and b"sign=" in call.body
    where = alipay.bill_location(
        DAY, answer(keys, alipay_bill.BILL_METHOD, "bill_downloadurl_ok.json")
    )
    assert where is not None and where.url.startswith("https://dwbillcenter.alipay.com/")
    assert "dwbillcenter.alipay.com".endswith(alipay.bill_hosts[0])
    missing = answer(keys, alipay_bill.BILL_METHOD, "bill_downloadurl_not_exist.json")
    assert alipay.bill_location(DAY, missing) is None
    fetch = alipay.bill_download(where, None)
    assert fetch.method == "GET" and fetch.path == where.url


def test_alipay_bill_lines(alipay: AlipayCodec) -> None:
    bill = alipay.read_bill(DAY, BillLocation("x"), alipay_zip(alipay_text()))
    assert [(x.record_id, x.kind, x.minor) for x in bill.lines] == [
        (PAY_A, "payment", 38000),
        (PAY_B, "payment", 10000),
        (REFUND, "refund", 10000),
    ]
    assert bill.lines[0].ref == "2026010522001404070200176844"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("共480.00元", "共480.01元"), "states 2 trades of 48001"),
        (lambda t: t.replace("#退款合计：1笔", "#退款合计：2笔"), "states 2 refunds"),
        (lambda t: t.replace("2088101122136241", "2088000000000001", 1), "not our seller"),
        (lambda t: t.replace("交易\t", "转账\t", 1), "转账"),
        (lambda t: t.replace("#交易合计", "#other"), "no total line"),
        (lambda t: t.replace("支付宝交易号,", "", 1), "expected the header"),
    ],
)
def test_alipay_bill_that_does_not_add_up_is_refused(
    alipay: AlipayCodec, change: object, message: str
) -> None:
    text = change(alipay_text())  # type: ignore[operator]
    with pytest.raises(BillError, match=message):
        alipay.read_bill(DAY, BillLocation("x"), alipay_zip(text))


def test_alipay_archive_problems(alipay: AlipayCodec) -> None:
    with pytest.raises(BillError, match="not a ZIP"):
        alipay.read_bill(DAY, BillLocation("x"), b"PK\x03\x04 nonsense")
    with pytest.raises(BillError, match="no single"):
        alipay.read_bill(DAY, BillLocation("x"), alipay_zip(alipay_text(), name="readme.csv"))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_garbage_bills_raise_only_bill_errors(data: bytes) -> None:
    codec_location = BillLocation(
        "x", "SHA1", hashlib.sha1(data, usedforsecurity=False).hexdigest()
    )
    for read in (
        lambda: wechat_bill.read_trade_bill(data, day=DAY, location=codec_location, mchid="1"),
        lambda: wechat_bill.read_trade_bill(
            data, day=DAY, location=dataclasses.replace(codec_location, compressed=True), mchid="1"
        ),
        lambda: alipay_bill.read_trade_bill(data, day=DAY, seller_id=None),
    ):
        with contextlib.suppress(BillError):
            read()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=8))
@pytest.mark.slow
def test_garbled_bill_lines_raise_only_bill_errors(extra: list[str]) -> None:
    text = wechat_file().decode("utf-8").splitlines()
    mangled = "\r\n".join(text[:2] + extra + text[2:]).encode("utf-8")
    with contextlib.suppress(BillError):
        wechat_bill.read_trade_bill(
            mangled, day=DAY, location=location_for(mangled, compressed=False), mchid="1230000109"
        )
    lines = alipay_text().splitlines()
    with contextlib.suppress(BillError):
        alipay_bill.read_trade_bill(
            alipay_zip("\r\n".join(lines[:6] + extra + lines[6:])), day=DAY, seller_id=None
        )


# -- Alipay's fees (服务费) --------------------------------------------------------------------

SUMMARY_NAME = "2088101122136241_20260105_业务明细(汇总).csv"
SUMMARY_HEADER = (
    "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,"
    "支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）"
)


def alipay_zip_with_summary(text: str, summary: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_GbkName("2088101122136241_20260105_业务明细.csv"), text.encode("gbk"))
        archive.writestr(_GbkName(SUMMARY_NAME), summary.encode("gbk"))
    return buffer.getvalue()


def summary_text(fee: str = "2.88", net: str = "377.12", trades: int = 2) -> str:
    return "\r\n".join([
        "#支付宝业务汇总查询", "#账号：[2088101122136241]", SUMMARY_HEADER,
        f"合计,,{trades},1,480.00,380.00,0.00,0.00,0.00,{fee},0.00,{net}",
        "#导出时间：[2026年01月06日 09:00:00]",
    ])  # fmt: skip


def test_alipay_bill_fees_travel_into_the_settlement(alipay: AlipayCodec) -> None:
    """服务费 2.28 + 0.60 kept back: the settlement declares 2.88, so 377.12 is to arrive."""
    bill = alipay.read_bill(
        DAY, BillLocation("x"), alipay_zip_with_summary(alipay_text(), summary_text())
    )
    assert bill.fee_minor == 288
    settlement = bill.settlement(datetime(2026, 1, 6, tzinfo=UTC))
    assert settlement.net_minor == 38000 and settlement.detail["fee_minor"] == 288


def test_alipay_fees_shown_as_deductions_count_the_same(alipay: AlipayCodec) -> None:
    """Bills show the fee as a deduction (-2.28) or as a charge (2.28); a refund's fee given
    back (0.60 of a refunded trade) lowers what is kept."""
    text = alipay_text().replace(",2.28\t", ",-2.28\t").replace(",0.60\t", ",-0.60\t")
    lines = text.splitlines()
    lines[7] = lines[7].replace(
        "rfd_01JD3M8Q2W5X7Y9Z0ABCDEFGHK\t,0.00", "rfd_01JD3M8Q2W5X7Y9Z0ABCDEFGHK\t,0.60"
    )
    data = alipay_zip_with_summary("\r\n".join(lines), summary_text(fee="-2.28", net="377.72"))
    assert alipay.read_bill(DAY, BillLocation("x"), data).fee_minor == 228


@pytest.mark.parametrize(
    ("summary", "message"),
    [
        (
            summary_text(fee="2.87"),
            r"\(汇总\)\.csv line 4 \(服务费（元）\): states 2\.87, the detail lines add up to "
            r"2\.88",
        ),
        (summary_text(net="380.00"), r"line 4 \(实收净额（元）\): states 380\.00"),
        (summary_text(trades=3), r"line 4 \(交易订单总笔数\): states '3'"),
        (summary_text(fee="两元"), r"line 4 \(服务费（元）\): '两元' is not a fee"),
    ],
)
def test_alipay_summary_that_disagrees_with_the_details_is_refused(
    alipay: AlipayCodec, summary: str, message: str
) -> None:
    with pytest.raises(BillError, match=message):
        alipay.read_bill(DAY, BillLocation("x"), alipay_zip_with_summary(alipay_text(), summary))


def test_alipay_fee_that_is_not_money_names_file_and_line(alipay: AlipayCodec) -> None:
    text = alipay_text().replace(",2.28\t", ",2.2.8\t")
    with pytest.raises(BillError, match=r"业务明细\.csv line 6 \(服务费（元）\): '2\.2\.8'"):
        alipay.read_bill(DAY, BillLocation("x"), alipay_zip(text))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 10**7), st.integers(0, 10**7), st.booleans()),
        min_size=1, max_size=6,
    )
)  # fmt: skip
def test_alipay_fees_add_up_per_line_rounded_half_up(trades: list[tuple[int, int, bool]]) -> None:
    """Any fees to five decimals, shown either way: fee_minor is each line rounded half up to
    the fen, the summary's 服务费 and 实收净额 agree exactly, and the reader accepts them."""
    from decimal import ROUND_HALF_UP, Decimal

    head = alipay_text().splitlines()[:5]
    template = alipay_text().splitlines()[5]
    rows, fees, fen = [], Decimal(0), 0
    for i, (minor, fee_e5, negative) in enumerate(trades):
        fee = Decimal(fee_e5) / 100000
        fees += fee
        fen += int((fee * 100).quantize(Decimal(1), ROUND_HALF_UP))
        shown = f"{'-' if negative and fee else ''}{fee}"
        row = template.replace("pay_01JD3M8Q2W5X7Y9Z0ABCDEFGHJ", f"pay_{i:026d}")
        amount = f"{minor // 100}.{minor % 100:02d}"
        row = row.replace(",380.00\t,380.00\t", f",{amount}\t,{amount}\t").replace(
            ",2.28\t", f",{shown}\t"
        )
        rows.append(row)
    got = Decimal(sum(m for m, _f, _n in trades)) / 100
    text = "\r\n".join(head + rows + [
        f"#交易合计：{len(trades)}笔，商家实收共{got:.2f}元，商家优惠共0.00元",
        "#退款合计：0笔，商家实收退款共0.00元，商家优惠退款共0.00元",
    ])  # fmt: skip
    summary = "\r\n".join([
        SUMMARY_HEADER,
        f"合计,,{len(trades)},0,{got:.2f},{got:.2f},0.00,0.00,0.00,{fees},0.00,{got - fees}",
    ])  # fmt: skip
    bill = alipay_bill.read_trade_bill(
        alipay_zip_with_summary(text, summary), day=DAY, seller_id=None
    )
    assert bill.fee_minor == fen
    assert sum(x.minor for x in bill.payments) == sum(m for m, _f, _n in trades)
