"""Contract harness for Alipay 当面付 条码支付 (``product=bar_code``) against the simulator.

As for WeChat's codes (codepay.py): the clerk scans a fresh one-time code of a simulated
wallet for each payment (``prepare``); ``approve`` (enough balance, no password step),
``decline`` (the code has expired: ACQ.PAYMENT_AUTH_CODE_INVALID), ``insufficient_funds``
(ACQ.BUYER_BALANCE_NOT_ENOUGH), ``lose_reply``/``garble_reply`` (charged, the answer lost or
unreadable). ``refuse``/``lose_request`` end NOT_SENT and a code is never sent again on a
retry of the key; there is no ``pending``. The device's truth is the payers' wallets.
"""

from __future__ import annotations

import itertools

from paychannels import Channel, Money, PaymentRequest, Record, open_channel
from paychannels.channels.codepay import CodePayChannel
from paychannels.simulators.provider import ProviderSimulator, Script
from paychannels.values.paymentcode import PaymentCode
from tests.contract.harnesses import Harness
from tests.contract.harnesses.mobile import sim_keys

_payers = itertools.count(1)


class AlipayCodeHarness(Harness):
    """Alipay bar_code over real HTTP; short waits so WAIT_BUYER_PAY cases stay fast."""

    name = "alipay+bar_code"
    supports = frozenset({"approve", "decline", "insufficient_funds", "lose_reply", "garble_reply"})

    def open(self) -> Channel:
        self.sim = ProviderSimulator(sim_keys(), auto_notify=False, script=Script()).start()
        k = self.sim.keys
        url = (
            f"alipay+{self.sim.alipay_gateway}?app_id={k.alipay_app_id}&product=bar_code"
            "&wait_interval=0.05&wait_limit=0.5"
        )
        ch = open_channel(url, backoff=0.01, **k.alipay_options())
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
        payer = f"alipay-payer-{next(_payers)}"
        short = self._next == "insufficient_funds"
        self.sim.wallets.open(payer, request.amount.minor - 1 if short else 10_000_000)
        code = self.sim.wallets.code(payer, "alipay")
        if self._next == "decline":
            self.sim.wallets.expire(code)
        self.codes.append(code)
        return request.model_copy(update={"payment_code": PaymentCode.parse(code)})

    def charges(self, record: Record) -> int:
        return self.sim.wallets.charges(record.id)

    def refunded(self, record: Record) -> Money:
        given_back = self.sim.wallets.charges(record.id) * record.amount.minor - (
            self.sim.wallets.net_taken(record.id)
        )
        return Money.of_minor(given_back, record.amount.currency)

    def transcript(self) -> str:
        return self.channel.transcript()

    def secrets(self) -> list[str]:
        pem = str(sim_keys().alipay_options()["app_private_key"]).splitlines()
        return [pem[5], pem[10], *self.codes, *(c[2:-4] for c in self.codes)]

    def close(self) -> None:
        self.sim.stop()


HARNESSES: dict[str, type[Harness]] = {"alipay+bar_code": AlipayCodeHarness}
