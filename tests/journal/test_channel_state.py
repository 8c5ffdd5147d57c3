"""Adapters keep per-channel state in the journal through their context (compare-and-set)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import JsonValue

from paychannels import (
    Channel,
    ChannelContext,
    Collector,
    ConfigurationError,
    Money,
    Outcome,
    Payment,
    PaymentRequest,
)


class Remembering(Channel):
    """Stores, per channel, the ids it was asked to pay, with the version it read."""

    scheme = "remembering"

    def __init__(self) -> None:
        self.conflicts = 0

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        entry = ctx.state_get("seen")
        seen: list[JsonValue] = list(entry.value) if entry is not None else []  # type: ignore[arg-type]
        version = entry.version if entry is not None else 0
        assert ctx.state_put("seen", [*seen, payment.id], expected_version=version)
        if not ctx.state_put("seen", ["stale write"], expected_version=version):
            self.conflicts += 1
        return Outcome.succeeded()


def request(i: int) -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"P{i}", amount=Money("1.00", "CNY"), reference="r", idempotency_key=f"k{i}"
    )


def test_state_persists_per_channel_with_compare_and_set(journal_url: str) -> None:
    with Collector.open(journal_url, create=True) as col:
        a, b = Remembering(), Remembering()
        col.add_channel("hall-a", a)
        col.add_channel("hall-b", b)
        first = col.collect(request(1), channel="hall-a")
        col.collect(request(2), channel="hall-a")
        col.collect(request(3), channel="hall-b")
        assert a.conflicts == 2 and b.conflicts == 1
    with Collector.open(journal_url, create=True) as col:
        entry = col.journal.state_get("hall-a", "seen")
        assert entry is not None and entry.version == 2
        assert entry.value[0] == first.id  # type: ignore[index]
        other = col.journal.state_get("hall-b", "seen")
        assert other is not None and len(other.value) == 1  # type: ignore[arg-type]


def test_a_context_for_work_outside_payments(tmp_path: Path) -> None:
    with Collector.open(f"sqlite:///{tmp_path}/j.db", create=True) as col:
        col.add_channel("hall-1", Remembering())
        ctx = col.channel_context("hall-1")
        assert ctx.channel_name == "hall-1"
        assert ctx.state_put("eod", {"batch": 7}, expected_version=0)
        with ctx.lock("terminal", timeout=1):
            assert col.journal.lock_owner("hall-1:terminal") == col.owner
        entry = ctx.state_get("eod")
        assert entry is not None and entry.value == {"batch": 7}
        with pytest.raises(ConfigurationError, match="no channel named"):
            col.channel_context("hall-9")
        with pytest.raises(RuntimeError, match="progress belongs to a payment"):
            ctx.progress("insert card")
