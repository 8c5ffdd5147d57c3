"""A ZVT ECR for one terminal: sessions on a link, registration, the commands a channel needs.

The link is opened for a session and closed after it, as the spec has the ECR open and
close the socket (and a serial port is then free for the field tools). The client
registers on its first session and again whenever the terminal refuses a command with
``84 6B`` (not registered) or a dialogue broke (a power cycle forgets the registration);
a refused command did not run, so sending it again after registering is safe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from paychannels.drivers.zvt.codes import REQUIRES_REGISTRATION, terminal_status_text
from paychannels.drivers.zvt.commands import (
    CFG_ECR_PRINTS_ADMIN,
    CFG_ECR_PRINTS_PAYMENT,
    CFG_INTERMEDIATE_STATUS,
    CFG_NO_ADMIN_AT_PT,
    CFG_NO_AMOUNT_AT_PT,
    CFG_PRINT_LINES,
    Authorization,
    Command,
    EndOfDay,
    Refund,
    Registration,
    RepeatReceipt,
    Reversal,
    StatusEnquiry,
)
from paychannels.drivers.zvt.dialogue import Dialogue, Exchange, StatusCallback, Timers
from paychannels.drivers.zvt.errors import CommandRefused
from paychannels.drivers.zvt.replies import TextBlock
from paychannels.drivers.zvt.transport import Framing, Transport, make_transport
from paychannels.links.base import Link
from paychannels.values.errors import OutcomeUnknownError, ProtocolError

__all__ = ["ClientConfig", "Session", "TerminalStatus", "ZvtClient"]


@dataclass(frozen=True)
class ClientConfig:
    """How the ECR talks to its terminal."""

    password: int = field(default=0, repr=False)  # a secret: never in a repr
    currency: int = 156
    receipts: str = "block"  # block (06 D3 text blocks) | lines (06 D1) | terminal (PT prints)
    charset: str = "cp437"
    timers: Timers = field(default_factory=Timers)
    t1: float = 0.2
    t2: float = 5.0
    echo_last_receipt: bool = True

    def registration(self) -> Registration:
        """Our Registration: ECR-controlled amounts and admin, intermediate statuses on."""
        config = CFG_INTERMEDIATE_STATUS | CFG_NO_AMOUNT_AT_PT | CFG_NO_ADMIN_AT_PT
        permitted: tuple[bytes, ...] = ()
        if self.receipts != "terminal":
            config |= CFG_ECR_PRINTS_PAYMENT | CFG_ECR_PRINTS_ADMIN
        if self.receipts == "lines":
            config |= CFG_PRINT_LINES
        elif self.receipts == "block":
            permitted = (TextBlock.CODE,)
        return Registration(self.password, config, self.currency, None, permitted)


@dataclass(frozen=True, slots=True)
class TerminalStatus:
    """A status enquiry's answer."""

    software: str
    code: int
    terminal_id: int | None

    @property
    def ready(self) -> bool:
        return self.code == 0

    @property
    def text(self) -> str:
        return terminal_status_text(self.code)


class ZvtClient:
    """The ECR end of one terminal; see the module docstring."""

    def __init__(self, link: Link, framing: Framing, config: ClientConfig) -> None:
        self.link = link
        self.framing = framing
        self.config = config
        self.registered = False
        self.last_transport: Transport | None = None

    @contextmanager
    def session(
        self,
        *,
        on_status: StatusCallback | None = None,
        should_abort: Callable[[], bool] | None = None,
    ) -> Iterator[Session]:
        """Open the link, yield a session, close the link (``LinkConnectError``: cannot open)."""
        c = self.config
        # the dialogue answers every message at once, so a serial ACK can share its write
        transport = make_transport(self.link, self.framing, t1=c.t1, t2=c.t2, merge_acks=True)
        self.last_transport = transport
        transport.open()
        try:
            dialogue = Dialogue(
                transport,
                timers=c.timers,
                charset=c.charset,
                on_status=on_status,
                should_abort=should_abort,
            )
            yield Session(self, dialogue)
        finally:
            transport.close()


class Session:
    """Commands on an open link."""

    def __init__(self, client: ZvtClient, dialogue: Dialogue) -> None:
        self.client = client
        self.dialogue = dialogue

    def run(self, command: Command, *, register_first: bool = True) -> Exchange:
        """Run a command, registering first when needed (and once more if the terminal asks)."""
        if register_first and not self.client.registered:
            self.register()
        try:
            return self._run(command)
        except CommandRefused as exc:
            if exc.code not in REQUIRES_REGISTRATION:
                raise
        self.register()
        return self._run(command)

    def _run(self, command: Command) -> Exchange:
        try:
            return self.dialogue.run(command)
        except (OutcomeUnknownError, ProtocolError):
            self.client.registered = False  # the terminal may have restarted: register again
            raise

    def register(self) -> Exchange:
        """Send our Registration (``CommandRefused`` on a wrong password or a locked terminal)."""
        exchange = self._run(self.client.config.registration())
        self.client.registered = exchange.completion is not None
        return exchange

    def status(self) -> TerminalStatus:
        """Status enquiry (no registration needed)."""
        exchange = self._run(StatusEnquiry())
        if exchange.completion is None:
            code = exchange.abort.result_code if exchange.abort else 0xFF
            return TerminalStatus("", code, None)
        software, code, bitmaps = exchange.completion.status(self.client.config.charset)
        return TerminalStatus(software, code, bitmaps.number(0x29))

    def authorize(self, amount: int, *, last_receipt: int | None) -> Exchange:
        """A payment of ``amount`` minor units (echoing our last booked receipt number)."""
        c = self.client.config
        echo = last_receipt if c.echo_last_receipt else None
        return self.run(Authorization(amount, c.currency, last_receipt=echo))

    def refund(self, amount: int) -> Exchange:
        """A refund of ``amount`` minor units to the card presented."""
        c = self.client.config
        return self.run(Refund(c.password, amount, c.currency))

    def reverse(self, receipt: int, amount: int | None = None) -> Exchange:
        """Reverse the transaction with this receipt number."""
        return self.run(Reversal(self.client.config.password, receipt, amount))

    def end_of_day(self) -> Exchange:
        """Close the batch and return its totals."""
        return self.run(EndOfDay(self.client.config.password))

    def repeat_status(self) -> Exchange:
        """Fetch the last transaction's status information again (``06 20``, service bit 0)."""
        return self.run(RepeatReceipt(self.client.config.password))
