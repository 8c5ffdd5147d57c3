"""The ECR side of one ZVT command: command -> ``80 00`` -> statuses, lines, info -> completion.

terminals.md §1-2: after the command the terminal must acknowledge within T3 (``80 00``;
``84 xx`` refuses, ``84 9C`` asks for more time); then it sends intermediate statuses,
print lines or text blocks and status information, each answered with ``80 00 00``, until
``06 0F`` (completion) or ``06 1E`` (abort). T4 bounds the wait and restarts with every
``04 FF`` / ``04 0F``. An unknown message is answered ``84 83`` and the wait goes on; a
malformed one is answered ``84 9A`` and ends the dialogue with ``ZvtProtocolError``.

What a failure means is decided here, once: nothing left the ECR -> ``NotSentError``
(safe to retry); it left -> an ``OutcomeUnknownError`` or ``ZvtProtocolError`` (ask the
terminal before anything else).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from paychannels.drivers.zvt.apdu import Apdu, decode_apdu
from paychannels.drivers.zvt.codes import result_meaning
from paychannels.drivers.zvt.commands import BOOKING, AbortCommand, Command, command_name
from paychannels.drivers.zvt.errors import (
    CommandRefused,
    DialogueBroken,
    DialogueTimeout,
    NoAcknowledgement,
    ZvtProtocolError,
)
from paychannels.drivers.zvt.replies import (
    Ack,
    Completion,
    IntermediateStatus,
    NegativeAck,
    PrintLine,
    PtAbort,
    Reply,
    StatusInformation,
    TextBlock,
    UnknownMessage,
    parse_reply,
)
from paychannels.drivers.zvt.transport import Transport
from paychannels.values.errors import LinkError, LinkTimeout, NotSentError

__all__ = ["Dialogue", "Exchange", "Timers"]

StatusCallback = Callable[[IntermediateStatus], None]

log = logging.getLogger("paychannels.drivers.zvt")

#: ``80 00 00``, the answer to nearly every terminal message: encoded once, not per message
ACK = Ack().apdu().encode()


@dataclass(frozen=True, slots=True)
class Timers:
    """The dialogue's timers in seconds (ZVT defaults: T3 5 s, T4 180 s)."""

    t3: float = 5.0
    t4: float = 180.0


@dataclass
class Exchange:
    """Everything the terminal said in answer to one command."""

    command: str
    completion: Completion | None = None
    abort: PtAbort | None = None
    infos: list[StatusInformation] = field(default_factory=list)
    statuses: list[IntermediateStatus] = field(default_factory=list)
    receipt: list[str] = field(default_factory=list)
    #: how many receipt lines there were at each end of a receipt (last print line, end tag)
    receipt_ends: list[int] = field(default_factory=list)
    unknown: list[Apdu] = field(default_factory=list)

    def receipts(self) -> list[tuple[str, ...]]:
        """The receipt lines split where the terminal said a receipt ended; an unfinished
        receipt comes last."""
        out: list[tuple[str, ...]] = []
        start = 0
        for end in [*self.receipt_ends, len(self.receipt)]:
            if end > start:
                out.append(tuple(self.receipt[start:end]))
            start = end
        return out

    @property
    def receipt_complete(self) -> bool:
        """Whether every receipt line printed so far belongs to a receipt the terminal ended."""
        return bool(self.receipt_ends) and self.receipt_ends[-1] == len(self.receipt)

    @property
    def info(self) -> StatusInformation | None:
        """The last status information (the transaction's result)."""
        return self.infos[-1] if self.infos else None


class Dialogue:
    """Runs commands over a transport; see the module docstring."""

    def __init__(
        self,
        transport: Transport,
        *,
        timers: Timers = Timers(),
        charset: str = "cp437",
        on_status: StatusCallback | None = None,
        should_abort: Callable[[], bool] | None = None,
    ) -> None:
        self.transport = transport
        self.timers = timers
        self.charset = charset
        self.on_status = on_status
        self.should_abort = should_abort

    def run(self, command: Command) -> Exchange:
        """Send ``command`` and follow the terminal until it completes or aborts."""
        apdu = command.apdu()
        name = command_name(apdu.command)
        exchange = Exchange(name)
        self._send_command(apdu, name)
        self._await_acknowledgement(name)
        deadline = time.monotonic() + self.timers.t4
        abort_sent = False
        while True:
            if not abort_sent and self.should_abort is not None and self.should_abort():
                self._send(AbortCommand().apdu(), name)
                abort_sent = True
            try:
                raw = self.transport.receive(self._slice(deadline))
            except LinkTimeout:
                if time.monotonic() < deadline:
                    continue
                self.transport.abandon()
                raise DialogueTimeout(
                    f"{self._where()}: the terminal accepted {name}, then nothing for T4 "
                    f"({self.timers.t4:g} s); the outcome is unknown"
                ) from None
            except LinkError as exc:
                raise DialogueBroken(f"the link failed during {name} ({exc})") from None
            message = self._parse(raw, name)
            if self._handle(message, exchange):
                return exchange
            if isinstance(message, IntermediateStatus) and message.timeout_minutes:
                deadline = time.monotonic() + 60 * message.timeout_minutes
            elif isinstance(message, IntermediateStatus | StatusInformation):
                deadline = time.monotonic() + self.timers.t4
            elif time.monotonic() >= deadline:  # other messages neither restart T4 nor hold us
                self.transport.abandon()
                raise DialogueTimeout(
                    f"{self._where()}: the terminal accepted {name}, then nothing that restarts "
                    f"T4 ({self.timers.t4:g} s); the outcome is unknown"
                )

    # -- steps -----------------------------------------------------------------------------

    def _where(self) -> str:
        return self.transport.link.url

    def _slice(self, deadline: float) -> float:
        if self.should_abort is None:
            return deadline
        return min(deadline, time.monotonic() + 0.1)

    def _send_command(self, apdu: Apdu, name: str) -> None:
        link = self.transport.link
        before = link.written
        try:
            self.transport.discard_stale()
            # a booking is not resent on silence: its 80 00 proves it
            self.transport.send(apdu.encode(), books=apdu.command in BOOKING)
        except NotSentError:
            raise
        except NoAcknowledgement:
            raise
        except LinkError as exc:
            if link.written == before:
                raise NotSentError(f"{name} could not be sent ({exc})") from None
            raise DialogueBroken(f"the link failed while sending {name} ({exc})") from None

    def _send(self, apdu: Apdu | bytes, name: str) -> None:
        try:
            self.transport.send(apdu if isinstance(apdu, bytes) else apdu.encode())
        except LinkError as exc:
            raise DialogueBroken(f"the link failed during {name} ({exc})") from None

    def _await_acknowledgement(self, name: str) -> None:
        """Wait T3 for ``80 00``.

        The terminal acknowledges a command before it says anything else about it, so a
        message ahead of the ``80 00`` is the tail of an earlier dialogue (one we gave up on):
        it is acknowledged, as every terminal message is, and never taken for this command's
        answer.
        """
        deadline = time.monotonic() + self.timers.t3
        while True:
            try:
                raw = self.transport.receive(deadline)
            except LinkTimeout:
                self.transport.abandon()
                raise NoAcknowledgement(
                    f"{self._where()}: no 80 00 for {name} within T3 ({self.timers.t3:g} s); "
                    "the command may have arrived"
                ) from None
            except LinkError as exc:
                raise DialogueBroken(
                    f"the link failed before the 80 00 for {name} ({exc})"
                ) from None
            message = self._parse(raw, name)
            if isinstance(message, Ack):
                return
            if isinstance(message, NegativeAck):
                if message.code == 0x9C:
                    deadline = time.monotonic() + self.timers.t3
                    continue
                raise CommandRefused(message.code, result_meaning(message.code).text, name)
            log.info(
                "%s: %s arrived before the 80 00 for %s: the tail of an earlier dialogue, "
                "acknowledged and set aside",
                self._where(),
                type(message).__name__,
                name,
            )
            self._ack(name)
            if time.monotonic() >= deadline:  # a stream of leftovers does not hold us either
                self.transport.abandon()
                raise NoAcknowledgement(
                    f"{self._where()}: no 80 00 for {name} within T3 ({self.timers.t3:g} s), "
                    "only messages of an earlier dialogue; the command may have arrived"
                )

    def _parse(self, raw: bytes, name: str) -> Reply:
        try:
            return parse_reply(decode_apdu(raw))
        except ZvtProtocolError as exc:
            with contextlib.suppress(LinkError):
                self.transport.send(NegativeAck(0x9A).apdu().encode())
            self.transport.abandon()
            raise ZvtProtocolError(
                f"the terminal sent a malformed message during {name} ({exc})"
            ) from None

    def _ack(self, name: str) -> None:
        self._send(ACK, name)

    def _handle(self, message: Reply, exchange: Exchange) -> bool:
        """Record and answer one message; True when it ended the dialogue."""
        name = exchange.command
        if isinstance(message, Ack | NegativeAck):
            return False  # an answer to our abort request, or a repeated acknowledgement
        if isinstance(message, UnknownMessage):
            exchange.unknown.append(message.apdu)
            self._send(NegativeAck(0x83).apdu(), name)
            return False
        self._ack(name)
        if isinstance(message, IntermediateStatus):
            exchange.statuses.append(message)
            if self.on_status is not None:
                self.on_status(message)
        elif isinstance(message, StatusInformation):
            exchange.infos.append(message)
        elif isinstance(message, PrintLine):
            exchange.receipt.extend(message.lines(self.charset))
            if message.last:
                exchange.receipt_ends.append(len(exchange.receipt))
        elif isinstance(message, TextBlock):
            exchange.receipt.extend(message.text_lines(self.charset))
            if message.complete:
                exchange.receipt_ends.append(len(exchange.receipt))
        elif isinstance(message, Completion):
            exchange.completion = message
            return True
        else:
            exchange.abort = message
            return True
        return False
