"""A scanned payment code through the Collector: handed out once, never written anywhere.

The code is a bearer token: the journal (every table, every row, on SQLite also the file
bytes), the log records and the errors must never hold its digits; a retry of the same
idempotency key never gets it again; another code under the same key is key reuse.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from paychannels import Collector, Money, Outcome, PaymentRequest, Status
from paychannels.channels.base import Capabilities, Channel, ChannelContext
from paychannels.channels.paycode import PayCodeRouter
from paychannels.values.errors import (
    IdempotencyConflict,
    InvalidRequest,
    NotSentError,
    OutcomeUnknownError,
)
from paychannels.values.models import Payment, Record
from paychannels.values.paymentcode import InvalidPaymentCode, PaymentCode

WECHAT = "134567890123456789"
OTHER_WECHAT = "114567890123456780"
ALIPAY = "285678901234567890"
SECRETS = (WECHAT, OTHER_WECHAT, ALIPAY, WECHAT[2:-4], ALIPAY[2:-4])


class CodeChannel(Channel):
    """A provider double: what each dispatch was handed, and a scripted answer."""

    capabilities = Capabilities(inquire=True)

    def __init__(self) -> None:
        self.taken: list[PaymentCode | None] = []
        self.inquiries: list[PaymentCode | None] = []
        self.seen_data: list[dict[str, object]] = []
        self.answer = "approve"

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        code = ctx.take_payment_code()
        self.taken.append(code)
        self.seen_data.append(dict(payment.channel_data))
        assert ctx.take_payment_code() is None  # once per process, even within one dispatch
        if code is None:
            raise NotSentError("the payment code is no longer held; scan again")
        ctx.progress(f"code {code} sent")  # the masked form only
        if self.answer == "lost":
            raise OutcomeUnknownError("answer lost after the code was sent")
        if self.answer == "refused":
            raise NotSentError("connection refused")
        return Outcome.succeeded(channel_ref=f"T-{payment.id}")

    def inquire(self, record: Record, ctx: ChannelContext) -> Outcome:
        self.inquiries.append(ctx.take_payment_code())
        return Outcome.succeeded(channel_ref=f"T-{record.id}")


def request(code: str | None, key: str = "k1", payer: str = "P1") -> PaymentRequest:
    return PaymentRequest(
        payer_id=payer,
        amount=Money("12.00", "CNY"),
        reference="2026-fee",
        idempotency_key=key,
        payment_code=code,
    )


@pytest.fixture
def col(journal_url: str) -> Iterator[Collector]:
    c = Collector.open(journal_url, create=True)
    c.add_channel("wx", CodeChannel())
    c.add_channel("ali", CodeChannel())
    c.add_channel("till", PayCodeRouter({"wechatpay": "wx"}))
    yield c
    c.close()


def channel(col: Collector, name: str = "wx") -> CodeChannel:
    ch = col.channel(name)
    assert isinstance(ch, CodeChannel)
    return ch


def dump_journal(url: str) -> str:
    """Every row of every table of the journal, as text (and a SQLite file's bytes)."""
    parts: list[str] = []
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        for file in path.parent.glob(path.name + "*"):  # the database, its -wal and -shm
            parts.append(file.read_bytes().decode("latin-1"))
        with sqlite3.connect(path) as conn:
            found = conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            tables = [r[0] for r in found]
            for table in tables:
                parts.extend(repr(row) for row in conn.execute(f'SELECT * FROM "{table}"'))
        return "\n".join(parts)
    import psycopg

    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema()"
            )
        ]
        assert "pc_payments" in tables and "pc_events" in tables
        for table in tables:
            parts.extend(repr(row) for row in conn.execute(f'SELECT * FROM "{table}"'))
    return "\n".join(parts)


def assert_nowhere(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_the_code_reaches_the_channel_once_and_the_journal_never(
    col: Collector, journal_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    paid = col.collect(request(WECHAT), channel="wx")
    assert paid.status is Status.SUCCEEDED
    assert [c.reveal() if c else None for c in channel(col).taken] == [WECHAT]
    code = PaymentCode.parse(WECHAT)
    assert paid.channel_data["code"] == "13************6789"
    assert paid.channel_data["code_digest"] == code.digest
    assert paid.channel_data["code_provider"] == "wechatpay"
    assert channel(col).seen_data[0] == {  # from the intent on: the record start() gets
        "code": code.masked,
        "code_digest": code.digest,
        "code_provider": "wechatpay",
    }
    lost = col.collect(request(ALIPAY, key="k2", payer="P2"), channel="ali")
    assert lost.status is Status.SUCCEEDED
    channel(col, "ali").answer = "lost"
    unknown = col.collect(request(ALIPAY, key="k3", payer="P3"), channel="ali")
    assert unknown.status is Status.UNKNOWN
    col.recover()
    assert col.status(unknown.id).status is Status.SUCCEEDED
    everything = "\n".join(
        [dump_journal(journal_url), caplog.text, *(repr(r) for r in caplog.records)]
        + [repr(e) for e in col.events()]
        + [repr(col.status(p.id)) for p in (paid, lost, unknown)]
    )
    assert_nowhere(everything)
    assert "13************6789" in everything  # the search works: the masked form is there
    assert code.digest in dump_journal(journal_url)


def test_a_retry_of_the_key_never_hands_the_code_out_again(col: Collector) -> None:
    wx = channel(col)
    wx.answer = "lost"
    first = col.collect(request(WECHAT), channel="wx")
    assert first.status is Status.UNKNOWN
    again = col.collect(request(WECHAT), channel="wx")  # the till retries: may have charged
    assert again.id == first.id and again.status is Status.UNKNOWN
    assert len(wx.taken) == 1
    recovered = col.recover()
    assert recovered is not None
    assert wx.inquiries == [None]  # recovery asks, without the code
    assert col.status(first.id).status is Status.SUCCEEDED


def test_after_not_sent_the_retry_sends_nothing_and_asks_for_a_new_scan(col: Collector) -> None:
    wx = channel(col)
    wx.answer = "refused"
    first = col.collect(request(WECHAT), channel="wx")
    assert first.status is Status.NOT_SENT
    wx.answer = "approve"
    again = col.collect(request(WECHAT), channel="wx")
    assert again.id == first.id and again.status is Status.NOT_SENT
    assert again.reason_detail is not None and "scan again" in again.reason_detail
    assert [c is None for c in wx.taken] == [False, True]


def test_a_fresh_process_never_holds_the_code(col: Collector, journal_url: str) -> None:
    wx = channel(col)
    wx.answer = "refused"
    first = col.collect(request(WECHAT), channel="wx")
    col.close()
    fresh = Collector.open(journal_url)
    try:
        fresh.add_channel("wx", ch := CodeChannel())
        again = fresh.collect(request(WECHAT), channel="wx")
        assert again.id == first.id and ch.taken == [None]
    finally:
        fresh.close()


def test_another_code_under_the_same_key_is_key_reuse(col: Collector) -> None:
    col.collect(request(WECHAT), channel="wx")
    with pytest.raises(IdempotencyConflict) as caught:
        col.collect(request(OTHER_WECHAT), channel="wx")
    assert_nowhere(str(caught.value))
    with pytest.raises(IdempotencyConflict):
        col.collect(request(None), channel="wx")
    assert len(channel(col).taken) == 1


def test_defer_is_refused_for_a_code_before_anything_is_written(col: Collector) -> None:
    with pytest.raises(InvalidRequest, match="at once") as caught:
        col.collect(request(WECHAT), channel="wx", defer=True)
    assert_nowhere(str(caught.value))
    with pytest.raises(InvalidRequest, match="one by one"):
        col.collect_many([request(WECHAT)], channel="wx")
    assert col.find() == []


def test_the_router_journals_the_provider_channel(col: Collector) -> None:
    paid = col.collect(request(WECHAT), channel="till")
    assert paid.channel == "wx" and paid.status is Status.SUCCEEDED
    assert [c.reveal() if c else None for c in channel(col).taken] == [WECHAT]
    again = col.collect(request(WECHAT), channel="till")  # the same key: the same payment
    assert again.id == paid.id and len(channel(col).taken) == 1


def test_the_router_refuses_before_anything_is_written(col: Collector) -> None:
    with pytest.raises(InvalidPaymentCode, match="no Alipay") as caught:
        col.collect(request(ALIPAY), channel="till")  # this till takes WeChat codes only
    assert_nowhere(str(caught.value))
    with pytest.raises(InvalidRequest, match="payment_code is missing"):
        col.collect(request(None), channel="till")
    with pytest.raises(InvalidPaymentCode):
        col.collect(request("993456789012345678"), channel="till")
    assert col.find() == []
    assert channel(col).taken == [] and channel(col, "ali").taken == []


def test_the_router_opens_by_url() -> None:
    from paychannels.channels.registry import open_channel
    from paychannels.values.errors import InvalidURL

    router = open_channel("paycode://?wechatpay=wx&alipay=ali")
    assert isinstance(router, PayCodeRouter)
    assert router.route(request(ALIPAY)) == "ali" and router.route(request(WECHAT)) == "wx"
    with pytest.raises(InvalidURL):
        open_channel("paycode://?unionpay=x")
    with pytest.raises(InvalidURL):
        open_channel("paycode://")
