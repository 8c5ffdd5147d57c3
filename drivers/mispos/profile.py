"""A MIS-POS profile: one terminal family's framing, body layout and transaction codes.

Bank MIS-POS terminals all speak "STX, length, fields, ETX, LRC" — each bank its own way.
A profile (a TOML file in ``profiles/``, or any path) declares the variants: how the length
is written and what it counts, which bytes the XOR LRC covers and its seed, ACK/NAK bytes
and resends, the text encoding (GBK, GB18030), whether the body is TLV (with tag and length
sizes) or separator-delimited, the fields (name -> tag or position, format, size), which
result codes mean approved and what the others mean, and for each of our verbs (sale, void,
refund, query last transaction, settle, reprint) its transaction-type code and the fields
of its request and response. ``load`` checks all of it (see ``profile_checks``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from paychannels.values.reasons import Reason

__all__ = [
    "BOOKING_VERBS",
    "FORMATS",
    "MANDATORY_VERBS",
    "VERBS",
    "BodySpec",
    "FieldSpec",
    "FrameSpec",
    "LineSpec",
    "Profile",
    "ResultSpec",
    "VerbSpec",
    "profile_file",
    "shipped_profiles",
]

#: n: digits; amount: digits of minor units; ans: printable ASCII; text: in the profile's
#: encoding; card: a card number (masked in transcripts)
FORMATS = ("n", "amount", "ans", "text", "card")
VERBS = ("sale", "void", "refund", "query", "settle", "reprint")
MANDATORY_VERBS = ("sale", "void", "refund", "query")
#: verbs that move money: their request frame is never resent on silence (a lost ACK)
BOOKING_VERBS = ("sale", "void", "refund")


@dataclass(frozen=True, slots=True)
class LineSpec:
    """The serial line's settings (most MIS-POS terminals: 9600 baud, 8N1)."""

    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: str = "1"


@dataclass(frozen=True, slots=True)
class FrameSpec:
    """``STX | length | body | ETX | LRC`` as this terminal family writes it."""

    stx: int = 0x02
    etx: int = 0x03
    length: str = "bcd"  # bcd | ascii | binary | none
    length_size: int = 2  # bytes (bcd, binary) or digits (ascii)
    length_counts: str = "body"  # body | body+etx
    lrc: tuple[str, ...] = ("length", "body", "etx")  # the parts XORed; () = no LRC byte
    lrc_seed: int = 0x00
    acknowledge: bool = True
    ack: int = 0x06
    nak: int = 0x15
    ack_timeout: float = 2.0
    resends: int = 3
    #: a request field by which the terminal recognises a repeated booking request and
    #: answers it again without booking (its interface document must say so); with it a
    #: sale, void or refund whose ACK was lost is resent, carrying the same value. "": none.
    resend_key: str = ""

    @property
    def max_body(self) -> int:
        """The longest body the length field can announce (no length: 64 KiB, our limit)."""
        capacity: int = {
            "bcd": int(10 ** (2 * self.length_size)) - 1,
            "ascii": int(10**self.length_size) - 1,
            "binary": int(256**self.length_size) - 1,
            "none": 65535,
        }[self.length]
        return capacity - (1 if self.length_counts == "body+etx" else 0)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field: where it sits (TLV tag; for separated bodies its list position) and format."""

    name: str
    format: str
    size: int | None = None  # exact length (digits or characters)
    max: int | None = None  # at most this long
    tag: bytes | None = None

    @property
    def limit(self) -> int:
        """The most characters (or digits) the field may hold."""
        return self.size if self.size is not None else (self.max or 0)

    def max_bytes(self, per_char: int) -> int:
        """Worst-case encoded size (text: ``per_char`` bytes per character)."""
        return self.limit * (per_char if self.format == "text" else 1)


@dataclass(frozen=True, slots=True)
class BodySpec:
    """How fields are packed into the body."""

    codec: str = "tlv"  # tlv | separated
    tag_size: int = 2
    length_format: str = "binary"  # tlv value length: binary | bcd | ascii
    length_size: int = 2
    separator: int = 0x1C

    @property
    def max_value(self) -> int:
        """The longest TLV value the length can say."""
        if self.length_format == "binary":
            return int(256**self.length_size) - 1
        digits = 2 * self.length_size if self.length_format == "bcd" else self.length_size
        return int(10**digits) - 1


@dataclass(frozen=True, slots=True)
class VerbSpec:
    """One of our verbs as this terminal knows it."""

    name: str
    code: str
    request: tuple[FieldSpec, ...]
    response: tuple[FieldSpec, ...]


@dataclass(frozen=True, slots=True)
class ResultSpec:
    """Which field holds the answer code, which codes mean approved, and our reasons."""

    field: str
    approved: frozenset[str]
    reasons: dict[str, Reason]
    texts: dict[str, str]


@dataclass(frozen=True, slots=True)
class Profile:
    """A whole profile, checked (build one with ``profile_checks.load``)."""

    name: str
    title: str
    source: str
    path: str
    encoding: str
    currency: str
    line: LineSpec
    answer_timeout: float
    frame: FrameSpec
    body: BodySpec
    fields: dict[str, FieldSpec]
    result: ResultSpec
    verbs: dict[str, VerbSpec]

    def verb(self, name: str) -> VerbSpec | None:
        """A verb by our name (None: this terminal family has none)."""
        return self.verbs.get(name)

    def verb_for_code(self, code: str) -> VerbSpec | None:
        """The verb a transaction-type code names (the terminal side reads requests so)."""
        return next((v for v in self.verbs.values() if v.code == code), None)


def shipped_profiles() -> list[str]:
    """Names of the profiles that come with the library."""
    folder = resources.files("paychannels.drivers.mispos").joinpath("profiles")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def profile_file(name_or_path: str) -> Path:
    """The file a profile name (``tlv-9f``) or path (``./bank.toml``) means."""
    if name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path:
        return Path(name_or_path)
    folder = resources.files("paychannels.drivers.mispos").joinpath("profiles")
    return Path(str(folder.joinpath(f"{name_or_path}.toml")))
