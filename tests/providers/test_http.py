"""The one place HTTP failures are mapped: only provably unsent requests are retried."""

from __future__ import annotations

import httpx
import pytest

from paychannels import LinkError, NotSentError, OutcomeUnknownError
from paychannels.links.http import HttpCall, ProviderHTTP, ProviderNoAnswer, ProviderUnreachable

CALL = HttpCall("POST", "/v3/pay/transactions/native", b"{}", (), "create")


def client(handler: object, attempts: int = 3) -> tuple[ProviderHTTP, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)  # type: ignore[operator, no-any-return]

    http = ProviderHTTP(
        "https://api.example", transport=httpx.MockTransport(respond), attempts=attempts,
        sleep=lambda _: None,
    )  # fmt: skip
    return http, seen


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_connect_failures_are_retried_then_not_sent(error: type[Exception]) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error("refused", request=request)  # type: ignore[call-arg]

    http, seen = client(fail, attempts=3)
    with pytest.raises(ProviderUnreachable) as info:
        http.send(CALL)
    assert isinstance(info.value, NotSentError) and isinstance(info.value, LinkError)
    assert len(seen) == 3


@pytest.mark.parametrize(
    "error", [httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError]
)
def test_failures_after_sending_are_never_retried(error: type[Exception]) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error("lost", request=request)  # type: ignore[call-arg]

    http, seen = client(fail)
    with pytest.raises(ProviderNoAnswer) as info:
        http.send(CALL)
    assert isinstance(info.value, OutcomeUnknownError)
    assert len(seen) == 1, "a request that may have arrived is asked about, not resent"


def test_a_refused_connect_then_success_sends_once() -> None:
    calls = iter([httpx.ConnectError, None])

    def flaky(request: httpx.Request) -> httpx.Response:
        error = next(calls)
        if error is not None:
            raise error("refused", request=request)
        return httpx.Response(200, content=b"{}")

    http, seen = client(flaky)
    assert http.send(CALL).status == 200
    assert len(seen) == 2


def test_transcript_is_scrubbed() -> None:
    from paychannels.links.http import Transcript

    transcript = Transcript(lambda text: text.replace("SECRET", "[REDACTED]"))
    http = ProviderHTTP(
        "https://api.example",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=b"ok SECRET")),
        transcript=transcript,
    )
    http.send(HttpCall("POST", "/x", b"body SECRET", (), "create"))
    assert "SECRET" not in transcript.text() and "[REDACTED]" in transcript.text()
