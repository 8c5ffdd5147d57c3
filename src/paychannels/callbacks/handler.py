"""``handle(channel, headers, raw_body) -> Reply``: provider callbacks, framework-neutral.

Built on ``Collector.handle_callback`` (verify on the raw bytes, apply through the journal)
with what a receiver needs around it: a body-size limit, headers in any shape (any case,
WSGI ``HTTP_*`` keys, repeated pairs), and a reply for every failure. A callback we cannot
take for our own reasons (journal unreachable) gets the provider's failure reply, so the
provider calls again later; a refused callback gets a clear rejection and changes nothing.
Logs name what was wrong, never a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from paychannels.channels.base import Reply
from paychannels.collector import Collector
from paychannels.security.masking import scrub
from paychannels.security.verification import CallbackRejected, Headers, PayloadTooLarge
from paychannels.values.errors import ConfigurationError

__all__ = ["DEFAULT_MAX_BODY", "CallbackHandler", "handle"]

log = logging.getLogger("paychannels.callbacks")

#: far above any genuine WeChat Pay or Alipay notification (a few KiB)
DEFAULT_MAX_BODY = 64 * 1024

HeaderSource = Mapping[str, str] | Iterable[tuple[str, str]]


class CallbackHandler:
    """Takes callbacks for the channels of one Collector."""

    def __init__(self, collector: Collector, *, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.collector = collector
        self.max_body = max_body

    def reject(self, channel: str, error: CallbackRejected | None) -> Reply:
        """The channel's failure reply (its ``reject_reply(error)``), else a plain one."""
        own = getattr(self.collector.channels.get(channel), "reject_reply", None)
        reply = own(error) if callable(own) else None
        if isinstance(reply, Reply):
            return reply
        status = error.status if error is not None else 500
        return Reply(status_code=status, headers={"Content-Type": "text/plain"}, body=b"rejected")

    def handle(self, channel: str, headers: HeaderSource, body: bytes) -> Reply:
        """Verify, apply and answer one callback; never raises."""
        if channel not in self.collector.channels:
            log.warning("callback for unknown channel %r refused", channel[:64])
            return Reply(status_code=404, headers={"Content-Type": "text/plain"}, body=b"")
        if len(body) > self.max_body:
            error = PayloadTooLarge(f"{len(body)} bytes exceed the {self.max_body} byte limit")
            log.warning("%s: callback refused: %s", channel, error)
            return self.reject(channel, error)
        try:
            return self.collector.handle_callback(channel, Headers(headers), body)
        except CallbackRejected as exc:
            log.warning("%s: callback refused: %s", channel, scrub(str(exc)))
            return self.reject(channel, exc)
        except ConfigurationError as exc:
            log.error("%s: callback not taken: %s", channel, scrub(str(exc)))
            return self.reject(channel, None)
        except Exception as exc:  # journal down, a bug: the provider must call again
            log.error(
                "%s: callback not taken, asking for a resend: %s",
                channel,
                scrub(f"{type(exc).__name__}: {exc}"),
            )
            log.debug("callback failure detail", exc_info=True)
            return self.reject(channel, None)


def handle(collector: Collector, channel: str, headers: HeaderSource, body: bytes) -> Reply:
    """One callback through a default ``CallbackHandler`` (see the module docstring)."""
    return CallbackHandler(collector).handle(channel, headers, body)
