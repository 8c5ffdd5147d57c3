"""Progress texts: published live during the verb, journaled with its outcome in one commit."""

from __future__ import annotations

from pathlib import Path

from pydantic import JsonValue

from paychannels import (
    Capabilities,
    Channel,
    ChannelContext,
    Collector,
    EventType,
    Money,
    Outcome,
    OutcomeUnknownError,
    Payment,
    PaymentRequest,
    Record,
    Status,
)


class Talkative(Channel):
    """Reports two statuses, then does what it is told; remembers the journal state it saw."""

    scheme = "talkative"
    capabilities = Capabilities(inquire=True)

    def __init__(self, col: Collector, then: str = "succeed") -> None:
        self.col = col
        self.then = then
        self.seen_during: list[tuple[str, Status]] = []

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        ctx.progress("insert card", code=10)
        ctx.progress("enter PIN", code=1, zh="请输入密码")
        if self.then == "raise":
            raise OutcomeUnknownError("the link dropped")
        return Outcome.succeeded()

    def inquire(self, record: Record, ctx: ChannelContext) -> Outcome:
        ctx.progress("asking the terminal")
        raise OutcomeUnknownError("the terminal does not answer")


def request() -> PaymentRequest:
    return PaymentRequest(
        payer_id="P1", amount=Money("1.00", "CNY"), reference="r", idempotency_key="k1"
    )


def test_progress_is_live_then_journaled_with_the_outcome(tmp_path: Path) -> None:
    with Collector.open(f"sqlite:///{tmp_path}/j.db", create=True) as col:
        channel = Talkative(col)
        col.add_channel("hall-1", channel)
        live: list[tuple[str, str, Status]] = []

        def watch(payment_id: str, data: dict[str, JsonValue]) -> None:
            live.append((payment_id, str(data["text"]), col.status(payment_id).status))

        col.watch_progress(watch)
        published = []
        col.subscribe(published.append)
        p = col.collect(request(), channel="hall-1")
        # live: during the dispatch, before the outcome reached the journal
        assert live == [
            (p.id, "insert card", Status.DISPATCHED),
            (p.id, "enter PIN", Status.DISPATCHED),
        ]
        events = col.events(payment_id=p.id)
        assert [(e.type, e.to_status) for e in events] == [
            (EventType.CREATED, Status.CREATED),
            (EventType.STATUS, Status.DISPATCHED),
            (EventType.PROGRESS, None),
            (EventType.PROGRESS, None),
            (EventType.STATUS, Status.SUCCEEDED),
        ]
        assert events[3].data["zh"] == "请输入密码" and "at" in events[3].data
        # the progress events and the outcome share one commit: one timestamp
        assert events[2].at == events[3].at == events[4].at
        assert published == events
        assert col.journal.verify(p.id) == []


def test_progress_of_a_failed_dispatch_and_inquiry_is_kept(tmp_path: Path) -> None:
    with Collector.open(f"sqlite:///{tmp_path}/j.db", create=True) as col:
        col.add_channel("hall-1", Talkative(col, then="raise"))
        p = col.collect(request(), channel="hall-1")
        assert p.status is Status.UNKNOWN
        col.recover()
        texts = [
            e.data.get("text")
            for e in col.events(payment_id=p.id)
            if e.type is not EventType.STATUS
        ]
        assert texts[1:] == [
            "insert card",
            "enter PIN",
            "asking the terminal",
            "inquiry failed: OutcomeUnknownError: the terminal does not answer",
        ]


def test_a_broken_watcher_does_not_break_the_payment(tmp_path: Path) -> None:
    with Collector.open(f"sqlite:///{tmp_path}/j.db", create=True) as col:
        col.add_channel("hall-1", Talkative(col))

        def broken(payment_id: str, data: dict[str, JsonValue]) -> None:
            raise RuntimeError("screen bug")

        unsubscribe = col.watch_progress(broken)
        assert col.collect(request(), channel="hall-1").status is Status.SUCCEEDED
        unsubscribe()
