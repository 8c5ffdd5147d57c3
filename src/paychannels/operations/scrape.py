"""What ``GET /metrics`` of the callback server answers, with or without the ``otel`` extra.

With OpenTelemetry installed (``paychannels[otel]``) the worker's Collector is instrumented
(``observe.otel``) into a reader of its own, and each scrape collects it — the backlog gauges
read from the journal then — and renders Prometheus text (``observe.prometheus``). Without
the extra ``/metrics`` is a 404 whose text names the extra: a scraper marks the target down
instead of reading an empty page as "all is well".
"""

from __future__ import annotations

import logging

from paychannels.collector import Collector

__all__ = ["MISSING", "NoMetrics", "OtelMetrics", "metrics_for"]

log = logging.getLogger("paychannels.operations")

#: the 404 body without the extra
MISSING = b"metrics need OpenTelemetry: pip install 'paychannels[otel]'\n"
_TEXT = "text/plain; charset=utf-8"


class NoMetrics:
    """``/metrics`` without the ``otel`` extra: 404 and one line naming it."""

    def scrape(self) -> tuple[int, str, bytes]:
        """404, and the line naming the extra."""
        return 404, _TEXT, MISSING

    def close(self) -> None:
        """Nothing to stop."""


class OtelMetrics:
    """The Collector's instruments read by an in-memory reader, rendered per scrape."""

    def __init__(self, collector: Collector) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        from paychannels.observe.otel import instrument

        self._reader = InMemoryMetricReader()
        self._provider = MeterProvider(metric_readers=[self._reader])
        self._telemetry = instrument(collector, meter_provider=self._provider)

    def scrape(self) -> tuple[int, str, bytes]:
        """200 and the text format 0.0.4 of everything collected now."""
        from paychannels.observe.prometheus import CONTENT_TYPE, render

        return 200, CONTENT_TYPE, render(self._reader.get_metrics_data()).encode()

    def close(self) -> None:
        """Unhook from the Collector and stop the provider."""
        self._telemetry.close()
        self._provider.shutdown()


def metrics_for(collector: Collector) -> OtelMetrics | NoMetrics:
    """``OtelMetrics`` when the extra is installed, else ``NoMetrics`` (said once in the log)."""
    try:
        return OtelMetrics(collector)
    except ImportError:
        log.warning("/metrics answers 404: %s", MISSING.decode().strip())
        return NoMetrics()
