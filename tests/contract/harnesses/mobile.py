"""Contract harnesses for MobilePayChannel: WeChat Pay and Alipay against the provider simulator.

Everything crosses real HTTP on 127.0.0.1: the channel calls the simulator, and the
simulator's callbacks reach a WSGI receiver (``CallbackWSGI`` under wsgiref) that applies
them to the test's Collector. Behaviours map to the simulator's faults and payers:
``approve``/``pending`` (the payer opens the order), ``decline`` (a business refusal),
``refuse`` (the simulator stops listening), ``lose_request``, ``lose_reply`` and
``garble_reply`` (the last two with a payer who pays at once, i.e. money taken).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, ClassVar
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from paychannels import Channel, Collector, Money, Record, open_channel
from paychannels.callbacks import CallbackWSGI
from paychannels.channels.mobile import MobilePayChannel
from paychannels.simulators.provider import ProviderSimulator, Script, SimKeys
from tests.contract.harnesses import Harness

_KEYS: SimKeys | None = None
_KEYS_LOCK = threading.Lock()


def sim_keys() -> SimKeys:
    """One set of simulator keys per test process (RSA generation costs about a second)."""
    global _KEYS
    with _KEYS_LOCK:
        if _KEYS is None:
            _KEYS = SimKeys.generate()
        return _KEYS


def started_sim() -> Iterator[ProviderSimulator]:
    """A provider simulator with those keys, sending no callbacks, stopped after: the
    payment-code tests' ``sim`` fixture (``sim = pytest.fixture(started_sim, name="sim")``)."""
    with ProviderSimulator(sim_keys(), auto_notify=False) as sim:
        yield sim


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Receiver:
    """A WSGI callback receiver on 127.0.0.1, bound to a Collector once one exists."""

    def __init__(self) -> None:
        self.app: CallbackWSGI | None = None
        self.server: WSGIServer = make_server("127.0.0.1", 0, self._wsgi, handler_class=_Quiet)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/notify"

    def bind(self, collector: Collector, channel: str) -> None:
        if self.app is None or self.app.handler.collector is not collector:
            self.app = CallbackWSGI(collector, routes={"/notify": channel})

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        return self.app(environ, start_response)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class MobileHarness(Harness):
    """Shared by both providers; subclasses say which and how to open the channel."""

    provider: ClassVar[str]
    supports = frozenset(
        {"approve", "decline", "pending", "refuse", "lose_request", "lose_reply", "garble_reply"}
    )

    def open(self) -> Channel:
        self.sim = ProviderSimulator(sim_keys(), auto_notify=False, script=Script()).start()
        self.receiver = Receiver()
        self.channel = self._channel()
        return self.channel

    def _channel(self) -> MobilePayChannel:
        raise NotImplementedError

    def script(self, behaviour: str) -> None:
        if self.sim.server.paused:
            self.sim.server.resume()
        self.sim.script.clear()
        match behaviour:
            case "approve" | "pending":
                self.sim.script.payer("open")
            case "decline":
                self.sim.script.fault("decline")
            case "refuse":
                self.sim.server.pause()
            case "lose_request":
                self.sim.script.fault("lose_request")
            case "lose_reply" | "garble_reply":
                self.sim.script.fault(behaviour)
                self.sim.script.payer("pay_now")
            case _:
                raise ValueError(f"{self.name} cannot be scripted to {behaviour}")

    def charges(self, record: Record) -> int:
        return self.sim.charges(record.id)

    def refunded(self, record: Record) -> Money:
        return Money.of_minor(self.sim.refunded_minor(record.id), record.amount.currency)

    def finish_pending(self, collector: Collector, record: Record, *, paid: bool) -> None:
        self.receiver.bind(collector, record.channel)
        if not paid:
            self.sim.expire(self.provider, record.id)
            collector.recover()
            return
        self.sim.pay(self.provider, record.id)
        attempt = self.sim.deliver(self.provider, record.id)
        assert attempt.accepted, f"the receiver refused a genuine callback: {attempt}"

    def transcript(self) -> str:
        return self.channel.transcript()

    def close(self) -> None:
        self.sim.stop()
        self.receiver.close()


class WechatHarness(MobileHarness):
    """WeChat Pay v3 Native, both key modes configured, over real HTTP."""

    name = "wechatpay"
    provider = "wechatpay"

    def _channel(self) -> MobilePayChannel:
        k = self.sim.keys
        url = f"wechatpay+{self.sim.url}?mchid={k.mchid}&appid={k.appid}&trade_type=native"
        ch = open_channel(url, notify_url=self.receiver.url, backoff=0.01, **k.wechat_options())
        assert isinstance(ch, MobilePayChannel)
        return ch

    def secrets(self) -> list[str]:
        k = sim_keys()
        pem = str(k.wechat_options()["private_key"]).splitlines()
        return [k.apiv3_key, pem[5], pem[10]]


class AlipayHarness(MobileHarness):
    """Alipay precreate (QR code), over real HTTP."""

    name = "alipay"
    provider = "alipay"

    def _channel(self) -> MobilePayChannel:
        k = self.sim.keys
        url = f"alipay+{self.sim.alipay_gateway}?app_id={k.alipay_app_id}&product=precreate"
        ch = open_channel(
            url,
            notify_url=self.receiver.url,
            seller_id=k.alipay_seller_id,
            backoff=0.01,
            **k.alipay_options(),
        )
        assert isinstance(ch, MobilePayChannel)
        return ch

    def secrets(self) -> list[str]:
        pem = str(sim_keys().alipay_options()["app_private_key"]).splitlines()
        return [pem[5], pem[10]]


HARNESSES: dict[str, type[Harness]] = {"wechatpay": WechatHarness, "alipay": AlipayHarness}
