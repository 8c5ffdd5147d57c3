"""The callback apps as a backend serves them from a prefork server (``test_fork_servers``).

Imported once in gunicorn's master (``--preload``: the Collector, its journal connection and
its owner are made *before* the fork) or once per uvicorn worker. Configured from the
environment the test sets; each request's worker pid and owner name go to a log file.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from paychannels import Collector
from paychannels.callbacks import CallbackASGI, CallbackWSGI

_keys = Path(os.environ["PAYCHANNELS_FORK_KEYS"])
_ids = json.loads((_keys / "ids.json").read_text("utf-8"))
collector = Collector.open(os.environ["PAYCHANNELS_FORK_DB"])
collector.add_channel(
    "wx",
    f"wechatpay+{os.environ['PAYCHANNELS_FORK_SIM']}?mchid={_ids['mchid']}&appid={_ids['appid']}",
    config=str(_keys / "wechatpay.toml"),
)
collector.find(limit=1)  # the importing thread now holds a journal connection
_log = os.environ["PAYCHANNELS_FORK_LOG"]
_wsgi = CallbackWSGI(collector)
_asgi = CallbackASGI(collector)


def _note() -> None:
    line = f"{os.getpid()} {collector.owner}\n".encode()
    fd = os.open(_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """The WSGI callback app, noting who served the request."""
    _note()
    return _wsgi(environ, start_response)


async def asgi(scope: Any, receive: Any, send: Any) -> None:
    """The ASGI callback app, noting who served each request. It stalls its event loop a
    moment per request (a slow backend), so that the other worker takes connections too."""
    if scope["type"] == "http":
        _note()
        time.sleep(0.05)
    await _asgi(scope, receive, send)
