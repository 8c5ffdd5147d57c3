"""The payer's own check as an ASGI app, for a hall kiosk or a township's web page.

``POST`` a JSON body ``{"id_number": "...", "name": "..."}`` (a body, never a query string:
query strings land in every access log and proxy log on the way). The answer is JSON:
200 with the masked obligations, 404 ``found: false`` for an unknown number *or* a wrong
name (the same body, by the same steps), 400 for a number that cannot be one (typed, the
number masked), 429 with ``Retry-After`` when the client asked too often. The app is its own
ASGI application; mount it beside the callback app (``CallbackASGI``) or run it alone.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
from collections.abc import Iterable

from paychannels.documents.lookuptexts import both
from paychannels.documents.payercheck import (
    InvalidIdNumber,
    InvalidName,
    PayerCheck,
    PayerIndex,
)
from paychannels.journal import open_journal
from paychannels.links.asgi import Receive, Scope, Send, Workers, read_body, send_response
from paychannels.lookup.ratelimit import ClientLimiter
from paychannels.runtime.countytime import zone_named
from paychannels.security.jsontext import strict_object
from paychannels.security.payerkey import PayerKey
from paychannels.security.verification import MalformedCallback
from paychannels.values.errors import ConfigurationError, PaychannelsError

__all__ = ["DEFAULT_MAX_BODY", "LookupASGI", "from_env"]

log = logging.getLogger("paychannels.lookup")

#: a number and a name fit in far less; anything bigger is not a check
DEFAULT_MAX_BODY = 2048
_FIELDS = frozenset({"id_number", "name"})


class LookupASGI:
    """``LookupASGI(check)``: ``POST`` (at whatever path it is mounted) → the answer.

    ``limiter`` (default 5 checks at once, then one per 6 s, per client address);
    ``trusted_proxies``: addresses of your reverse proxies, whose ``X-Forwarded-For`` names
    the client (without it every kiosk behind the proxy shares one bucket); ``allow_origins``:
    web pages on other origins that may call it (CORS); ``workers``: threads for the journal.
    """

    def __init__(
        self,
        check: PayerCheck,
        *,
        limiter: ClientLimiter | None = None,
        trusted_proxies: Iterable[str] = (),
        allow_origins: Iterable[str] = (),
        max_body: int = DEFAULT_MAX_BODY,
        workers: int = 4,
    ) -> None:
        self.check = check
        self.limiter = limiter or ClientLimiter()
        self.trusted_proxies = frozenset(trusted_proxies)
        self.allow_origins = frozenset(allow_origins)
        self.max_body = max_body
        self.workers = Workers(workers, "lookup")

    def __repr__(self) -> str:
        return f"LookupASGI({self.check!r}, {self.limiter!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if await self.workers.not_http(scope, receive, send):
            return
        client = self.client_address(scope)
        status, body, extra = await self._answer(scope, receive, client)
        log.info("lookup %s %s %d", client, scope.get("method"), status)
        await self._send(send, status, body, extra, self._origin(scope))

    def client_address(self, scope: Scope) -> str:
        """The client the rate limit counts: the peer, or the client a trusted proxy names;
        an IPv6 client by its /64 (one subscriber's network: its addresses are free)."""
        peer = scope.get("client") or ("-", 0)
        address = str(peer[0])
        if address in self.trusted_proxies:
            for name, value in scope.get("headers", []):
                if name == b"x-forwarded-for":
                    text = bytes(value).decode("latin-1")
                    hops = [h.strip() for h in text.split(",") if h.strip()]
                    # the nearest hop that is not one of our proxies
                    address = next(
                        (h for h in reversed(hops) if h not in self.trusted_proxies), address
                    )
        return _bucket(address)

    async def _answer(
        self, scope: Scope, receive: Receive, client: str
    ) -> tuple[int, dict[str, object] | None, dict[str, str]]:
        method = scope.get("method")
        if method == "OPTIONS" and self.allow_origins:
            return 204, None, {"access-control-allow-methods": "POST",
                               "access-control-allow-headers": "content-type",
                               "access-control-max-age": "600"}  # fmt: skip
        if method != "POST":
            return 405, _error("method_not_allowed", "invalid_body"), {"allow": "POST"}
        wait = self.limiter.take(client)
        if wait:
            return 429, _error("too_many_requests", "too_many"), {"retry-after": str(wait)}
        if scope.get("query_string"):
            return 400, _error("query_string_refused", "invalid_body"), {}
        if _content_type(scope) != "application/json":
            return 415, _error("unsupported_media_type", "invalid_body"), {}
        raw = await read_body(receive, self.max_body)
        if raw is None:
            return 413, _error("body_too_large", "invalid_body"), {}
        try:
            fields = strict_object(raw, where="lookup body")
        except MalformedCallback:
            return 400, _error("invalid_body", "invalid_body"), {}
        if set(fields) != _FIELDS or not all(isinstance(v, str) for v in fields.values()):
            return 400, _error("invalid_body", "invalid_body"), {}
        return await self._checked(fields["id_number"], fields["name"])

    async def _checked(
        self, number: str, name: str
    ) -> tuple[int, dict[str, object] | None, dict[str, str]]:
        try:
            answer = await self.workers.run(self.check.check, number, name)
        except InvalidIdNumber as exc:
            body = _error("invalid_id_number", "invalid_id_number")
            body.update(reason=exc.reason, id_number=exc.shown)
            return 400, body, {}
        except InvalidName as exc:
            body = _error("invalid_name", "invalid_name")
            body.update(reason=exc.reason)
            return 400, body, {}
        except PaychannelsError as exc:  # the journal unreachable: say so, name nobody
            log.warning("lookup: the check failed: %s", type(exc).__name__)
            return 503, _error("unavailable", "unavailable"), {"retry-after": "30"}
        except Exception as exc:  # a bug: the type only, its text may hold the number
            log.error("lookup: the check failed unexpectedly: %s", type(exc).__name__)
            return 500, _error("internal_error", "unavailable"), {}
        return (200 if answer.found else 404), answer.as_json(), {}

    def _origin(self, scope: Scope) -> str | None:
        for name, value in scope.get("headers", []):
            if name == b"origin":
                origin = bytes(value).decode("latin-1")
                return origin if origin in self.allow_origins else None
        return None

    async def _send(
        self,
        send: Send,
        status: int,
        body: dict[str, object] | None,
        extra: dict[str, str],
        origin: str | None,
    ) -> None:
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {
            "content-type": "application/json; charset=utf-8",
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
            **extra,
        }
        if origin is not None:
            headers["access-control-allow-origin"] = origin
            headers["vary"] = "Origin"
        await send_response(send, status, headers, data)

    def close(self) -> None:
        """Stop the worker threads (when not run under a server with lifespan)."""
        self.workers.close()


def _bucket(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip.ipv4_mapped or ip) if ip.version == 6 else str(ip)


def _error(code: str, text: str) -> dict[str, object]:
    return {"error": code, "message": both(text)}


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return bytes(value).decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


def from_env() -> LookupASGI:
    """The app as ``uvicorn --factory paychannels.lookup.asgi:from_env`` starts it:
    ``PAYCHANNELS_LOOKUP_INDEX`` (the index file), ``PAYCHANNELS_LOOKUP_KEY``,
    ``PAYCHANNELS_DB``; optional ``PAYCHANNELS_LOOKUP_BURST``/``_INTERVAL`` (rate),
    ``_PROXIES`` and ``_ORIGINS`` (comma-separated), ``_ZONE`` (Asia/Shanghai)."""
    env = os.environ
    index_file, db = env.get("PAYCHANNELS_LOOKUP_INDEX", ""), env.get("PAYCHANNELS_DB", "")
    if not index_file or not db:
        raise ConfigurationError("set PAYCHANNELS_LOOKUP_INDEX and PAYCHANNELS_DB")
    index = PayerIndex.load(PayerKey.from_env(), index_file)
    zone = zone_named(env.get("PAYCHANNELS_LOOKUP_ZONE", "Asia/Shanghai"))
    try:
        limiter = ClientLimiter(
            burst=int(env.get("PAYCHANNELS_LOOKUP_BURST", "5")),
            interval=float(env.get("PAYCHANNELS_LOOKUP_INTERVAL", "6")),
        )
    except ValueError:
        raise ConfigurationError("PAYCHANNELS_LOOKUP_BURST/INTERVAL must be numbers") from None
    return LookupASGI(
        PayerCheck(index, open_journal(db), zone=zone),
        limiter=limiter,
        trusted_proxies=_listed(env.get("PAYCHANNELS_LOOKUP_PROXIES", "")),
        allow_origins=_listed(env.get("PAYCHANNELS_LOOKUP_ORIGINS", "")),
    )


def _listed(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
