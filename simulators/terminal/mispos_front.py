"""The simulated terminal speaking a bank's MIS-POS dialect, as any profile declares it.

The terminal end of the MIS-POS driver's own framing and packing: it ACKs each request
frame, reads the verb from its transaction type, drives the shared terminal core (the
cardholder, the bank, the journal the ZVT and cloud fronts use too) and answers with the
verb's response fields — trace, reference number, date and time, the card, the receipt as
print text. "Query last transaction" answers with the journal's last transaction. Faults
from the script are applied where the bytes are: NAKs (``tamper``), a lost request, an
answer lost, corrupted, garbled or late, a power cut before or after booking.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from paychannels.drivers.mispos.client import make_transport
from paychannels.drivers.mispos.codec import Fields, decode_request, encode_fields
from paychannels.drivers.mispos.errors import MisposFormatError
from paychannels.drivers.mispos.profile import Profile, VerbSpec
from paychannels.links.base import Link, deadline_in
from paychannels.security.masking import mask_pan
from paychannels.simulators.terminal.core import Booking, Interrupted, SimTerminal
from paychannels.simulators.terminal.journal import SimTxn
from paychannels.simulators.terminal.line import PushbackLink, answer_off_protocol
from paychannels.simulators.terminal.mispos_tamper import KINDS, MisposTamper
from paychannels.simulators.terminal.script import Script
from paychannels.values.errors import LinkError, LinkTimeout, OutcomeUnknownError
from paychannels.values.money import Money

__all__ = ["MisposSession", "reference_of"]

# core result codes -> ISO 8583-style answer codes (B4 already reversed: 94; B5 not found: 25)
_CODES = {0: "00", 5: "05", 51: "51", 54: "54", 55: "55", 0x6C: "C1", 0xB4: "94", 0xB5: "25"}
NOT_FOUND = "25"


def reference_of(terminal: SimTerminal, txn: SimTxn) -> str:
    """The 12-digit reference number (参考号) of a transaction."""
    return f"{terminal.terminal_id % 10000:04d}{txn.trace:08d}"


class MisposSession:
    """Serves MIS-POS requests on one line until it closes or ``stop`` is set."""

    def __init__(
        self,
        terminal: SimTerminal,
        link: Link,
        profile: Profile,
        *,
        stop: threading.Event,
        line_ok: Callable[[], bool] | None = None,
        full_pan: bool = True,
    ) -> None:
        self.terminal = terminal
        self.link = PushbackLink(link)
        self.profile = profile
        self.stop = stop
        self.line_ok = line_ok
        self.full_pan = full_pan
        # the transport is the driver's own; its faults are bytes on the line (a FaultLink)
        self.tamper = MisposTamper(terminal, self.link, profile, hears=lambda: self._mode() == "ok")
        self.transport = make_transport(self.tamper.link, profile)
        self._answered: tuple[bytes, bytes] | None = None  # the last booking request, answer
        self._previous: bytes | None = None  # the last booking's answer (for leftover_answer)

    def _mode(self) -> str:
        if not self.terminal.powered:
            return "off"
        if self.line_ok is not None and not self.line_ok():
            return "noise"
        return "ok" if self.terminal.line_mode == "normal" else self.terminal.line_mode

    def serve(self) -> None:
        """Answer requests until the link closes or the simulator stops."""
        while not self.stop.is_set() and self.link.is_open:
            mode = self._mode()
            if mode != "ok":
                data = self.link.read(4096, deadline=deadline_in(0.2)) if mode != "off" else b""
                self.transport.reset()
                self.tamper.link.resync()  # these bytes went past the fault link
                if data and self._mode() == "ok":  # back to normal as they came: a request
                    self.link.unread(data)
                    continue
                answer = answer_off_protocol(mode, data) if data else b""
                if answer:
                    self.link.write(answer)
                elif mode == "off":
                    time.sleep(0.05)
                continue
            lost = self.tamper.link.lost_in
            try:
                raw = self.transport.receive(deadline_in(0.2))
            except LinkTimeout:
                # bytes that came as the line went wrong get the answer such a line gives
                unheard = self.tamper.link.lost_in - lost
                answer = answer_off_protocol(self._mode(), bytes(unheard)) if unheard else b""
                if answer:
                    self.link.write(answer)
                continue
            except LinkError:
                return
            with self.terminal.busy:
                try:
                    self._request(raw)
                except (LinkError, OutcomeUnknownError) as exc:
                    self.terminal.note(f"MIS-POS answer not delivered: {exc}")

    # -- one request -------------------------------------------------------------------------

    def _request(self, raw: bytes) -> None:
        t = self.terminal
        try:
            verb, fields = decode_request(self.profile, raw)
        except MisposFormatError as exc:
            t.note(f"MIS-POS request not understood: {exc}")
            return
        kind = KINDS.get(verb.name)
        script: Script | None = None
        tag: str | None = None
        if kind is not None and self._repeated(raw):
            return
        if kind is not None:
            amount = fields.get("amount")
            script, tag = t.take(kind, int(amount) if amount else None)
            tag = tag or fields.get("ecr_reference")
            if script.has("lose_request"):
                t.note(f"MIS-POS {verb.name}: request ignored (lose_request)")
                return
        if script is not None and script.has("leftover_answer") and self._previous:
            self.transport.send(self._previous)  # the late answer to an earlier request
        try:
            values = self._answer(verb, fields, script, tag)
        except Interrupted as stop:
            t.note(f"MIS-POS {verb.name} interrupted before booking: {stop.reason}")
            return
        if script is not None and self._fault_after_booking(script):
            return
        body = encode_fields(self.profile, verb.response, values)
        if script is not None and script.has("garble_reply"):
            body = body[: max(1, len(body) // 2)] + b"\xff"
        if script is not None:
            self._previous = body
            self.tamper.arm(
                body, drop=script.has("drop_frame"), corrupt=script.has("corrupt_frame")
            )
            if self.profile.frame.resend_key:
                self._answered = (raw, body)
        self.transport.send(body)

    def _repeated(self, raw: bytes) -> bool:
        """A profile with a resend key: the same booking request again is answered again,
        never booked twice (what such a terminal's document promises)."""
        if not self.profile.frame.resend_key or self._answered is None:
            return False
        request, answer = self._answered
        if raw != request:
            return False
        self.terminal.note("MIS-POS: a repeated booking request answered again, not booked")
        self.transport.send(answer)
        return True

    def _fault_after_booking(self, script: Script) -> bool:
        t = self.terminal
        if script.has("power_cycle_after_booking"):
            t.power_cycle(script.off_for)
            return True
        if script.has("disconnect_after_approval"):
            t.note("MIS-POS: the answer after booking never left (disconnect_after_approval)")
            return True
        if script.has("late_completion"):
            time.sleep(script.fault_delay)
        return False

    def _answer(
        self, verb: VerbSpec, fields: Fields, script: Script | None, tag: str | None
    ) -> dict[str, str]:
        t = self.terminal
        if script is not None and script.has("power_cycle"):
            t.power_cycle(script.off_for)
            raise Interrupted("power")
        match verb.name:
            case "sale":
                assert script is not None
                amount = int(fields.get("amount") or 0)
                booking = t.authorize(self, amount, last_receipt=None, script=script, tag=tag)
                return self._booking(verb, booking)
            case "void":
                assert script is not None
                original = t.journal.by_trace(int(fields.get("original_trace") or 0))
                if original is None or original.kind != "payment" or not original.approved:
                    return {"trans_type": verb.code, "rc": NOT_FOUND}
                return self._booking(
                    verb, t.reverse(self, original.receipt, script=script, tag=tag)
                )
            case "refund":
                assert script is not None
                return self._refund(verb, fields, script, tag)
            case "query":
                last = t.journal.last()
                if last is None:
                    return {"trans_type": verb.code, "rc": NOT_FOUND}
                return self._txn(self._verb_of(last), last)
            case "settle":
                batch = t.journal.batch  # the answer names the batch it closed
                closed = [x for x in t.end_of_day() if x.approved and not x.reversed]
                paid = [x.amount for x in closed if x.kind == "payment"]
                back = [x.amount for x in closed if x.kind == "refund"]
                # the total is the batch's net in fen: payments less refunds (voids are gone)
                total = sum(paid) - sum(back)
                money = t.currency.code
                shown = Money.of_minor(total, money).to_decimal_string()  # people read yuan
                refunds = Money.of_minor(sum(back), money).to_decimal_string()
                text = (f"结算 SETTLEMENT\n笔数 COUNT {len(paid)}\n"
                        f"退货 REFUNDS {len(back)} {refunds}\n金额 TOTAL {shown}")  # fmt: skip
                return {"trans_type": verb.code, "rc": "00", "batch": f"{batch:06d}",
                        "amount": str(total), "terminal_id": f"{t.terminal_id:08d}",
                        "print_text": text}  # fmt: skip
            case _:  # reprint
                last = t.journal.last()
                lines = t.receipt_lines(last, chinese=True) if last is not None else []
                return {"trans_type": verb.code, "rc": "00", "print_text": "\n".join(lines)}

    def _refund(
        self, verb: VerbSpec, fields: Fields, script: Script, tag: str | None
    ) -> dict[str, str]:
        t = self.terminal
        wanted = fields.get("original_reference")
        original = next(
            (x for x in t.journal.txns if x.kind == "payment" and reference_of(t, x) == wanted),
            None,
        )
        amount = int(fields.get("amount") or 0)
        if original is None or not original.approved or original.reversed:
            return {"trans_type": verb.code, "rc": NOT_FOUND}
        if amount > original.amount - t.journal.refunded(original.receipt, original.batch):
            return {"trans_type": verb.code, "rc": "61"}
        booking = t.refund(self, amount, script=script, tag=tag, original_receipt=original.receipt)
        return self._booking(verb, booking)

    def _booking(self, verb: VerbSpec, booking: Booking) -> dict[str, str]:
        if booking.txn is None:
            return {"trans_type": verb.code, "rc": _CODES.get(booking.result_code, "96")}
        return self._txn(verb, booking.txn)

    def _verb_of(self, txn: SimTxn) -> VerbSpec:
        name = {"payment": "sale", "refund": "refund", "reversal": "void"}[txn.kind]
        return self.profile.verbs[name]

    def _txn(self, verb: VerbSpec, txn: SimTxn) -> dict[str, str]:
        t = self.terminal
        at = datetime.fromisoformat(txn.at)
        card = txn.card if self.full_pan else mask_pan(txn.card).replace("*", "0")
        values = {
            "trans_type": verb.code,
            "rc": _CODES.get(txn.result_code, f"{txn.result_code % 100:02d}"),
            "amount": str(txn.amount),
            "card": card,
            "trace": f"{txn.trace:06d}",
            "batch": f"{txn.batch:06d}",
            "reference": reference_of(t, txn),
            "auth_code": f"{txn.trace:06d}",
            "date": at.strftime("%Y%m%d"),
            "time": at.strftime("%H%M%S"),
            "terminal_id": f"{t.terminal_id:08d}",
            "merchant_id": "898110048990001",
            "rc_text": "交易成功" if txn.approved else "交易失败",
            "print_text": "\n".join(t.receipt_lines(txn, chinese=True)),
        }
        if txn.original_receipt is not None:
            original = t.journal.find(txn.original_receipt)
            if original is not None:
                values["original_trace"] = f"{original.trace:06d}"
        return values

    # -- Front (the core asks us to show statuses and let time pass) -------------------------

    def show(self, code: int) -> None:
        if not self.terminal.powered:
            raise Interrupted("power")

    def wait(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not self.terminal.powered:
                raise Interrupted("power")
            time.sleep(min(0.02, max(0.0, end - time.monotonic())))
