"""The whole bank cycle through the command line, at scale: roster -> files -> simulated bank
-> result files -> journal, a resubmission round and late returns; the money reconciles to
the fen. 20,000 payers (4,000 when CI=true; PAYCHANNELS_FULL=1 forces the full size)."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from paychannels import Collector, Status
from paychannels.cli.main import main
from paychannels.simulators.bank import BankSimulator, Mix
from tests.bank.cycle import write_creditor, write_roster

SIZE = 20_000 if os.environ.get("PAYCHANNELS_FULL") or os.environ.get("CI") != "true" else 4_000


def cli(*argv: str) -> dict[str, object]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*argv, "--json"])
    assert code == 0, out.getvalue()
    result: dict[str, object] = json.loads(out.getvalue())
    return result


@pytest.mark.slow
def test_roster_to_journal_and_back(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    write_roster(roster, SIZE)
    creditor = str(write_creditor(tmp_path))
    db = f"sqlite:///{tmp_path}/journal.db"
    exchange = tmp_path / "exchange"
    build = f"batch build --format pain.008.001.08 --creditor {creditor} --db {db}".split()
    build += ["--roster", str(roster), "--out", str(exchange)]
    built = cli(*build, "--create", "--rows-per-file", "10000", "--validate")  # the first
    assert built["pending"] == SIZE and built["roster_entries"] == SIZE
    files = built["files"]
    assert isinstance(files, list) and len(files) == -(-SIZE // 10_000)
    owed = sum(f["sum_minor"] for f in files)
    assert cli(*build)["files"] == [], "building again sends nothing twice"

    now = [1_000_000.0]
    mix = Mix(
        {
            "insufficient_funds": 0.05,
            "closed": 0.01,
            "no_agreement": 0.01,
            "partial": 0.01,
            "late_return": 0.01,
            "unreported": 0.01,
        },
        seed="cycle",
    )
    sim = BankSimulator(
        exchange / "outbox",
        tmp_path / "answers",
        state=tmp_path / "bank",
        mix=mix,
        reply="camt.054",
        return_delay=100,
        clock=lambda: now[0],
    )

    def answer() -> list[dict[str, object]]:
        summaries = []
        for path in sim.process_once():
            summaries.append(cli("batch", "ingest", str(path), "--db", db))
            assert cli("batch", "ingest", str(path), "--db", db) == {
                "file": path.name,
                "duplicate": True,
            }
        return summaries

    first = answer()
    assert all(s["error"] is None for s in first)
    with Collector.open(db, create=True) as col:
        counts = col.journal.count_by_status(channel="bank")
        retryable = len(
            [
                r
                for r in col.find(statuses=[Status.DECLINED], limit=SIZE)
                if (r.reason_detail or "").startswith("AM04")
            ]
        )
    assert counts[Status.PENDING] == pytest.approx(SIZE * 0.01, rel=0.35)
    assert retryable == pytest.approx(SIZE * 0.05, rel=0.2)

    resubmitted = cli("batch", "resubmit", "--db", db)
    assert resubmitted["resubmitted"] == retryable
    assert resubmitted["final"] == counts[Status.DECLINED] - retryable
    answer()
    now[0] += 200
    returns = answer()
    assert sum(s["moved"].get("REVERSED", 0) for s in returns) > 0  # type: ignore[union-attr]

    with Collector.open(db, create=True) as col:
        records = [r for r in col.journal.iter_all(channel="bank")]  # type: ignore[attr-defined]
    by_payer = Counter(r.payer_id for r in records if r.status is Status.SUCCEEDED)
    assert max(by_payer.values()) == 1, "nobody paid twice"
    assert len({r.payer_id for r in records}) == SIZE, "every payer is accounted for"
    taken = sum(
        r.amount_taken.minor for r in records if r.status is Status.SUCCEEDED and r.amount_taken
    )
    assert taken == sim.taken_minor(), "the journal and the bank agree to the fen"
    reversed_ = [r for r in records if r.status is Status.REVERSED]
    assert (
        len(reversed_)
        == sim.db.execute("SELECT COUNT(*) FROM debits WHERE returned IS NOT NULL").fetchone()[0]
    )
    partial = [
        r
        for r in records
        if r.status is Status.SUCCEEDED and r.amount_taken and r.amount_taken < r.amount
    ]
    assert partial, "partial debits are kept as taken"
    assert taken < owed
    sim.close()
