"""Metrics and traces of a Collector through OpenTelemetry (``pip install 'paychannels[otel]'``).

``instrument(collector)`` hooks in through the Collector's public surface only: ``subscribe``
(a counter of state transitions per channel), ``instrument`` (a span around each channel verb
and the dispatch latency) and, when a reader collects, ``Journal.backlog`` and the channels'
quarantine counts (gauges of what waits for a person). Names and what to alert on:
docs/observability.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

try:
    from opentelemetry import metrics as otel_metrics
    from opentelemetry import trace as otel_trace
    from opentelemetry.context import attach, detach
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
    from opentelemetry.trace import Span, StatusCode, TracerProvider
except ImportError as missing:  # the extra is optional: say which one, once
    raise ImportError(
        "metrics and traces need OpenTelemetry: pip install 'paychannels[otel]'"
    ) from missing

from paychannels._version import __version__
from paychannels.collector import Collector
from paychannels.collector.verbs import VerbResult
from paychannels.values.models import Event, EventType

__all__ = ["DISPATCH_BUCKETS", "Quarantining", "Telemetry", "instrument"]

#: seconds: a payment code answers in under one, a terminal waits for a PIN, a bank file
#: (batch) is handed over in minutes
DISPATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
#: verbs that send a payment or a refund to the channel: their duration is dispatch latency
_DISPATCHING = frozenset({"collect", "refund"})


@runtime_checkable
class Quarantining(Protocol):
    """A channel that sets aside files it cannot read (a bank's result files)."""

    def quarantined(self) -> int:
        """How many files wait in its quarantine for a person."""
        ...


class Telemetry:
    """The instruments of one Collector; ``close()`` unhooks them."""

    def __init__(
        self,
        collector: Collector,
        meter_provider: MeterProvider | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self._collector = collector
        meter = (meter_provider or otel_metrics.get_meter_provider()).get_meter(
            "paychannels", __version__
        )
        self._tracer = (tracer_provider or otel_trace.get_tracer_provider()).get_tracer(
            "paychannels", __version__
        )
        self._transitions = meter.create_counter(
            "paychannels.transitions",
            unit="1",
            description="payment and refund status changes, by channel and from/to status",
        )
        self._dispatch = meter.create_histogram(
            "paychannels.dispatch.duration",
            unit="s",
            description="from the intent to the channel's answer, per collect or refund",
            explicit_bucket_boundaries_advisory=list(DISPATCH_BUCKETS),
        )
        meter.create_observable_gauge(
            "paychannels.backlog",
            callbacks=[self._backlog],
            unit="1",
            description="records and files that wait for a person or recover(), by kind",
        )
        self._closed = False
        self._unhook: list[Callable[[], None]] = [
            collector.subscribe(self._on_event),
            collector.instrument(self),
        ]

    def close(self) -> None:
        """Stop counting and tracing; the gauge reports nothing from now on."""
        self._closed = True
        for unhook in self._unhook:
            unhook()

    # -- the verb hook: spans and dispatch latency --------------------------------------------

    def started(self, verb: str, channel: str | None, record_id: str | None) -> object:
        """Open the verb's span and make it current, so spans below (HTTP) nest in it."""
        span = self._tracer.start_span(
            f"paychannels.{verb}", attributes=_span_attrs(channel, record_id)
        )
        token = attach(otel_trace.set_span_in_context(span))
        return span, token

    def ended(self, token: object, result: VerbResult) -> None:
        """Close the span with what the verb left; time a dispatch."""
        if isinstance(token, tuple):
            span, ctx_token = token
            assert isinstance(span, Span)
            span.set_attributes(_span_attrs(result.channel, result.record_id))
            if result.status is not None:
                span.set_attribute("paychannels.status", result.status.value)
            if result.count is not None:
                span.set_attribute("paychannels.count", result.count)
            if result.error:
                span.set_status(StatusCode.ERROR, result.error)
            detach(ctx_token)
            span.end()
        if result.verb in _DISPATCHING and result.channel and not result.error:
            self._dispatch.record(
                result.elapsed,
                {
                    "channel": result.channel,
                    "verb": result.verb,
                    "status": result.status.value if result.status else "",
                },
            )

    # -- the event subscriber: transitions ------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        """Count a status change; the event carries its channel (no journal read here)."""
        if self._closed or event.type is not EventType.STATUS or event.to_status is None:
            return
        attrs = {
            "channel": event.channel or "",
            "from": event.from_status.value if event.from_status else "",
            "to": event.to_status.value,
        }
        self._transitions.add(1, attrs)

    # -- the gauge: read when a reader collects ---------------------------------------------------

    def _backlog(self, _options: CallbackOptions) -> Iterable[Observation]:
        if self._closed or self._collector.closed:
            return []
        channels = self._collector.channels
        counts = {
            (name, kind): 0
            for name in channels
            for kind in ("unknown", "needs_attention", "dispatched_overdue")
        }
        for row in self._collector.journal.backlog(now=self._collector.clock.now()):
            counts[(row.channel, "unknown")] = row.unknown
            counts[(row.channel, "needs_attention")] = row.needs_attention
            counts[(row.channel, "dispatched_overdue")] = row.dispatched_overdue
        for name, channel in channels.items():
            if isinstance(channel, Quarantining):
                counts[(name, "quarantined_files")] = channel.quarantined()
        return [
            Observation(n, {"channel": name, "kind": kind})
            for (name, kind), n in sorted(counts.items())
        ]


def _span_attrs(channel: str | None, record_id: str | None) -> dict[str, str]:
    attrs = {}
    if channel:
        attrs["paychannels.channel"] = channel
    if record_id:
        attrs["paychannels.payment_id"] = record_id
    return attrs


def instrument(
    collector: Collector,
    *,
    meter_provider: MeterProvider | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Telemetry:
    """Count, time and trace ``collector`` (the global providers unless given)."""
    return Telemetry(collector, meter_provider, tracer_provider)
