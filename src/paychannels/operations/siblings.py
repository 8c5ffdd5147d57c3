"""The counters of every worker of one ``serve``, summed, in whichever worker is scraped.

A scrape reaches one worker, and OpenTelemetry counters count what one process did: read
alone, the transitions of a server with N workers would jump between N unrelated series.
So each worker publishes its cumulative counters and histograms to a file of its own in a
folder its supervisor made (every ``PUBLISH_EVERY`` seconds and at each scrape), and a scrape
adds its siblings' latest files to its own fresh figures. Gauges are the journal's, the same
in every worker, and are taken from the scraped worker alone. A worker that ended keeps its
file, so the sums never go down while the server runs.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from paychannels.observe.prometheus import metrics_in

__all__ = ["PUBLISH_EVERY", "Siblings", "merged", "snapshot"]

#: seconds between a worker's publications (a sibling's figures are at most this old)
PUBLISH_EVERY = 2.0
Snapshot = list[dict[str, Any]]


class Siblings:
    """The folder the workers of one server publish their counters to."""

    def __init__(self, folder: Path, pid: int | None = None) -> None:
        self.folder = folder
        self.pid = pid or os.getpid()

    def publish(self, data: MetricsData) -> None:
        """Write this worker's counters (replacing its last file in one rename)."""
        target = self.folder / f"{self.pid}.json"
        scratch = self.folder / f".{self.pid}.tmp"
        with contextlib.suppress(FileNotFoundError):  # the server is stopping: its folder went
            scratch.write_text(json.dumps(snapshot(data)), encoding="utf-8")
            scratch.replace(target)

    def others(self) -> list[Snapshot]:
        """The latest counters of every other worker, past ones included."""
        found = []
        for path in sorted(self.folder.glob("*.json")):
            if path.stem == str(self.pid):
                continue
            with contextlib.suppress(OSError, ValueError):
                found.append(json.loads(path.read_text(encoding="utf-8")))
        return found

    def scraped(self, data: MetricsData) -> MetricsData:
        """``data`` (this worker's, just collected) with its siblings' counters added."""
        self.publish(data)
        return merged(data, self.others())


def snapshot(data: MetricsData) -> Snapshot:
    """The counters (monotonic sums) and histograms of ``data`` as JSON values."""
    out: Snapshot = []
    for metric in metrics_in(data):
        points: list[dict[str, Any]] = []
        if isinstance(metric.data, Sum) and metric.data.is_monotonic:
            kind = "counter"
            points = [
                {"attributes": dict(p.attributes or {}), "value": p.value}
                for p in metric.data.data_points
            ]
        elif isinstance(metric.data, Histogram):
            kind = "histogram"
            points = [_histogram_point(p) for p in metric.data.data_points]
        else:
            continue
        out.append(
            {"name": metric.name, "description": metric.description or "", "unit": metric.unit}
            | {"kind": kind, "points": points}
        )
    return out


def merged(own: MetricsData, others: Iterable[Snapshot]) -> MetricsData:
    """Own gauges as they are; counters and histograms summed over own and ``others``."""
    totals: dict[str, dict[str, Any]] = {}
    for metric in (m for snap in (snapshot(own), *others) for m in snap):
        entry = totals.setdefault(metric["name"], {**metric, "points": {}})
        if entry["kind"] != metric["kind"]:
            continue
        for point in metric["points"]:
            key = json.dumps(point["attributes"], sort_keys=True)
            _add(entry["points"], key, point, metric["kind"])
    metrics = [m for m in metrics_in(own) if not _summed(m)]
    metrics += [_metric(entry) for entry in totals.values()]
    resource = own.resource_metrics[0].resource if own.resource_metrics else Resource({})
    scope = ScopeMetrics(InstrumentationScope("paychannels"), metrics, "")
    return MetricsData([ResourceMetrics(resource, [scope], "")])


def _add(points: dict[str, dict[str, Any]], key: str, point: dict[str, Any], kind: str) -> None:
    have = points.get(key)
    if have is None:
        points[key] = dict(point)
    elif kind == "counter":
        have["value"] += point["value"]
    elif have["bounds"] == point["bounds"]:  # one histogram, the same buckets everywhere
        have["counts"] = [a + b for a, b in zip(have["counts"], point["counts"], strict=True)]
        have["sum"] += point["sum"]
        have["count"] += point["count"]
        have["min"] = min(have["min"], point["min"])
        have["max"] = max(have["max"], point["max"])


def _metric(entry: dict[str, Any]) -> Metric:
    cumulative = AggregationTemporality.CUMULATIVE
    points = list(entry["points"].values())
    if entry["kind"] == "counter":
        data: Sum | Histogram = Sum(
            [NumberDataPoint(p["attributes"], 0, 0, p["value"]) for p in points], cumulative, True
        )
    else:
        data = Histogram([_histogram(p) for p in points], cumulative)
    return Metric(entry["name"], entry["description"], entry["unit"], data)


def _histogram(p: dict[str, Any]) -> HistogramDataPoint:
    counts, bounds = p["counts"], p["bounds"]
    return HistogramDataPoint(
        p["attributes"], 0, 0, p["count"], p["sum"], counts, bounds, p["min"], p["max"]
    )


def _histogram_point(p: HistogramDataPoint) -> dict[str, Any]:
    return {
        "attributes": dict(p.attributes or {}),
        "bounds": list(p.explicit_bounds),
        "counts": list(p.bucket_counts),
        "sum": p.sum,
        "count": p.count,
        "min": p.min,
        "max": p.max,
    }


def _summed(metric: Metric) -> bool:
    data = metric.data
    return isinstance(data, Histogram) or (isinstance(data, Sum) and data.is_monotonic)
