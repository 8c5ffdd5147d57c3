"""BankBatchChannel behaviour: exactly once, quarantine, missing debits, returns, retries,
crashes between the steps, cancelling, collection dates."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from paychannels import ChannelError, Collector, ManualClock, Reason, Status
from paychannels.channels.bank import BankBatchChannel, resubmit_retryable
from paychannels.channels.bank.formats import open_format
from paychannels.channels.bank.ledger import DuplicateFile, Ledger
from paychannels.simulators.bank import BankSimulator, Mix
from paychannels.simulators.bank.replies import write_pain002
from tests.bank.conftest import CREDITOR, bank_request, clock


@dataclass
class Bank:
    col: Collector
    ch: BankBatchChannel
    sim: BankSimulator
    clock: ManualClock

    def round(self) -> list[Any]:
        """Write files, let the bank answer, read the answers."""
        self.col.poll("bank")
        self.sim.process_once()
        return self.col.poll("bank").reports


@pytest.fixture
def bank(tmp_path: Path) -> Iterator[Bank]:
    clk = clock()
    ch = BankBatchChannel(tmp_path / "x", format=open_format("pain.008.001.08"), creditor=CREDITOR)
    col = Collector.open(f"sqlite:///{tmp_path}/j.db", clock=clk, create=True)
    col.add_channel("bank", ch)
    sim = BankSimulator(
        ch.exchange.outbox,
        ch.exchange.inbox,
        state=tmp_path / "sim",
        mix=Mix(),
        return_delay=3600,
        clock=lambda: clk.now().timestamp(),
    )
    yield Bank(col, ch, sim, clk)
    sim.close()
    col.close()


def statuses(bank: Bank) -> dict[Status, int]:
    return bank.col.journal.count_by_status()


def test_the_same_result_file_twice_changes_nothing(bank: Bank) -> None:
    bank.col.collect_many([bank_request(i) for i in range(10)], channel="bank")
    bank.col.poll("bank")
    bank.sim.process_once()
    answers = sorted(bank.ch.exchange.inbox.iterdir())
    copies = [p.read_bytes() for p in answers]
    first = bank.col.poll("bank").reports
    assert sum(s.moved.get("SUCCEEDED", 0) for s in first) == 10
    events = bank.col.events(limit=100_000)
    for path, raw in zip(answers, copies, strict=True):
        path.write_bytes(raw)  # the bank (or a person) drops the same file again
    assert bank.col.poll("bank").reports == []
    assert bank.col.events(limit=100_000) == events
    assert len(list((bank.ch.exchange.processed / "duplicates").iterdir())) == len(answers)


def test_a_result_for_an_unknown_batch_is_quarantined(bank: Bank) -> None:
    bank.col.collect_many([bank_request(1)], channel="bank")
    bank.col.poll("bank")
    stray = bank.ch.exchange.inbox / "PAIN002_NOTOURS.xml"
    with open(stray, "w", encoding="utf-8") as out:
        write_pain002(
            out,
            version="10",
            msg_id="R1",
            created_at=bank.clock.now(),
            original_msg_id="SOMEONE-ELSES-FILE",
            original_message="pain.008.001.08",
            original_count=1,
            group_status="ACSC",
        )
    reports = bank.col.poll("bank").reports
    assert reports[0].error and "never sent" in reports[0].error
    reason = (bank.ch.exchange.quarantine / "PAIN002_NOTOURS.xml.reason.txt").read_text("utf-8")
    assert "SOMEONE-ELSES-FILE" in reason
    assert statuses(bank) == {Status.PENDING: 1}


def test_a_broken_result_file_applies_nothing(bank: Bank) -> None:
    bank.col.collect_many([bank_request(i) for i in range(20)], channel="bank")
    bank.col.poll("bank")
    bank.sim.mix.script.extend(["ok"] * 20)
    bank.sim.process_once()
    answer = next(bank.ch.exchange.inbox.iterdir())
    raw = answer.read_bytes()
    answer.write_bytes(raw[: len(raw) * 3 // 4])  # cut off in transfer
    report = bank.col.poll("bank").reports[0]
    assert report.error and "line" in report.error and report.rows == 0
    assert statuses(bank) == {Status.PENDING: 20}
    assert (bank.ch.exchange.quarantine / answer.name).exists()


def test_group_rejection_declines_every_debit_of_the_file(bank: Bank) -> None:
    bank.col.collect_many([bank_request(i) for i in range(5)], channel="bank")
    files = bank.ch.flush(bank.col.channel_context("bank"))
    with open(bank.ch.exchange.inbox / "REJ.xml", "w", encoding="utf-8") as out:
        write_pain002(
            out,
            version="10",
            msg_id="R2",
            created_at=bank.clock.now(),
            original_msg_id=files[0].msg_id,
            original_message="pain.008.001.08",
            original_count=5,
            group_status="RJCT",
            group_reason="FF01",
        )
    bank.col.poll("bank")
    declined = bank.col.find(statuses=[Status.DECLINED])
    assert len(declined) == 5 and {r.reason for r in declined} == {Reason.FILE_REJECTED}
    assert all((r.reason_detail or "").startswith("FF01:") for r in declined)


def test_the_bank_refusing_a_duplicate_copy_leaves_the_original_standing(bank: Bank) -> None:
    bank.col.collect_many([bank_request(i) for i in range(5)], channel="bank")
    bank.col.poll("bank")
    [sent] = list(bank.ch.exchange.outbox.iterdir())
    copy = sent.read_bytes()
    bank.round()
    assert statuses(bank) == {Status.SUCCEEDED: 5}
    (bank.ch.exchange.outbox / f"again-{sent.name}").write_bytes(copy)  # sent twice by mistake
    bank.sim.process_once()  # the bank answers DU01 for the whole (second) file
    reports = bank.col.poll("bank").reports
    assert reports and reports[0].error is None
    assert statuses(bank) == {Status.SUCCEEDED: 5}, "a refused duplicate does not undo the first"
    assert bank.col.find(attention=True) == []


def test_the_bank_refuses_a_file_whose_totals_are_wrong(bank: Bank) -> None:
    bank.col.collect_many([bank_request(i) for i in range(5)], channel="bank")
    bank.col.poll("bank")
    [sent] = list(bank.ch.exchange.outbox.iterdir())
    text = sent.read_text("utf-8")
    sent.write_text(text.replace("<NbOfTxs>5</NbOfTxs>", "<NbOfTxs>6</NbOfTxs>", 1), "utf-8")
    bank.sim.process_once()
    bank.col.poll("bank")
    declined = bank.col.find(statuses=[Status.DECLINED])
    assert len(declined) == 5 and {r.reason for r in declined} == {Reason.FILE_REJECTED}
    assert all((r.reason_detail or "").startswith("AM18:") for r in declined)


def test_a_debit_missing_from_the_report_stays_pending(bank: Bank) -> None:
    bank.col.collect_many([bank_request(i) for i in range(6)], channel="bank")
    bank.sim.mix.script.extend(["ok", "unreported", "ok", "insufficient_funds", "unreported", "ok"])
    bank.round()
    assert statuses(bank) == {Status.SUCCEEDED: 3, Status.PENDING: 2, Status.DECLINED: 1}
    report = bank.col.recover()
    assert report.awaiting_files == {"bank": 2}, "left to the next result file, not asked"
    assert statuses(bank) == {Status.SUCCEEDED: 3, Status.PENDING: 2, Status.DECLINED: 1}


@pytest.mark.slow
def test_late_return_reverses_a_succeeded_debit(bank: Bank) -> None:
    [p] = bank.col.collect_many([bank_request(1)], channel="bank")
    bank.sim.mix.script.append("late_return")
    bank.round()
    assert bank.col.status(p.id).status is Status.SUCCEEDED  # type: ignore[union-attr]
    bank.clock.advance(hours=2)
    bank.sim.process_once()
    bank.col.poll("bank")
    record = bank.col.status(p.id)  # type: ignore[union-attr]
    assert record.status is Status.REVERSED and record.reason is Reason.REFUSED_BY_DEBTOR
    assert (record.reason_detail or "").startswith("MD06:")
    assert bank.sim.charges(p.id[4:]) == 0  # type: ignore[union-attr]


@pytest.mark.slow
def test_retryable_failures_are_resubmitted_linked_and_capped(bank: Bank) -> None:
    made = bank.col.collect_many([bank_request(1), bank_request(2)], channel="bank")
    first = made[0]  # the second is refused for a closed account: final, never retried
    bank.sim.mix.script.extend(["insufficient_funds", "closed"])
    bank.round()
    assert bank.col.status(first.id).reason is Reason.INSUFFICIENT_FUNDS  # type: ignore[union-attr]
    for n in (1, 2):
        summary = resubmit_retryable(bank.col, "bank")
        assert len(summary.resubmitted) == 1 and summary.final == 1
        retry = bank.col.status(summary.resubmitted[0])
        assert retry.metadata["retry"] == str(n) and retry.reference == first.reference  # type: ignore[union-attr]
        assert retry.channel_ref != first.channel_ref  # type: ignore[union-attr]
        assert (
            retry.metadata["retry_of_ref"]
            == bank.col.status(retry.metadata["retry_of"]).channel_ref
        )
        bank.col.poll("bank")
        newest = max(bank.ch.exchange.outbox.iterdir(), key=lambda p: p.stat().st_mtime_ns)
        assert f"<InstrId>{retry.metadata['retry_of_ref']}</InstrId>" in newest.read_text("utf-8")
        assert date.fromisoformat(retry.metadata["collection_date"]) > date(2026, 3, 3)
        bank.sim.mix.script.append("insufficient_funds")
        bank.sim.process_once()
        bank.col.poll("bank")
    again = resubmit_retryable(bank.col, "bank")
    assert again.resubmitted == [] and again.capped == 1, "two retries at most"
    assert resubmit_retryable(bank.col, "bank").resubmitted == []


def test_a_resubmitted_file_is_refused(bank: Bank) -> None:
    bank.col.collect_many([bank_request(1)], channel="bank")
    [sent] = bank.ch.flush(bank.col.channel_context("bank"))
    ledger = Ledger(bank.col.channel_context("bank"))
    entry = dict(ledger.sent(sent.msg_id) or {})
    with pytest.raises(DuplicateFile, match="already sent"):
        ledger.record_sent({**entry, "msg_id": "KYQ-AGAIN"})
    with pytest.raises(DuplicateFile, match="already used"):
        ledger.record_sent({**entry, "sha256": "0" * 64})


@pytest.mark.slow
def test_a_flush_interrupted_by_a_crash_resumes_with_the_same_ids(
    bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank.col.collect_many([bank_request(i) for i in range(30)], channel="bank")
    fmt = bank.ch.format

    def crash(*_a: object, **_k: object) -> object:
        raise OSError("disk full")

    monkeypatch.setattr(type(fmt), "write", crash)
    with pytest.raises(OSError, match="disk full"):
        bank.col.poll("bank")
    monkeypatch.undo()
    assert list(bank.ch.exchange.spool.glob("*.flushing"))
    planned = Ledger(bank.col.channel_context("bank")).get("flush:00000001")
    assert planned is not None
    bank.col.poll("bank")
    [published] = list(bank.ch.exchange.outbox.glob("*.xml"))
    assert published.name == planned["files"][0]["name"]
    assert not list(bank.ch.exchange.spool.iterdir())
    bank.sim.process_once()
    bank.col.poll("bank")
    assert statuses(bank) == {Status.SUCCEEDED: 30}


class Interrupted(BankBatchChannel):
    """Dies (from the Collector's view) right after or right before spooling."""

    after_spool = True
    dies = True

    def start_batch(self, payments, ctx):  # type: ignore[no-untyped-def]
        if not self.dies:
            return super().start_batch(payments, ctx)
        if self.after_spool:
            super().start_batch(payments, ctx)
        raise RuntimeError("process killed")


@pytest.mark.parametrize(
    ("after_spool", "resolved"), [(True, Status.PENDING), (False, Status.NOT_SENT)]
)
def test_recovery_asks_the_spool(tmp_path: Path, after_spool: bool, resolved: Status) -> None:
    """Killed after the spool write: the debit is with the bank channel, so recovery's
    question moves it UNKNOWN -> PENDING (awaiting the result file, not in doubt); killed
    before: never sent. Either way the result file settles it."""
    ch = Interrupted(tmp_path / "x", format=open_format("pain.008.001.08"), creditor=CREDITOR)
    ch.after_spool = after_spool
    with Collector.open(f"sqlite:///{tmp_path}/j.db", clock=clock(), create=True) as col:
        col.add_channel("bank", ch)
        [p] = col.collect_many([bank_request(1)], channel="bank")
        assert p.status is Status.UNKNOWN  # type: ignore[union-attr]
        report = col.recover()
        assert col.status(p.id).status is resolved  # type: ignore[union-attr]
        assert report.still_in_doubt == [] and report.needs_attention == []
        assert report.awaiting_files == ({"bank": 1} if after_spool else {})
        ch.dies = False
        if resolved is Status.NOT_SENT:  # safe to send again with the same key
            again = col.collect(bank_request(1), channel="bank")
            assert again.id == p.id and again.status is Status.PENDING and again.attempt == 2  # type: ignore[union-attr]
        steps = [(e.from_status, e.to_status) for e in col.events(payment_id=p.id)]  # type: ignore[union-attr]
        if after_spool:  # one appended event, naming who said so
            assert steps[-1] == (Status.UNKNOWN, Status.PENDING), steps
            (moved,) = [e for e in col.events(payment_id=p.id) if e.to_status is Status.PENDING]  # type: ignore[union-attr]
            assert moved.data["via"] == "recovery inquiry"
            assert col.recover().awaiting_files == {"bank": 1}  # not asked again: poll()
            assert [(e.from_status, e.to_status) for e in col.events(payment_id=p.id)] == steps  # type: ignore[union-attr]
        sim = BankSimulator(
            ch.exchange.outbox, ch.exchange.inbox, state=tmp_path / "sim", mix=Mix()
        )
        col.poll("bank")
        sim.process_once()
        col.poll("bank")
        assert col.status(p.id).status is Status.SUCCEEDED  # type: ignore[union-attr]
        assert sim.charges(p.id.removeprefix("pay_")) == 1  # type: ignore[union-attr]
        sim.close()


def test_cancel_withdraws_a_spooled_debit_but_not_a_sent_one(bank: Bank) -> None:
    a, b = bank.col.collect_many([bank_request(1), bank_request(2)], channel="bank")
    assert bank.col.cancel(a.id).status is Status.EXPIRED  # type: ignore[union-attr]
    [sent] = bank.ch.flush(bank.col.channel_context("bank"))
    assert sent.count == 1
    with pytest.raises(ChannelError, match="already in a request file"):
        bank.col.cancel(b.id)  # type: ignore[union-attr]


def test_collection_dates_follow_the_chinese_calendar(bank: Bank) -> None:
    # Friday 13 February 2026, 10:00 in Beijing: next business day is Saturday the 14th (调休)
    bank.clock.advance(hours=24 * (date(2026, 2, 13) - date(2026, 3, 2)).days + 1)
    early = bank.ch.earliest_collection(bank.clock.now())
    assert early == date(2026, 2, 14)
    [p, q] = bank.col.collect_many(
        [bank_request(1), bank_request(2, collection_date="2026-02-16")], channel="bank"
    )
    assert p.channel_data["collection_date"] == "2026-02-14"  # type: ignore[union-attr]
    assert q.channel_data["collection_date"] == "2026-02-24", "Spring Festival: 15th to 23rd"  # type: ignore[union-attr]


def test_a_debit_without_bank_details_is_declined_not_sent(bank: Bank) -> None:
    req = bank_request(1)
    req = req.model_copy(
        update={"metadata": {k: v for k, v in req.metadata.items() if k != "mandate_id"}}
    )
    [p] = bank.col.collect_many([req, bank_request(2, account="6217 0000")], channel="bank")[:1]
    assert p.status is Status.DECLINED and p.reason is Reason.NO_MANDATE  # type: ignore[union-attr]
    bad = bank.col.find(statuses=[Status.DECLINED])
    assert any("letters and digits" in (r.reason_detail or "") for r in bad)


@pytest.mark.slow
def test_text_layout_cycle_with_partial_debits(tmp_path: Path) -> None:
    ch = BankBatchChannel(tmp_path / "x", format=open_format("icbc-fixed"), creditor=CREDITOR)
    with Collector.open(f"sqlite:///{tmp_path}/j.db", clock=clock(), create=True) as col:
        col.add_channel("bank", ch)
        sim = BankSimulator(
            ch.exchange.outbox, ch.exchange.inbox, state=tmp_path / "sim", mix=Mix()
        )
        made = col.collect_many([bank_request(i) for i in range(4)], channel="bank")
        sim.mix.script.extend(["partial", "ok", "no_agreement", "insufficient_funds"])
        col.poll("bank")
        sim.process_once()
        col.poll("bank")
        got = [col.status(p.id) for p in made]  # type: ignore[union-attr]
        assert [r.status for r in got] == [
            Status.SUCCEEDED,
            Status.SUCCEEDED,
            Status.DECLINED,
            Status.DECLINED,
        ]
        assert got[0].amount_taken is not None and got[0].amount_taken.minor == 19_000
        assert (got[2].reason, got[3].reason) == (Reason.NO_MANDATE, Reason.INSUFFICIENT_FUNDS)
        assert "代理户不存在" in (got[2].reason_detail or "")
        sim.close()


def test_exchange_folder_gone_means_not_sent(tmp_path: Path) -> None:
    blocker = tmp_path / "x"
    blocker.write_text("not a folder")
    ch = BankBatchChannel(
        blocker / "exchange", format=open_format("pain.008.001.08"), creditor=CREDITOR
    )
    with Collector.open(f"sqlite:///{tmp_path}/j.db", clock=clock(), create=True) as col:
        col.add_channel("bank", ch)
        [p] = col.collect_many([bank_request(1)], channel="bank")
        assert p.status is Status.NOT_SENT  # type: ignore[union-attr]
    shutil.rmtree(tmp_path / "none", ignore_errors=True)
