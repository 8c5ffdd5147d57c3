"""HTTP to providers and cloud terminals: one httpx client, explicit timeouts, and the one
place errors are mapped.

The safety rule is in the mapping. Only a failure that provably happened before any byte of
the request left (connection refused, connect timeout, no free pooled connection) is
retried, with tenacity, and ends as ``ProviderUnreachable`` (a ``NotSentError``: safe to
send again). Anything after the request may have been written (read timeout, connection
dropped mid-answer) is ``ProviderNoAnswer`` (an ``OutcomeUnknownError``: ask, never resend
blindly). Transports are pluggable (``httpx.MockTransport`` or a real one).

TLS is always verified: against the system's trust store, or against a CA bundle the
deployment names (``ca_bundle``, a private cloud's or a test front's CA). A certificate that
fails is ``CertificateRejected``: nothing was sent (the handshake ended before the request),
and it is not retried, since the certificate will not change between attempts.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from paychannels.security.verification import Headers
from paychannels.values.errors import (
    ConfigurationError,
    LinkError,
    NotSentError,
    OutcomeUnknownError,
)

__all__ = [
    "CertificateRejected",
    "HttpCall",
    "HttpReply",
    "ProviderHTTP",
    "ProviderNoAnswer",
    "ProviderUnreachable",
    "Transcript",
]

log = logging.getLogger("paychannels.links.http")

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_MAX_BODY = 1 << 20
_SHOWN = 2000


@dataclass(frozen=True, slots=True)
class HttpCall:
    """One request to a provider, signed and ready; ``action`` names it for logs and faults."""

    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    action: str = ""


@dataclass(frozen=True, slots=True)
class HttpReply:
    """A provider's answer as it came off the wire."""

    status: int
    headers: Headers
    body: bytes


class ProviderUnreachable(NotSentError, LinkError):
    """The provider could not be reached at all: nothing was sent, sending again is safe."""


class CertificateRejected(ProviderUnreachable):
    """The server's TLS certificate failed verification; ``problem`` is OpenSSL's reason
    (unknown issuer, expired, hostname mismatch). Nothing was sent."""

    def __init__(self, message: str, problem: str) -> None:
        super().__init__(message)
        self.problem = problem


class ProviderNoAnswer(OutcomeUnknownError):
    """The request may have reached the provider but no complete answer came back."""


class Transcript:
    """The last exchanges with a provider, scrubbed, for field tests and support."""

    def __init__(self, scrub: Callable[[str], str], *, keep: int = 500) -> None:
        self._scrub = scrub
        self._lines: deque[str] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def add(self, direction: str, head: str, body: bytes) -> None:
        """Record one request (``>``) or answer (``<``)."""
        text = body[:_SHOWN].decode("utf-8", "replace")
        line = self._scrub(f"{direction} {head} {text}".rstrip())
        with self._lock:
            self._lines.append(line)

    def text(self) -> str:
        """Everything recorded, one exchange half per line."""
        with self._lock:
            return "\n".join(self._lines)


class ProviderHTTP:
    """Sends ``HttpCall``s to one provider base URL."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        attempts: int = 3,
        backoff: float = 0.2,
        transport: httpx.BaseTransport | None = None,
        transcript: Transcript | None = None,
        sleep: Callable[[float], None] | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.ca_bundle = ca_bundle
        self.timeout = timeout
        self.transcript = transcript
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
            transport=transport,
            verify=trust(ca_bundle) if ca_bundle else True,  # True: httpx's CAs (certifi)
            follow_redirects=False,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    def send(
        self, call: HttpCall, *, max_body: int = _MAX_BODY, timeout: float | None = None
    ) -> HttpReply:
        """Send one call; ``ProviderUnreachable`` or ``ProviderNoAnswer`` when it fails.

        ``call.path`` is relative to the base URL, or an absolute URL the channel has
        checked (a bill on the provider's file host); ``max_body`` bounds the answer;
        ``timeout`` (seconds) replaces the client's read timeout for this call (a bill takes
        a provider longer to put together than a payment).
        """
        absolute = call.path.startswith(("https://", "http://"))
        request = self._client.build_request(
            call.method,
            call.path if absolute else self.base_url + call.path,
            content=call.body,
            headers=list(call.headers),
            timeout=(
                httpx.Timeout(timeout, connect=self._client.timeout.connect)
                if timeout is not None
                else httpx.USE_CLIENT_DEFAULT
            ),
        )
        if self.transcript is not None:
            self.transcript.add(">", f"{call.method} {call.path}", call.body)
        retrying = Retrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=self._backoff, max=2.0),
            reraise=False,
            sleep=self._sleep or time.sleep,
        )
        try:
            response = retrying(self._client.send, request, stream=True)
            try:
                body = _read_bounded(response, max_body)
            finally:
                response.close()
        except httpx.ConnectError as exc:  # not retried: a certificate the server presented
            raise self._rejected(call, exc) from None
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            raise ProviderUnreachable(
                f"{call.action or call.method} to {self.base_url} not sent after "
                f"{self._attempts} attempts: {type(cause).__name__}: {cause}"
            ) from None
        except httpx.UnsupportedProtocol as exc:
            raise ConfigurationError(f"{self.base_url}: {exc}") from None
        except httpx.HTTPError as exc:
            raise ProviderNoAnswer(
                f"{call.action or call.method} to {self.base_url} sent, no complete answer: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        if body is None:
            raise ProviderNoAnswer(f"{self.base_url} answered more than {max_body} bytes; refused")
        if self.transcript is not None:
            self.transcript.add("<", f"{response.status_code} {call.action}", body)
        log.debug("%s %s -> %s", call.method, call.action, response.status_code)
        return HttpReply(response.status_code, Headers(response.headers.multi_items()), body)

    def _rejected(self, call: HttpCall, exc: httpx.ConnectError) -> CertificateRejected:
        problem = certificate_problem(exc) or str(exc)
        against = f"the CA bundle {self.ca_bundle}" if self.ca_bundle else "the default CAs"
        hint = "" if self.ca_bundle else " (a private CA? name it with ca_bundle=/path/ca.pem)"
        return CertificateRejected(
            f"{call.action or call.method} to {self.base_url} not sent: its TLS certificate "
            f"failed verification against {against}: {problem}{hint}",
            problem,
        )

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()


def trust(ca_bundle: str) -> ssl.SSLContext:
    """A verifying TLS context that trusts only the CAs in ``ca_bundle`` (PEM)."""
    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        problem = f"ca_bundle {ca_bundle}: not a readable PEM file of CAs ({exc})"
        raise ConfigurationError(problem) from None


def certificate_problem(exc: BaseException) -> str | None:
    """OpenSSL's reason when ``exc`` was caused by a failed certificate check, else None."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return str(seen.verify_message or seen.reason or seen)
        seen = seen.__cause__ or seen.__context__
    return None


def _retryable(exc: BaseException) -> bool:
    """Retry what provably left nothing, except a certificate (it will fail the same way)."""
    return isinstance(exc, _NOT_SENT) and certificate_problem(exc) is None


def _read_bounded(response: httpx.Response, limit: int) -> bytes | None:
    """The whole body, or None as soon as it grows past ``limit`` (not read any further)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
