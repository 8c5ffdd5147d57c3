"""Hypothesis drives random transitions through the real journal: no sequence reaches an
illegal state, final states stay final, and the events always replay to the current state."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta

import hypothesis.strategies as st
import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from paychannels import TRANSITIONS, IllegalTransition, Money, PaymentRequest, Status
from paychannels.journal import Change, NewRecord, open_journal
from paychannels.values.status import is_final

pytestmark = pytest.mark.slow  # 60 random sequences of journal changes: ~4 s


class JournalMachine(RuleBasedStateMachine):
    """Model: one payment; the model's status must always equal the journal's."""

    @initialize()
    def setup(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.journal = open_journal(f"sqlite:///{self.tmp.name}/j.db", create=True)
        self.journal.migrate()
        self.now = datetime(2026, 1, 1, tzinfo=UTC)
        req = PaymentRequest(
            payer_id="p1", amount=Money("10.00", "CNY"), reference="r", idempotency_key="k"
        )
        new = NewRecord(id="pay_1", kind="payment", channel="c", request=req, fingerprint="f")
        self.journal.create(new, now=self.now)
        self.model = Status.CREATED
        self.steps = 1

    def teardown(self) -> None:
        if hasattr(self, "journal"):
            self.journal.close()
            self.tmp.cleanup()

    @rule(to=st.sampled_from(list(Status)))
    def move(self, to: Status) -> None:
        self.now += timedelta(seconds=1)
        legal = to in TRANSITIONS[self.model]
        try:
            self.journal.modify("pay_1", lambda _r: [Change(to_status=to)], now=self.now)
        except IllegalTransition:
            assert not legal, f"{self.model} -> {to} is legal but was refused"
            return
        assert legal, f"{self.model} -> {to} is illegal but was applied"
        self.model = to
        self.steps += 1

    @rule(text=st.text(max_size=20))
    def annotate(self, text: str) -> None:
        self.now += timedelta(seconds=1)
        from paychannels.values.models import EventType

        self.journal.modify(
            "pay_1", lambda _r: [Change(event=EventType.NOTE, data={"t": text})], now=self.now
        )

    @invariant()
    def journal_agrees(self) -> None:
        record = self.journal.get("pay_1")
        assert record.status == self.model
        assert self.journal.verify("pay_1") == []
        if is_final(self.model):
            assert not TRANSITIONS[record.status]


JournalMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
TestJournalStateMachine = JournalMachine.TestCase
