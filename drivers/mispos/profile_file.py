"""A MIS-POS profile file as written: the shape of every table and key, as pydantic models.

These models check what one key can say alone — its type (strict: ``3.0`` is not a count),
its range, its choices — and refuse unknown keys. What only the whole profile can say (a verb
naming an undeclared field, a length that overflows) is checked in ``profile_checks``. The
published JSON Schema (``docs/schemas/mispos-profile.json``) is generated from ``ProfileFile``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, WithJsonSchema

from paychannels.links.serial import BAUDRATES
from paychannels.values.configfile import Between, FileModel
from paychannels.values.reasons import Reason

__all__ = [
    "BodyTable",
    "FieldTable",
    "FrameTable",
    "LineTable",
    "ProfileFile",
    "ResultTable",
    "VerbTable",
    "VerbsTable",
]

Format = Literal["n", "amount", "ans", "text", "card"]
LrcPart = Literal["stx", "length", "body", "etx"]


def _baudrate(value: int) -> int:
    if value not in BAUDRATES:
        raise ValueError(f"must be one of {', '.join(map(str, BAUDRATES))}, not {value}")
    return value


def _reason(value: str) -> str:
    if value not in Reason.__members__:
        raise ValueError(f"{value!r} is not one of ours ({', '.join(Reason.__members__)})")
    return value


def _default_lrc() -> list[LrcPart]:
    return ["length", "body", "etx"]


Byte = Annotated[int, Between(0, 255)]
Size = Annotated[int, Between(1, 65535)]
Baudrate = Annotated[
    int, AfterValidator(_baudrate), WithJsonSchema({"type": "integer", "enum": list(BAUDRATES)})
]
ReasonName = Annotated[
    str,
    AfterValidator(_reason),
    WithJsonSchema({"type": "string", "enum": list(Reason.__members__)}),
]


class LineTable(FileModel):
    """``[line]``: the serial line (most MIS-POS terminals: 9600 baud, 8N1)."""

    baudrate: Baudrate = 9600
    bytesize: Annotated[int, Between(5, 8)] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: Literal["1", "1.5", "2"] = "1"
    answer_timeout: Annotated[float, Between(0.1, 600)] = 60.0


class FrameTable(FileModel):
    """``[frame]``: ``STX | length | body | ETX | LRC`` as this terminal family writes it."""

    stx: Byte = 0x02
    etx: Byte = 0x03
    length: Literal["bcd", "ascii", "binary", "none"] = "bcd"
    #: bytes (bcd 1..3, binary 1..4) or digits (ascii 1..6); ignored when length is none
    length_size: Annotated[int, Between(0, 6)] = 2
    length_counts: Literal["body", "body+etx"] = "body"
    lrc: list[LrcPart] = Field(default_factory=_default_lrc)
    lrc_seed: Byte = 0x00
    acknowledge: bool = True
    ack: Byte = 0x06
    nak: Byte = 0x15
    ack_timeout: Annotated[float, Between(0.05, 60)] = 2.0
    resends: Annotated[int, Between(0, 9)] = 3
    resend_key: str = ""


class BodyTable(FileModel):
    """``[body]``: TLV (tag and length sizes) or separator-delimited fields."""

    codec: Literal["tlv", "separated"] = "tlv"
    tag_size: Annotated[int, Between(1, 4)] = 2
    length_format: Literal["binary", "bcd", "ascii"] = "binary"
    length_size: Annotated[int, Between(1, 4)] = 2
    separator: Byte = 0x1C


class FieldTable(FileModel):
    """One of ``[fields]``: its TLV tag (hex), format and exact ``size`` or ``max`` length."""

    tag: str | None = None
    format: Format
    size: Size | None = None
    max: Size | None = None


class ResultTable(FileModel):
    """``[result]``: the answer-code field, the approved codes, our reasons and texts."""

    field: str = "rc"
    approved: Annotated[list[str], Field(min_length=1)] = Field(default_factory=lambda: ["00"])
    reasons: dict[str, ReasonName] = Field(default_factory=dict)
    texts: dict[str, str] = Field(default_factory=dict)


class VerbTable(FileModel):
    """One of ``[verbs]``: the transaction-type code and the fields (names or tags) sent back."""

    code: str
    request: list[str]
    response: list[str]


class VerbsTable(FileModel):
    """``[verbs]``: sale, void, refund and query last transaction are mandatory."""

    sale: VerbTable
    void: VerbTable
    refund: VerbTable
    query: VerbTable
    settle: VerbTable | None = None
    reprint: VerbTable | None = None


class ProfileFile(FileModel):
    """A whole MIS-POS profile file (``profiles/*.toml`` or your own)."""

    name: str
    title: str = ""
    source: str = ""
    encoding: str = "gbk"
    currency: str = "CNY"
    line: LineTable = Field(default_factory=LineTable)
    frame: FrameTable = Field(default_factory=FrameTable)
    body: BodyTable = Field(default_factory=BodyTable)
    fields: dict[str, FieldTable] = Field(default_factory=dict)
    result: ResultTable = Field(default_factory=ResultTable)
    verbs: VerbsTable
