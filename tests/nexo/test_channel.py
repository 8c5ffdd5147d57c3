"""CloudPosChannel against the simulated cloud over real HTTP: keys, modes, abort, refunds."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from paychannels import (
    ConfigurationError,
    InvalidURL,
    Money,
    OutcomeUnknownError,
    Status,
    open_channel,
)
from paychannels.drivers.nexo import CloudPosChannel
from paychannels.drivers.nexo.serviceids import PREFIX, ServiceIds
from paychannels.runtime import crashpoints
from tests.nexo.conftest import API_KEY, POIID, SECRET, Hall, open_hall


@pytest.mark.slow
def test_sync_payment_journals_the_terminal_ids(hall: Hall) -> None:
    p = hall.pay()
    assert p.status is Status.SUCCEEDED
    assert p.channel_ref and p.channel_ref.startswith("29001234.0001.")
    data = p.channel_data
    assert data["card"] == "622202*********0123" and data["service_id"]
    assert data["receipt"][1] == "消费 PAYMENT"  # type: ignore[index]
    assert hall.charges(p) == 1


@pytest.mark.slow
def test_service_ids_are_claimed_once_per_attempt_and_unique(hall: Hall) -> None:
    hall.script(faults={"refuse"})
    p = hall.pay()
    assert p.status is Status.NOT_SENT
    again = hall.col.collect(p.request(), channel="cloud")
    assert again.status is Status.SUCCEEDED and again.attempt == 2
    ids = ServiceIds(hall.col.channel_context("cloud"))
    first, second = (ids.find("payment", p.id, n) for n in (1, 2))
    assert first is not None and second is not None
    assert first.service_id != second.service_id
    assert all(len(m.service_id) == 10 for m in (first, second))
    assert hall.col.journal.state_get("cloud", PREFIX + first.service_id) is not None


@pytest.mark.slow
def test_wrong_api_key_is_not_sent_and_names_the_key(tmp_path: Path) -> None:
    h = open_hall(tmp_path)
    try:
        url = f"nexo+{h.base}/?poi={POIID}&status_wait=0&timeout=5"
        h.col.add_channel("bad", url, api_key="not-the-key-0000000000", backoff=0.01)
        p = h.col.collect(h.request(), channel="bad")
        assert p.status is Status.NOT_SENT
        assert "check the API key" in (p.reason_detail or "")
        assert "not-the-key" not in (p.reason_detail or "")
        assert h.sim.terminal.journal.txns == []
    finally:
        h.close()


@pytest.mark.slow
def test_unreachable_cloud_is_not_sent(tmp_path: Path) -> None:
    h = open_hall(tmp_path)
    try:
        assert h.sim.nexo is not None
        h.sim.nexo.pause()
        p = h.pay()
        assert p.status is Status.NOT_SENT
        h.sim.nexo.resume()
        assert h.col.collect(p.request(), channel="cloud").status is Status.SUCCEEDED
    finally:
        h.close()


def test_factory_refuses_bad_urls_and_secrets() -> None:
    with pytest.raises(InvalidURL, match="secret"):
        open_channel("nexo+https://terminal-api-test.adyen.com?poi=P1&api_key=abc")
    with pytest.raises(InvalidURL, match=r"loopback|127\.0\.0\.1"):
        open_channel("nexo+http://terminal-api-test.adyen.com?poi=P1", api_key="k" * 20)
    with pytest.raises(ConfigurationError, match="api_key"):
        open_channel("nexo+https://terminal-api-test.adyen.com?poi=P1")
    with pytest.raises(ConfigurationError, match="poi"):
        open_channel("nexo+https://terminal-api-test.adyen.com", api_key="k" * 20)
    with pytest.raises(ConfigurationError, match="mode"):
        open_channel("nexo+https://h.example?poi=P1&mode=later", api_key="k" * 20)
    with pytest.raises(ConfigurationError, match="notify_secret"):
        open_channel("nexo+https://h.example?poi=P1", api_key="k" * 20, notify_secret="short")
    with pytest.raises(ConfigurationError, match="unknown option"):
        open_channel("nexo+https://h.example?poi=P1", api_key="k" * 20, password="x")


def test_config_file_carries_the_secrets(tmp_path: Path) -> None:
    config = tmp_path / "nexo.toml"
    config.write_text(f'[nexo]\napi_key = "{API_KEY}"\nnotify_secret = ["{SECRET}"]\n')
    channel = open_channel("nexo+https://h.example/v1?poi=P1&sale_id=hall-1", config=config)
    assert isinstance(channel, CloudPosChannel)
    assert API_KEY not in channel.describe() and "P1" in channel.describe()
    assert API_KEY not in channel.scrub(f"x-api-key: {API_KEY} secret {SECRET}")
    assert SECRET not in channel.scrub(f"secret {SECRET}")
    channel.close()


@pytest.mark.slow
def test_abort_stops_a_sync_payment_waiting_for_the_card(hall: Hall) -> None:
    hall.script(card_delay=20.0)
    done: list[object] = []
    thread = threading.Thread(target=lambda: done.append(hall.pay()))
    thread.start()
    assert hall.until(lambda: bool(hall.col.find(statuses=[Status.DISPATCHED])))
    (p,) = hall.col.find(statuses=[Status.DISPATCHED])
    assert hall.until(
        lambda: ServiceIds(hall.col.channel_context("cloud")).find("payment", p.id, 1) is not None
    )
    time.sleep(0.2)  # the terminal is showing "insert card"
    started = time.monotonic()
    cancelled = hall.col.cancel(p.id)
    thread.join(10)
    assert time.monotonic() - started < 5
    assert cancelled.status is Status.DECLINED
    assert done and hall.status(p) is Status.DECLINED
    assert hall.col.status(p.id).reason_detail == "nexo Aborted: Aborted by the sale system"
    assert hall.charges(p) == 0


def test_abort_waits_for_the_terminal_to_hold_a_payment_still_on_its_way(hall: Hall) -> None:
    """A cancel that comes after the ServiceID is claimed but before the payment reached the
    terminal: an Abort sent then is lost (the terminal has nothing to abort), so the channel
    first asks until the terminal holds the payment, then aborts it once."""
    paused, go_on = threading.Event(), threading.Event()
    payer = threading.current_thread()

    def slow_dispatch(name: str) -> None:  # the dispatch thread, between its claim and send
        if name == "channel.before_send" and threading.current_thread() is not payer:
            paused.set()
            go_on.wait(2.0)

    hall.script(card_delay=20.0)
    done: list[object] = []
    thread = threading.Thread(target=lambda: done.append(hall.pay()))
    crashpoints.install(slow_dispatch)
    try:
        thread.start()
        assert paused.wait(8), "the payment never reached its send"
        (p,) = hall.col.find(statuses=[Status.DISPATCHED])
        started = time.monotonic()
        cancelled = hall.col.cancel(p.id)
    finally:
        go_on.set()
        crashpoints.uninstall(slow_dispatch)
        thread.join(10)
    assert cancelled.status is Status.DECLINED, cancelled.status
    assert time.monotonic() - started < 4.5
    assert done and hall.status(p) is Status.DECLINED
    assert hall.col.status(p.id).reason_detail == "nexo Aborted: Aborted by the sale system"
    assert hall.charges(p) == 0
    aborts = [n for n in hall.sim.terminal.log if "nexo abort for ServiceID" in n]
    assert len(aborts) == 1 and "ignored" not in aborts[0], aborts


def test_a_cancel_returns_what_the_dispatch_journals_when_its_answer_is_late(
    hall: Hall,
) -> None:
    """The terminal ends the aborted payment and answers both the dispatch and the cancel's
    status request; the dispatch thread journals its answer a moment later. The cancel
    returns the payment as the dispatch left it (DECLINED), not as it was (DISPATCHED)."""
    answered, go_on = threading.Event(), threading.Event()
    payer = threading.current_thread()

    def slow_journal(name: str) -> None:  # the dispatch thread, its answer in hand
        if name == "channel.after_send" and threading.current_thread() is not payer:
            answered.set()
            go_on.wait(1.0)

    hall.script(card_delay=20.0)
    done: list[object] = []
    thread = threading.Thread(target=lambda: done.append(hall.pay()))
    crashpoints.install(slow_journal)
    try:
        thread.start()
        assert hall.until(lambda: bool(hall.col.find(statuses=[Status.DISPATCHED])))
        (p,) = hall.col.find(statuses=[Status.DISPATCHED])
        cancelled = hall.col.cancel(p.id)
    finally:
        go_on.set()
        crashpoints.uninstall(slow_journal)
        thread.join(10)
    assert answered.is_set()
    assert cancelled.status is Status.DECLINED, cancelled.status
    assert done and hall.status(p) is Status.DECLINED
    assert hall.charges(p) == 0


def test_abort_too_late_leaves_the_payment_paid(async_hall: Hall) -> None:
    h = async_hall
    h.receiver.app = None  # the notification cannot land yet
    p = h.pay()
    assert p.status is Status.PENDING
    assert h.until(lambda: h.sim.terminal.journal.charges(tag=p.id) == 1)
    assert h.col.cancel(p.id).status is Status.SUCCEEDED  # the status says it was paid
    assert h.charges(p) == 1


def test_abort_of_an_async_payment_closes_it(async_hall: Hall) -> None:
    h = async_hall
    h.script(card_delay=20.0)
    p = h.pay()
    assert p.status is Status.PENDING
    closed = h.col.cancel(p.id)
    assert closed.status is Status.EXPIRED and h.charges(p) == 0
    h.settle_notifications()  # the Aborted result arrives too, and changes nothing
    assert h.status(p) is Status.EXPIRED


@pytest.mark.slow
def test_partial_refunds_and_their_limit(hall: Hall) -> None:
    p = hall.pay("100.00")
    r1 = hall.col.refund(p.id, Money("30.00", "CNY"), idempotency_key="r1")
    r2 = hall.col.refund(p.id, Money("30.00", "CNY"), idempotency_key="r2")
    assert (r1.status, r2.status) == (Status.SUCCEEDED, Status.SUCCEEDED)
    journal = hall.sim.terminal.journal
    (paid,) = [t for t in journal.txns if t.tag == p.id]
    assert journal.refunded(paid.receipt, paid.batch) == 6000
    refunds = [t for t in journal.txns if t.kind == "refund"]
    assert {t.tag for t in refunds} == {r1.id, r2.id}


@pytest.mark.slow
def test_void_after_a_lost_answer_asks_before_sending_again(hall: Hall) -> None:
    p = hall.pay()
    hall.script(faults={"disconnect_after_approval"})
    with pytest.raises(OutcomeUnknownError, match="cancel again"):
        hall.col.cancel(p.id)
    assert hall.status(p) is Status.SUCCEEDED
    reversed_ = hall.col.cancel(p.id)  # finds the earlier reversal went through
    assert reversed_.status is Status.REVERSED
    reversals = [t for t in hall.sim.terminal.journal.txns if t.kind == "reversal"]
    assert len(reversals) == 1 and hall.charges(p) == 0


@pytest.mark.slow
def test_diagnosis(hall: Hall) -> None:
    answer = hall.channel.diagnosis(hall.col.channel_context("cloud"))
    assert answer.Response.Result == "Success"
    assert answer.POIStatus is not None and answer.POIStatus.GlobalStatus == "OK"
    hall.sim.terminal.online = False
    with pytest.raises(OutcomeUnknownError, match="not connected"):
        hall.channel.diagnosis(hall.col.channel_context("cloud"))


@pytest.mark.slow
def test_async_result_by_notification(async_hall: Hall) -> None:
    h = async_hall
    p = h.pay()
    assert p.status is Status.PENDING
    h.settle_notifications()
    assert h.status(p) is Status.SUCCEEDED
    assert h.col.status(p.id).channel_ref
    events = h.col.events(payment_id=p.id)
    assert any(e.data.get("via") == "nexo notification" for e in events)


@pytest.mark.slow
def test_async_without_notifications_is_found_by_asking(async_hall: Hall) -> None:
    h = async_hall
    h.script(faults={"drop_notification"})
    p = h.pay()
    assert h.until(lambda: h.charges(p) == 1)
    report = h.col.recover()
    assert report.resolved == {"SUCCEEDED": 1}
    assert h.status(p) is Status.SUCCEEDED


@pytest.mark.slow
def test_secrets_never_reach_the_transcript(hall: Hall) -> None:
    hall.pay()
    text = hall.channel.transcript()
    assert API_KEY not in text and SECRET not in text and "6222021234567890123" not in text
    assert "PaymentRequest" in text and "SaleToPOIResponse" in text
