"""HTTP to the terminal's cloud: ``/sync`` answers on the call, ``/async`` answers ``ok``.

Built on ``ProviderHTTP`` (one pooled httpx client per timeout class, explicit timeouts,
tenacity retries *only* for failures before a byte left: connect refused or timed out, no
free pooled connection). What the HTTP status means is decided here, once:

- 200: the body is the answer (an empty body is the answer to an abort);
- 400, 401, 403, 404, 405, 413, 415, 422, 429: the cloud turned the request away before
  handing it to a terminal (wrong key, path, format, rate) -> ``CloudRefused``, a
  ``NotSentError``: nothing ran, sending again is safe once fixed;
- anything else (5xx, redirects...): the request may have reached the terminal ->
  ``CloudNoAnswer``, an ``OutcomeUnknownError``: ask for its status, never resend.

The API key travels in the ``x-api-key`` header and is never recorded. TLS is always
verified (``ca_bundle`` names a private CA); a certificate that fails is
``CertificateRejected``, a ``NotSentError``: the handshake ended before the request left.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from paychannels.drivers.nexo.envelope import Reply, SaleToPOIRequest, decode_reply, encode
from paychannels.links.http import HttpCall, HttpReply, ProviderHTTP, Transcript
from paychannels.values.errors import NotSentError, OutcomeUnknownError, ProtocolError

__all__ = ["Cloud", "CloudNoAnswer", "CloudRefused", "Exchanges", "Timeouts"]

_TURNED_AWAY = frozenset({400, 401, 403, 404, 405, 413, 415, 422, 429})
_SHOWN = 2000


class Exchanges(Transcript):
    """The last exchanges with the cloud, scrubbed when read rather than on every request.

    Scrubbing a few kilobytes of JSON costs more than the rest of a payment's client work, and
    the transcript is read rarely (a support case, a field test); what leaves it is masked.
    """

    def __init__(self, scrub: Callable[[str], str], *, keep: int = 500) -> None:
        super().__init__(scrub, keep=keep)
        self._raw: deque[tuple[str, str, bytes]] = deque(maxlen=keep)
        self._raw_lock = threading.Lock()

    def add(self, direction: str, head: str, body: bytes) -> None:
        with self._raw_lock:
            self._raw.append((direction, head, body[:_SHOWN]))

    def text(self) -> str:
        with self._raw_lock:
            items = list(self._raw)
        for direction, head, body in items:
            super().add(direction, head, body)
        with self._raw_lock:
            self._raw.clear()
        return super().text()


class CloudRefused(NotSentError):
    """The cloud refused the request before any terminal saw it (``status`` says why)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class CloudNoAnswer(OutcomeUnknownError):
    """The cloud answered with an error after the request may have reached the terminal."""


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds: a payment's answer (the cardholder is slow), a status or abort, the connect."""

    payment: float = 180.0
    query: float = 30.0
    connect: float = 5.0


class Cloud:
    """Posts nexo requests to ``<base><path>/sync`` and ``/async``."""

    def __init__(
        self,
        base_url: str,
        path: str,
        *,
        api_key: str | None,
        timeouts: Timeouts = Timeouts(),
        attempts: int = 3,
        backoff: float = 0.2,
        transport: httpx.BaseTransport | None = None,
        transcript: Transcript | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.path = path.rstrip("/")
        self._headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
        if api_key:
            self._headers += (("x-api-key", api_key),)
        self._payments, self._queries = (
            ProviderHTTP(
                self.base_url,
                timeout=timeout,
                connect_timeout=timeouts.connect,
                attempts=attempts,
                backoff=backoff,
                transport=transport,
                transcript=transcript,
                ca_bundle=ca_bundle,
            )
            for timeout in (timeouts.payment, timeouts.query)
        )
        self.transcript = transcript

    def _post(self, endpoint: str, message: SaleToPOIRequest, *, long: bool) -> HttpReply:
        header = message.MessageHeader
        action = f"{header.MessageCategory} {header.ServiceID} /{endpoint}"
        call = HttpCall("POST", f"{self.path}/{endpoint}", encode(message), self._headers, action)
        reply = (self._payments if long else self._queries).send(call)
        if reply.status == 200:
            return reply
        said = reply.body[:200].decode("utf-8", "replace")
        if reply.status in _TURNED_AWAY:
            hint = " (check the API key)" if reply.status in (401, 403) else ""
            raise CloudRefused(
                f"the cloud refused {action} with HTTP {reply.status}{hint}; nothing ran: {said}",
                reply.status,
            )
        raise CloudNoAnswer(
            f"the cloud answered {action} with HTTP {reply.status}; the terminal may have "
            f"it: {said}"
        )

    def sync(self, message: SaleToPOIRequest, *, long: bool = False) -> Reply | None:
        """Send and read the answer (None: an empty 200, which is how an abort is answered)."""
        body = self._post("sync", message, long=long).body
        return decode_reply(body) if body.strip() else None

    def send_async(self, message: SaleToPOIRequest) -> Reply | None:
        """Hand a request over for an answer by notification: None when the cloud says ``ok``;
        a refusal or an event when it answers at once instead."""
        body = self._post("async", message, long=False).body.strip()
        if body.lower() in (b"ok", b'"ok"'):
            return None
        return decode_reply(body)

    def fetch(self, url: str, *, limit: int, timeout: float) -> bytes:
        """GET a file (a settlement report) at an absolute URL the channel configured."""
        call = HttpCall("GET", url, b"", self._headers[1:], f"GET {url.rsplit('/', 1)[-1]}")
        reply = self._queries.send(call, max_body=limit, timeout=timeout)
        if reply.status != 200:
            said = reply.body[:200].decode("utf-8", "replace")
            raise ProtocolError(f"{url} answered HTTP {reply.status}: {said}")
        return reply.body

    def close(self) -> None:
        """Close the pooled connections."""
        self._payments.close()
        self._queries.close()
