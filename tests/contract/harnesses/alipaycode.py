"""Contract harness for Alipay 当面付 条码支付 (``product=bar_code``) against the simulator.

As for WeChat's codes (codepay.py): the clerk scans a fresh one-time code of a simulated
wallet for each payment (``prepare``); ``approve`` (enough balance, no password step),
``decline`` (the code has expired: ACQ.PAYMENT_AUTH_CODE_INVALID), ``insufficient_funds``
(ACQ.BUYER_BALANCE_NOT_ENOUGH), ``lose_reply``/``garble_reply`` (charged, the answer lost or
unreadable). ``refuse``/``lose_request`` end NOT_SENT and a code is never sent again on a
retry of the key; there is no ``pending``. The device's truth is the payers' wallets.
"""

from __future__ import annotations

from typing import Any

from paychannels import Money, Record
from paychannels.simulators.provider import ProviderSimulator
from tests.contract.harnesses import Harness
from tests.contract.harnesses.codepay import CodeHarness
from tests.contract.harnesses.mobile import sim_keys


class AlipayCodeHarness(CodeHarness):
    """Alipay bar_code over real HTTP; short waits so WAIT_BUYER_PAY cases stay fast."""

    name = "alipay+bar_code"
    provider = "alipay"
    payer_prefix = "alipay-payer"

    def channel_url(self, sim: ProviderSimulator) -> tuple[str, dict[str, Any]]:
        k = sim.keys
        url = (
            f"alipay+{sim.alipay_gateway}?app_id={k.alipay_app_id}&product=bar_code"
            "&wait_interval=0.05&wait_limit=0.5"
        )
        return url, {"backoff": 0.01, **k.alipay_options()}

    def refunded(self, record: Record) -> Money:
        given_back = self.sim.wallets.charges(record.id) * record.amount.minor - (
            self.sim.wallets.net_taken(record.id)
        )
        return Money.of_minor(given_back, record.amount.currency)

    def secrets(self) -> list[str]:
        pem = str(sim_keys().alipay_options()["app_private_key"]).splitlines()
        return [pem[5], pem[10], *super().secrets()]


HARNESSES: dict[str, type[Harness]] = {"alipay+bar_code": AlipayCodeHarness}
