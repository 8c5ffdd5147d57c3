"""Shared pieces of the mobile-channel tests: a real server for the callback apps, a stack.

``Served`` runs the ASGI app under uvicorn (or the WSGI app under wsgiref) on 127.0.0.1 in
a thread; ``Stack`` is a provider simulator, a Collector with a WeChat Pay and an Alipay
channel pointed at it, and the callback app the simulator's notifications reach.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import uvicorn

from paychannels import Collector, PaymentRequest, open_channel
from paychannels.callbacks import CallbackASGI, CallbackWSGI
from paychannels.channels.mobile import MobilePayChannel
from paychannels.runtime.clock import Clock
from paychannels.simulators.provider import ProviderSimulator, SimKeys
from paychannels.values.models import Payment
from paychannels.values.money import Money
from tests.loopback import free_port


class Served:
    """An app served on 127.0.0.1 in a background thread (uvicorn for ASGI, wsgiref for WSGI)."""

    def __init__(
        self, app: Any, *, asgi: bool = True, port: int | None = None, **uvicorn_options: Any
    ) -> None:
        self.port = port or free_port()
        self._asgi = asgi
        if asgi:
            config = uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
                limit_concurrency=512, backlog=2048, **uvicorn_options,
            )  # fmt: skip
            self._uvicorn = uvicorn.Server(config)
            self._thread = threading.Thread(target=self._uvicorn.run, daemon=True)
        else:

            class Quiet(WSGIRequestHandler):
                def log_message(self, format: str, *args: Any) -> None:
                    pass

            self._wsgi = make_server("127.0.0.1", self.port, app, handler_class=Quiet)
            self._thread = threading.Thread(
                target=self._wsgi.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
        self._thread.start()
        deadline = time.monotonic() + 10
        while asgi and not self._uvicorn.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        if self._asgi:
            self._uvicorn.should_exit = True
        else:
            self._wsgi.shutdown()
            self._wsgi.server_close()
        self._thread.join(timeout=10)


@dataclass
class Stack:
    """Simulator + Collector + both channels + the callback app on a real server."""

    sim: ProviderSimulator
    collector: Collector
    served: Served
    app: CallbackASGI | CallbackWSGI

    @classmethod
    def build(
        cls,
        keys: SimKeys,
        journal_url: str,
        *,
        asgi: bool = True,
        clock: Clock | None = None,
        sim: ProviderSimulator | None = None,
        expire_minutes: int = 120,
    ) -> Stack:
        sim = sim or ProviderSimulator(keys, auto_notify=False).start()
        collector = Collector.open(journal_url, clock=clock, create=True)
        app: CallbackASGI | CallbackWSGI = (
            CallbackASGI(collector) if asgi else CallbackWSGI(collector)
        )
        served = Served(app, asgi=asgi)
        wx = open_channel(
            f"wechatpay+{sim.url}?mchid={keys.mchid}&appid={keys.appid}"
            f"&expire_minutes={expire_minutes}",
            notify_url=served.url("/callbacks/wx"),
            backoff=0.01,
            **keys.wechat_options(),
        )
        ali = open_channel(
            f"alipay+{sim.alipay_gateway}?app_id={keys.alipay_app_id}"
            f"&expire_minutes={expire_minutes}",
            notify_url=served.url("/callbacks/ali"),
            seller_id=keys.alipay_seller_id,
            backoff=0.01,
            **keys.alipay_options(),
        )
        collector.add_channel("wx", wx)
        collector.add_channel("ali", ali)
        return cls(sim, collector, served, app)

    def channel(self, name: str) -> MobilePayChannel:
        ch = self.collector.channel(name)
        assert isinstance(ch, MobilePayChannel)
        return ch

    def order(self, channel: str, key: str, amount: str = "380.00") -> Payment:
        return self.collector.collect(
            PaymentRequest(
                payer_id=f"payer-{key}",
                amount=Money(amount, "CNY"),
                reference=f"ref-{key}",
                idempotency_key=key,
                description="城乡居民养老保险 2026",
            ),
            channel=channel,
        )

    def close(self) -> None:
        self.served.close()
        if isinstance(self.app, CallbackASGI):
            self.app.close()
        self.sim.stop()
        self.collector.close()


PROVIDER = {"wx": "wechatpay", "ali": "alipay"}
