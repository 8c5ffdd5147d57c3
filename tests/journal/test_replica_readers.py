"""Which readers could run on a PostgreSQL read replica (docs/scale.md, "Read replicas").

A hot standby refuses every write; a session with ``default_transaction_read_only=on`` does
the same on the primary, so what works here works on a replica (at the replica's lag). The
readers named in docs/scale.md run on such a session and give what they give on the
primary; a write on it is refused, which shows the session really is read-only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from paychannels import Collector, MemoryChannel, Money, PaymentRequest, Status
from paychannels.journal import open_journal
from paychannels.reconcile import reconcile
from paychannels.values.errors import JournalError
from tests.conftest import pg_schema
from tests.reconcile.day import T0, Day

READ_ONLY = quote(" -cdefault_transaction_read_only=on")


@pytest.fixture
def day(tmp_path: Path) -> Iterator[tuple[Day, str]]:
    """A small day on PostgreSQL, and a read-only URL of the same journal."""
    with pg_schema() as url:
        d = Day.open(tmp_path, url)
        for n in range(1, 9):
            d.owe(n, "300.00")
        for n in range(1, 6):
            d.pay(n, "300.00", status=Status.SUCCEEDED if n != 3 else Status.DECLINED)
        d.pay(6, "300.00", status=Status.NEEDS_ATTENTION, attention="two receipts")
        yield d, url + READ_ONLY  # the options= value is the URL's last part
        d.journal.close()


def test_reconcile_and_journal_reads_run_read_only(day: tuple[Day, str]) -> None:
    d, ro = day
    primary = reconcile(d.journal, d.roster)
    replica = reconcile(ro, d.roster)
    assert replica.totals == primary.totals and replica.journal_rows == primary.journal_rows
    j = open_journal(ro)
    try:
        j.check_schema()
        assert [e.seq for e in j.events(after=0)] == [e.seq for e in d.journal.events(after=0)]
        assert j.count_by_status() == d.journal.count_by_status()
        assert sum(len(p) for p in j.scan_ledger()) == 6
        assert j.backlog(now=T0 + timedelta(days=2)) == d.journal.backlog(
            now=T0 + timedelta(days=2)
        )
        assert len(list(j.audit())) == len(list(d.journal.audit()))
    finally:
        j.close()


def test_a_write_on_the_read_only_session_is_refused(day: tuple[Day, str]) -> None:
    _, ro = day
    with Collector.open(ro) as col:
        col.add_channel("hall-1", MemoryChannel())
        request = PaymentRequest(
            payer_id="P-9", amount=Money("1.00", "CNY"), reference="r", idempotency_key="k-9"
        )
        with pytest.raises(JournalError, match="read-only transaction"):
            col.collect(request, channel="hall-1")
