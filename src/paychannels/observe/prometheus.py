"""The Prometheus text exposition (format 0.0.4) of OpenTelemetry metric data, for ``/metrics``.

Written here rather than taken from ``opentelemetry-exporter-prometheus``: that package is
still a pre-release (0.x b) and renders through prometheus_client's global registry; a
``serve`` with several Collectors or workers wants a pure function from the SDK's collected
data (``InMemoryMetricReader().get_metrics_data()`` or any reader's) to text.
OpenTelemetry names become Prometheus ones as its compatibility spec says: dots to
underscores, the unit as a suffix (``_seconds``), ``_total`` on monotonic sums.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

try:
    from opentelemetry.sdk.metrics.export import (
        Gauge,
        Histogram,
        HistogramDataPoint,
        Metric,
        MetricsData,
        NumberDataPoint,
        Sum,
    )
except ImportError as missing:  # the extra is optional: say which one, once
    raise ImportError(
        "the /metrics text needs OpenTelemetry: pip install 'paychannels[otel]'"
    ) from missing

__all__ = ["CONTENT_TYPE", "metrics_in", "render"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_UNITS = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": ""}
_BAD = re.compile(r"[^a-zA-Z0-9_:]")


def render(data: MetricsData | None) -> str:
    """Every metric of ``data`` as exposition text; metrics of the same name are merged."""
    families: dict[str, tuple[str, str, list[str]]] = {}
    for metric in metrics_in(data):
        name, kind = _name(metric), _kind(metric)
        if name not in families:
            families[name] = (kind, metric.description or "", [])
        families[name][2].extend(_samples(name, metric))
    out: list[str] = []
    for name, (kind, help_text, samples) in families.items():
        out.append(f"# HELP {name} {_escape_help(help_text)}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(samples)
    return "\n".join(out) + "\n" if out else ""


def metrics_in(data: MetricsData | None) -> Iterator[Metric]:
    """Every metric of ``data``, whatever resource and scope it came from (none for ``None``)."""
    if data is None:
        return
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            yield from scope.metrics


def _name(metric: Metric) -> str:
    name = _BAD.sub("_", metric.name)
    if name[:1].isdigit():
        name = "_" + name
    unit = _UNITS.get(metric.unit or "1", _BAD.sub("_", metric.unit or ""))
    if unit and not name.endswith("_" + unit):
        name += "_" + unit
    if _kind(metric) == "counter":
        name += "_total"
    return name


def _kind(metric: Metric) -> str:
    data = metric.data
    if isinstance(data, Histogram):
        return "histogram"
    if isinstance(data, Sum) and data.is_monotonic:
        return "counter"
    return "gauge"


def _samples(name: str, metric: Metric) -> Iterator[str]:
    data = metric.data
    if isinstance(data, Histogram):
        for point in data.data_points:
            yield from _histogram(name, point)
    elif isinstance(data, Sum | Gauge):
        for number in data.data_points:
            assert isinstance(number, NumberDataPoint)
            yield f"{name}{_labels(number.attributes)} {_value(number.value)}"


def _histogram(name: str, point: HistogramDataPoint) -> Iterator[str]:
    running = 0
    bounds: Sequence[float] = point.explicit_bounds
    for bound, count in zip([*bounds, math.inf], point.bucket_counts, strict=True):
        running += count
        yield f"{name}_bucket{_labels(point.attributes, le=_value(bound))} {running}"
    yield f"{name}_sum{_labels(point.attributes)} {_value(point.sum)}"
    yield f"{name}_count{_labels(point.attributes)} {point.count}"


def _labels(attributes: Mapping[str, Any] | None, **extra: str) -> str:
    pairs = [(_BAD.sub("_", str(k)), str(v)) for k, v in sorted((attributes or {}).items())]
    pairs += list(extra.items())
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{_escape_label(v)}"' for k, v in pairs) + "}"


def _value(value: float | int) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


def _escape_label(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _escape_help(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n")
