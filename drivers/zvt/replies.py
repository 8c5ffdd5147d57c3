"""Terminal -> ECR messages: acknowledgements, statuses, print lines, status information, ends.

Builders serve the simulator, parsers the ECR. Layouts from terminals.md §2-3:
``04 FF status [timeout]``, ``04 0F`` BMPs, ``06 D1 attr text``, ``06 D3`` a TLV container
with print texts (tag 25 holding 07 lines, 09 end of receipt, 1F07 receipt type),
``06 0F`` completion (for a status enquiry: LLLVAR software version, terminal-status byte,
BMPs), ``06 1E result-code``. ``parse_reply`` returns ``UnknownMessage`` for a well-formed
APDU it does not know (the ECR answers ``84 83`` and waits on) and raises
``ZvtProtocolError`` for a known one that is malformed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar

from paychannels.drivers.zvt.apdu import Apdu
from paychannels.drivers.zvt.bcd import bcd_decode, bcd_encode, decode_var_length, encode_var_length
from paychannels.drivers.zvt.bmp import Bitmaps, decode_bmps, encode_bmp
from paychannels.drivers.zvt.errors import ZvtProtocolError
from paychannels.drivers.zvt.tlv import Tlv, decode_ber_length, decode_tlv, find

__all__ = [
    "Ack",
    "Completion",
    "IntermediateStatus",
    "NegativeAck",
    "PrintLine",
    "PtAbort",
    "Reply",
    "StatusInformation",
    "TextBlock",
    "UnknownMessage",
    "parse_reply",
]

PRINT_TEXTS, TEXT_LINE, END_OF_RECEIPT, RECEIPT_TYPE = 0x25, 0x07, 0x09, 0x1F07

BmpValue = bytes | int | Iterable[Tlv]


@dataclass(frozen=True, slots=True)
class Ack:
    """``80 00 00`` (or ``84 00 00``): positive acknowledgement."""

    def apdu(self) -> Apdu:
        return Apdu(0x80, 0)


@dataclass(frozen=True, slots=True)
class NegativeAck:
    """``84 xx 00``: the receiver refuses; ``9C`` asks for more time."""

    code: int

    def apdu(self) -> Apdu:
        return Apdu(0x84, self.code)


@dataclass(frozen=True, slots=True)
class IntermediateStatus:
    """``04 FF``: what the terminal shows now ("insert card"); may set a new T4 in minutes."""

    CODE: ClassVar[bytes] = b"\x04\xff"
    code: int
    timeout_minutes: int | None = None

    def apdu(self) -> Apdu:
        extra = b"" if self.timeout_minutes is None else bcd_encode(self.timeout_minutes, 1)
        return Apdu(4, 0xFF, bytes([self.code]) + extra)

    @classmethod
    def parse(cls, apdu: Apdu) -> IntermediateStatus:
        if not apdu.data:
            raise ZvtProtocolError("Intermediate status without a status byte", field="04 FF")
        minutes = bcd_decode(apdu.data[1:2], field="04 FF timeout") if len(apdu.data) > 1 else None
        return cls(apdu.data[0], minutes)


@dataclass(frozen=True, slots=True)
class StatusInformation:
    """``04 0F``: the transaction's result and its data, as BMPs."""

    CODE: ClassVar[bytes] = b"\x04\x0f"
    bitmaps: Bitmaps

    @classmethod
    def build(cls, fields: Iterable[tuple[int, BmpValue]]) -> StatusInformation:
        data = b"".join(encode_bmp(tag, value) for tag, value in fields)
        return cls(decode_bmps(data, what="Status-Information"))

    def apdu(self) -> Apdu:
        return Apdu(4, 0x0F, _bmp_bytes(self.bitmaps))

    @classmethod
    def parse(cls, apdu: Apdu) -> StatusInformation:
        return cls(decode_bmps(apdu.data, what="Status-Information"))

    @property
    def result_code(self) -> int | None:
        return self.bitmaps.byte(0x27)

    @property
    def amount(self) -> int | None:
        return self.bitmaps.number(0x04)

    @property
    def receipt(self) -> int | None:
        return self.bitmaps.number(0x87)

    @property
    def trace(self) -> int | None:
        return self.bitmaps.number(0x0B)

    @property
    def terminal_id(self) -> int | None:
        return self.bitmaps.number(0x29)


def _bmp_bytes(bitmaps: Bitmaps) -> bytes:
    return b"".join(encode_bmp(tag, value) for tag, value in bitmaps)


@dataclass(frozen=True, slots=True)
class PrintLine:
    """``06 D1 attr text``: one receipt line for the ECR to print.

    The attribute (ZVT-CMD Table 16): ``FF`` line feeds (text = their count), ``80`` reserved,
    any other value with bit 7 set the receipt's last line (an ECR that buffers a page or cuts
    paper waits for it), else bits 4-6 format and ``nnnn`` the indent in characters. Real
    terminals may append a TLV container (BMP 06) after the text, with the receipt type in
    ``1F07`` (Portalum's captures); it is split off, never printed.
    """

    CODE: ClassVar[bytes] = b"\x06\xd1"
    LINE_FEEDS: ClassVar[int] = 0xFF
    RESERVED: ClassVar[int] = 0x80
    #: the attribute a terminal sends on a receipt's last line (bit 7; the rest don't-care)
    LAST_LINE: ClassVar[int] = 0x81
    attribute: int
    text: bytes
    #: TLV ``1F07`` after the text: 1 merchant, 2 cardholder, 3 administration receipt
    receipt_type: int | None = None

    def apdu(self) -> Apdu:
        tail = b""
        if self.receipt_type is not None:
            tail = encode_bmp(0x06, [Tlv(RECEIPT_TYPE, bytes([self.receipt_type]))])
        return Apdu(6, 0xD1, bytes([self.attribute]) + self.text + tail)

    @classmethod
    def parse(cls, apdu: Apdu) -> PrintLine:
        if not apdu.data:
            raise ZvtProtocolError("Print line without an attribute byte", field="06 D1")
        data = apdu.data
        split = _trailing_container(data, 1)
        if split is None:
            return cls(data[0], data[1:])
        kind = find(decode_bmps(data, start=split, what="Print line").tlv(), RECEIPT_TYPE)
        receipt_type = kind.value[0] if kind is not None and kind.value else None
        return cls(data[0], data[1:split], receipt_type)

    @property
    def last(self) -> bool:
        """Whether this line ends a receipt (customer and merchant receipt switch here too)."""
        special = (self.LINE_FEEDS, self.RESERVED)
        return bool(self.attribute & 0x80) and self.attribute not in special

    def lines(self, charset: str) -> list[str]:
        """The printable line(s): ``FF n`` is n line feeds, ``80`` carries nothing."""
        if self.attribute == self.LINE_FEEDS:
            return [""] * (self.text[0] if self.text else 1)
        if self.attribute == self.RESERVED:
            return []
        indent = 0 if self.last else self.attribute & 0x0F
        text = self.text.decode(charset, errors="replace").rstrip()
        return [" " * indent + text if text else ""]


def _trailing_container(data: bytes, start: int) -> int | None:
    """Where a TLV container (BMP 06) that ends exactly at the end of ``data`` begins, if one
    does: the text before it is free-form, so only a container that parses to the last byte
    counts (a stray 06 inside the text is text)."""
    pos = data.find(0x06, start)
    while pos >= 0:
        try:
            length, body = decode_ber_length(data, pos + 1, field="Print line TLV length")
            if body + length == len(data):
                decode_tlv(data[body:])
                return pos
        except ZvtProtocolError:
            pass
        pos = data.find(0x06, pos + 1)
    return None


@dataclass(frozen=True, slots=True)
class TextBlock:
    """``06 D3``: a whole receipt in one TLV container."""

    CODE: ClassVar[bytes] = b"\x06\xd3"
    lines: tuple[bytes, ...]
    receipt_type: int | None = None
    complete: bool = True

    def apdu(self) -> Apdu:
        texts = [Tlv(TEXT_LINE, line) for line in self.lines]
        if self.complete:
            texts.append(Tlv(END_OF_RECEIPT, b""))
        items = [Tlv.of(PRINT_TEXTS, *texts)]
        if self.receipt_type is not None:
            items.append(Tlv(RECEIPT_TYPE, bytes([self.receipt_type])))
        return Apdu(6, 0xD3, encode_bmp(0x06, items))

    @classmethod
    def parse(cls, apdu: Apdu) -> TextBlock:
        items = decode_bmps(apdu.data, what="Text block").tlv()
        block = find(items, PRINT_TEXTS)
        children = block.children if block is not None and block.children else ()
        kind = find(items, RECEIPT_TYPE)
        return cls(
            tuple(t.value for t in children if t.tag == TEXT_LINE),
            kind.value[0] if kind is not None and kind.value else None,
            any(t.tag == END_OF_RECEIPT for t in children),
        )

    def text_lines(self, charset: str) -> list[str]:
        return [line.decode(charset, errors="replace").rstrip() for line in self.lines]


@dataclass(frozen=True, slots=True)
class Completion:
    """``06 0F``: the command is done. Its data depends on the command (see ``status``)."""

    CODE: ClassVar[bytes] = b"\x06\x0f"
    data: bytes = b""

    @classmethod
    def build(cls, fields: Iterable[tuple[int, BmpValue]]) -> Completion:
        return cls(b"".join(encode_bmp(tag, value) for tag, value in fields))

    @classmethod
    def for_status(
        cls, software: bytes, terminal_status: int, fields: Iterable[tuple[int, BmpValue]] = ()
    ) -> Completion:
        """The completion of a status enquiry: software version, status byte, BMPs."""
        head = encode_var_length(len(software), 3) + software + bytes([terminal_status])
        return cls(head + b"".join(encode_bmp(tag, value) for tag, value in fields))

    def apdu(self) -> Apdu:
        return Apdu(6, 0x0F, self.data)

    @classmethod
    def parse(cls, apdu: Apdu) -> Completion:
        return cls(apdu.data)

    def bitmaps(self) -> Bitmaps:
        """The BMPs of a completion (status byte 19, terminal id 29, currency 49...)."""
        return decode_bmps(self.data, what="Completion")

    def status(self, charset: str) -> tuple[str, int, Bitmaps]:
        """A status enquiry's completion: (software version, terminal-status byte, BMPs)."""
        length = decode_var_length(self.data, 0, 3, field="software version")
        end = 3 + length
        if end >= len(self.data):
            raise ZvtProtocolError(
                "status completion: software version runs past the terminal-status byte",
                offset=3,
                field="software version",
            )
        software = self.data[3:end].decode(charset, errors="replace")
        return software, self.data[end], decode_bmps(self.data, start=end + 1, what="Completion")


@dataclass(frozen=True, slots=True)
class PtAbort:
    """``06 1E rc``: the terminal aborted the command with a result code."""

    CODE: ClassVar[bytes] = b"\x06\x1e"
    result_code: int

    def apdu(self) -> Apdu:
        return Apdu(6, 0x1E, bytes([self.result_code]))

    @classmethod
    def parse(cls, apdu: Apdu) -> PtAbort:
        if not apdu.data:
            raise ZvtProtocolError("Abort without a result code", field="06 1E")
        return cls(apdu.data[0])


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """A well-formed APDU of a kind we do not handle."""

    apdu: Apdu


Reply = (
    Ack
    | NegativeAck
    | IntermediateStatus
    | StatusInformation
    | PrintLine
    | TextBlock
    | Completion
    | PtAbort
    | UnknownMessage
)
_PARSERS: dict[bytes, Callable[[Apdu], Reply]] = {
    k.CODE: k.parse
    for k in (IntermediateStatus, StatusInformation, PrintLine, TextBlock, Completion, PtAbort)
}


def parse_reply(apdu: Apdu) -> Reply:
    """The terminal message in an APDU (see the module docstring for unknown kinds)."""
    if apdu.cls == 0x80 and apdu.ins == 0:
        return Ack()
    if apdu.cls == 0x84:
        return Ack() if apdu.ins == 0 else NegativeAck(apdu.ins)
    parser = _PARSERS.get(apdu.command)
    return UnknownMessage(apdu) if parser is None else parser(apdu)
