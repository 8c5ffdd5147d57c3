"""Contract harnesses for payment codes: WeChat Pay 付款码, and what Alipay's (alipaycode) shares.

The clerk scans a fresh one-time code of a simulated wallet for each payment (``prepare``);
behaviours map to the payer and the simulator: ``approve`` (enough balance, confirms at
once), ``decline`` (the code has expired), ``insufficient_funds`` (a short balance),
``lose_reply``/``garble_reply`` (charged, the answer lost or unreadable). Not scripted, on
purpose: ``refuse`` and ``lose_request`` end NOT_SENT, and a payment code is never sent again
on a retry of the key (the suite's retry would be "scan again"), nor is there a ``pending``
(a code payment is settled, or reversed, while the clerk waits). The device's truth is the
wallets: charges and refunds per order.
"""

from __future__ import annotations

import itertools
from abc import abstractmethod
from typing import Any, ClassVar

from paychannels import Channel, Money, PaymentRequest, Record, open_channel
from paychannels.channels.codepay import CodePayChannel
from paychannels.simulators.provider import ProviderSimulator, Script
from paychannels.values.paymentcode import PaymentCode
from tests.contract.harnesses import Harness
from tests.contract.harnesses.mobile import sim_keys

_payers = itertools.count(1)


class CodeHarness(Harness):
    """Shared by both providers' code channels: a wallet and a fresh code per payment;
    subclasses say which provider and how its channel is opened."""

    provider: ClassVar[str]
    payer_prefix: ClassVar[str]
    supports = frozenset({"approve", "decline", "insufficient_funds", "lose_reply", "garble_reply"})

    @abstractmethod
    def channel_url(self, sim: ProviderSimulator) -> tuple[str, dict[str, Any]]:
        """The channel's URL on the simulator and its options (keys)."""

    def open(self) -> Channel:
        self.sim = ProviderSimulator(sim_keys(), auto_notify=False, script=Script()).start()
        url, options = self.channel_url(self.sim)
        ch = open_channel(url, **options)
        assert isinstance(ch, CodePayChannel)
        self.channel = ch
        self.codes: list[str] = []
        self._next = "approve"
        return ch

    def script(self, behaviour: str) -> None:
        self.sim.script.clear()
        if behaviour in ("lose_reply", "garble_reply"):
            self.sim.script.fault(behaviour)
        elif behaviour not in self.supports:
            raise ValueError(f"{self.name} cannot be scripted to {behaviour}")
        self._next = behaviour

    def prepare(self, request: PaymentRequest) -> PaymentRequest:
        payer = f"{self.payer_prefix}-{next(_payers)}"
        short = self._next == "insufficient_funds"
        self.sim.wallets.open(payer, request.amount.minor - 1 if short else 10_000_000)
        code = self.sim.wallets.code(payer, self.provider)
        if self._next == "decline":
            self.sim.wallets.expire(code)
        self.codes.append(code)
        return request.model_copy(update={"payment_code": PaymentCode.parse(code)})

    def charges(self, record: Record) -> int:
        return self.sim.wallets.charges(record.id)

    def transcript(self) -> str:
        return self.channel.transcript()

    def secrets(self) -> list[str]:
        return [*self.codes, *(c[2:-4] for c in self.codes)]

    def close(self) -> None:
        self.sim.stop()


class WechatCodePayHarness(CodeHarness):
    """WeChat Pay v3 codepay over real HTTP; short waits so USERPAYING cases stay fast."""

    name = "wechatpay+codepay"
    provider = "wechatpay"
    payer_prefix = "payer"

    def channel_url(self, sim: ProviderSimulator) -> tuple[str, dict[str, Any]]:
        k = sim.keys
        url = (
            f"wechatpay+{sim.url}?mchid={k.mchid}&appid={k.appid}&trade_type=codepay"
            "&wait_interval=0.05&wait_limit=0.5"
        )
        return url, {"notify_url": "http://127.0.0.1:9/n", "backoff": 0.01, **k.wechat_options()}

    def refunded(self, record: Record) -> Money:
        order = self.sim.codepay.order(record.id)
        return Money.of_minor(order.refunded_minor if order else 0, record.amount.currency)


HARNESSES: dict[str, type[Harness]] = {"wechatpay+codepay": WechatCodePayHarness}
