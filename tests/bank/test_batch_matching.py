"""A result file settles only debits of the request file it answers (item 8 of issue 11).

Rows are matched on (original message id, end-to-end id); the counts and sums a result file
states about the request file (pain.002 ``OrgnlNbOfTxs``/``OrgnlCtrlSum``, per batch too) are
checked against what we sent. A file that answers a batch it does not belong to, or whose
figures disagree, is quarantined with the reason and nothing of it is applied; the files
after it in the inbox go on. The result files are hand-written fixtures in the shape of the
EPC / ISO 20022 message examples (``fixtures/bank/``), valid against the official XSDs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from paychannels import Collector, Status
from paychannels.bankfiles.checks import format_minor
from paychannels.bankfiles.split import Limits
from paychannels.channels.bank import BankBatchChannel
from paychannels.channels.bank.formats import open_format
from tests.bank.conftest import CREDITOR, Sent, bank_request, clock, sent_file
from tests.bank.xsd import assert_valid

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bank"


@dataclass
class Setup:
    col: Collector
    ch: BankBatchChannel
    files: list[Sent]

    def drop(self, name: str, template: str, **values: str) -> Path:
        """A result file from a fixture template, into the inbox (checked against the XSD)."""
        text = (FIXTURES / template).read_text("utf-8")
        for key, value in values.items():
            text = text.replace("{" + key + "}", value)
        path = self.ch.exchange.inbox / name
        path.write_text(text, "utf-8")
        if template.endswith(".xml"):
            kind = "pain.002.001.03" if "pain.002" in text else "camt.054.001.08"
            assert_valid(path, kind)
        return path

    def statuses(self) -> dict[Status, int]:
        return self.col.journal.count_by_status()

    def reason(self, name: str) -> str:
        return (self.ch.exchange.quarantine / f"{name}.reason.txt").read_text("utf-8")


@pytest.fixture
def setup(journal_url: str, tmp_path: Path) -> Iterator[Setup]:
    ch = BankBatchChannel(
        tmp_path / "x",
        format=open_format("pain.008.001.08"),
        creditor=CREDITOR,
        limits=Limits(rows_per_file=2),
    )
    with Collector.open(journal_url, clock=clock(), create=True) as col:
        col.add_channel("bank", ch)
        col.collect_many(
            [bank_request(i, amount=f"{380 + i}.00") for i in range(4)], channel="bank"
        )
        col.poll("bank")
        files = [sent_file(p) for p in sorted(ch.exchange.outbox.iterdir())]
        assert [len(f.e2e) for f in files] == [2, 2]
        yield Setup(col, ch, files)


def _pain002(s: Setup, sent: Sent, e2e: list[str], minor: list[int], **over: str) -> dict[str, str]:
    values = {
        "ORIG_MSG": sent.msg_id,
        "BATCH": sent.batch,
        "E2E_1": e2e[0],
        "E2E_2": e2e[1],
        "AMT_1": format_minor(minor[0], 2),
        "AMT_2": format_minor(minor[1], 2),
        "COUNT": str(len(sent.e2e)),
        "SUM": format_minor(sum(sent.minor), 2),
    }
    return {**values, **over}


@pytest.mark.slow
def test_the_epc_style_report_for_its_own_file_is_applied(setup: Setup) -> None:
    a = setup.files[0]
    setup.drop("STS_A.xml", "epc_status_report_v03.xml", **_pain002(setup, a, a.e2e, a.minor))
    [report] = setup.col.poll("bank").reports
    assert report.error is None, report.error
    assert setup.statuses() == {Status.DECLINED: 1, Status.SUCCEEDED: 1, Status.PENDING: 2}


@pytest.mark.slow
def test_a_report_naming_file_a_with_debits_of_file_b_is_quarantined(setup: Setup) -> None:
    a, b = setup.files
    setup.drop("STS_MIXED.xml", "epc_status_report_v03.xml", **_pain002(setup, a, b.e2e, b.minor))
    [report] = setup.col.poll("bank").reports
    assert report.error and b.e2e[0] in report.error and a.msg_id in report.error
    assert "STS_MIXED.xml" in setup.reason("STS_MIXED.xml")
    assert setup.statuses() == {Status.PENDING: 4}, "nothing of it applied"


@pytest.mark.slow
def test_a_report_whose_batch_is_of_another_file_is_quarantined(setup: Setup) -> None:
    a, b = setup.files
    values = _pain002(setup, a, a.e2e, a.minor, BATCH=b.batch)
    setup.drop("STS_BATCH.xml", "epc_status_report_v03.xml", **values)
    [report] = setup.col.poll("bank").reports
    assert report.error and b.batch in report.error
    assert setup.statuses() == {Status.PENDING: 4}


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [("COUNT", "3", "3 debits"), ("SUM", "999.00", "999.00")],
)
@pytest.mark.slow
def test_a_report_whose_counts_or_sums_disagree_is_quarantined(
    setup: Setup, field: str, value: str, says: str
) -> None:
    a = setup.files[0]
    values = _pain002(setup, a, a.e2e, a.minor, **{field: value})
    setup.drop("STS_COUNT.xml", "epc_status_report_v03.xml", **values)
    [report] = setup.col.poll("bank").reports
    assert report.error and says in report.error and a.msg_id in report.error
    assert setup.statuses() == {Status.PENDING: 4}


@pytest.mark.slow
def test_a_notification_naming_file_a_with_debits_of_file_b_is_quarantined(setup: Setup) -> None:
    a, b = setup.files
    values = {
        "ORIG_MSG": a.msg_id,
        "BATCH": a.batch,
        "E2E_1": a.e2e[0],
        "E2E_2": b.e2e[1],
        "AMT_1": format_minor(a.minor[0], 2),
        "AMT_2": format_minor(b.minor[1], 2),
        "TOTAL": format_minor(a.minor[0] + b.minor[1], 2),
    }
    setup.drop("NTF_MIXED.xml", "iso_debit_credit_notification_v08.xml", **values)
    [report] = setup.col.poll("bank").reports
    assert report.error and b.e2e[1] in report.error
    assert setup.statuses() == {Status.PENDING: 4}


@pytest.mark.slow
def test_the_iso_style_notification_for_its_own_batch_is_applied(setup: Setup) -> None:
    b = setup.files[1]
    values = {
        "ORIG_MSG": b.msg_id,
        "BATCH": b.batch,
        "E2E_1": b.e2e[0],
        "E2E_2": b.e2e[1],
        "AMT_1": format_minor(b.minor[0], 2),
        "AMT_2": format_minor(b.minor[1], 2),
        "TOTAL": format_minor(sum(b.minor), 2),
    }
    setup.drop("NTF_B.xml", "iso_debit_credit_notification_v08.xml", **values)
    [report] = setup.col.poll("bank").reports
    assert report.error is None, report.error
    assert setup.statuses() == {Status.SUCCEEDED: 2, Status.PENDING: 2}


@pytest.mark.slow
def test_a_refused_file_does_not_hold_up_the_files_after_it(setup: Setup) -> None:
    a, b = setup.files
    setup.drop("A_BAD.xml", "epc_status_report_v03.xml", **_pain002(setup, a, b.e2e, b.minor))
    (setup.ch.exchange.inbox / "B_BROKEN.xml").write_text(
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><TxDtls/></Document>'
    )
    setup.drop("C_GOOD.xml", "epc_status_report_v03.xml", **_pain002(setup, a, a.e2e, a.minor))
    reports = setup.col.poll("bank").reports
    assert [r.error is None for r in reports] == [False, False, True]
    assert setup.statuses() == {Status.DECLINED: 1, Status.SUCCEEDED: 1, Status.PENDING: 2}
    assert sorted(p.name for p in setup.ch.exchange.quarantine.glob("*.xml")) == [
        "A_BAD.xml",
        "B_BROKEN.xml",
    ]
    assert list(setup.ch.exchange.inbox.iterdir()) == []


def test_a_text_result_named_for_file_a_with_rows_of_file_b_is_quarantined(
    tmp_path: Path,
) -> None:
    from paychannels.simulators.bank import BankSimulator, Mix

    ch = BankBatchChannel(
        tmp_path / "x",
        format=open_format("ccb-pipe"),
        creditor=CREDITOR,
        limits=Limits(rows_per_file=2),
    )
    with Collector.open(f"sqlite:///{tmp_path}/j.db", clock=clock(), create=True) as col:
        col.add_channel("bank", ch)
        col.collect_many([bank_request(i) for i in range(4)], channel="bank")
        col.poll("bank")
        sent = sorted(p.name for p in ch.exchange.outbox.iterdir())
        msg_a, msg_b = (name.removeprefix("DK").removesuffix(".txt") for name in sent)
        sim = BankSimulator(
            ch.exchange.outbox, ch.exchange.inbox, state=tmp_path / "sim", mix=Mix()
        )
        sim.process_once()
        sim.close()
        answer_a = ch.exchange.inbox / f"DK{msg_a}_HP.txt"
        answer_b = ch.exchange.inbox / f"DK{msg_b}_HP.txt"
        # the bank's answer for B, relabelled (name and totals line) as the answer for A
        forged = answer_b.read_bytes().replace(msg_b.encode(), msg_a.encode())
        answer_b.unlink()
        answer_a.write_bytes(forged)
        [report] = col.poll("bank").reports
        assert report.error and msg_a in report.error and "is not in" in report.error
        assert col.journal.count_by_status() == {Status.PENDING: 4}
        assert (ch.exchange.quarantine / answer_a.name).exists()
