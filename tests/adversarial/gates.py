"""A channel that pauses at named points, so a race is played in a chosen order.

``GatedChannel`` is a ``Channel`` (it wraps a ``MemoryChannel`` and its ledger, the device):
at each point listed in ``pause_at`` it announces ``<point>.reached`` in a folder and waits
for ``<point>.go``. Files, not threading events, so the same double orders threads of one
process and separate processes alike. Every wait is bounded.

Points: ``start.before`` (claimed, nothing sent yet), ``start`` (the device has charged, its
answer not yet back), ``inquire`` (the device answered the enquiry, the answer not yet
back), ``refund`` (the device gave the money back, its answer not yet back).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from paychannels.channels.base import Capabilities, Channel, ChannelContext
from paychannels.channels.memory import MemoryChannel
from paychannels.values.models import Outcome, Payment, Record, Refund

WAIT = 30.0  # seconds any side waits for the other before the test fails


class Gates:
    """Named one-shot gates in a folder shared by threads or processes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def pause(self, point: str) -> None:
        """Called by the channel: say we are at ``point``, wait to be let through."""
        (self.folder / f"{point}.reached").touch()
        self._wait(self.folder / f"{point}.go", point)

    def reached(self, point: str) -> None:
        """Called by the test: wait until the channel stands at ``point``."""
        self._wait(self.folder / f"{point}.reached", point)

    def release(self, point: str) -> None:
        """Called by the test: let the channel at ``point`` go on."""
        (self.folder / f"{point}.go").touch()

    def release_all(self) -> None:
        """Let every channel waiting anywhere go on (a failed test must not leave it hanging)."""
        for reached in self.folder.glob("*.reached"):
            self.release(reached.name.removesuffix(".reached"))

    @staticmethod
    def _wait(path: Path, point: str) -> None:
        deadline = time.monotonic() + WAIT
        while not path.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"gate {point!r}: {path.name} did not appear in {WAIT} s")
            time.sleep(0.002)


class GatedChannel(Channel):
    """A memory device whose verbs stop at the chosen gates."""

    scheme = "gated"
    capabilities = Capabilities(
        inquire=True, cancel=True, void=True, refund=True, partial_refund=True, dispatch_timeout=30
    )

    def __init__(self, device: MemoryChannel, gates: Gates, pause_at: Iterable[str] = ()) -> None:
        self.device = device
        self.gates = gates
        self.pause_at = frozenset(pause_at)

    def _gate(self, point: str) -> None:
        if point in self.pause_at:
            self.gates.pause(point)

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        self._gate("start.before")
        outcome = self.device.start(payment, ctx)
        self._gate("start")
        return outcome

    def inquire(self, record: Record, ctx: ChannelContext) -> Outcome:
        outcome = self.device.inquire(record, ctx)
        self._gate("inquire")
        return outcome

    def cancel(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        return self.device.cancel(payment, ctx)

    def void(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        return self.device.void(payment, ctx)

    def refund(self, refund: Refund, payment: Payment, ctx: ChannelContext) -> Outcome:
        outcome = self.device.refund(refund, payment, ctx)
        self._gate("refund")
        return outcome

    def describe(self) -> str:
        return f"gated {self.device.describe()}"
