"""One nexo request as the simulated terminal works on it: a ticket, and the front it drives.

The cloud files a ``Ticket`` per request (by SaleID and ServiceID) and hands it to a worker
thread that runs the transaction on the shared terminal core through a ``TicketFront``:
``show`` records what the terminal displays, ``wait`` lets cardholder time pass while
watching for an abort from the sale system and for a power cut. A ticket ends *answered*
(its response is ready), *silent* (booked, but the terminal never said so: a power cut
after booking — a status request still finds it) or *lost* (the terminal forgot it before
booking: a status request finds nothing).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from paychannels.drivers.nexo.envelope import SaleToPOIRequest, SaleToPOIResponse
from paychannels.simulators.terminal.core import Interrupted, SimTerminal
from paychannels.simulators.terminal.script import Script

__all__ = ["Ticket", "TicketFront"]

State = Literal["running", "answered", "silent", "lost"]


@dataclass
class Ticket:
    """A request in the terminal's hands and what became of it."""

    request: SaleToPOIRequest
    script: Script
    kind: str  # payment | refund | reversal
    amount: int | None
    tag: str | None
    asynchronous: bool
    state: State = "running"
    response: SaleToPOIResponse | None = None
    displays: list[int] = field(default_factory=list)
    abort: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)

    @property
    def key(self) -> tuple[str, str]:
        header = self.request.MessageHeader
        return (header.SaleID or "", header.ServiceID or "")

    def finish(self, state: State, response: SaleToPOIResponse | None = None) -> None:
        """The terminal is done with it (``response`` is what it says, or would have said)."""
        self.response = response
        self.state = state
        self.done.set()


class TicketFront:
    """``Front`` for a transaction started by a nexo request."""

    def __init__(self, terminal: SimTerminal, ticket: Ticket) -> None:
        self.terminal = terminal
        self.ticket = ticket

    def show(self, code: int) -> None:
        if not self.terminal.powered:
            raise Interrupted("power")
        self.ticket.displays.append(code)

    def wait(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            if not self.terminal.powered:
                raise Interrupted("power")
            if self.ticket.abort.is_set():
                raise Interrupted("abort")
            left = end - time.monotonic()
            if left <= 0:
                return
            self.ticket.abort.wait(min(left, 0.02))
