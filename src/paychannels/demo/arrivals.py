"""The demo's collection account: every channel's settlement credited by the simulated bank.

After the channels settle, what each recorded as settled is paid into the collection account
the way the real counterparties would — on its due day (the channel's cycle on the holiday
calendar), net of the fees it declared, the bank's own batch debits under their message id —
returns debited back under the same message id, with two planted faults: one terminal's
batch credited a working day late, and the bank's batch credit short by a handling fee
that should not have been taken. The simulated bank
writes the account's camt.053 statements, and the reconciliation must find both faults.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from paychannels.channels.settlement import SettlementKind, recorded_settlements
from paychannels.journal.base import Journal
from paychannels.reconcile.arrivals import ArrivalRules, expected_minor, trade_day
from paychannels.simulators.bank.statement import Booking, CollectionAccount

__all__ = ["ACCOUNT", "Planted", "account_statements"]

ACCOUNT = "15050171001234567890"  # the county fund's collection account (simulated)
_FEE_PER_MILLE = 5  # the bank's handling fee, 0.5% of the batch (at least 1.00)


@dataclass
class Planted:
    """Which channels were made late and short, so the demo can check they were found."""

    late: str | None = None
    short: str | None = None
    fee_minor: int = 0


def account_statements(
    journal: Journal, folder: Path, rules: ArrivalRules
) -> tuple[list[Path], Planted]:
    """Book every recorded settlement as the counterparties would; write the statements."""
    account = CollectionAccount(ACCOUNT)
    planted = Planted()
    serial = 0
    days: list[date] = []
    for channel, found in sorted(recorded_settlements(journal).items()):
        for s in sorted(found, key=lambda s: (s.recorded_at, s.key)):
            amount = expected_minor(s, rules, channel)
            refs = s.detail.get("refs")
            msg_id = str(refs[0]) if isinstance(refs, list) and refs else ""
            if amount == 0 or (amount < 0 and not msg_id):
                continue
            due = rules.calendar.next_business_day(trade_day(s), after=rules.cycle(channel, s))
            if planted.late is None and s.kind is SettlementKind.TERMINAL and amount > 0:
                planted.late = channel
                due = rules.calendar.next_business_day(due, after=1)
            if planted.short is None and s.kind is SettlementKind.BANK and msg_id and amount > 0:
                planted.short = channel
                planted.fee_minor = min(max(amount * _FEE_PER_MILLE // 1000, 100), amount - 1)
                amount -= planted.fee_minor
            serial += 1
            account.book(
                Booking(
                    abs(amount), due, credit=amount > 0, msg_id=msg_id,
                    bank_ref=f"SIM{due:%Y%m%d}{serial:06d}",
                    text=f"结算款 settlement {channel}" if amount > 0 else f"退回 return {channel}",
                )
            )  # fmt: skip
            days.append(due)
    if not days:
        return [], planted
    return account.statements(folder, min(days), max(days)), planted
