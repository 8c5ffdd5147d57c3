"""WeChat Pay 付款码 through the Collector against the provider simulator (real HTTP).

Each case is one thing a hall sees: paid at once; the payer typing the password, then paid;
the payer walking away (reversed, nothing taken); paying just as the reverse goes out (taken
and given back: SUCCEEDED then REVERSED); short balance; a code expired or used twice; an
answer lost (UNKNOWN, then ``recover()``); the service-provider form. The wallets are the
truth: what the journal says was taken is what the payers are out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from paychannels import Collector, ManualClock, Money, PaymentRequest, Reason, Status
from paychannels.channels.codepay import CodePayChannel
from paychannels.channels.paycode import PayCodeRouter
from paychannels.journal import Change, Claim
from paychannels.runtime import crashpoints
from paychannels.simulators.provider import ProviderSimulator, SimKeys
from paychannels.simulators.provider.server import DROP, Request, Response
from paychannels.values.errors import IllegalTransition
from paychannels.values.models import EventType
from tests.contract.harnesses.mobile import sim_keys

FEN = 1200


@pytest.fixture(scope="module")
def keys() -> SimKeys:
    return sim_keys()


@pytest.fixture
def sim(keys: SimKeys) -> Iterator[ProviderSimulator]:
    s = ProviderSimulator(keys, auto_notify=False).start()
    try:
        yield s
    finally:
        s.stop()


def codepay_url(keys: SimKeys, sim: ProviderSimulator, extra: str = "") -> str:
    return (
        f"wechatpay+{sim.url}?mchid={keys.mchid}&appid={keys.appid}&trade_type=codepay"
        f"&wait_interval=0.05&wait_limit=0.6{extra}"
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def col(
    tmp_path: Path, keys: SimKeys, sim: ProviderSimulator, clock: ManualClock
) -> Iterator[Collector]:
    c = Collector.open(f"sqlite:///{tmp_path}/j.db", create=True, clock=clock)
    opts = {"notify_url": "http://127.0.0.1:9/n", "timeout": 2, **keys.wechat_options()}
    c.add_channel("wx", codepay_url(keys, sim), **opts)
    c.add_channel("till", PayCodeRouter({"wechatpay": "wx"}))
    yield c
    c.close()


def pay(col: Collector, code: str, key: str, payer: str = "P1", fen: int = FEN):
    request = PaymentRequest(
        payer_id=payer,
        amount=Money.of_minor(fen, "CNY"),
        reference=f"fee-{key}",
        idempotency_key=key,
        payment_code=code,
    )
    return col.collect(request, channel="till")


def test_paid_at_once(col: Collector, sim: ProviderSimulator) -> None:
    sim.wallets.open("w1", 5000)
    p = pay(col, sim.wallets.code("w1"), "k1")
    assert p.status is Status.SUCCEEDED and p.channel == "wx"
    assert p.amount_taken == Money.of_minor(FEN, "CNY") and p.channel_ref
    assert sim.wallets.wallet("w1").balance_minor == 5000 - FEN
    assert sim.wallets.charges(p.id) == 1


def test_user_paying_then_paid(col: Collector, sim: ProviderSimulator) -> None:
    sim.wallets.open("w1", 5000, confirm_after=0.2)
    p = pay(col, sim.wallets.code("w1"), "k1")
    assert p.status is Status.SUCCEEDED
    assert sim.wallets.wallet("w1").balance_minor == 5000 - FEN
    texts = [e.data.get("text") for e in col.events(payment_id=p.id)]
    assert any("confirming" in str(t) for t in texts)  # what the clerk saw meanwhile


def test_user_paying_then_timeout_is_reversed_and_nothing_taken(
    col: Collector, sim: ProviderSimulator
) -> None:
    sim.wallets.open("w1", 5000, confirm_after=None)  # walks away
    p = pay(col, sim.wallets.code("w1"), "k1")
    assert p.status is Status.DECLINED and p.reason is Reason.PIN_TIMEOUT
    order = sim.codepay.order(p.id)
    assert order is not None and order.state == "REVOKED"
    assert sim.wallets.wallet("w1").balance_minor == 5000


def test_paid_just_before_the_reverse_is_taken_and_given_back(
    col: Collector, sim: ProviderSimulator
) -> None:
    sim.wallets.open("w1", 5000, confirm_after=None)

    def confirms_at_the_last_moment(name: str) -> None:
        if name == "codepay.before_reverse":
            for order in sim.codepay.orders():
                if order.state == "USERPAYING":
                    sim.codepay.confirm(order.number)

    crashpoints.install(confirms_at_the_last_moment)
    try:
        p = pay(col, sim.wallets.code("w1"), "k1")
    finally:
        crashpoints.uninstall(confirms_at_the_last_moment)
    assert p.status is Status.REVERSED
    statuses = [e.to_status for e in col.events(payment_id=p.id) if e.to_status]
    assert statuses[-2:] == [Status.SUCCEEDED, Status.REVERSED]
    assert p.amount_taken == Money.of_minor(FEN, "CNY")  # what was taken, then given back
    w = sim.wallets.wallet("w1")
    assert w.balance_minor == 5000 and [k for k, _, _ in w.ledger] == ["charge", "return"]


def test_reverse_of_a_paid_order_returns_the_money(col: Collector, sim: ProviderSimulator) -> None:
    sim.wallets.open("w1", 5000)
    p = pay(col, sim.wallets.code("w1"), "k1")
    assert p.status is Status.SUCCEEDED
    voided = col.cancel(p.id)
    assert voided.status is Status.REVERSED
    assert sim.wallets.wallet("w1").balance_minor == 5000


@pytest.mark.parametrize("confirm_after", [0.0, 0.1])
def test_short_balance_is_declined_for_the_payer(
    col: Collector, sim: ProviderSimulator, confirm_after: float
) -> None:
    sim.wallets.open("w1", FEN - 1, confirm_after=confirm_after)
    p = pay(col, sim.wallets.code("w1"), "k1")
    assert p.status is Status.DECLINED and p.reason is Reason.INSUFFICIENT_FUNDS
    assert sim.wallets.wallet("w1").balance_minor == FEN - 1


def test_a_code_used_twice_and_an_expired_code(col: Collector, sim: ProviderSimulator) -> None:
    sim.wallets.open("w1", 5000)
    code = sim.wallets.code("w1")
    assert pay(col, code, "k1").status is Status.SUCCEEDED
    again = pay(col, code, "k2", payer="P2")  # the clerk scans the same screen twice
    assert again.status is Status.DECLINED and again.reason is Reason.CODE_USED
    old = sim.wallets.code("w1")
    sim.wallets.expire(old)
    late = pay(col, old, "k3", payer="P3")
    assert late.status is Status.DECLINED and late.reason is Reason.CODE_EXPIRED
    assert sim.wallets.wallet("w1").balance_minor == 5000 - FEN


def test_an_unknown_code_is_refused_before_anything(col: Collector) -> None:
    from paychannels import InvalidPaymentCode

    with pytest.raises(InvalidPaymentCode):
        pay(col, "99" + "0" * 16, "k1")
    assert col.find() == []


def test_lost_answer_then_recover(col: Collector, sim: ProviderSimulator) -> None:
    sim.wallets.open("w1", 5000)
    sim.script.fault("lose_reply")  # charged, the answer never comes
    code = sim.wallets.code("w1")
    p = pay(col, code, "k1")
    assert p.status is Status.UNKNOWN
    again = pay(col, code, "k1")  # the till retries: nothing is sent
    assert again.id == p.id and again.status is Status.UNKNOWN
    col.recover()
    assert col.status(p.id).status is Status.SUCCEEDED
    assert sim.wallets.charges(p.id) == 1


def test_system_error_then_recover_waits_out_the_code(
    col: Collector, sim: ProviderSimulator, clock: ManualClock
) -> None:
    sim.wallets.open("w1", 5000)
    sim.script.fault("error_500")  # nothing done at WeChat Pay
    p = pay(col, sim.wallets.code("w1"), "k1")
    assert p.status is Status.UNKNOWN
    col.recover()  # no such order, but a late request could still create it
    assert col.status(p.id).status is Status.UNKNOWN
    clock.advance(minutes=3)  # the code has expired: nothing can create it any more
    col.recover()
    assert col.status(p.id).status is Status.NOT_SENT
    assert sim.wallets.wallet("w1").balance_minor == 5000


def test_payer_still_confirming_at_recovery_is_reversed_after_the_wait(
    col: Collector, sim: ProviderSimulator, clock: ManualClock
) -> None:
    sim.wallets.open("w1", 5000, confirm_after=None)
    sim.script.fault("lose_reply")  # the 202 USERPAYING is lost
    p = pay(col, sim.wallets.code("w1"), "k1")
    assert p.status is Status.UNKNOWN
    col.recover()
    # still within the wait: the provider holds the order, the payer is confirming
    assert col.status(p.id).status is Status.PENDING
    clock.advance(seconds=5)
    col.recover()
    done = col.status(p.id)
    # closed without money: a PENDING order closed is EXPIRED (the table's edge), the reason kept
    assert done.status is Status.EXPIRED and done.reason is Reason.PIN_TIMEOUT


def test_service_provider_form(tmp_path: Path, keys: SimKeys, sim: ProviderSimulator) -> None:
    with Collector.open(f"sqlite:///{tmp_path}/sp.db", create=True) as col:
        opts = {"notify_url": "http://127.0.0.1:9/n", **keys.wechat_options()}
        col.add_channel("wx", codepay_url(keys, sim, "&sub_mchid=1900000109"), **opts)
        ch = col.channel("wx")
        assert isinstance(ch, CodePayChannel) and "sub_mchid" in ch.describe()
        sim.wallets.open("w1", 5000, confirm_after=0.1)
        p = col.collect(
            PaymentRequest(
                payer_id="P1",
                amount=Money.of_minor(FEN, "CNY"),
                reference="r",
                idempotency_key="k",
                payment_code=sim.wallets.code("w1"),
            ),
            channel="wx",
        )
        assert p.status is Status.SUCCEEDED
        order = sim.codepay.order(p.id)
        assert order is not None and order.sub_mchid == "1900000109"
        assert "/v3/pay/partner/transactions/codepay" in ch.transcript()


def test_the_code_is_in_no_transcript_log_or_journal(
    col: Collector, sim: ProviderSimulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.wallets.open("w1", 5000, confirm_after=0.1)
    codes = [sim.wallets.code("w1") for _ in range(3)]
    pay(col, codes[0], "k1")
    sim.script.fault("lose_reply")
    pay(col, codes[1], "k2", payer="P2")
    pay(col, codes[0], "k3", payer="P3")  # used: declined
    col.recover()
    ch = col.channel("wx")
    assert isinstance(ch, CodePayChannel)
    transcript = ch.transcript()
    assert '"auth_code":"13' in transcript  # the request is there, masked
    db = b"".join(p.read_bytes() for p in tmp_path.glob("j.db*")).decode("latin-1")
    shown = "\n".join([transcript, caplog.text, db, *(repr(e) for e in col.events())])
    for code in codes:
        assert code not in shown and code[2:-4] not in shown


def test_recover_never_takes_twice(
    col: Collector, sim: ProviderSimulator, clock: ManualClock
) -> None:
    sim.wallets.open("w1", 5000)
    sim.script.fault("lose_reply")
    p = pay(col, sim.wallets.code("w1"), "k1")
    for _ in range(3):
        col.recover()
        clock.advance(timedelta(minutes=1).total_seconds())
    assert col.status(p.id).status is Status.SUCCEEDED
    assert sim.wallets.charges(p.id) == 1


def test_paid_with_another_amount_is_never_believed(
    col: Collector, sim: ProviderSimulator, clock: ManualClock
) -> None:
    sim.wallets.open("w1", 5000)
    sim.script.fault("lose_reply")
    p = pay(col, sim.wallets.code("w1"), "k1")
    order = sim.codepay.order(p.id)
    assert order is not None
    order.amount_minor += 1  # the provider's answer now contradicts the journal
    col.recover()
    assert col.status(p.id).status is Status.UNKNOWN  # not SUCCEEDED on a contradiction
    clock.advance(hours=25)
    col.recover()
    flagged = col.status(p.id)
    assert flagged.status is Status.NEEDS_ATTENTION  # a person looks; the record holds it


def test_a_void_is_journaled_before_it_leaves_and_settled_from_the_provider(
    col: Collector, sim: ProviderSimulator
) -> None:
    """Every reverse answer lost: the void stays in the journal (SUCCEEDED, claimed, lease
    over), not in process memory; ``recover()`` in the same process asks and ends REVERSED."""
    sim.wallets.open("w1", 5000)
    p = pay(col, sim.wallets.code("w1"), "k1")
    assert p.status is Status.SUCCEEDED
    seen_at_reverse: list[bool] = []
    inner = sim.wechat.handle

    def lose_reverse_answers(request: Request) -> Response:
        if not request.path.endswith("/reverse"):
            return inner(request)
        seen_at_reverse.append(col.status(p.id).voiding)  # the intent, before it arrived
        inner(request)  # applied: the money goes back
        return DROP

    sim.wechat.handle = lose_reverse_answers  # type: ignore[method-assign]
    unanswered = col.cancel(p.id)
    assert seen_at_reverse and all(seen_at_reverse)
    assert unanswered.status is Status.SUCCEEDED and unanswered.voiding
    with pytest.raises(IllegalTransition, match="void is in flight or unanswered"):
        col.refund(p.id)
    # asked again once the first went unanswered: sent again (a reverse is idempotent at
    # WeChat Pay), still unanswered, and the money went back once
    again = col.cancel(p.id)
    assert again.status is Status.SUCCEEDED and again.voiding
    assert len(seen_at_reverse) >= 2 and sim.wallets.wallet("w1").balance_minor == 5000
    sim.wechat.handle = inner  # type: ignore[method-assign]
    report = col.recover()
    settled = col.status(p.id)
    assert settled.status is Status.REVERSED and not settled.voiding, report.as_dict()
    assert sim.wallets.wallet("w1").balance_minor == 5000
    assert col.journal.verify(p.id) == []


def test_a_void_after_a_refund_is_refused_before_anything_leaves(
    col: Collector, sim: ProviderSimulator
) -> None:
    sim.wallets.open("w1", 5000)
    p = pay(col, sim.wallets.code("w1"), "k1")
    col.refund(p.id, Money.of_minor(200, "CNY"))
    with pytest.raises(IllegalTransition, match="refund"):
        col.cancel(p.id)
    assert col.status(p.id).status is Status.SUCCEEDED and not col.status(p.id).voiding


def test_a_void_nobody_can_answer_goes_to_a_person_after_the_deadline(
    col: Collector, sim: ProviderSimulator, clock: ManualClock
) -> None:
    sim.wallets.open("w1", 5000)
    p = pay(col, sim.wallets.code("w1"), "k1")
    inner = sim.wechat.handle

    def silent_after_pay(request: Request) -> Response:
        if request.path.endswith("/reverse"):
            inner(request)  # applied: the money goes back, the till never hears it
        return DROP  # reverses and queries: no answer at all

    sim.wechat.handle = silent_after_pay  # type: ignore[method-assign]
    assert col.cancel(p.id).voiding
    first = col.recover()
    assert p.id in first.still_in_doubt and col.status(p.id).attention is None
    clock.advance(hours=25)
    later = col.recover()
    held = col.status(p.id)
    assert p.id in later.needs_attention and held.attention is not None
    assert held.status is Status.SUCCEEDED and held.voiding  # still asked on each pass
    sim.wechat.handle = inner  # type: ignore[method-assign]
    col.recover()
    settled = col.status(p.id)
    assert settled.status is Status.REVERSED and settled.attention is None
    assert sim.wallets.wallet("w1").balance_minor == 5000
    assert col.journal.verify(p.id) == []


def test_a_void_in_flight_elsewhere_is_not_sent_again(
    col: Collector, sim: ProviderSimulator, clock: ManualClock
) -> None:
    """While another process's void holds a live lease, a second cancel is refused."""
    sim.wallets.open("w1", 5000)
    p = pay(col, sim.wallets.code("w1"), "k1")
    held = Change(
        event=EventType.NOTE,
        claim=Claim("elsewhere/1/x", clock.now() + timedelta(minutes=5)),
        data={"via": "void", "text": "void requested"},
    )
    col.journal.modify(p.id, lambda _current: [held], now=clock.now())
    assert col.status(p.id).voiding
    with pytest.raises(IllegalTransition, match="void is in flight"):
        col.cancel(p.id)
    assert sim.wallets.wallet("w1").balance_minor == 5000 - p.amount.minor


class _LateClock(ManualClock):
    """A process descheduled at every look at the clock: each reading is a second later."""

    def monotonic(self) -> float:
        reading = super().monotonic()
        self.advance(1.0)
        return reading


def test_a_wait_that_started_late_still_asks_once_before_reversing(
    tmp_path: Path, keys: SimKeys, sim: ProviderSimulator
) -> None:
    """On a loaded machine the wait could be over before its first look: the order was
    reversed without asking whether the payer had confirmed (a mid-session CI saw no
    ``codepay.before_query`` in the kill test's trace). The rule: ask at least once."""
    c = Collector.open(f"sqlite:///{tmp_path}/j.db", create=True, clock=_LateClock())
    opts = {"notify_url": "http://127.0.0.1:9/n", "timeout": 2, **keys.wechat_options()}
    c.add_channel("wx", codepay_url(keys, sim), **opts)
    c.add_channel("till", PayCodeRouter({"wechatpay": "wx"}))
    sim.wallets.open("w1", 5000, confirm_after=None)  # walks away
    steps: list[str] = []
    hook = crashpoints.install(steps.append)  # one reference: uninstall goes by identity
    try:
        p = pay(c, sim.wallets.code("w1"), "k1")
    finally:
        crashpoints.uninstall(hook)
        c.close()
    assert p.status is Status.DECLINED and p.reason is Reason.PIN_TIMEOUT
    asked = [s for s in steps if s in ("codepay.before_query", "codepay.before_reverse")]
    assert asked[:2] == ["codepay.before_query", "codepay.before_reverse"], steps
