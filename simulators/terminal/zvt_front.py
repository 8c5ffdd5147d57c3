"""The simulated terminal speaking ZVT: one ECR connection (TCP) or serial line (pty).

The terminal end of the driver's own transports: it answers each command with ``80 00``
(or ``84 xx``), drives the terminal core through the transaction, sends intermediate
statuses, the status information, the receipt and the completion or abort, and waits for
the ECR's ``80 00 00`` after each. The script's faults are applied here, where the bytes
are (see ``script.FAULTS``). Line modes other than ``normal`` stand for a terminal with ZVT
switched off (``mute``), one speaking another protocol, or a wrong baud rate (``noise``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from paychannels.drivers.zvt.apdu import Apdu, decode_apdu
from paychannels.drivers.zvt.commands import (
    CFG_INTERMEDIATE_STATUS,
    AbortCommand,
    Authorization,
    EndOfDay,
    LogOff,
    Refund,
    Registration,
    RepeatReceipt,
    Reversal,
    StatusEnquiry,
    parse_command,
)
from paychannels.drivers.zvt.errors import ZvtProtocolError
from paychannels.drivers.zvt.replies import (
    Ack,
    Completion,
    IntermediateStatus,
    NegativeAck,
    PtAbort,
)
from paychannels.drivers.zvt.transport import Framing, make_transport
from paychannels.links.base import Link, deadline_in
from paychannels.simulators.terminal.core import Booking, Interrupted, SimTerminal
from paychannels.simulators.terminal.line import PushbackLink, answer_off_protocol
from paychannels.simulators.terminal.script import Script
from paychannels.simulators.terminal.tamper import SimTamper
from paychannels.simulators.terminal.zvt_messages import (
    DayFigures,
    day_info,
    garbled,
    receipt_apdus,
    receipt_text,
    txn_info,
    unknown_apdu,
)
from paychannels.values.errors import LinkError, LinkTimeout, OutcomeUnknownError

__all__ = ["ZvtSession"]

NEEDS_REGISTRATION = (Authorization, Refund, Reversal, EndOfDay, RepeatReceipt)


def parse_command_safely(apdu: Apdu) -> object | None:
    """The command in an APDU, or None (unknown or malformed)."""
    try:
        return parse_command(apdu)
    except ZvtProtocolError:
        return None


class _Gone(Exception):
    """The ECR stopped answering or the link dropped: the dialogue ends here."""


class ZvtSession:
    """Serves ZVT commands on one link until it closes or ``stop`` is set."""

    def __init__(
        self,
        terminal: SimTerminal,
        link: Link,
        framing: Framing,
        *,
        stop: threading.Event,
        charset: str = "cp437",
        ack_timeout: float = 5.0,
        t2: float = 5.0,
        full_pan: bool = False,
        line_ok: Callable[[], bool] | None = None,
    ) -> None:
        self.terminal = terminal
        self.link = PushbackLink(link)
        self.framing = framing
        self.stop = stop
        self.charset = charset
        self.ack_timeout = ack_timeout
        self.full_pan = full_pan
        self.line_ok = line_ok
        # the transport is the driver's own; its faults are bytes on the line (a FaultLink)
        hears = lambda: self._mode() == "normal"  # noqa: E731 - a one-line predicate
        self.tamper = SimTamper(terminal, self.link, framing, hears=hears)
        self.transport = make_transport(self.tamper.link, framing, t2=t2)
        self._abort_requested = False
        self._next: bytes | None = None

    # -- the loop ----------------------------------------------------------------------------

    def serve(self) -> None:
        """Answer commands until the link closes or the simulator stops."""
        while not self.stop.is_set() and self.link.is_open:
            lost = self.tamper.link.lost_in
            try:
                if self._mode() != "normal":
                    self._off_protocol()
                    continue
                raw, self._next = self._next or self.transport.receive(deadline_in(0.2)), None
            except LinkTimeout:
                self._answer_unheard(self.tamper.link.lost_in - lost)
                continue
            except LinkError:
                return
            if self._mode() != "normal":
                continue  # switched off while the bytes arrived: they go unanswered
            with self.terminal.busy:
                try:
                    self._command(raw)
                except (_Gone, LinkError, OutcomeUnknownError) as exc:
                    self.terminal.note(f"dialogue ended: {exc}")

    def _mode(self) -> str:
        """How the terminal takes the line now: off, or one of the line modes."""
        if not self.terminal.powered:
            return "off"
        if self.line_ok is not None and not self.line_ok():
            return "noise"  # the client's baud rate or stop bits differ from ours
        return self.terminal.line_mode

    def _answer_unheard(self, count: int) -> None:
        """Bytes that came while the line went wrong (mis-set mid-read) get the answer such a
        line gives (noise), as the next ones will: a terminal never sits out one frame."""
        answer = answer_off_protocol(self._mode(), bytes(count)) if count else b""
        if answer:
            self.link.write(answer)

    def _off_protocol(self) -> None:
        data = self.link.read(4096, deadline=deadline_in(0.2))
        self.transport.reset()
        self.tamper.link.resync()  # these bytes went past the fault link
        if self._mode() == "normal":  # back to normal as they came: they are a command
            self.link.unread(data)
            return
        answer = answer_off_protocol(self._mode(), data)
        if answer:
            self.link.write(answer)

    # -- talking to the ECR ------------------------------------------------------------------

    def _send(self, apdu: Apdu | bytes) -> None:
        try:
            self.transport.send(apdu if isinstance(apdu, bytes) else apdu.encode())
        except (LinkError, OutcomeUnknownError) as exc:
            raise _Gone(f"sending failed: {exc}") from None

    def _say(self, apdu: Apdu | bytes) -> bool:
        """Send a message and wait for the ECR's answer: True for 80 00, False for 84 xx."""
        self._send(apdu)
        deadline = time.monotonic() + self.ack_timeout
        while True:
            try:
                raw = self.transport.receive(deadline)
            except (LinkError, OutcomeUnknownError) as exc:
                raise _Gone(f"no acknowledgement from the ECR: {exc}") from None
            try:
                apdu_in = decode_apdu(raw)
            except ZvtProtocolError:
                continue
            if apdu_in.cls == 0x80 or (apdu_in.cls == 0x84 and apdu_in.ins == 0):
                return True
            if apdu_in.cls == 0x84:
                self.terminal.note(f"ECR answered 84 {apdu_in.ins:02X}")
                return False
            if apdu_in.command == AbortCommand.CODE:
                self._abort_requested = True
            elif parse_command_safely(apdu_in) is not None:
                self._next = raw  # the ECR gave up on this dialogue and sent a new command
                raise _Gone("the ECR sent a new command")

    def show(self, code: int) -> None:
        """``Front.show``: an intermediate status, if the ECR asked for them."""
        if not self.terminal.powered:
            raise Interrupted("power")
        if self.terminal.config & CFG_INTERMEDIATE_STATUS:
            try:
                self._say(IntermediateStatus(code).apdu())
            except _Gone:
                raise Interrupted("link") from None

    def wait(self, seconds: float) -> None:
        """``Front.wait``: cardholder time, watching for an ECR abort, a dropped link, power."""
        end = time.monotonic() + seconds
        while True:
            if not self.terminal.powered:
                raise Interrupted("power")
            if self._abort_requested:
                raise Interrupted("abort")
            if time.monotonic() >= end:
                return
            try:
                raw = self.transport.receive(min(end, time.monotonic() + 0.05))
            except LinkTimeout:
                continue
            except (LinkError, OutcomeUnknownError):
                raise Interrupted("link") from None
            if raw[:2] == AbortCommand.CODE:
                self._abort_requested = True
            elif raw[:1] in (b"\x05", b"\x06", b"\x08"):
                self._next = raw  # a new command: the ECR has left this dialogue
                raise Interrupted("link")

    # -- commands ----------------------------------------------------------------------------

    def _command(self, raw: bytes) -> None:
        t = self.terminal
        if raw[:1] in (b"\x80", b"\x84"):
            t.note("an acknowledgement with nothing outstanding: ignored")
            return  # the ECR's late answer to a message of a dialogue that already ended
        try:
            command = parse_command(decode_apdu(raw))
        except ZvtProtocolError as exc:
            t.note(f"malformed command: {exc}")
            self._send(NegativeAck(0x9A).apdu())
            return
        if command is None or isinstance(command, AbortCommand):
            self._send(NegativeAck(0x83).apdu())
            return
        if isinstance(command, NEEDS_REGISTRATION) and not t.registered:
            self._send(NegativeAck(0x6B).apdu())
            return
        password = getattr(command, "password", None)
        if password is not None and not t.check_password(password):
            self._send(NegativeAck(0x83).apdu())
            return
        match command:
            case Registration():
                self._registration(command)
            case StatusEnquiry():
                self._send(Ack().apdu())
                self._say(
                    Completion.for_status(
                        t.software.encode(), t.status_code, [(0x29, t.terminal_id)]
                    ).apdu()
                )
            case LogOff():
                t.registered = False
                self._send(Ack().apdu())
                self._say(Completion().apdu())
            case RepeatReceipt():
                self._repeat()
            case EndOfDay():
                self._end_of_day()
            case Authorization() | Refund() | Reversal():
                self._booking(command)

    def _registration(self, command: Registration) -> None:
        t = self.terminal
        code = t.register(
            command.password, command.config, command.currency, frozenset(command.permitted)
        )
        if code:
            self._send(NegativeAck(code).apdu())
            return
        self._send(Ack().apdu())
        fields: list[tuple[int, bytes | int]] = [(0x19, 0), (0x29, t.terminal_id)]
        if command.currency is not None:
            fields.append((0x49, t.currency.numeric))
        self._say(Completion.build(fields).apdu())

    def _repeat(self) -> None:
        t = self.terminal
        self._send(Ack().apdu())
        last = t.journal.last()
        if last is not None:
            self._say(txn_info(t, last, full_pan=self.full_pan))
            for apdu in receipt_apdus(t, receipt_text(t, last, self.charset), self.charset):
                self._say(apdu)
        self._say(Completion().apdu())

    def _end_of_day(self) -> None:
        t = self.terminal
        self._send(Ack().apdu())
        self.show(0x0E)
        day = DayFigures.of(t.end_of_day())
        self._say(day_info(t, day, t.journal.next_trace()))
        lines = ["PAYCHANNELS SIM TERMINAL", "END OF DAY", *day.receipt_lines(t.currency.code)]
        for apdu in receipt_apdus(t, lines, self.charset):
            self._say(apdu)
        self._say(Completion().apdu())

    def _booking(self, command: Authorization | Refund | Reversal) -> None:
        t = self.terminal
        kind = {Authorization: "payment", Refund: "refund", Reversal: "reversal"}[type(command)]
        script, tag = t.take(kind, getattr(command, "amount", None))
        if script.has("lose_request"):
            t.note(f"{kind}: command ignored (lose_request)")
            return
        if script.has("refuse"):
            self._send(NegativeAck(0x83).apdu())
            return
        if script.has("late_ack"):
            time.sleep(script.fault_delay)
        if script.has("leftover_completion"):
            self._say(Completion().apdu())  # the tail of a dialogue the ECR had given up on
        self._abort_requested = False
        self._send(Ack().apdu())
        try:
            booking = self._run(command, script, tag)
        except Interrupted as stop:
            t.note(f"{kind} interrupted before booking: {stop.reason}")
            if stop.reason == "abort":
                self._say(PtAbort(0x6C).apdu())
            return
        self._answer(booking, script)

    def _run(
        self, command: Authorization | Refund | Reversal, script: Script, tag: str | None
    ) -> Booking:
        t = self.terminal
        if script.has("power_cycle"):
            self.show(0x0A)
            t.power_cycle(script.off_for)
            raise Interrupted("power")
        match command:
            case Authorization():
                return t.authorize(
                    self, command.amount, last_receipt=command.last_receipt, script=script, tag=tag
                )
            case Refund():
                return t.refund(self, command.amount, script=script, tag=tag)
            case Reversal():
                return t.reverse(self, command.receipt, script=script, tag=tag)

    def _answer(self, booking: Booking, script: Script) -> None:
        """After the bank: status information, receipt, completion — with the script's faults."""
        t = self.terminal
        if script.has("power_cycle_after_booking"):
            t.power_cycle(script.off_for)
            return
        if script.has("disconnect_after_approval"):
            t.note("link dropped after booking (disconnect_after_approval)")
            if self.framing == "tcp":
                self.link.close()
            return
        if script.has("late_completion"):
            time.sleep(script.fault_delay)
        if script.has("unknown_apdu"):
            self._say(unknown_apdu())
        txn = booking.txn
        if txn is not None:
            info = txn_info(t, txn, full_pan=self.full_pan)
            if script.has("garble_reply") or (
                script.has("corrupt_frame") and self.framing == "tcp"
            ):
                self._say(garbled(info))
                return
            if script.has("drop_frame") and self.framing == "tcp":
                pass
            else:
                self.tamper.arm(
                    info.encode(),
                    drop=script.has("drop_frame"),
                    corrupt=script.has("corrupt_frame"),
                )
                if not self._say(info):
                    return
            for apdu in receipt_apdus(t, receipt_text(t, txn, self.charset), self.charset):
                self._say(apdu)
        if booking.approved:
            self._say(Completion().apdu())
        else:
            self._say(PtAbort(booking.result_code).apdu())
