"""Event notifications: proven on their raw bytes, or only a hint that makes us ask."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from paychannels import Status
from paychannels.drivers.nexo import decode_reply, encode
from paychannels.drivers.nexo.envelope import SaleToPOIResponse
from paychannels.drivers.nexo.notifications import DEFAULT_HEADER
from paychannels.drivers.nexo.serviceids import ServiceIds
from paychannels.security.webhooks import TimestampedHmac
from tests.nexo.conftest import SECRET, Hall

SIGNER = TimestampedHmac([SECRET], header=DEFAULT_HEADER)


def _result_of(h: Hall, record_id: str) -> SaleToPOIResponse:
    """The response the cloud filed for a payment (what its notification carries)."""
    assert h.sim.cloud is not None
    for ticket in h.sim.cloud.tickets.values():
        if ticket.tag == record_id and ticket.response is not None:
            return ticket.response
    raise AssertionError(f"no ticket for {record_id}")


def _deliver(h: Hall, body: bytes, signature: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[DEFAULT_HEADER] = signature
    return h.col.handle_callback("cloud", headers, body).status_code


def _paid_but_unheard(h: Hall) -> tuple[str, bytes]:
    h.script(faults={"drop_notification"})
    p = h.pay()
    assert p.status is Status.PENDING
    assert h.until(lambda: h.charges(p) == 1)
    return p.id, encode(_result_of(h, p.id))


@pytest.mark.slow
def test_a_proven_notification_settles_the_payment(async_hall: Hall) -> None:
    pid, body = _paid_but_unheard(async_hall)
    assert _deliver(async_hall, body, SIGNER.sign(body)) == 200
    assert async_hall.col.status(pid).status is Status.SUCCEEDED
    assert _deliver(async_hall, body, SIGNER.sign(body)) == 200  # the duplicate is harmless


@pytest.mark.slow
def test_forged_and_unsigned_are_refused_and_only_a_stale_genuine_one_makes_us_ask(
    async_hall: Hall,
) -> None:
    h = async_hall
    pid, body = _paid_but_unheard(h)
    forged = TimestampedHmac(["some other secret 1234567"], header=DEFAULT_HEADER).sign(body)
    for signature, refused in ((forged, 401), (None, 400), ("t=1,v1=zz", 400)):
        assert _deliver(h, body, signature) == refused
    # a forgery is not a hint: the terminal was not asked, so nothing moved
    assert h.col.status(pid).status is Status.PENDING
    # a genuine but stale copy (a replay, or our clock) is worth asking: the terminal says paid
    stale = SIGNER.sign(body, timestamp=int(time.time()) - 3600)
    assert _deliver(h, body, stale) == 401
    assert h.col.status(pid).status is Status.SUCCEEDED
    assert not [e for e in h.col.events(payment_id=pid) if e.type.value == "callback"]


@pytest.mark.slow
def test_a_hint_changes_nothing_it_cannot_confirm(async_hall: Hall) -> None:
    h = async_hall
    h.script(card_delay=20.0)
    p = h.pay()
    ids = ServiceIds(h.col.channel_context("cloud"))
    marker = ids.find("payment", p.id, 1)
    assert marker is not None
    paid = decode_reply(_fixture("async_result_request_wrapper"))
    assert isinstance(paid, SaleToPOIResponse)
    header = paid.MessageHeader.model_copy(
        update={"ServiceID": marker.service_id, "SaleID": "paychannels"}
    )
    lie = encode(paid.model_copy(update={"MessageHeader": header}))
    assert _deliver(h, lie, None) == 400  # unsigned "paid": refused, nothing believed
    assert h.col.status(p.id).status is Status.PENDING
    h.col.cancel(p.id)


@pytest.mark.slow
def test_a_proven_amount_that_differs_asks_a_person(async_hall: Hall) -> None:
    h = async_hall
    pid, body = _paid_but_unheard(h)
    doctored = body.replace(b'"AuthorizedAmount":380.00', b'"AuthorizedAmount":3.80')
    assert doctored != body
    assert _deliver(h, doctored, SIGNER.sign(doctored)) == 200
    record = h.col.status(pid)
    assert record.status is Status.NEEDS_ATTENTION
    assert "differs" in (record.attention or "")


def test_news_from_another_terminal_asks_a_person(async_hall: Hall) -> None:
    h = async_hall
    pid, body = _paid_but_unheard(h)
    other = body.replace(b"P400Plus-275039202", b"P400Plus-999999999")
    assert _deliver(h, other, SIGNER.sign(other)) == 200
    record = h.col.status(pid)
    assert record.status is Status.NEEDS_ATTENTION
    assert "P400Plus-999999999" in (record.attention or "")


@pytest.mark.slow
def test_money_taken_by_an_attempt_that_was_followed_by_another(async_hall: Hall) -> None:
    h = async_hall
    h.script(faults={"refuse"})
    p = h.pay()
    assert p.status is Status.NOT_SENT
    h.script(faults={"drop_notification"})
    again = h.col.collect(p.request(), channel="cloud")
    ids = ServiceIds(h.col.channel_context("cloud"))
    first = ids.find("payment", p.id, 1)
    assert first is not None and again.attempt == 2
    assert h.until(lambda: h.charges(p) == 1)
    body = encode(_result_of(h, p.id))
    second = ids.find("payment", p.id, 2)
    assert second is not None
    stale = body.replace(second.service_id.encode(), first.service_id.encode())
    assert _deliver(h, stale, SIGNER.sign(stale)) == 200
    record = h.col.status(p.id)
    # recorded, never applied to attempt 2: a person looks, attempt 2 resolves on its own
    assert record.attempt == 2 and record.status is not Status.NEEDS_ATTENTION
    assert "attempt 1 reported money taken" in (record.attention or "")
    notes = [e.data for e in h.col.events(payment_id=p.id) if e.data.get("stale")]
    assert [(n["about_attempt"], n["reported"]) for n in notes] == [(1, "SUCCEEDED")]


@pytest.mark.slow
def test_unreadable_and_foreign_notifications(async_hall: Hall) -> None:
    h = async_hall
    assert _deliver(h, b"{not json", SIGNER.sign(b"{not json")) == 400
    other = _fixture("payment_success")  # ServiceID 0420174835 was never claimed here
    assert _deliver(h, other, SIGNER.sign(other)) == 200
    assert h.col.find(limit=10) == []


def _fixture(name: str) -> bytes:
    return (Path(__file__).resolve().parents[2] / "fixtures" / "nexo" / f"{name}.json").read_bytes()
