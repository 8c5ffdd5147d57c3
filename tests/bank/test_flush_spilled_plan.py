"""A flush whose plan spills to its scratch file (limit 1: every pair written out) writes
the same request files, byte for byte, as one whose plan stays in memory: withdrawn debits,
several files, amounts from one fen to 10**17 - 1 (past a float's 2**53; nine such keep a
file's total under the writers' 10**18)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from paychannels import Collector, Status
from paychannels.bankfiles.split import Limits
from paychannels.bankfiles.validate import validate_xsd
from paychannels.channels.bank import BankBatchChannel, scratchpairs
from paychannels.channels.bank.formats import open_format
from tests.bank.conftest import CREDITOR, bank_request, clock

DEBITS = 60
AMOUNTS = ["0.01", "999999999999999.99", "380.00", "999999999999999.98", "0.02"]


def _channel(root: Path) -> BankBatchChannel:
    return BankBatchChannel(
        root / "x",
        format=open_format("pain.008.001.08"),
        creditor=CREDITOR,
        limits=Limits(rows_per_file=9, rows_per_batch=4),
    )


def _spool(root: Path) -> int:
    """Spool DEBITS debits and withdraw every 7th; how many are left to send."""
    root.mkdir()
    with Collector.open(f"sqlite:///{root}/j.db", clock=clock(), create=True) as col:
        col.add_channel("bank", _channel(root))
        requests = [bank_request(i, AMOUNTS[i % len(AMOUNTS)]) for i in range(DEBITS)]
        started = col.collect_many(requests, channel="bank")
        for payment in started[::7]:
            assert col.cancel(payment.id).status is Status.EXPIRED
        return DEBITS - len(started[::7])


def _flush(root: Path, left: int) -> dict[str, bytes]:
    """Flush the spool into files of 9 debits, each valid against ISO's published
    pain.008.001.08 schema; each file's bytes by name."""
    ch = _channel(root)
    with Collector.open(f"sqlite:///{root}/j.db", clock=clock()) as col:
        col.add_channel("bank", ch)
        files = ch.flush(col.channel_context("bank"))
    assert sum(f.count for f in files) == left
    for f in files:
        assert validate_xsd(Path(f.path), "pain.008.001.08") == "pain.008.001.08"
    return {Path(f.path).name: Path(f.path).read_bytes() for f in files}


def test_a_spilled_plan_writes_the_same_files_as_one_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    left = _spool(tmp_path / "held")
    shutil.copytree(tmp_path / "held", tmp_path / "spilled")
    spills: list[bool] = []  # whether each plan's pairs went to its scratch file
    close = scratchpairs.ScratchPairs.close

    def closing(pairs: scratchpairs.ScratchPairs) -> None:
        spills.append(pairs.spilled)
        close(pairs)

    monkeypatch.setattr(scratchpairs.ScratchPairs, "close", closing)
    held = _flush(tmp_path / "held", left)
    monkeypatch.setattr(scratchpairs, "LIMIT", 1)
    spilled = _flush(tmp_path / "spilled", left)
    assert spills == [False, True]
    assert len(held) >= 5
    assert spilled == held
