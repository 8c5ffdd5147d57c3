"""Alipay 当面付 条码支付 through the Collector against the provider simulator (real HTTP).

Each case is judged by the simulator's wallets (what the payer lost) and its book (what
Alipay took and gave back), on SQLite and PostgreSQL: the payer confirming then paid, the
payer walking away (cancelled), the payer paying just as the trade is cancelled (money
returned: REVERSED), a code shown twice, a short balance, an expired code, an answer lost
after the charge (UNKNOWN, then recover), an unknown answer (20000), the code never held
after a restart.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from paychannels import Collector, ManualClock, Money, PaymentRequest, Reason, Status, open_channel
from paychannels.channels.codepay import CodePayChannel
from paychannels.simulators.provider import ProviderSimulator
from paychannels.simulators.provider.wallets import Wallet
from paychannels.values.models import Record
from tests.contract.harnesses.mobile import started_sim

_keys = itertools.count(1)
AMOUNT = Money("380.00", "CNY")


sim = pytest.fixture(started_sim, name="sim")


def channel(sim: ProviderSimulator, **options: Any) -> CodePayChannel:
    k = sim.keys
    url = (
        f"alipay+{sim.alipay_gateway}?app_id={k.alipay_app_id}&product=bar_code"
        "&wait_interval=0.05&wait_limit=0.6"
    )
    ch = open_channel(url, backoff=0.01, **k.alipay_options(), **options)
    assert isinstance(ch, CodePayChannel)
    return ch


@pytest.fixture
def col(sim: ProviderSimulator, journal_url: str) -> Iterator[Collector]:
    c = Collector.open(journal_url, create=True)
    c.add_channel("ali", channel(sim))
    try:
        yield c
    finally:
        c.close()


def request(digits: str, amount: Money = AMOUNT, key: str | None = None) -> PaymentRequest:
    n = next(_keys)
    return PaymentRequest(
        payer_id=f"15042219900101{n:04d}",
        amount=amount,
        reference="2026-养老保险",
        idempotency_key=key or f"code-{n}",
        description="城乡居民养老保险 2026",
        payment_code=digits,
    )


_payers = itertools.count(1)


def payer(sim: ProviderSimulator, yuan: str = "1000.00", **kw: Any) -> Wallet:
    return sim.wallets.open(f"payer-{next(_payers)}", Money(yuan, "CNY").minor, **kw)


def code(sim: ProviderSimulator, w: Wallet) -> str:
    return sim.wallets.code(w.payer, "alipay")


def expired_code(sim: ProviderSimulator, w: Wallet) -> str:
    digits = code(sim, w)
    sim.wallets.expire(digits)
    return digits


def settled(sim: ProviderSimulator, p: Record) -> tuple[int, int]:
    """What the payer is out for this payment, and how often the wallet was charged."""
    return sim.wallets.net_taken(p.id), sim.wallets.charges(p.id)


def test_payer_without_password_pays_at_once(sim: ProviderSimulator, col: Collector) -> None:
    w = payer(sim)
    p = col.collect(request(code(sim, w)), channel="ali")
    assert p.status is Status.SUCCEEDED and p.amount_taken == AMOUNT and p.channel_ref
    assert settled(sim, p) == (38000, 1)
    assert w.balance_minor == 62000 and w.ledger == [("charge", p.id, 38000)]


def test_user_paying_then_paid(sim: ProviderSimulator, col: Collector) -> None:
    w = payer(sim, confirm_after=0.2)
    p = col.collect(request(code(sim, w)), channel="ali")
    assert p.status is Status.SUCCEEDED
    assert settled(sim, p) == (38000, 1)
    texts = [e.data.get("text") for e in col.events(payment_id=p.id)]
    assert any("confirming" in str(t) for t in texts), texts


def test_user_paying_then_timeout_is_cancelled(sim: ProviderSimulator, col: Collector) -> None:
    w = payer(sim, confirm_after=None)  # walks away
    p = col.collect(request(code(sim, w)), channel="ali")
    assert p.status is Status.DECLINED and p.reason is Reason.PIN_TIMEOUT
    assert p.reason_detail == "ALIPAY:TRADE_CLOSED"
    assert settled(sim, p) == (0, 0)
    assert not sim.alipay.codes.confirm(p.id), "a cancelled trade can no longer be paid"


def test_cancel_of_a_paid_trade_returns_the_money_as_reversed(
    sim: ProviderSimulator, col: Collector
) -> None:
    w = payer(sim, confirm_after=None)
    scanned = code(sim, w)
    original = sim.alipay.codes.cancel

    def paid_just_before_cancel(biz: dict[str, Any]) -> dict[str, Any]:
        sim.alipay.codes.confirm(str(biz["out_trade_no"]))  # the payer confirms in time
        return original(biz)

    sim.alipay.codes.cancel = paid_just_before_cancel  # type: ignore[method-assign]
    p = col.collect(request(scanned), channel="ali")
    assert p.status is Status.REVERSED
    assert p.amount_taken == AMOUNT
    moves = [e.to_status for e in col.events(payment_id=p.id) if e.to_status]
    assert moves[-2:] == [Status.SUCCEEDED, Status.REVERSED]
    assert settled(sim, p) == (0, 1), "taken once and given back"
    assert sim.book.refunded_minor(p.id) == 38000


def test_code_shown_twice_is_already_used(sim: ProviderSimulator, col: Collector) -> None:
    w = payer(sim)
    scanned = code(sim, w)
    first = col.collect(request(scanned), channel="ali")
    second = col.collect(request(scanned), channel="ali")
    assert first.status is Status.SUCCEEDED
    assert second.status is Status.DECLINED and second.reason is Reason.CODE_USED
    assert settled(sim, second) == (0, 0)


def test_expired_code(sim: ProviderSimulator, col: Collector) -> None:
    w = payer(sim)
    p = col.collect(request(expired_code(sim, w)), channel="ali")
    assert p.status is Status.DECLINED and p.reason is Reason.CODE_EXPIRED
    assert settled(sim, p) == (0, 0)


def test_insufficient_balance(sim: ProviderSimulator, col: Collector) -> None:
    w = payer(sim, "10.00")
    p = col.collect(request(code(sim, w)), channel="ali")
    assert p.status is Status.DECLINED and p.reason is Reason.INSUFFICIENT_FUNDS
    assert w.balance_minor == 1000 and settled(sim, p) == (0, 0)


def test_lost_answer_after_the_charge_then_recover(sim: ProviderSimulator, col: Collector) -> None:
    w = payer(sim)
    sim.script.fault("lose_reply")
    p = col.collect(request(code(sim, w)), channel="ali")
    assert p.status is Status.UNKNOWN
    col.recover()
    assert col.status(p.id).status is Status.SUCCEEDED
    assert settled(sim, p) == (38000, 1)


def test_lost_answer_while_payer_confirms_recover_cancels_after_the_wait(
    sim: ProviderSimulator, col: Collector
) -> None:
    w = payer(sim, confirm_after=None)
    sim.script.fault("lose_reply")
    p = col.collect(request(code(sim, w)), channel="ali")
    assert p.status is Status.UNKNOWN
    col.recover()  # inside the wait: Alipay holds the trade, the payer may still confirm
    assert col.status(p.id).status is Status.PENDING
    sim.alipay.codes.stop()
    import time

    time.sleep(0.7)
    col.recover()  # the wait is over: cancelled
    done = col.status(p.id)
    # closed without money: a PENDING order closed is EXPIRED (the table's edge), the reason kept
    assert done.status is Status.EXPIRED and done.reason is Reason.PIN_TIMEOUT
    assert settled(sim, p) == (0, 0)


def test_unknown_answer_stays_unknown_until_alipay_knows(
    sim: ProviderSimulator, col: Collector
) -> None:
    w = payer(sim)
    sim.script.fault("error_500")  # 20000 without doing anything
    p = col.collect(request(code(sim, w)), channel="ali")
    assert p.status is Status.UNKNOWN, "20000 is unknown, never a decline"
    col.recover()  # no trade yet, but the code may still be in flight: keep asking
    assert col.status(p.id).status is Status.UNKNOWN
    assert settled(sim, p) == (0, 0)


def test_code_not_held_after_restart_sends_nothing(
    sim: ProviderSimulator, journal_url: str
) -> None:
    w = payer(sim)
    scanned = code(sim, w)
    req = request(scanned)
    first = Collector.open(journal_url, create=True)
    first.add_channel("ali", channel(sim))
    sim.server.pause()
    p = first.collect(req, channel="ali")
    assert p.status is Status.NOT_SENT
    first.close()
    sim.server.resume()
    again = Collector.open(journal_url)
    again.add_channel("ali", channel(sim))
    try:
        retried = again.collect(req, channel="ali")
        assert retried.status is Status.NOT_SENT and "scan again" in (retried.reason_detail or "")
    finally:
        again.close()
    assert settled(sim, p) == (0, 0) and sim.book.get("alipay", p.id) is None


def test_code_never_in_transcript_or_logs(
    sim: ProviderSimulator, col: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    w = payer(sim)
    scanned = code(sim, w)
    sim.script.fault("lose_reply")
    p = col.collect(request(scanned), channel="ali")
    col.recover()
    ch = col.channel("ali")
    assert isinstance(ch, CodePayChannel)
    text = ch.transcript() + "\n".join(r.getMessage() for r in caplog.records)
    assert "alipay.trade.pay" in text or "pay" in text
    assert scanned not in text and scanned[2:-4] not in text
    assert scanned[:2] + "*" * 12 + scanned[-4:] in ch.transcript()
    assert col.status(p.id).status is Status.SUCCEEDED


def test_cancel_of_a_paid_payment_returns_the_money(sim: ProviderSimulator, col: Collector) -> None:
    w = payer(sim)
    p = col.collect(request(code(sim, w)), channel="ali")
    assert p.status is Status.SUCCEEDED and w.balance_minor == 62000
    back = col.cancel(p.id)
    assert back.status is Status.REVERSED
    assert settled(sim, p) == (0, 1) and w.balance_minor == 100000
    assert col.journal.verify(p.id) == []


def test_refund_of_a_code_payment_goes_back_to_the_wallet(
    sim: ProviderSimulator, col: Collector
) -> None:
    w = payer(sim)
    p = col.collect(request(code(sim, w)), channel="ali")
    refund = col.refund(p.id, Money("80.00", "CNY"))
    assert refund.status is Status.SUCCEEDED
    assert settled(sim, p) == (30000, 1) and col.status(p.id).status is Status.SUCCEEDED


def test_the_till_routes_an_alipay_code_to_the_alipay_channel(
    sim: ProviderSimulator, col: Collector
) -> None:
    col.add_channel("till", open_channel("paycode://?alipay=ali"))
    w = payer(sim)
    p = col.collect(request(code(sim, w)), channel="till")
    assert p.channel == "ali" and p.status is Status.SUCCEEDED
    assert p.channel_data["code_provider"] == "alipay"


def test_paid_with_another_amount_is_never_believed(
    sim: ProviderSimulator, journal_url: str
) -> None:
    clock = ManualClock()
    c = Collector.open(journal_url, create=True, clock=clock)
    c.add_channel("ali", channel(sim))
    try:
        w = payer(sim)
        sim.script.fault("lose_reply")
        p = c.collect(request(code(sim, w)), channel="ali")
        trade = sim.book.get("alipay", p.id)
        assert trade is not None
        trade.amount_minor += 1  # Alipay's answer now contradicts the journal
        c.recover()
        assert c.status(p.id).status is Status.UNKNOWN, "never SUCCEEDED on a contradiction"
        clock.advance(hours=25)
        c.recover()
        assert c.status(p.id).status is Status.NEEDS_ATTENTION  # a person looks
    finally:
        c.close()
