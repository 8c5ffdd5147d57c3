"""ECR -> terminal commands: builders and parsers (the simulator parses what the ECR builds).

Layouts from terminals.md §2: the password is 3 BCD bytes; Registration carries its
config byte and currency positionally; the rest are BMPs. ``Authorization`` may echo the
last receipt number the ECR has booked in TLV ``1F1F`` (§4). ``parse_command`` returns
``None`` for a well-formed APDU of a command we do not know, and raises
``ZvtProtocolError`` for a known one that is malformed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from paychannels.drivers.zvt.apdu import Apdu
from paychannels.drivers.zvt.bcd import bcd_decode, bcd_encode
from paychannels.drivers.zvt.bmp import BMPS, Bitmaps, decode_bmps, encode_bmp
from paychannels.drivers.zvt.errors import ZvtProtocolError
from paychannels.drivers.zvt.tlv import Tlv, find

__all__ = [
    "BOOKING",
    "AbortCommand",
    "Authorization",
    "Command",
    "EndOfDay",
    "LogOff",
    "Refund",
    "Registration",
    "RepeatReceipt",
    "Reversal",
    "StatusEnquiry",
    "parse_command",
]

#: TLV tag of the last-receipt-number echo in a transaction command
LAST_RECEIPT_TAG = 0x1F1F
#: TLV tags of the permitted-commands list in a Registration
PERMITTED_TAG, COMMAND_TAG = 0x26, 0x0A
#: Repeat Receipt service byte: send the last Status-Information again
REPEAT_STATUS_INFO = 0x01
#: Registration config bits (terminals.md §2)
CFG_ECR_PRINTS_PAYMENT, CFG_ECR_PRINTS_ADMIN, CFG_INTERMEDIATE_STATUS = 0x02, 0x04, 0x08
CFG_NO_AMOUNT_AT_PT, CFG_NO_ADMIN_AT_PT, CFG_PRINT_LINES = 0x10, 0x20, 0x80


def _pwd(data: bytes, name: str) -> int:
    if len(data) < 3:
        raise ZvtProtocolError(f"the 3-byte password of {name} is missing", field="password")
    return bcd_decode(data[:3], field=f"{name} password")


def _required(bitmaps: Bitmaps, tag: int, command: str) -> int:
    """A BCD BMP the command cannot do without."""
    value = bitmaps.number(tag)
    if value is None:
        name = BMPS[tag].name
        raise ZvtProtocolError(
            f"{command} without its {name} (BMP {tag:02X})", field=f"BMP {tag:02X}"
        )
    return value


def _tlv_receipt(bitmaps: Bitmaps) -> int | None:
    found = find(bitmaps.tlv(), LAST_RECEIPT_TAG)
    return None if found is None else bcd_decode(found.value, field="TLV 1F1F")


@dataclass(frozen=True, slots=True)
class Registration:
    """``06 00``: log the ECR on, set the config byte and currency, list commands it accepts."""

    CODE: ClassVar[bytes] = b"\x06\x00"
    password: int
    config: int
    currency: int | None = None
    service: int | None = None
    permitted: tuple[bytes, ...] = ()

    def apdu(self) -> Apdu:
        data = bcd_encode(self.password, 3) + bytes([self.config])
        if self.currency is not None:
            data += bcd_encode(self.currency, 2)
            if self.service is not None:
                data += encode_bmp(0x03, self.service)
            if self.permitted:
                cmds = [Tlv(COMMAND_TAG, c) for c in self.permitted]
                data += encode_bmp(0x06, [Tlv.of(PERMITTED_TAG, *cmds)])
        return Apdu(6, 0, data)

    @classmethod
    def parse(cls, apdu: Apdu) -> Registration:
        data = apdu.data
        if len(data) < 4:
            raise ZvtProtocolError("Registration needs password and config byte", field="06 00")
        currency = bcd_decode(data[4:6], field="Registration currency") if len(data) >= 6 else None
        bitmaps = decode_bmps(data, start=6, what="Registration") if len(data) > 6 else Bitmaps()
        listed = find(bitmaps.tlv(), PERMITTED_TAG)
        children = listed.children if listed is not None and listed.children else ()
        permitted = tuple(c.value for c in children if c.tag == COMMAND_TAG)
        return cls(_pwd(data, "Registration"), data[3], currency, bitmaps.byte(0x03), permitted)


@dataclass(frozen=True, slots=True)
class StatusEnquiry:
    """``05 01``: ask whether the terminal is ready (sent without data, as terminals.md shows)."""

    CODE: ClassVar[bytes] = b"\x05\x01"
    password: int | None = None

    def apdu(self) -> Apdu:
        return Apdu(5, 1, b"" if self.password is None else bcd_encode(self.password, 3))

    @classmethod
    def parse(cls, apdu: Apdu) -> StatusEnquiry:
        return cls(_pwd(apdu.data, "Status-Enquiry") if apdu.data else None)


@dataclass(frozen=True, slots=True)
class Authorization:
    """``06 01``: take a payment of ``amount`` minor units."""

    CODE: ClassVar[bytes] = b"\x06\x01"
    amount: int
    currency: int | None = None
    payment_type: int | None = None
    timeout: int | None = None
    max_status_infos: int | None = None
    last_receipt: int | None = None

    def apdu(self) -> Apdu:
        data = encode_bmp(0x04, self.amount)
        if self.currency is not None:
            data += encode_bmp(0x49, self.currency)
        if self.payment_type is not None:
            data += encode_bmp(0x19, self.payment_type)
        if self.timeout is not None:
            data += encode_bmp(0x01, self.timeout)
        if self.max_status_infos is not None:
            data += encode_bmp(0x02, self.max_status_infos)
        if self.last_receipt is not None:
            data += encode_bmp(0x06, [Tlv(LAST_RECEIPT_TAG, bcd_encode(self.last_receipt, 2))])
        return Apdu(6, 1, data)

    @classmethod
    def parse(cls, apdu: Apdu) -> Authorization:
        b = decode_bmps(apdu.data, what="Authorization")
        amount = _required(b, 0x04, "Authorization")
        return cls(
            amount, b.number(0x49), b.byte(0x19), b.byte(0x01), b.byte(0x02), _tlv_receipt(b)
        )


@dataclass(frozen=True, slots=True)
class Reversal:
    """``06 30``: reverse the payment with ``receipt`` (optionally stating its amount)."""

    CODE: ClassVar[bytes] = b"\x06\x30"
    password: int
    receipt: int
    amount: int | None = None

    def apdu(self) -> Apdu:
        data = bcd_encode(self.password, 3) + encode_bmp(0x87, self.receipt)
        if self.amount is not None:
            data += encode_bmp(0x04, self.amount)
        return Apdu(6, 0x30, data)

    @classmethod
    def parse(cls, apdu: Apdu) -> Reversal:
        b = decode_bmps(apdu.data, start=3, what="Reversal")
        receipt = _required(b, 0x87, "Reversal")
        return cls(_pwd(apdu.data, "Reversal"), receipt, b.number(0x04))


@dataclass(frozen=True, slots=True)
class Refund:
    """``06 31``: pay ``amount`` back to the card presented."""

    CODE: ClassVar[bytes] = b"\x06\x31"
    password: int
    amount: int
    currency: int | None = None

    def apdu(self) -> Apdu:
        data = bcd_encode(self.password, 3) + encode_bmp(0x04, self.amount)
        if self.currency is not None:
            data += encode_bmp(0x49, self.currency)
        return Apdu(6, 0x31, data)

    @classmethod
    def parse(cls, apdu: Apdu) -> Refund:
        b = decode_bmps(apdu.data, start=3, what="Refund")
        return cls(_pwd(apdu.data, "Refund"), _required(b, 0x04, "Refund"), b.number(0x49))


@dataclass(frozen=True, slots=True)
class EndOfDay:
    """``06 50``: close the day's batch and report its totals."""

    CODE: ClassVar[bytes] = b"\x06\x50"
    password: int

    def apdu(self) -> Apdu:
        return Apdu(6, 0x50, bcd_encode(self.password, 3))

    @classmethod
    def parse(cls, apdu: Apdu) -> EndOfDay:
        return cls(_pwd(apdu.data, "End-of-Day"))


@dataclass(frozen=True, slots=True)
class RepeatReceipt:
    """``06 20``: repeat the last receipt; service bit 0 resends the last Status-Information."""

    CODE: ClassVar[bytes] = b"\x06\x20"
    password: int
    service: int | None = REPEAT_STATUS_INFO

    def apdu(self) -> Apdu:
        data = bcd_encode(self.password, 3)
        if self.service is not None:
            data += encode_bmp(0x03, self.service)
        return Apdu(6, 0x20, data)

    @classmethod
    def parse(cls, apdu: Apdu) -> RepeatReceipt:
        b = decode_bmps(apdu.data, start=3, what="Repeat Receipt")
        return cls(_pwd(apdu.data, "Repeat Receipt"), b.byte(0x03))


@dataclass(frozen=True, slots=True)
class AbortCommand:
    """``06 B0``: ask the terminal to abort the running transaction (if it still can)."""

    CODE: ClassVar[bytes] = b"\x06\xb0"

    def apdu(self) -> Apdu:
        return Apdu(6, 0xB0)

    @classmethod
    def parse(cls, apdu: Apdu) -> AbortCommand:  # noqa: ARG003 - one signature for all
        return cls()


@dataclass(frozen=True, slots=True)
class LogOff:
    """``06 02``: the ECR logs off."""

    CODE: ClassVar[bytes] = b"\x06\x02"

    def apdu(self) -> Apdu:
        return Apdu(6, 2)

    @classmethod
    def parse(cls, apdu: Apdu) -> LogOff:  # noqa: ARG003 - one signature for all
        return cls()


Command = (
    Registration
    | StatusEnquiry
    | Authorization
    | Reversal
    | Refund
    | EndOfDay
    | RepeatReceipt
    | AbortCommand
    | LogOff
)
_COMMANDS: dict[bytes, type[Command]] = {
    c.CODE: c
    for c in (
        Registration,
        StatusEnquiry,
        Authorization,
        Reversal,
        Refund,
        EndOfDay,
        RepeatReceipt,
        AbortCommand,
        LogOff,
    )
}
#: commands that book (money, or the day's batch): never sent twice on a lost ACK
BOOKING = frozenset({Authorization.CODE, Reversal.CODE, Refund.CODE, EndOfDay.CODE})
#: commands whose first three data bytes are the password (masked in transcripts)
WITH_PASSWORD = frozenset({b"\x06\x00", b"\x06\x30", b"\x06\x31", b"\x06\x50", b"\x06\x20"})


def parse_command(apdu: Apdu) -> Command | None:
    """The ECR command in an APDU; None if the command is not one we know."""
    kind = _COMMANDS.get(apdu.command)
    return None if kind is None else kind.parse(apdu)


def command_name(code: bytes) -> str:
    """A command's name for messages (``Authorization``), or its hex."""
    kind = _COMMANDS.get(code)
    return kind.__name__ if kind is not None else code.hex(" ").upper()
