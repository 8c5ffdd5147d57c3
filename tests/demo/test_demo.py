"""``paychannels demo`` end to end, through the real command in its own process.

One small day (``PAYERS``) is run once for the module with ``--json --keep --out``; its
summary and the files it leaves are asserted. Two more days are spoiled on purpose
(``--tamper``) and must not balance: the verdict is computed, not assumed. One of them runs
with stderr on a pseudo-terminal, where the progress bars must show.
"""

from __future__ import annotations

import csv
import json
import os
import pty
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from paychannels.demo.channels import CHANNELS
from tests.reconcile.test_html_templates import TECHNICAL

# real demo processes (a 300-payer day, ~30 s); under pytest -n one worker runs the module so
# the day is run once
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo")]

PAYERS = 300


#: the settlement kind each style of channel must have been checked with
@dataclass
class Ran:
    """One finished demo: exit status, summary (JSON on stdout), stderr, workspace."""

    code: int
    summary: dict[str, Any]
    stderr: str
    folder: Path


def _demo(folder: Path, *extra: str, payers: int = PAYERS, stderr: int | None = None) -> Ran:
    proc = subprocess.run(
        [sys.executable, "-m", "paychannels.cli.main", "demo", "--payers", str(payers),
         "--json", "--out", str(folder), *extra],
        stdout=subprocess.PIPE,
        stderr=stderr if stderr is not None else subprocess.PIPE,
        text=True,
        timeout=240,
        check=False,
    )  # fmt: skip
    assert proc.stdout.lstrip().startswith("{"), proc.stderr
    return Ran(proc.returncode, json.loads(proc.stdout), proc.stderr or "", folder)


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    return _demo(tmp_path_factory.mktemp("demo") / "day", "--keep")


def test_the_day_balances_and_exits_zero(day: Ran) -> None:
    s = day.summary
    assert day.code == 0, s
    assert s["balanced"] is True and s["reconciliation_balanced"] is True
    assert (s["lost"], s["doubled"], s["unconfirmed"]) == (0, 0, 0), s["truth_examples"]
    assert (s["lost_minor"], s["unconfirmed_minor"], s["paid_twice"], s["in_doubt"]) == (0,) * 4
    assert s["simulator_problems"] == []
    assert s["payers"] == PAYERS and sum(s["categories"].values()) == PAYERS
    assert set(s["categories"]) <= {"paid", "unpaid"}  # nothing left half done
    assert 0 < s["received_minor"] <= s["owed_minor"]
    # progress bars are for people: none on a pipe
    assert "\r" not in day.stderr and "collecting" not in day.stderr


def test_every_channel_took_part_and_settled(day: Ran) -> None:
    channels = day.summary["channels"]
    assert set(channels) == {c.name for c in CHANNELS}
    assert any("MIS-POS" in c.kind for c in CHANNELS)  # its batch settles like the others
    for spec in CHANNELS:
        check = channels[spec.name]
        assert (check["kind"], check["status"]) == (spec.statement, "match"), spec.name
        assert check["statements"] >= 1
    # the money is traced to who took it: each hall clerk, village assistants, the rest
    operators = day.summary["operators"]
    assert {c.clerk for c in CHANNELS if c.clerk} <= set(operators)
    assert any(o.startswith("协理员-") for o in operators)
    assert sum(operators.values()) == day.summary["received_minor"]


def test_every_injected_fault_was_injected_and_resolved(day: Ran) -> None:
    s = day.summary
    faults = s["faults"]
    injected = {(f["channel"], f["fault"]) for f in faults}
    for spec in CHANNELS:
        for fault in spec.faults:
            assert (spec.name, fault) in injected, (spec.name, fault)
    assert s["faults_injected"] == len(faults)
    assert s["faults_open"] == 0
    assert s["faults_resolved"] + s["faults_for_attention"] == len(faults)
    for f in faults:
        assert f["resolved"] or f["attention"], f
        assert not f["problem"], f
    by_name = {f["fault"]: f["outcome"] for f in faults}
    assert "refused (HTTP 401)" in by_name["forged callback"]
    assert "set aside" in by_name["duplicate result file"]
    assert by_name["duplicate submission"].startswith("same payment returned")
    # the journal now refuses the second payment (it used to take it, then refund it)
    assert "already paid by pay_" in by_name["paid twice (in the app, then at the hall)"]


def test_the_backend_was_killed_mid_payment_and_recovered(day: Ran) -> None:
    crash = day.summary["crash"]
    assert crash is not None and crash["killed"] is True and crash["exit"] == -9
    assert crash["recovered"] == {"SUCCEEDED": 1}
    [fault] = [f for f in day.summary["faults"] if f["fault"].startswith("backend killed")]
    assert fault["payment"] == crash["payment"] and fault["resolved"]
    assert fault["outcome"].startswith("SUCCEEDED")


def test_keep_leaves_journal_reports_and_notices(day: Ran) -> None:
    folder = day.folder
    assert day.summary["workspace"] == str(folder)
    for name in ("journal.db", "roster.csv", "demo.log", "demo-summary.json"):
        assert (folder / name).is_file(), name
    reports = folder / "reconciliation"
    for name in ("report.html", "details.csv", "attention.csv", "summary.json"):
        assert (reports / name).stat().st_size > 0, name
    assert json.loads((folder / "demo-summary.json").read_text("utf-8")) == day.summary
    details = list(csv.DictReader((reports / "details.csv").open(encoding="utf-8-sig")))
    assert len(details) == PAYERS
    notices = sorted((folder / "notices").iterdir())
    assert notices and {p.suffix for p in notices} == {".html", ".csv"}
    assert sorted(day.summary["files"]["notices"]) == [str(p) for p in notices]
    roster = list(csv.DictReader((folder / "roster.csv").open(encoding="utf-8-sig")))
    ids = [r["证件号码"] for r in roster]
    accounts = [r["银行账号"] for r in roster if r["银行账号"]]
    for path in [*notices, reports / "details.csv", reports / "report.html"]:
        text = path.read_text("utf-8-sig")
        assert not any(i in text for i in ids), path.name
        assert not any(a in text for a in accounts), path.name


def test_the_days_report_and_notices_hold_no_technical_string(day: Ran) -> None:
    # every channel of the day (terminals, providers, the cloud POS, the bank): no URL of a
    # channel or of the journal, no Python repr, in anything a clerk reads
    pages = [day.folder / "reconciliation" / "report.html"]
    pages += sorted((day.folder / "notices").glob("*.html"))
    for page in pages:
        text = page.read_text("utf-8")
        for bad in TECHNICAL:
            assert bad not in text, (page.name, bad, text[max(0, text.find(bad) - 80) :][:200])


def test_a_journal_edited_by_hand_does_not_balance(tmp_path: Path) -> None:
    ran = _demo(tmp_path / "day", "--tamper", "journal", payers=150)
    s = ran.summary
    assert ran.code == 1 and s["balanced"] is False and s["reconciliation_balanced"] is False
    assert s["unconfirmed"] == 1 and s["lost"] == 0
    assert s["unconfirmed_minor"] > 0
    assert "mismatch" in {c["status"] for c in s["channels"].values()}
    assert any(n.startswith("tampered:") for n in s["notes"])


def test_a_sale_behind_the_backends_back_does_not_balance_and_bars_show_on_a_tty(
    tmp_path: Path,
) -> None:
    master, slave = pty.openpty()
    seen: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                return
            if not chunk:
                return
            seen.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        ran = _demo(tmp_path / "day", "--tamper", "terminal", payers=150, stderr=slave)
    finally:
        os.close(slave)
        reader.join(timeout=5)
        os.close(master)
    s = ran.summary
    assert ran.code == 1 and s["balanced"] is False
    assert s["lost"] == 1 and s["lost_minor"] == 20000
    assert s["channels"]["hall-1"]["status"] == "mismatch"
    bars = b"".join(seen).decode("utf-8", "replace")
    assert "collecting " in bars and "━" in bars  # rich's bar, with a count of the payments
    assert re.search(r"collecting .*\d+/\d+", bars)
    assert "\r" in bars and "reconciling" in bars


def test_the_money_arrived_in_full_and_on_time_but_the_planted_two(day: Ran) -> None:
    # the simulated bank credits every channel's settlement to the collection account, one
    # terminal's a working day late and the bank's own batch short by a fee: both are named
    arrivals = day.summary["arrivals"]
    assert arrivals["in_full_and_on_time"] is False
    assert arrivals["as_planted"] is True, arrivals
    [late] = arrivals["late"]
    assert late in {c.name for c in CHANNELS if c.statement == "terminal"}
    assert arrivals["short"] == ["bank"] and arrivals["missing"] == []
    assert f"late: {late}; short: bank" in arrivals["verdict"]
    assert all((day.folder / "statements" / name).is_file() for name in arrivals["statements"])


def test_the_day_s_feeds_carry_each_payment_once_and_add_up_to_what_was_received(
    day: Ran,
) -> None:
    feeds = day.summary["feeds"]
    assert {f["insurance"] for f in feeds.values()} == {
        "城乡居民基本养老保险",
        "城乡居民基本医疗保险",
    }
    paid: list[str] = []
    for feed in feeds.values():
        rows = list(csv.DictReader(Path(feed["path"]).read_text("utf-8").splitlines()))
        lines = [r for r in rows if r["kind"] in ("paid", "reversal", "refund")]
        assert [r["kind"] for r in rows[len(lines) :]] == ["total", "sha256"]
        assert len(lines) == feed["lines"] and rows[-1]["record"] == feed["sha256"]
        paid += [r["payment"] for r in lines if r["kind"] == "paid"]
    assert len(paid) == len(set(paid)) > 0
    assert sum(f["total_minor"] for f in feeds.values()) == day.summary["received_minor"]


#: each planted scan case: what the assistant saw first, what the payer's wallet shows, and
#: the payment's final state in the journal
SCAN_CASES = {
    "slow password": ("first answer SUCCEEDED", "charged 1x, kept", "SUCCEEDED ("),
    "walked away": ("first answer DECLINED PIN_TIMEOUT", "charged 0x", "DECLINED ->"),
    "code scanned twice": ("first answer DECLINED CODE_USED", "charged 0x", "DECLINED ->"),
    "lost answer": ("first answer UNKNOWN", "charged 1x, kept", "SUCCEEDED ("),
}


def test_assistants_scanned_codes_each_planted_case_as_expected(day: Ran) -> None:
    from paychannels import Collector, Status

    scans = [c for c in CHANNELS if c.style == "scan"]
    assert scans
    faults = {(f["channel"], f["fault"]): f for f in day.summary["faults"]}
    for spec in scans:
        for case, (first, wallet, final) in SCAN_CASES.items():
            outcome = faults[spec.name, case]["outcome"]
            assert outcome.startswith(first) and wallet in outcome and final in outcome, outcome
        # the payer whose used code was read again showed a new one and paid
        assert faults[spec.name, "code scanned twice"]["outcome"].endswith("-> payer paid")
    # per assistant: what they took by scanning, as the journal holds it
    scanned = day.summary["scanned"]
    assert scanned["channels"] == [c.name for c in scans]
    assert all(op.startswith("协理员-") for op in scanned["by_operator"])
    assert scanned["total_minor"] == sum(scanned["by_operator"].values()) > 0
    col = Collector.open(f"sqlite:///{day.folder}/journal.db")
    try:
        held: dict[str, int] = {}
        for name in scanned["channels"]:
            for p in col.find(statuses=[Status.SUCCEEDED], channel=name, limit=10_000):
                assert p.operator is not None and p.amount_taken is not None
                held[p.operator] = held.get(p.operator, 0) + p.amount_taken.minor
    finally:
        col.close()
    assert held == scanned["by_operator"]
