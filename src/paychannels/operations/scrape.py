"""What ``GET /metrics`` of the callback server answers, with or without the ``otel`` extra.

With OpenTelemetry installed (``paychannels[otel]``) the worker's Collector is instrumented
(``observe.otel``) into a reader of its own, and each scrape collects it — the backlog gauges
read from the journal then — and renders Prometheus text (``observe.prometheus``); under
``serve`` the counters of all its workers are summed (``operations.siblings``). Without
the extra ``/metrics`` is a 404 whose text names the extra: a scraper marks the target down
instead of reading an empty page as "all is well".
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

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
    """The Collector's instruments read by an in-memory reader, rendered per scrape; with
    ``siblings`` (a server's folder) its counters are published and summed with theirs."""

    def __init__(self, collector: Collector, siblings: Path | None = None) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        from paychannels.observe.otel import instrument
        from paychannels.operations.siblings import Siblings

        self._reader = InMemoryMetricReader()
        self._provider = MeterProvider(metric_readers=[self._reader])
        self._telemetry = instrument(collector, meter_provider=self._provider)
        self._siblings = Siblings(siblings) if siblings is not None else None
        self._stop = threading.Event()
        if self._siblings is not None:
            threading.Thread(target=self._publish, name="metrics-publish", daemon=True).start()

    def scrape(self) -> tuple[int, str, bytes]:
        """200 and the text format 0.0.4 of everything collected now."""
        from paychannels.observe.prometheus import CONTENT_TYPE, render

        data = self._reader.get_metrics_data()
        if self._siblings is not None and data is not None:
            data = self._siblings.scraped(data)
        return 200, CONTENT_TYPE, render(data).encode()

    def close(self) -> None:
        """Publish a last time, unhook from the Collector and stop the provider."""
        self._stop.set()
        if self._siblings is not None and (data := self._reader.get_metrics_data()) is not None:
            self._siblings.publish(data)
        self._telemetry.close()
        self._provider.shutdown()

    def _publish(self) -> None:
        from paychannels.operations.siblings import PUBLISH_EVERY

        assert self._siblings is not None
        while not self._stop.wait(PUBLISH_EVERY):
            data = self._reader.get_metrics_data()
            if data is not None:
                self._siblings.publish(data)


def metrics_for(collector: Collector, siblings: Path | None = None) -> OtelMetrics | NoMetrics:
    """``OtelMetrics`` when the extra is installed, else ``NoMetrics`` (said once in the log)."""
    try:
        return OtelMetrics(collector, siblings)
    except ImportError:
        log.warning("/metrics answers 404: %s", MISSING.decode().strip())
        return NoMetrics()
