"""Metrics and traces through OpenTelemetry, read with the SDK's in-memory reader and exporter.

Real journals (SQLite and PostgreSQL), the ``memory://`` channel, the ZVT simulator over TCP
and a bank channel's exchange folder. What the counters say is checked against the journal's
own events (the truth), and the Prometheus text against prometheus_client's parser.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    Histogram,
    InMemoryMetricReader,
    MetricsData,
    NumberDataPoint,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client.parser import text_string_to_metric_families

from paychannels import Collector, ManualClock, Money, Outcome, PaymentRequest, Status
from paychannels.bankfiles.split import Limits
from paychannels.channels.bank import BankBatchChannel
from paychannels.channels.bank.formats import open_format
from paychannels.channels.base import Capabilities, Channel, ChannelContext
from paychannels.channels.memory import MemoryChannel
from paychannels.journal.postgres import PostgresJournal
from paychannels.journal.sqlite import SqliteJournal
from paychannels.observe.otel import Telemetry, instrument
from paychannels.observe.prometheus import render
from paychannels.simulators.terminal import TerminalSimulator
from paychannels.values.errors import PaychannelsError
from paychannels.values.models import Event, EventType, Payment, Record
from tests.bank.conftest import CREDITOR

PASSWORD = "741852"


@dataclass
class Rig:
    col: Collector
    reader: InMemoryMetricReader
    spans: InMemorySpanExporter
    telemetry: Telemetry

    def data(self) -> MetricsData:
        data = self.reader.get_metrics_data()
        assert data is not None
        return data

    def points(self, name: str) -> list[Any]:
        return [
            point
            for resource in self.data().resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())


def rig(col: Collector) -> Rig:
    reader = InMemoryMetricReader()
    spans = InMemorySpanExporter()
    tracer = TracerProvider()
    tracer.add_span_processor(SimpleSpanProcessor(spans))
    telemetry = instrument(
        col, meter_provider=MeterProvider(metric_readers=[reader]), tracer_provider=tracer
    )
    return Rig(col, reader, spans, telemetry)


def request(n: int, amount: str = "12.00") -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"P{n}", amount=Money(amount, "CNY"), reference="2026-fee", idempotency_key=f"k{n}"
    )


@pytest.fixture
def sim() -> Iterator[int]:
    terminal = TerminalSimulator(password=int(PASSWORD), card="6222021234567890123", t2=0.3)
    _host, port = terminal.serve_tcp("127.0.0.1", 0)
    yield port
    terminal.close()


def transitions_in_journal(col: Collector) -> Counter[tuple[str, str, str]]:
    seen: Counter[tuple[str, str, str]] = Counter()
    for event in col.events(limit=10_000):
        if event.type is EventType.STATUS and event.to_status is not None:
            channel = col.status(event.payment_id).channel
            from_status = event.from_status.value if event.from_status else ""
            seen[(channel, from_status, event.to_status.value)] += 1
    return seen


def test_transitions_latency_and_spans_agree_with_the_journal(journal_url: str, sim: int) -> None:
    with Collector.open(journal_url, create=True) as col:
        col.add_channel("hall", "memory://")
        col.add_channel(
            "zvt", f"zvt+tcp://127.0.0.1:{sim}?t3=0.5&t4=2", password=PASSWORD
        )  # the simulator
        r = rig(col)
        hall = col.channel("hall")
        assert isinstance(hall, MemoryChannel)
        paid = col.collect(request(1), channel="hall")
        hall.script("decline")
        col.collect(request(2), channel="hall")
        hall.script("lose_reply")
        lost = col.collect(request(3), channel="hall")
        assert lost.status is Status.UNKNOWN
        col.recover()
        assert col.status(lost.id).status is Status.SUCCEEDED
        col.refund(paid.id)
        with pytest.raises(PaychannelsError):
            col.refund(lost.id, Money("99.00", "CNY"))  # more than was taken: refused
        at_terminal = col.collect(request(4, "3.80"), channel="zvt")
        assert at_terminal.status is Status.SUCCEEDED

        counted = {
            (p.attributes["channel"], p.attributes["from"], p.attributes["to"]): p.value
            for p in r.points("paychannels.transitions")
        }
        assert counted == dict(transitions_in_journal(col))
        assert counted[("zvt", "DISPATCHED", "SUCCEEDED")] == 1
        assert counted[("hall", "UNKNOWN", "SUCCEEDED")] == 1

        latency = {
            (p.attributes["channel"], p.attributes["verb"], p.attributes["status"]): p
            for p in r.points("paychannels.dispatch.duration")
        }
        assert {k: p.count for k, p in latency.items()} == {
            ("hall", "collect", "SUCCEEDED"): 1,
            ("hall", "collect", "DECLINED"): 1,
            ("hall", "collect", "UNKNOWN"): 1,
            ("hall", "refund", "SUCCEEDED"): 1,
            ("zvt", "collect", "SUCCEEDED"): 1,
        }
        assert latency[("zvt", "collect", "SUCCEEDED")].sum > 0
        assert sum(latency[("zvt", "collect", "SUCCEEDED")].bucket_counts) == 1

        spans = r.finished()
        assert [s.name for s in spans] == [
            "paychannels.collect", "paychannels.collect", "paychannels.collect",
            "paychannels.inquire", "paychannels.recover", "paychannels.refund",
            "paychannels.refund", "paychannels.collect",
        ]  # fmt: skip
        inquire, recover = spans[3], spans[4]
        assert inquire.parent is not None and inquire.parent.span_id == recover.context.span_id
        assert inquire.attributes == {
            "paychannels.channel": "hall",
            "paychannels.payment_id": lost.id,
            "paychannels.status": "SUCCEEDED",
        }
        refused = spans[6]
        assert refused.status.status_code is StatusCode.ERROR
        assert spans[7].attributes is not None
        assert spans[7].attributes["paychannels.channel"] == "zvt"
        r.telemetry.close()


class CountingGets:
    """A journal that counts ``get`` (a read of one record), mixed into a real backend."""

    gets = 0

    def get(self, record_id: str) -> Record:
        self.gets += 1
        return super().get(record_id)  # type: ignore[misc,no-any-return]


class SqliteCounting(CountingGets, SqliteJournal):
    pass


class PostgresCounting(CountingGets, PostgresJournal):
    pass


def counting_journal(url: str) -> SqliteCounting | PostgresCounting:
    return (SqliteCounting if url.startswith("sqlite") else PostgresCounting)(url, create=True)


def workload(col: Collector, first: int) -> None:
    """Payments on two channels, a refund, a lost answer recovered."""
    hall = col.channel("hall")
    assert isinstance(hall, MemoryChannel)
    paid = col.collect(request(first), channel="hall")
    col.collect(request(first + 1), channel="desk")
    hall.script("lose_reply")
    lost = col.collect(request(first + 2), channel="hall")
    col.refund(paid.id)
    col.recover()
    assert col.status(lost.id).status is Status.SUCCEEDED


def test_counting_transitions_reads_nothing_from_the_journal(journal_url: str) -> None:
    """Each event carries its record's channel from where it is written, so the counter of
    transitions labels it without reading the record (a read per new record, on the path of
    every payment and callback)."""
    journal = counting_journal(journal_url)
    with Collector(journal) as col:
        col.add_channel("hall", "memory://")
        col.add_channel("desk", "memory://")
        workload(col, 1)
        own = journal.gets  # what the Collector reads itself (a refund reads its payment)
        r = rig(col)
        workload(col, 11)
        assert journal.gets == 2 * own
        counted = {
            (p.attributes["channel"], p.attributes["from"], p.attributes["to"]): p.value
            for p in r.points("paychannels.transitions")
        }
        assert counted[("desk", "DISPATCHED", "SUCCEEDED")] == 1
        assert counted[("hall", "UNKNOWN", "SUCCEEDED")] == 1
        assert sum(counted.values()) == sum(transitions_in_journal(col).values()) // 2
        seen: list[Event] = []
        col.subscribe(seen.append)
        col.collect(request(21), channel="desk")
        assert seen and {e.channel for e in seen} == {"desk"}
        told = {e.seq: e for e in seen}
        read_back = {e.seq: e for e in col.events(limit=10_000) if e.seq in told}
        assert read_back == told  # the journal's events() says the same, channel included
        r.telemetry.close()


class Stalling(Channel):
    """A channel whose device is slow: while it works, the test looks at the gauges."""

    capabilities = Capabilities(inquire=True, dispatch_timeout=30.0)

    def __init__(self, clock: ManualClock, look: list[list[NumberDataPoint]], r: list[Rig]) -> None:
        self.clock, self.look, self.rig = clock, look, r

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        self.clock.advance(seconds=3600)  # far past the lease
        self.look.append(self.rig[0].points("paychannels.backlog"))
        return Outcome.succeeded(channel_ref=f"S-{payment.id}")

    def inquire(self, record: Any, ctx: ChannelContext) -> Outcome:
        return Outcome.succeeded(channel_ref=f"S-{record.id}")


def backlog(points: list[NumberDataPoint]) -> dict[tuple[str, str], float]:
    return {(p.attributes["channel"], p.attributes["kind"]): p.value for p in points}  # type: ignore[index]


def test_the_backlog_gauges_read_the_journal_and_the_quarantine(
    journal_url: str, tmp_path: Path
) -> None:
    clock = ManualClock()
    look: list[list[NumberDataPoint]] = []
    rigs: list[Rig] = []
    bank = BankBatchChannel(
        tmp_path / "x", format=open_format("pain.008.001.08"), creditor=CREDITOR,
        limits=Limits(rows_per_file=2),
    )  # fmt: skip
    with Collector.open(journal_url, create=True, clock=clock) as col:
        col.add_channel("hall", "memory://")
        col.add_channel("slow", Stalling(clock, look, rigs))
        col.add_channel("bank", bank)
        rigs.append(rig(col))
        r = rigs[0]
        zero = {
            (c, k): 0
            for c in ("bank", "hall", "slow")
            for k in ("unknown", "needs_attention", "dispatched_overdue")
        }
        assert backlog(r.points("paychannels.backlog")) == {
            **zero,
            ("bank", "quarantined_files"): 0,
        }
        hall = col.channel("hall")
        assert isinstance(hall, MemoryChannel)
        hall.script("lose_reply", "lose_reply", "lose_reply")
        unknown = [col.collect(request(n), channel="hall") for n in (1, 2, 3)]
        col.flag_attention(unknown[0].id, "the terminal's book disagrees")
        col.collect(request(4), channel="slow")
        bank.exchange.ensure()
        (bank.exchange.inbox / "garbage.xml").write_text("<not a result file", "utf-8")
        col.poll("bank")
        assert bank.quarantined() == 1

        assert backlog(look[0])[("slow", "dispatched_overdue")] == 1  # in flight, lease over
        assert backlog(look[0])[("hall", "dispatched_overdue")] == 0
        assert backlog(r.points("paychannels.backlog")) == {
            **zero,
            ("hall", "unknown"): 2,
            ("hall", "needs_attention"): 1,
            ("bank", "quarantined_files"): 1,
        }
        col.recover()
        clock.advance(seconds=60)
        after = backlog(r.points("paychannels.backlog"))
        assert after[("hall", "unknown")] == 0 and after[("hall", "needs_attention")] == 1

        families = {f.name: f for f in text_string_to_metric_families(render(r.data()))}
        gauge = families["paychannels_backlog"]
        assert gauge.type == "gauge"
        assert {(s.labels["channel"], s.labels["kind"]): s.value for s in gauge.samples} == backlog(
            r.points("paychannels.backlog")
        )
        r.telemetry.close()
        assert r.points("paychannels.backlog") == []  # closed: nothing is read any more


def test_the_prometheus_text_parses_and_says_what_the_sdk_holds(journal_url: str) -> None:
    with Collector.open(journal_url, create=True) as col:
        col.add_channel("hall", "memory://")
        r = rig(col)
        for n in range(3):
            col.collect(request(n), channel="hall")
        data = r.data()
        text = render(data)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["paychannels_transitions"].type == "counter"
    samples = {
        (s.labels["from"], s.labels["to"]): s.value
        for s in families["paychannels_transitions"].samples
        if s.name == "paychannels_transitions_total"
    }
    assert samples == {("CREATED", "DISPATCHED"): 3.0, ("DISPATCHED", "SUCCEEDED"): 3.0}
    histogram = families["paychannels_dispatch_duration_seconds"]
    assert histogram.type == "histogram"
    by_name = {s.name: s for s in histogram.samples if "le" not in s.labels}
    assert by_name["paychannels_dispatch_duration_seconds_count"].value == 3
    buckets = [s for s in histogram.samples if "le" in s.labels]
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == 3
    assert [b.value for b in buckets] == sorted(b.value for b in buckets)  # cumulative
    assert text.endswith("\n") and "# TYPE paychannels_backlog gauge\n" in text


def test_labels_are_escaped_as_the_format_says() -> None:
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("t")
    odd = 'a "quoted" back\\slash\nnew line'
    meter.create_counter("odd.things", description="help with \\ and\nnewline").add(
        2, {"label.with.dots": odd}
    )
    meter.create_up_down_counter("queue.depth").add(-1)
    text = render(reader.get_metrics_data())
    families = {f.name: f for f in text_string_to_metric_families(text)}
    [sample] = [s for s in families["odd_things"].samples if s.name.endswith("_total")]
    assert sample.labels == {"label_with_dots": odd} and sample.value == 2
    assert families["odd_things"].documentation == "help with \\ and\nnewline"
    assert families["queue_depth"].type == "gauge"  # not monotonic: a gauge
    assert render(None) == ""


def test_histogram_buckets_hold_what_was_recorded() -> None:
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("t")
    h = meter.create_histogram("wait", unit="s", explicit_bucket_boundaries_advisory=[0.1, 1.0])
    for value in (0.05, 0.5, 0.5, 7.0):
        h.record(value, {"channel": "x"})
    data = reader.get_metrics_data()
    [point] = [
        p
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
        if isinstance(m.data, Histogram)
        for p in m.data.data_points
    ]
    assert list(point.bucket_counts) == [1, 2, 1]
    families = {f.name: f for f in text_string_to_metric_families(render(data))}
    buckets = {
        s.labels["le"]: s.value
        for s in families["wait_seconds"].samples
        if s.name == "wait_seconds_bucket"
    }
    assert buckets == {"0.1": 1.0, "1.0": 3.0, "+Inf": 4.0}
