"""Settlement figures go into the journal's channel state and come back intact."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from paychannels import Collector
from paychannels.channels.memory import MemoryChannel
from paychannels.channels.settlement import (
    Settlement,
    SettlementItem,
    SettlementKind,
    record_settlement,
    recorded_settlements,
)
from paychannels.values.errors import JournalError

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _bill(net: int) -> Settlement:
    return Settlement(
        kind=SettlementKind.PROVIDER,
        key="2026-03-02",
        source="WeChat Pay trade bill of 2026-03-02",
        currency="CNY",
        recorded_at=AT,
        net_minor=net,
        payments=2,
        gross_minor=60000,
        refunds=1,
        refund_minor=60000 - net,
        dates=("2026-03-02",),
        items=(
            SettlementItem("pay_1", "payment", 30000, "4200001"),
            SettlementItem("pay_2", "payment", 30000, "4200002"),
            SettlementItem("rfd_1", "refund", 60000 - net, "5000001"),
        ),
        detail={"hash": "sha1:abc"},
    )


def test_recorded_settlements_round_trip_per_channel(journal_url: str) -> None:
    with Collector.open(journal_url, create=True) as col:
        col.add_channel("wx", MemoryChannel())
        col.add_channel("hall-1", MemoryChannel())
        record_settlement(col.channel_context("wx"), _bill(50000))
        record_settlement(col.channel_context("wx"), _bill(55000))  # downloaded again: replaced
        day = Settlement(
            kind=SettlementKind.TERMINAL,
            key=AT.isoformat(),
            source="end of day",
            currency="CNY",
            recorded_at=AT,
            net_minor=123,
            receipts=(1, 37),
        )
        record_settlement(col.channel_context("hall-1"), day)
        found = recorded_settlements(col.journal)
    assert set(found) == {"wx", "hall-1"}
    assert found["hall-1"] == [day]
    [bill] = found["wx"]
    assert bill == _bill(55000)
    assert bill.items is not None and bill.items[2].kind == "refund"


def test_an_unreadable_stored_settlement_is_a_journal_error() -> None:
    with pytest.raises(JournalError, match="not readable"):
        Settlement.from_json({"kind": "terminal", "key": "x"})
    with pytest.raises(JournalError):
        Settlement.from_json({**_bill(1).to_json(), "kind": "moon"})
