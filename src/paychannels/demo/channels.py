"""The channels of the demo day: one entry per channel, everything the demo needs to know.

An entry says which roster preference the channel serves (``hall``, ``wechat``,
``alipay``, ``bank``), how payments go through it (``sync``: the answer comes in the
dialogue; ``async``: an order, then a callback; ``scan``: an assistant scans the payer's
payment code; ``batch``: request and result files), how
to start its simulator (which gives the URL and options), which faults the demo injects
there, who collects (a hall clerk, village assistants on payers' behalf) and — through the
running simulator — how it settles at the end of the day. Adding a kind of channel to the
demo is adding an entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

from paychannels.demo.cloud_sim import CloudPosSim
from paychannels.demo.codes_sim import SCAN_FAULTS, CodeSim
from paychannels.demo.mispos_sim import MisposSim
from paychannels.demo.sims import BankSim, ProviderSim, Running, Stage, TerminalSim

__all__ = ["CHANNELS", "DemoChannel"]


@dataclass(frozen=True)
class DemoChannel:
    """One channel of the demo day."""

    name: str  # the channel's name in the journal
    kind: str  # what it is, for people
    serves: str  # the roster's channel preference it takes payers from
    style: Literal["sync", "async", "scan", "batch"]
    start: Callable[[Stage], Running]
    faults: tuple[str, ...]
    clerk: str | None = None  # who takes every payment here (a hall clerk)
    assisted: float = 0.0  # share of payments a village assistant makes for the payer
    crash: bool = False  # a backend process is killed mid-payment here, then recovered
    #: whose statement settles the day: a terminal's end of day, a bill or report listing
    #: each payment (providers, a cloud terminal's acquirer), or the bank's result files
    statement: Literal["terminal", "provider", "bank"] = "terminal"


CHANNELS: tuple[DemoChannel, ...] = (
    DemoChannel(
        name="hall-1",
        kind="ZVT terminal over TCP (county service hall)",
        serves="hall",
        style="sync",
        start=lambda stage: TerminalSim(stage, transport="tcp"),
        faults=(
            "timeout",
            "lost answer",
            "power cut after booking",
            "declined card",
            "garbled answer",
            "duplicate submission",
        ),
        clerk="柜员-王丽",
        crash=True,
    ),
    DemoChannel(
        name="hall-2",
        kind="ZVT terminal on a serial line (pty; township service station)",
        serves="hall",
        style="sync",
        start=lambda stage: TerminalSim(stage, transport="pty"),
        faults=("timeout", "lost answer", "declined card", "duplicate submission"),
        clerk="柜员-包巴特尔",
    ),
    DemoChannel(
        name="hall-3",
        kind="MIS-POS bank terminal on a serial line (pty; township hall)",
        serves="hall",
        style="sync",
        start=MisposSim,
        faults=("lost answer", "garbled answer", "declined card"),
        clerk="柜员-乌云",
    ),
    DemoChannel(
        name="field-1",
        kind="cloud POS (nexo over HTTP; a village assistant's smart terminal)",
        serves="hall",
        style="sync",
        start=CloudPosSim,
        statement="provider",
        faults=("cloud error", "cloud error after approval", "late answer", "declined card"),
        assisted=1.0,
    ),
    DemoChannel(
        name="wx",
        kind="WeChat Pay v3 (QR code; provider simulator)",
        serves="wechat",
        style="async",
        statement="provider",
        start=lambda stage: ProviderSim(stage, provider="wechatpay", name="wx"),
        faults=(
            "lost request",
            "lost answer",
            "server error",
            "slow answer",
            "garbled answer",
            "abandoned order",
            "duplicate callbacks",
            "forged callback",
        ),
        assisted=0.4,
    ),
    DemoChannel(
        name="ali",
        kind="Alipay (QR code; provider simulator)",
        serves="alipay",
        style="async",
        statement="provider",
        start=lambda stage: ProviderSim(stage, provider="alipay", name="ali"),
        faults=(
            "lost request",
            "lost answer",
            "server error",
            "abandoned order",
            "duplicate callbacks",
        ),
        assisted=0.4,
    ),
    # village assistants scanning the payment code each payer shows: one entry per provider
    *(
        DemoChannel(
            name=name,
            kind=f"{label} (payment codes scanned by village assistants; provider simulator)",
            serves=serves,
            style="scan",
            statement="provider",
            start=partial(CodeSim, provider=provider),
            faults=tuple(SCAN_FAULTS),
            assisted=1.0,
        )
        for name, label, serves, provider in (
            ("wx-codes", "WeChat Pay 付款码", "wechat", "wechatpay"),
            ("ali-codes", "Alipay 条码支付", "alipay", "alipay"),
        )
    ),
    DemoChannel(
        name="bank",
        kind="bank batch debit (pain.008 / camt.054; bank simulator)",
        serves="bank",
        style="batch",
        statement="bank",
        start=BankSim,
        faults=(
            "insufficient funds",
            "closed account",
            "partial debit",
            "late return",
            "duplicate result file",
        ),
    ),
)
