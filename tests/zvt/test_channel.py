"""TerminalChannel beyond the contract: identification of in-doubt attempts, reversal, receipts,
abort, several processes on one terminal."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from paychannels import (
    Collector,
    ManualClock,
    Money,
    OutcomeUnknownError,
    PaymentRequest,
    Reason,
    Status,
)
from paychannels.channels.settlement import SettlementKind, recorded_settlements
from paychannels.drivers.zvt import TerminalChannel, TerminalEvent
from paychannels.drivers.zvt.book import Attempt, BookState, identify, next_receipt
from paychannels.drivers.zvt.client import ZvtClient
from paychannels.drivers.zvt.factory import client_from_url
from paychannels.drivers.zvt.replies import StatusInformation
from paychannels.simulators.faultlink import FaultLink
from paychannels.simulators.terminal import Script, TerminalSimulator
from paychannels.values.currencies import currency
from paychannels.values.errors import LinkClosed
from tests.zvt.conftest import PASSWORD, Hall, open_hall

S = Status


# -- identification (pure) ---------------------------------------------------------------------


def info(receipt: int, amount: int, rc: int = 0) -> StatusInformation:
    return StatusInformation.build([(0x27, rc), (0x04, amount), (0x87, receipt), (0x0B, 7)])


def attempt(before: int | None, amount: int = 38000) -> Attempt:
    return Attempt("pay_1", 1, "payment", amount, before, "2026-01-05T09:00:00+00:00")


@pytest.mark.parametrize(
    ("before", "seen", "verdict"),
    [
        (41, info(41, 500), "not_booked"),  # the terminal's last is still the one before
        (41, info(42, 38000), "booked"),  # the next receipt, our amount: ours
        (41, info(42, 38000, rc=0x05), "booked"),  # ours, declined
        (41, info(42, 999), "ambiguous"),  # the next receipt but another amount
        (41, info(43, 38000), "ambiguous"),  # something happened in between
        (None, info(42, 38000), "ambiguous"),  # we never knew where the terminal was
        (0, None, "not_booked"),  # a fresh terminal still without transactions
        (41, None, "ambiguous"),  # the terminal lost its journal
        (9999, info(1, 38000), "booked"),  # receipt numbers wrap
    ],
)
def test_identify(before: int | None, seen: StatusInformation | None, verdict: str) -> None:
    assert identify(attempt(before), seen).verdict == verdict


def test_receipt_numbers_wrap_and_the_book_forgets_in_order() -> None:
    assert next_receipt(41) == 42 and next_receipt(9999) == 1
    state = BookState()
    for i in range(12):
        state.remember(Attempt(f"pay_{i}", 1, "payment", 100, i, f"2026-01-05T09:00:{i:02d}+00:00"))
    assert state.find(("pay_0", 1, "payment")) is None and state.find(("pay_11", 1, "payment"))
    assert state.since == "2026-01-05T09:00:03+00:00"  # attempts up to then are forgotten


# -- in doubt ----------------------------------------------------------------------------------


def test_ambiguous_answer_stays_unknown_then_needs_attention(tmp_path: Path) -> None:
    clock = ManualClock()
    sim = TerminalSimulator(password=int(PASSWORD), ack_timeout=1.0)
    host, port = sim.serve_tcp("127.0.0.1", 0)
    col = Collector.open(
        f"sqlite:///{tmp_path}/j.db", clock=clock, attention_after=timedelta(hours=1), create=True
    )
    col.add_channel("hall-1", f"zvt+tcp://{host}:{port}?t3=0.5&t4=1", password=PASSWORD)
    try:
        req = PaymentRequest(
            payer_id="P", amount=Money("380.00", "CNY"), reference="r", idempotency_key="a1"
        )
        sim.terminal.scripts.push(Script(faults=frozenset({"disconnect_after_approval"})))
        p = col.collect(req, channel="hall-1")
        assert p.status is S.UNKNOWN
        # someone books on the terminal behind our back before we ask: receipts no longer line up
        sim.terminal.journal.book(
            kind="payment",
            amount=100,
            currency=156,
            result_code=0,
            card="6222021234567890123",
            at="2026-01-05T09:00:00",
        )
        report = col.recover()
        assert report.still_in_doubt == [p.id]
        note = str(col.events(payment_id=p.id)[-1].data.get("text"))
        assert "still no trustworthy answer" in note and "expected receipt 0" in note
        clock.advance(hours=2)
        report = col.recover()
        assert report.needs_attention == [p.id]
        assert col.status(p.id).status is S.NEEDS_ATTENTION
    finally:
        col.close()
        sim.close()


@pytest.mark.slow
def test_next_payment_waits_for_an_unresolvable_earlier_one(tcp_hall: Hall) -> None:
    tcp_hall.script(faults={"disconnect_after_approval"})
    lost = tcp_hall.pay()
    assert lost.status is S.UNKNOWN
    tcp_hall.sim.terminal.line_mode = "mute"
    blocked = tcp_hall.pay("5.00")
    assert blocked.status is S.NOT_SENT and "could not check the terminal" in (
        blocked.reason_detail or ""
    )
    tcp_hall.sim.terminal.line_mode = "normal"
    assert tcp_hall.retry(blocked).status is S.SUCCEEDED
    assert tcp_hall.recover_until(lost, lambda s: s is S.SUCCEEDED) is S.SUCCEEDED
    tcp_hall.check_truth()


def test_an_answer_that_could_not_be_read_is_asked_for_again_not_taken_as_final(
    tcp_hall: Hall,
) -> None:
    """The status information is lost and the terminal cannot repeat it at once: the payment
    is UNKNOWN, and stays in doubt in the book, so the next command asks the terminal first
    (and sends with the receipt it learns) and recovery settles both from the terminal."""
    terminal = tcp_hall.sim.terminal

    def mute_after_this_dialogue(event: TerminalEvent) -> None:
        if event.kind == "status":  # the repeat that follows finds the terminal silent
            terminal.line_mode = "mute"

    stop = tcp_hall.channel.watch(mute_after_this_dialogue)
    tcp_hall.script(faults={"drop_frame"})
    first = tcp_hall.pay()
    stop()
    assert first.status is S.UNKNOWN
    assert "completion without status information" in (first.reason_detail or "")
    terminal.line_mode = "normal"
    tcp_hall.script(faults={"disconnect_after_approval"})
    second = tcp_hall.pay("5.00")
    assert second.status is S.UNKNOWN
    assert tcp_hall.recover_until(second, lambda s: s is S.SUCCEEDED) is S.SUCCEEDED
    assert tcp_hall.recover_until(first, lambda s: s is S.SUCCEEDED) is S.SUCCEEDED
    tcp_hall.check_truth()


class HangsUpBeforeRepeat(FaultLink):
    """A TCP link to the terminal whose peer, once armed, has hung up when the ECR next asks
    it to repeat its status information (``06 20``): that write fails, nothing leaves."""

    armed = False

    def _write(self, data: bytes) -> None:
        if self.armed and data.startswith(b"\x06\x20"):
            self.armed = False
            raise LinkClosed(f"{self.url}: the peer closed the connection")
        super()._write(data)


def test_a_question_after_a_booked_completion_that_cannot_leave_is_not_not_sent(
    tmp_path: Path,
) -> None:
    """The payment completes without its status information, and the repeat asked for at
    once cannot even be sent: the payment may be booked (it is), so it is UNKNOWN — never
    NOT_SENT, which would invite a second charge — and recovery learns it was paid."""
    sim = TerminalSimulator(password=int(PASSWORD), card="6222021234567890123", ack_timeout=1.0)
    host, port = sim.serve_tcp("127.0.0.1", 0)
    plain, _ = client_from_url(f"zvt+tcp://{host}:{port}?t3=0.5&t4=1.5", password=PASSWORD)
    link = HangsUpBeforeRepeat(plain.link)
    channel = TerminalChannel(
        ZvtClient(link, plain.framing, plain.config), currency=currency("CNY"), url=link.url
    )
    col = Collector.open(f"sqlite:///{tmp_path}/j.db", create=True)
    col.add_channel("hall-1", channel)

    def arm(event: TerminalEvent) -> None:
        if event.kind == "command" and event.record_id:
            sim.terminal.tag_next(event.record_id)
            link.armed = True

    channel.watch(arm)
    req = PaymentRequest(
        payer_id="P", amount=Money("380.00", "CNY"), reference="r", idempotency_key="a1"
    )
    try:
        sim.terminal.scripts.push(Script(faults=frozenset({"drop_frame"})))
        p = col.collect(req, channel="hall-1")
        assert sim.terminal.journal.charges(tag=p.id) == 1
        assert p.status is S.UNKNOWN, p.reason_detail
        col.recover()
        assert col.status(p.id).status is S.SUCCEEDED
    finally:
        col.close()
        sim.close()


def test_wrong_currency_is_not_sent_and_the_terminal_sees_nothing(tcp_hall: Hall) -> None:
    p = tcp_hall.col.collect(
        PaymentRequest(
            payer_id="P", amount=Money("10.00", "EUR"), reference="eur", idempotency_key="eur-1"
        ),
        channel="hall-1",
    )
    assert p.status is S.NOT_SENT and "takes CNY" in (p.reason_detail or "")
    assert tcp_hall.sim.terminal.journal.txns == []


# -- reversal, refund, end of day ------------------------------------------------------------------


def test_void_with_a_lost_answer_is_retried_safely(tcp_hall: Hall) -> None:
    p = tcp_hall.pay()
    tcp_hall.script(faults={"disconnect_after_approval"})
    with pytest.raises(OutcomeUnknownError):
        tcp_hall.col.cancel(p.id)
    assert tcp_hall.status(p) is S.SUCCEEDED  # nothing journaled on an unknown answer
    assert tcp_hall.col.cancel(p.id).status is S.REVERSED  # the terminal: already reversed
    kinds = [(t.kind, t.result_code) for t in tcp_hall.sim.terminal.journal.txns]
    assert kinds == [("payment", 0), ("reversal", 0)]


def test_partial_refunds_and_end_of_day(tcp_hall: Hall) -> None:
    p = tcp_hall.pay("100.00")
    tcp_hall.pay("20.00")
    r = tcp_hall.col.refund(p.id, Money("30.00", "CNY"), idempotency_key="r1")
    assert r.status is S.SUCCEEDED and r.channel_data["receipt_no"] == 3
    totals = tcp_hall.channel.end_of_day(tcp_hall.col.channel_context("hall-1"))
    assert totals.net == Money("90.00", "CNY") and totals.count == 2
    assert totals.total == Money("120.00", "CNY") and totals.refund_count == 1
    assert "END OF DAY" in totals.receipt
    # the totals are in the journal as the terminal's settlement figures
    [day] = recorded_settlements(tcp_hall.col.journal)["hall-1"]
    assert (day.kind, day.net_minor, day.payments, day.gross_minor, day.refund_minor) == (
        SettlementKind.TERMINAL,
        9000,
        2,
        12000,
        3000,
    )
    assert day.refunds == 1
    assert day.receipts == (1, 3) and day.currency == "CNY"
    tcp_hall.pay("5.00")
    tcp_hall.channel.end_of_day(tcp_hall.col.channel_context("hall-1"))
    first, second = recorded_settlements(tcp_hall.col.journal)["hall-1"]
    assert first == day and (second.net_minor, second.receipts) == (500, (4, 4))


@pytest.mark.slow
def test_abort_from_the_cashier_during_a_slow_cardholder(tcp_hall: Hall) -> None:
    tcp_hall.script(card_delay=3.0)
    timer = threading.Timer(0.3, tcp_hall.channel.abort)
    timer.start()
    start = time.monotonic()
    p = tcp_hall.pay()
    assert p.status is S.DECLINED and p.reason is Reason.CARDHOLDER_ABORT
    assert time.monotonic() - start < 2.5
    tcp_hall.check_truth()


def test_watchers_see_commands_statuses_and_results(tcp_hall: Hall) -> None:
    seen: list[TerminalEvent] = []
    tcp_hall.channel.watch(seen.append)
    p = tcp_hall.pay()
    kinds = [(e.kind, e.text) for e in seen if e.record_id == p.id]
    assert kinds[0] == ("command", "payment") and kinds[-1] == ("result", "booked")
    assert ("status", "insert card") in kinds


# -- receipts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("receipts", "lines"), [("block", True), ("lines", True), ("terminal", False)]
)
def test_receipts_as_text_block_print_lines_or_none(
    tmp_path: Path, receipts: str, lines: bool
) -> None:
    h = open_hall(tmp_path, "tcp", options=f"t3=0.5&t4=1.5&receipts={receipts}")
    try:
        p = h.pay()
        assert p.status is S.SUCCEEDED
        assert bool(p.channel_data.get("receipt")) is lines
        kind = {"block": "Text block", "lines": "Print line", "terminal": None}[receipts]
        text = h.transcript.read_text()
        assert (kind in text) if kind else ("Text block" not in text and "Print line" not in text)
    finally:
        h.col.close()
        h.sim.close()


def test_chinese_receipts_in_gb18030(tmp_path: Path) -> None:
    h = open_hall(tmp_path, "serial", options="t3=0.5&t4=1.5&charset=gb18030", charset="gb18030")
    try:
        p = h.pay()
        receipt = p.channel_data["receipt"]
        assert "消费 PAYMENT" in receipt and "交易成功 APPROVED" in receipt  # type: ignore[operator]
    finally:
        h.col.close()
        h.sim.close()


# -- one terminal, several backend processes -------------------------------------------------------


@pytest.mark.slow
def test_two_backends_share_one_terminal(tmp_path: Path) -> None:
    sim = TerminalSimulator(password=int(PASSWORD), ack_timeout=1.0)
    host, port = sim.serve_tcp("127.0.0.1", 0)
    url = f"zvt+tcp://{host}:{port}?t3=1&t4=3"
    db = f"sqlite:///{tmp_path}/j.db"
    backends = [Collector.open(db, lock_linger=0.05, create=True) for _ in range(2)]
    for col in backends:
        ch = col.add_channel("hall-1", url, password=PASSWORD)
        assert isinstance(ch, TerminalChannel)
    errors: list[BaseException] = []

    def work(col: Collector, who: int) -> None:
        try:
            for i in range(6):
                req = PaymentRequest(
                    payer_id=f"P{who}-{i}",
                    amount=Money(f"{who + 1}.{i:02d}", "CNY"),
                    reference="r",
                    idempotency_key=f"k{who}-{i}",
                )
                assert col.collect(req, channel="hall-1").status is S.SUCCEEDED
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c, i)) for i, c in enumerate(backends)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == []
        txns = sim.terminal.journal.txns
        assert len(txns) == 12 and all(t.approved and not t.reversed for t in txns)
        assert [t.receipt for t in txns] == list(range(1, 13))
    finally:
        for col in backends:
            col.close()
        sim.close()


@pytest.mark.slow
def test_lost_reply_recovered_on_either_journal(journal_url: str) -> None:
    sim = TerminalSimulator(password=int(PASSWORD), ack_timeout=1.0)
    host, port = sim.serve_tcp("127.0.0.1", 0)
    col = Collector.open(journal_url, create=True)
    col.add_channel("hall-1", f"zvt+tcp://{host}:{port}?t3=0.5&t4=1", password=PASSWORD)
    try:
        sim.terminal.scripts.push(Script(faults=frozenset({"disconnect_after_approval"})))
        req = PaymentRequest(
            payer_id="P", amount=Money("1.00", "CNY"), reference="r", idempotency_key="pg-1"
        )
        p = col.collect(req, channel="hall-1")
        assert p.status is S.UNKNOWN
        assert col.recover().resolved == {"SUCCEEDED": 1}
        assert col.status(p.id).channel_data["receipt_no"] == 1
    finally:
        col.close()
        sim.close()
