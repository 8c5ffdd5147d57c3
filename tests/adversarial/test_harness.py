"""The kill harness's comparison catches what it claims to: doubled, lost and phantom money.

After an honest run, the memory device's ledger is tampered with as a faulty library would
have left it; ``compare`` must report each case.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from paychannels.journal import open_journal
from tests.adversarial.harness import Tally, Trials, compare, make_plan
from tests.adversarial.rigs import MemoryRig


@pytest.fixture
def honest(tmp_path: Path) -> tuple[MemoryRig, str, list[dict[str, object]]]:
    """A memory rig and journal after an unkilled run: 3 payments approved, the first refunded."""
    rig = MemoryRig(tmp_path / "rig")
    rig.root.mkdir()
    plan = make_plan(random.Random(1), 3, refunds=0.0)
    for item in plan:
        item["amount"] = 10_000 + int(str(item["amount"])) % 1000  # all approved
    plan[0]["refund"] = True
    db = f"sqlite:///{tmp_path}/j.db"
    open_journal(db, create=True).close()
    spec = {"db": db, "channel": rig.start(), "plan": plan, "currency": "CNY"}
    spec |= {"batch": False, "settle": 5.0}
    assert (
        Trials("honest", "memory", tmp_path).run(rig, spec, kill_after=None, kill_on_write=0) == 0
    )
    return rig, db, plan


def _tamper(rig: MemoryRig, sql: str) -> None:
    with sqlite3.connect(rig.path) as conn:
        conn.execute(sql)


@pytest.mark.slow
def test_an_honest_run_compares_clean(
    honest: tuple[MemoryRig, str, list[dict[str, object]]],
) -> None:
    rig, db, plan = honest
    out = Tally()
    compare(rig, db, plan, out)
    assert (out.payments, out.refunds, out.moved) == (3, 1, 4)
    assert out.problems == []


@pytest.mark.parametrize(
    ("sql", "field"),
    [
        ("UPDATE ledger SET charges = 2 WHERE seq = 1", "doubled"),
        (
            "UPDATE ledger SET refunded_minor = 2 * refunded_minor WHERE refunded_minor > 0",
            "doubled",
        ),
        ("DELETE FROM ledger WHERE seq = (SELECT MAX(seq) FROM ledger)", "phantom"),
        (
            "INSERT INTO ledger (key, status, amount_minor, currency, ref, code, charges, "
            "refunded_minor) VALUES ('pay_nobody', 'SUCCEEDED', 100, 'CNY', 'x', '00', 1, 0)",
            "lost",
        ),
    ],
)
@pytest.mark.slow
def test_a_tampered_device_is_caught(
    honest: tuple[MemoryRig, str, list[dict[str, object]]], sql: str, field: str
) -> None:
    rig, db, plan = honest
    _tamper(rig, sql)
    out = Tally()
    compare(rig, db, plan, out)
    assert getattr(out, field) >= 1, out
    assert out.problems
