"""A ready WSGI app for provider callbacks, to mount in any WSGI backend (or run alone).

Reads at most the size limit from ``wsgi.input`` (a declared ``Content-Length`` above it is
refused unread), passes the raw bytes and the request headers (``HTTP_*`` keys) to
``CallbackHandler``, and answers with the provider's reply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from paychannels.callbacks.routes import CallbackApp
from paychannels.channels.base import Reply

__all__ = ["CallbackWSGI"]

StartResponse = Callable[..., Any]


class CallbackWSGI(CallbackApp):
    """``CallbackWSGI(collector)``: POST ``/callbacks/<channel>`` → the provider's reply.

    Options as ``CallbackApp``: ``prefix``, ``routes``, ``max_body``.
    """

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        channel = self.routes.channel(path) or self.routes.channel(environ.get("PATH_INFO", ""))
        if channel is None:
            return _answer(start_response, Reply(status_code=404))
        if environ.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, Reply(status_code=405, headers={"Allow": "POST"}))
        body = self._body(environ)
        if body is None:
            return _answer(start_response, self.too_large(channel))
        headers = [(k, v) for k, v in environ.items() if k.startswith("HTTP_")]
        if environ.get("CONTENT_TYPE"):
            headers.append(("Content-Type", environ["CONTENT_TYPE"]))
        return _answer(start_response, self.handler.handle(channel, headers, body))

    def _body(self, environ: dict[str, Any]) -> bytes | None:
        limit = self.handler.max_body
        declared = environ.get("CONTENT_LENGTH") or ""
        stream = environ["wsgi.input"]
        if declared.isdigit():
            if int(declared) > limit:
                return None
            data: bytes = stream.read(int(declared))
            return data
        data = stream.read(limit + 1)
        return None if len(data) > limit else data


def _answer(start_response: StartResponse, reply: Reply) -> list[bytes]:
    try:
        phrase = HTTPStatus(reply.status_code).phrase
    except ValueError:
        phrase = "Status"
    headers = [*reply.headers.items(), ("Content-Length", str(len(reply.body)))]
    start_response(f"{reply.status_code} {phrase}", headers)
    return [reply.body]
