"""A flush's plan keeps two numbers a debit (line offset, amount): in memory for a county's
spool that must be 16 bytes a debit (machine integers), not ~70 (a Python int object and a
list slot each, twice); past its limit no more pairs than the limit stay in memory (a
province's 3,000,000 would hold 48 MB). Measured with tracemalloc; not timed."""

from __future__ import annotations

import tracemalloc
from datetime import date
from itertools import islice
from pathlib import Path

import pytest

from paychannels.bankfiles.errors import BankFileError
from paychannels.bankfiles.model import Debit
from paychannels.channels.bank.spool import Spool, SpoolGroup, to_line
from paychannels.channels.bank.spoolplan import read_plan

N = 40_000
GROUP = SpoolGroup(date(2026, 3, 3), "RCUR")


def _spool(folder: Path) -> tuple[Path, int]:
    """A spool of N debits, the 8th withdrawn; its path and the 8th line's offset."""

    def debit(i: int) -> Debit:
        return Debit(
            end_to_end_id=f"E2E{i:012d}",
            amount_minor=1_000_000 + i * 7919 % 10_000_000,  # none a cached small int
            currency="CNY",
            name=f"Wang Wu {i}",
            account=f"6217{i:015d}",
            bank="105191000011",
            mandate_id=f"DK{i:010d}",
            mandate_date=None,
            collection_date=GROUP.collection_date,
        )

    lines = [to_line(debit(i)) for i in range(N)]
    lines.append(b'{"x":"E2E000000000007"}\n')  # one withdrawn
    Spool(folder).append(GROUP, lines)
    return folder / GROUP.name, sum(map(len, lines[:7]))


def test_the_plan_keeps_16_bytes_a_debit(tmp_path: Path) -> None:
    path, seventh = _spool(tmp_path)
    tracemalloc.start()
    try:
        plan = read_plan(path)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(plan) == N - 1 and not plan.pairs.spilled
    assert plan.skipped == [(seventh, "E2E000000000007")]
    assert list(islice(plan.amounts(), 2)) == [1_000_000, 1_007_919]
    # 16 B a debit plus the arrays' growth slack and one Debit; a list of ints keeps ~72 B
    assert kept < 24 * N, f"the plan keeps {kept / N:.0f} B a debit"
    assert peak < kept + 1_000_000, "reading the spool holds more than one line at a time"


def test_past_its_limit_the_plan_holds_no_more_than_the_limit(tmp_path: Path) -> None:
    path, _seventh = _spool(tmp_path)
    held = read_plan(path)
    tracemalloc.start()
    try:
        plan = read_plan(path, limit=1000)
        kept, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert plan.pairs.spilled and plan.pairs.most_held <= 1000
    assert kept < 100_000, f"the spilled plan keeps {kept} B for {N} debits"
    assert list(plan.amounts()) == list(held.amounts())
    assert [plan.offset(i) for i in (0, 6, 7, 999, 1000, N - 2, N - 1)] == [
        held.offset(i) for i in (0, 6, 7, 999, 1000, N - 2, N - 1)
    ]
    assert plan.offset(N - 1) is None
    plan.close()
    held.close()


def test_an_amount_no_machine_integer_holds_is_refused_naming_the_line(tmp_path: Path) -> None:
    line = to_line(
        Debit("E1", 2**63, "CNY", "Wang", "6217001", None, "DK1", None, GROUP.collection_date)
    )
    Spool(tmp_path).append(GROUP, [line])
    with pytest.raises(BankFileError, match="out of range") as info:
        read_plan(tmp_path / GROUP.name)
    assert "byte 0" in str(info.value)


@pytest.mark.parametrize(
    "tail", [b'{"e":"E2E9","a":\n', b"\xff\xfe garbage\n", b'{"x":\n', b"[1]\n"]
)
def test_a_garbled_spool_line_is_a_bank_file_error_naming_file_and_byte(
    tmp_path: Path, tail: bytes
) -> None:
    path, _seventh = _spool(tmp_path)
    size = path.stat().st_size
    with open(path, "ab") as fh:
        fh.write(tail)
    with pytest.raises(BankFileError) as info:
        read_plan(path)
    assert info.value.file == path.name
    assert info.value.where == f"byte {size}"
