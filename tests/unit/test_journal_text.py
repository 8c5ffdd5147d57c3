"""A channel's answer is always recorded, whatever its text holds (item 16 of issue 11).

PostgreSQL refuses NUL in text, and neither driver can encode a lone surrogate: a terminal's
reason text with either made ``collect()`` raise ``JournalError`` and left the payment
DISPATCHED while the device had answered. Text going into the journal is made storable in
one place (NUL and unencodable characters written visibly escaped); the answer is recorded.
"""

from __future__ import annotations

import pytest

from paychannels import Collector, Money, PaymentRequest, Reason, Status
from paychannels.channels.base import Channel, ChannelContext
from paychannels.values.models import Outcome, Payment

HOSTILE = "05\x00card\udcffrefused"


class _Talker(Channel):
    """A device whose answers carry text no database stores as is."""

    scheme = "talker"

    def __init__(self, approve: bool) -> None:
        self.approve = approve

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        ctx.progress(f"insert card\x00{HOSTILE}")
        if self.approve:
            return Outcome.succeeded(
                amount_taken=payment.amount, channel_ref=f"ref\x00{1}", receipt=(HOSTILE,)
            )
        return Outcome.declined(Reason.CARD_DECLINED, HOSTILE, message=HOSTILE)


def _request(key: str) -> PaymentRequest:
    return PaymentRequest(
        payer_id="150422199001010011",
        amount=Money("380.00", "CNY"),
        reference=f"2026-{key}",
        idempotency_key=key,
    )


@pytest.mark.parametrize("approve", [False, True], ids=["declined", "approved"])
def test_an_answer_with_nul_and_surrogates_is_recorded(journal_url: str, approve: bool) -> None:
    with Collector.open(journal_url, create=True) as col:
        col.add_channel("t", _Talker(approve))
        record = col.collect(_request(f"k{approve}"), channel="t")
        assert record.status is (Status.SUCCEEDED if approve else Status.DECLINED)
        stored = col.journal.get(record.id)
        assert stored.status is record.status
        assert col.journal.verify(record.id) == []
        if not approve:
            assert stored.reason_detail is not None
            assert "\x00" not in stored.reason_detail and "card" in stored.reason_detail
            assert "\\x00" in stored.reason_detail, "written visibly escaped, not dropped"
        texts = [str(e.data) for e in col.journal.events(record_id=record.id)]
        assert any("insert card" in t for t in texts)
