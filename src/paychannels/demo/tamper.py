"""Spoiling the demo day on purpose (``paychannels demo --tamper KIND``), to see the
verdict fail: proof that ``BALANCED`` is computed, not assumed.

- ``journal``: a declined payment is marked succeeded straight in the journal's table, as a
  hand edit of the database would — money the journal credits that no channel took.
- ``terminal``: a sale is keyed on a hall terminal itself, the backend never asked — money
  the terminal took that the journal cannot know of.

Either is done after the collection and the follow-up, before the channels settle.
"""

from __future__ import annotations

import sqlite3

from paychannels.collector import Collector
from paychannels.demo.drivers import Plan
from paychannels.demo.sims import TerminalSim
from paychannels.values.errors import ConfigurationError
from paychannels.values.status import Status

__all__ = ["TAMPERING", "tamper"]

TAMPERING = ("journal", "terminal")


def tamper(kind: str, col: Collector, plans: dict[str, Plan]) -> str:
    """Spoil the day; what was done, for the summary's notes."""
    if kind == "journal":
        return _journal(col)
    if kind == "terminal":
        return _terminal(plans)
    raise ConfigurationError(f"--tamper must be one of {', '.join(TAMPERING)}, not {kind!r}")


def _journal(col: Collector) -> str:
    found = col.find(statuses=[Status.DECLINED], kind="payment", limit=1)
    if not found:
        raise ConfigurationError("--tamper journal: no declined payment to tamper with")
    declined = found[0]
    path = col.journal.url.removeprefix("sqlite:///").partition("?")[0]
    with sqlite3.connect(path) as db:  # behind the library's back, as a hand edit would be
        # a new occurrence too: the journal's paid-once index refuses a second paid payment
        # of an obligation even from a hand edit, and this payer paid again later
        db.execute(
            "UPDATE pc_payments SET status = 'SUCCEEDED', taken_minor = amount_minor, "
            "occurrence = 1 + (SELECT MAX(q.occurrence) FROM pc_payments q "
            "WHERE q.payer_id = pc_payments.payer_id AND q.reference = pc_payments.reference) "
            "WHERE id = ?",
            (declined.id,),
        )
    db.close()
    return f"tampered: {declined.id} on {declined.channel} marked SUCCEEDED in the journal's table"


def _terminal(plans: dict[str, Plan]) -> str:
    sim = next((p.running for p in plans.values() if isinstance(p.running, TerminalSim)), None)
    if sim is None:
        raise ConfigurationError("--tamper terminal: the day has no terminal")
    receipt = sim.sell_directly(20_000)
    return f"tampered: a sale of 200.00 keyed on the terminal itself (receipt {receipt})"
