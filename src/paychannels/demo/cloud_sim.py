"""The demo's cloud POS: a village assistant's smart terminal, reached through its cloud.

The same simulated terminal core as the hall terminals, served by its simulated cloud
(nexo over HTTP, sync mode) on 127.0.0.1. The cloud's own faults are injected here (a
server error before or after the terminal booked, an answer that comes too late), and the
day is settled the way a cloud terminal's is: by the acquirer's settlement report.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from paychannels.channels.base import Channel
from paychannels.collector import Collector
from paychannels.demo.sims import Stage, TerminalSim
from paychannels.drivers.nexo import CloudPosChannel
from paychannels.simulators.terminal import Script as TerminalScript
from paychannels.simulators.terminal import TerminalSimulator

__all__ = ["CloudPosSim"]

POIID = "V400m-346010201"  # the assistant's terminal
#: the cloud gives up on a silent terminal after this many seconds (Adyen: 150)
_CLOUD_WAIT = 2.0
#: what each demo fault name does at the cloud or its terminal
_CLOUD_FAULTS = {
    "cloud error": TerminalScript(faults=frozenset({"cloud_error"})),
    "cloud error after approval": TerminalScript(faults=frozenset({"cloud_error_after_approval"})),
    "late answer": TerminalScript(faults=frozenset({"late_completion"}), fault_delay=3.0),
    "declined card": TerminalScript(outcome="insufficient_funds"),
}


class CloudPosSim(TerminalSim):
    """A terminal behind its cloud (``nexo+http``), settled by the acquirer's report."""

    faults = tuple(_CLOUD_FAULTS)
    scripts = _CLOUD_FAULTS

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.sim = TerminalSimulator(card="6222021234567890123")
        api_key = secrets.token_urlsafe(24)
        base = self.sim.serve_nexo(poiid=POIID, api_key=api_key, cloud_timeout=_CLOUD_WAIT)
        self.url = (
            f"nexo+{base}/?poi={POIID}&sale_id=county-field&mode=sync&timeout=2"
            f"&status_wait={_CLOUD_WAIT}&abort_wait=2"
        )
        self.options: dict[str, Any] = {
            "api_key": api_key,
            "backoff": 0.01,
            "report_url": f"{base}/reports",
        }

    @staticmethod
    def watch(channel: Channel, call: Callable[..., object]) -> None:
        """Nothing to watch: the cloud names each payment by our id (SaleTransactionID)."""
        del call
        assert isinstance(channel, CloudPosChannel)

    def settle(self, collector: Collector, name: str) -> str:
        ch = collector.channel(name)
        assert isinstance(ch, CloudPosChannel)
        ctx = collector.channel_context(name)
        days = self.stage.days_so_far()
        bills = [ch.download_report(ctx, day) for day in days]
        lines = sum(len(b.lines) for b in bills)
        return f"{len(bills)} settlement report(s) downloaded, {lines} line(s)"
