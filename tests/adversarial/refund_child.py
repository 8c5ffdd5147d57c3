"""The backend process the refund kill trials kill: payments through ``memory://``, refunds of
each (one in part, one for the rest), then recovery; run again after a kill, it retries every
request with the same keys and recovers, as a restarted backend would.

Run as ``python refund_child.py DB_URL LEDGER_PATH PHASE COUNT``. Fault injection is a
``Ledger`` like any other (``KillingLedger``): with ``PAYCHANNELS_TEST_KILL_AFTER_WRITE=N`` the
process SIGKILLs itself right after the device's N-th write; with
``PAYCHANNELS_TEST_COUNT_WRITES=file`` it appends a line per write, so a test learns how many
writes a run makes before killing after each in turn.
"""

from __future__ import annotations

import os
import signal
import sys

from paychannels import Collector, IllegalTransition, Money, PaymentRequest, Status
from paychannels.channels.ledger import FileLedger, Ledger, LedgerEntry
from paychannels.channels.memory import MemoryChannel


class KillingLedger:
    """A device ledger that dies (SIGKILL) right after its N-th write, like a power cut."""

    def __init__(self, inner: Ledger, kill_after: int, count_to: str | None) -> None:
        self.inner = inner
        self.kill_after = kill_after
        self.count_to = count_to
        self.writes = 0

    def _wrote(self) -> None:
        self.writes += 1
        if self.count_to:
            with open(self.count_to, "a", encoding="utf-8") as fh:
                fh.write(f"{self.writes}\n")
        if self.writes == self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    def get(self, key: str) -> LedgerEntry | None:
        return self.inner.get(key)

    def record(self, entry: LedgerEntry) -> LedgerEntry:
        stored = self.inner.record(entry)
        self._wrote()
        return stored

    def refund(self, payment_key: str, entry: LedgerEntry) -> LedgerEntry | None:
        stored = self.inner.refund(payment_key, entry)
        self._wrote()
        return stored

    def entries(self) -> list[LedgerEntry]:
        return self.inner.entries()


def plan(count: int) -> list[tuple[PaymentRequest, list[tuple[str, int]]]]:
    """Each payment and its refunds (key, minor units): part, then (every other one) the rest."""
    out = []
    for i in range(count):
        minor = 10_000 + 100 * i
        request = PaymentRequest(
            payer_id=f"15042219900101{i:04d}",
            amount=Money.of_minor(minor, "CNY"),
            reference="2026-养老",
            idempotency_key=f"pay-{i}",
        )
        refunds = [(f"rf-{i}-a", minor // 4)]
        if i % 2 == 0:
            refunds.append((f"rf-{i}-b", minor - minor // 4))
        out.append((request, refunds))
    return out


def run_once(col: Collector, count: int) -> None:
    for request, refunds in plan(count):
        payment = col.collect(request, channel="hall")
        for key, minor in refunds:
            current = col.journal.get(payment.id)
            if current.status is not Status.SUCCEEDED:
                break  # in doubt after a kill: recovery first, the next round refunds
            try:
                col.refund(payment.id, Money.of_minor(minor, "CNY"), idempotency_key=key)
            except IllegalTransition:
                break


def main(db_url: str, ledger_path: str, phase: str, count: str) -> None:
    ledger: Ledger = FileLedger(ledger_path)
    kill_after = int(os.environ.get("PAYCHANNELS_TEST_KILL_AFTER_WRITE", "0"))
    count_to = os.environ.get("PAYCHANNELS_TEST_COUNT_WRITES")
    if kill_after or count_to:
        ledger = KillingLedger(ledger, kill_after, count_to)
    with Collector.open(db_url, create=True) as col:
        col.add_channel("hall", MemoryChannel(ledger))
        print("ready", flush=True)  # the random-kill trials time their kill from here
        for _ in range(2 if phase == "restart" else 1):
            run_once(col, int(count))
            col.recover()


if __name__ == "__main__":
    main(*sys.argv[1:5])
