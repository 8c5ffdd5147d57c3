"""Counters and histograms of several workers summed for one scrape; gauges left alone."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData

from paychannels.observe.prometheus import render
from paychannels.operations.siblings import Siblings
from tests.operations.serving import samples


def worker(credits: int, seconds: list[float], backlog: int) -> MetricsData:
    """One worker's figures, as its reader collects them."""
    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("paychannels")
    counter = meter.create_counter("paychannels.transitions", unit="1")
    latency = meter.create_histogram(
        "paychannels.dispatch.duration", unit="s", explicit_bucket_boundaries_advisory=[0.1, 1.0]
    )

    def gauge(_options: CallbackOptions) -> list[Observation]:
        return [Observation(backlog, {"kind": "unknown"})]

    meter.create_observable_gauge("paychannels.backlog", callbacks=[gauge], unit="1")
    counter.add(credits, {"to": "SUCCEEDED"})
    for s in seconds:
        latency.record(s, {"channel": "wx"})
    data = reader.get_metrics_data()
    assert data is not None
    return data


def test_a_scrape_sums_the_siblings_counters_and_histograms(tmp_path: Path) -> None:
    Siblings(tmp_path, pid=101).publish(worker(3, [0.05, 2.0], backlog=7))
    Siblings(tmp_path, pid=102).publish(worker(4, [0.5], backlog=7))
    scraped = samples(render(Siblings(tmp_path, pid=103).scraped(worker(1, [], backlog=2))))
    assert scraped["paychannels_transitions_total"] == [({"to": "SUCCEEDED"}, 8.0)]
    buckets = {
        labels["le"]: v for labels, v in scraped["paychannels_dispatch_duration_seconds_bucket"]
    }
    assert buckets == {"0.1": 1.0, "1.0": 2.0, "+Inf": 3.0}
    assert scraped["paychannels_dispatch_duration_seconds_count"] == [({"channel": "wx"}, 3.0)]
    assert scraped["paychannels_dispatch_duration_seconds_sum"] == [({"channel": "wx"}, 2.55)]
    # the gauge is the journal's: the scraped worker's reading, not a sum
    assert scraped["paychannels_backlog"] == [({"kind": "unknown"}, 2.0)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["101.json", "102.json", "103.json"]


def test_a_worker_alone_is_its_own_figures(tmp_path: Path) -> None:
    alone = worker(2, [0.2], backlog=0)
    assert samples(render(Siblings(tmp_path, pid=1).scraped(alone))) == samples(render(alone))
