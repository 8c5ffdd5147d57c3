"""Settlement figures: what a terminal, a provider or a bank says it took, kept in the journal.

Reconciliation compares the journal with the other side's own totals. A channel records
them when it learns them — a terminal closing its day, a provider's bill, a bank's result
file — as a ``Settlement`` in the journal's channel state (key ``settlement:<kind>:<key>``,
scope = the channel's name), so ``paychannels reconcile`` needs nothing but the journal
database. Recording the same statement again (a bill downloaded twice) replaces it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, cast

from pydantic import JsonValue

from paychannels.channels.base import ChannelContext
from paychannels.journal.base import Journal
from paychannels.values.errors import ChannelError, JournalError

__all__ = [
    "STATE_PREFIX",
    "Settlement",
    "SettlementItem",
    "SettlementKind",
    "record_settlement",
    "recorded_settlements",
]

STATE_PREFIX = "settlement:"


class SettlementKind(StrEnum):
    """Who made the statement."""

    TERMINAL = "terminal"  # a terminal's end-of-day totals (its batch)
    PROVIDER = "provider"  # a provider's bill for a day, line by line
    BANK = "bank"  # a bank's result file


@dataclass(frozen=True, slots=True)
class SettlementItem:
    """One line of an itemised statement: our payment or refund id, what moved, their ref."""

    record_id: str
    kind: Literal["payment", "refund"]
    minor: int
    ref: str = ""


@dataclass(frozen=True)
class Settlement:
    """The other side's account of money taken; ``None`` where the statement is silent.

    ``net_minor`` is what it holds for us: payments less refunds, reversals and returns.
    ``receipts`` (terminals) is the first and last receipt number of the batch, which
    finds the journal's payments of that batch; ``batch`` instead the terminal's batch
    number, for terminals whose ``channel_ref`` names the batch (MIS-POS:
    ``terminal/batch/trace``); ``dates`` (provider bills) the days the
    statement covers (Beijing time); ``items`` the lines of an itemised statement.
    """

    kind: SettlementKind
    key: str
    source: str
    currency: str
    recorded_at: datetime
    net_minor: int
    payments: int | None = None
    gross_minor: int | None = None
    refunds: int | None = None
    refund_minor: int | None = None
    receipts: tuple[int, int] | None = None
    batch: str | None = None
    dates: tuple[str, ...] = ()
    items: tuple[SettlementItem, ...] | None = None
    detail: dict[str, JsonValue] = field(default_factory=dict)

    @property
    def state_key(self) -> str:
        """Where it is kept in the channel's state."""
        return f"{STATE_PREFIX}{self.kind.value}:{self.key}"

    def to_json(self) -> dict[str, JsonValue]:
        """The stored form (items as compact rows: id, p|r, minor units, their ref)."""
        return {
            "kind": self.kind.value,
            "key": self.key,
            "source": self.source,
            "currency": self.currency,
            "recorded_at": self.recorded_at.isoformat(),
            "net_minor": self.net_minor,
            "payments": self.payments,
            "gross_minor": self.gross_minor,
            "refunds": self.refunds,
            "refund_minor": self.refund_minor,
            "receipts": list(self.receipts) if self.receipts is not None else None,
            "batch": self.batch,
            "dates": list(self.dates),
            "items": None
            if self.items is None
            else [[i.record_id, i.kind[0], i.minor, i.ref] for i in self.items],
            "detail": self.detail,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Settlement:
        """Read the stored form back; ``JournalError`` when it is not one."""
        try:
            receipts = value.get("receipts")
            items = value.get("items")
            return cls(
                kind=SettlementKind(value["kind"]),
                key=str(value["key"]),
                source=str(value["source"]),
                currency=str(value["currency"]),
                recorded_at=datetime.fromisoformat(value["recorded_at"]),
                net_minor=int(value["net_minor"]),
                payments=_int(value.get("payments")),
                gross_minor=_int(value.get("gross_minor")),
                refunds=_int(value.get("refunds")),
                refund_minor=_int(value.get("refund_minor")),
                receipts=(int(receipts[0]), int(receipts[1])) if receipts else None,
                batch=None if value.get("batch") is None else str(value["batch"]),
                dates=tuple(str(d) for d in value.get("dates") or ()),
                items=None
                if items is None
                else tuple(
                    SettlementItem(
                        str(i[0]), "payment" if i[1] == "p" else "refund", int(i[2]), str(i[3])
                    )
                    for i in items
                ),
                detail=dict(value.get("detail") or {}),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise JournalError(f"a stored settlement is not readable: {exc!r}") from None


def _int(value: object) -> int | None:
    return None if value is None else int(cast("int", value))


def record_settlement(ctx: ChannelContext, settlement: Settlement) -> None:
    """Keep a statement in the channel's state (replacing one with the same key)."""
    value = cast("JsonValue", settlement.to_json())
    for _ in range(10):
        entry = ctx.state_get(settlement.state_key)
        if ctx.state_put(
            settlement.state_key, value, expected_version=0 if entry is None else entry.version
        ):
            return
    raise ChannelError(f"settlement {settlement.state_key} kept changing under us")


def recorded_settlements(journal: Journal) -> dict[str, list[Settlement]]:
    """Every statement recorded in a journal, by channel name, in key order."""
    found: dict[str, list[Settlement]] = {}
    for scope, _key, entry in journal.state_items(STATE_PREFIX):
        if not isinstance(entry.value, dict):
            raise JournalError(f"channel {scope}: a stored settlement is not an object")
        found.setdefault(scope, []).append(Settlement.from_json(entry.value))
    return found
