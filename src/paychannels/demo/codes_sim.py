"""Village assistants scanning payers' payment codes (付款码): the provider simulator's wallets.

Each payer the assistant serves opens WeChat (or Alipay) and shows a fresh one-time code; the
simulator's wallet behind it confirms at once, or while the channel waits (the password: the
payer types it when the assistant's screen says the channel is waiting — an event, not a
number of seconds that a busy machine could outrun), or never (the payer walks away). The
planted cases are data (``SCAN_FAULTS``); which provider a channel takes is data too
(``PROVIDERS``: the channel URL per provider), so WeChat Pay's and Alipay's scanning channels
are two rows of one table (``demo.channels``). The truth is the wallets' ledger: what each
order took and kept.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from pydantic import JsonValue

from paychannels.channels.codepay import CodePayChannel
from paychannels.collector import Collector
from paychannels.demo.sims import Observed, Running, Stage
from paychannels.providers.alipay.calls import out_trade_no as alipay_number
from paychannels.providers.wechatpay.calls import out_trade_no as wechat_number
from paychannels.simulators.provider import ProviderSimulator, SimKeys

__all__ = ["PROVIDERS", "SCAN_FAULTS", "CodeDesk", "CodeSim"]

#: the demo's waiting rules: the providers' (query every 5-10 s for 45 s) scaled down
_WAIT = "wait_interval=0.1&wait_limit=1.0&timeout=2"
_BALANCE = 1_000_000  # fen: the planted cases are about confirming, not about balance


def _wechat(sim: ProviderSimulator, keys: SimKeys) -> tuple[str, dict[str, Any]]:
    url = f"wechatpay+{sim.url}?mchid={keys.mchid}&appid={keys.appid}&trade_type=codepay&{_WAIT}"
    return url, {"notify_url": "http://127.0.0.1:9/refunds", **keys.wechat_options()}


def _alipay(sim: ProviderSimulator, keys: SimKeys) -> tuple[str, dict[str, Any]]:
    url = f"alipay+{sim.alipay_gateway}?app_id={keys.alipay_app_id}&product=bar_code&{_WAIT}"
    return url, {"seller_id": keys.alipay_seller_id, **keys.alipay_options()}


#: the code channel's URL and options, per provider whose codes the assistants scan
PROVIDERS: dict[str, Callable[[ProviderSimulator, SimKeys], tuple[str, dict[str, Any]]]] = {
    "wechatpay": _wechat,
    "alipay": _alipay,
}


def _wechat_confirm(sim: ProviderSimulator, payment: str) -> bool:
    order = sim.codepay.order(wechat_number(payment))
    return order is not None and sim.codepay.confirm(order.number).state == "SUCCESS"


#: the payer of a waiting order enters the password, per provider; False: no such order here
CONFIRM: dict[str, Callable[[ProviderSimulator, str], bool]] = {
    "wechatpay": _wechat_confirm,
    "alipay": lambda sim, payment: sim.alipay.codes.confirm(alipay_number(payment)),
}

#: the password is typed while the channel waits (see the module docstring)
WHILE_WAITING = -1.0

#: planted case -> (seconds the payer takes for the password, ``WHILE_WAITING``, or None:
#: walks away; pay-call fault)
SCAN_FAULTS: dict[str, tuple[float | None, str | None]] = {
    "slow password": (WHILE_WAITING, None),
    "walked away": (None, None),
    "code scanned twice": (0.0, None),  # the scanner reads the previous payer's code again
    "lost answer": (0.0, "lose_reply"),
}


@runtime_checkable
class CodeDesk(Protocol):
    """Where a village assistant's next payer's code comes from: the simulator's wallets,
    or (in a worker process) the pipe to them."""

    def code(self) -> str:
        """The next payer shows a fresh payment code."""
        ...


class CodeSim(Running):
    """One provider's code desk with the payers' wallets (see the module docstring)."""

    faults = tuple(SCAN_FAULTS)
    VERBS = Running.VERBS | {"code"}

    def __init__(self, stage: Stage, *, provider: str) -> None:
        self.provider = provider
        self.stage = stage
        self.sim = ProviderSimulator(stage.keys, auto_notify=False, seed=stage.seed).start()
        self.url, self.options = PROVIDERS[provider](self.sim, stage.keys)
        self._armed: str | None = None
        self._payers = itertools.count(1)
        self._typing = False  # the current payer types the password once the channel waits
        stage.screen(self._screen)

    def code(self) -> str:
        """The next payer shows a fresh code (their wallet behaves as the armed case says)."""
        confirm, _ = SCAN_FAULTS.get(self._armed or "", (0.0, None))
        self._armed = None
        self._typing = confirm == WHILE_WAITING
        payer = f"payer-{next(self._payers)}"
        self.sim.wallets.open(payer, _BALANCE, confirm_after=None if self._typing else confirm)
        return self.sim.wallets.code(payer, self.provider)

    def _screen(self, payment: str, data: dict[str, JsonValue]) -> None:
        """The channel says it waits for the payer: a typing payer confirms now (the
        channel's next query finds the order paid). Other channels' news finds no order here."""
        del data
        if self._typing and CONFIRM[self.provider](self.sim, payment):
            self._typing = False

    def inject(self, fault: str) -> None:
        self._armed = fault
        call = SCAN_FAULTS[fault][1]
        if call is not None:
            self.sim.script.fault(call)

    def after(self, fault: str, payment: str | None) -> Observed | None:
        """What the payer's wallet shows of the case: charged once, or never."""
        self.sim.script.clear()
        if payment is None:
            return Observed("no payment was made", wrong=True)
        self.sim.codepay.settle_due()
        charges, kept = self.sim.wallets.charges(payment), self.sim.wallets.net_taken(payment)
        expected = {
            "slow password": (1, True),
            "lost answer": (1, True),
            "walked away": (0, False),
            "code scanned twice": (0, False),
        }[fault]
        seen = f"wallet charged {charges}x, {'kept' if kept else 'nothing kept'}"
        return Observed(seen, wrong=(charges, kept > 0) != expected)

    def settle(self, collector: Collector, name: str) -> str:
        ch = collector.channel(name)
        assert isinstance(ch, CodePayChannel)
        ctx = collector.channel_context(name)
        bills = [ch.download_bill(ctx, day) for day in self.stage.days_so_far()]
        lines = sum(len(b.lines) for b in bills)
        return f"{len(bills)} bill(s) downloaded, {lines} line(s) (scanned codes)"

    def truth(self) -> dict[str, int]:
        numbers = {no for w in self.sim.wallets.all() for _, no, _ in w.ledger}
        taken = {no: self.sim.wallets.charges(no) for no in numbers}
        return {no: n for no, n in taken.items() if self.sim.wallets.net_taken(no) > 0}

    def close(self) -> None:
        self.sim.stop()
