"""The ZVT codec and the simulator's encoder against vectors typed in from outside sources.

The replay fixtures come from our own simulator, which builds its messages with the driver's
codec, so a codec bug would show on both sides and pass. The vectors in fixtures/zvt/spec/ were
typed in by hand from the specification's examples and from real terminal messages in public
projects' tests (each names its source); see that folder's README for the format.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from paychannels.drivers.framing import Frame
from paychannels.drivers.zvt.apdu import Apdu, decode_apdu
from paychannels.drivers.zvt.bmp import BMPS, Bitmaps, decode_bmps, encode_bmp
from paychannels.drivers.zvt.commands import Authorization, Registration, parse_command
from paychannels.drivers.zvt.crc import crc16_kermit
from paychannels.drivers.zvt.dialogue import Exchange
from paychannels.drivers.zvt.frames import FrameDecoder, encode_frame
from paychannels.drivers.zvt.outcomes import info_data
from paychannels.drivers.zvt.replies import (
    Ack,
    Completion,
    IntermediateStatus,
    NegativeAck,
    PrintLine,
    PtAbort,
    StatusInformation,
    TextBlock,
    parse_reply,
)
from paychannels.drivers.zvt.tlv import Tlv, walk
from paychannels.drivers.zvt.totals import day_totals, encode_individual_totals
from paychannels.security.masking import mask_pan
from paychannels.simulators.terminal.core import SimTerminal
from paychannels.simulators.terminal.journal import SimTxn
from paychannels.simulators.terminal.zvt_messages import txn_info
from paychannels.values.money import Money

SPEC = Path(__file__).resolve().parents[2] / "fixtures" / "zvt" / "spec"
#: LLLVAR BMPs holding binary records, written as hex in the fixtures (60: individual totals)
BINARY_VAR = frozenset({0x60})
Vector = dict[str, Any]


def _load(name: str) -> list[Vector]:
    with (SPEC / name).open("rb") as fh:
        vectors: list[Vector] = tomllib.load(fh)["vector"]
    return vectors


def _cases(name: str, kind: str | None = None) -> list[Any]:
    return [
        pytest.param(v, id=v["name"]) for v in _load(name) if kind is None or v.get("kind") == kind
    ]


def _bytes(text: str) -> bytes:
    """Hex as the sources write it: spaced, or dashed (Portalum)."""
    return bytes.fromhex("".join(text.replace("-", " ").split()))


def _apdu(vector: Vector) -> Apdu:
    return decode_apdu(_bytes(vector["hex"]))


def _typed(bitmaps: Bitmaps, tag: int, charset: str) -> object:
    """A BMP's value as the fixture writes it (see fixtures/zvt/spec/README.md)."""
    spec = BMPS[tag]
    if tag == 0x22:
        return bitmaps.digits(tag)
    if spec.kind == "bcd":
        return bitmaps.number(tag)
    if spec.kind == "bin":
        raw = bitmaps.raw(tag)
        assert raw is not None
        return bitmaps.byte(tag) if spec.size == 1 else raw.hex().upper()
    if tag in BINARY_VAR:
        raw = bitmaps.raw(tag)
        assert raw is not None
        return raw.hex().upper()
    if spec.kind == "tlv":
        leaves = (t for t in walk(bitmaps.tlv()) if not t.children)
        return {f"{t.tag:02X}": t.value.hex().upper() for t in leaves}
    return bitmaps.text(tag, charset)


def _check_bmps(bitmaps: Bitmaps, vector: Vector) -> None:
    assert [f"{tag:02X}" for tag, _ in bitmaps] == vector["tags"]
    got = {key: _typed(bitmaps, int(key, 16), vector["charset"]) for key in vector["tags"]}
    want = dict(vector["bmps"])
    for key in want:
        if int(key, 16) in BINARY_VAR:
            want[key] = "".join(want[key].split()).upper()
    assert got == want


# transport


@pytest.mark.parametrize("vector", [v for v in _load("transport.toml") if "crc" in v])
def test_crc_check_value(vector: Vector) -> None:
    assert crc16_kermit(vector["ascii"].encode("ascii")) == vector["crc"]


@pytest.mark.parametrize("vector", [v for v in _load("transport.toml") if "frame" in v])
def test_serial_frame_both_ways(vector: Vector) -> None:
    apdu, frame = _bytes(vector["apdu"]), _bytes(vector["frame"])
    assert encode_frame(apdu) == frame
    events = FrameDecoder().feed(frame)
    assert len(events) == 1
    assert isinstance(events[0], Frame)
    assert (events[0].payload, events[0].valid) == (apdu, True)


# commands (the driver builds them, the simulator parses them)


def _command(vector: Vector) -> Registration | Authorization:
    if vector["command"] == "Registration":
        permitted = tuple(_bytes(c) for c in vector["permitted"])
        return Registration(
            vector["password"],
            vector["config"],
            vector["currency"],
            vector.get("service"),
            permitted,
        )
    return Authorization(
        vector["amount"],
        currency=vector.get("currency"),
        payment_type=vector.get("payment_type"),
        max_status_infos=vector.get("max_status_infos"),
    )


@pytest.mark.parametrize("vector", _cases("commands.toml"))
def test_command_both_ways(vector: Vector) -> None:
    """The simulator's parser reads every field; the driver's builder gives the same bytes (or,
    where the source orders its BMPs differently, the same BMPs)."""
    want = _command(vector)
    assert parse_command(_apdu(vector)) == want
    built = want.apdu()
    if vector.get("roundtrip", True):
        assert built.encode() == _bytes(vector["hex"])
    else:
        assert parse_command(built) == want


# status information (the simulator builds them, the driver parses them)


@pytest.mark.parametrize("vector", _cases("status_information.toml"))
def test_status_information_decodes_every_field(vector: Vector) -> None:
    info = parse_reply(_apdu(vector))
    assert isinstance(info, StatusInformation)
    _check_bmps(info.bitmaps, vector)


@pytest.mark.parametrize("vector", _cases("status_information.toml"))
def test_status_information_encoder_gives_the_terminals_bytes(vector: Vector) -> None:
    """The simulator's encoder (``StatusInformation.build``) rebuilds each value's length prefix."""
    info = StatusInformation.parse(_apdu(vector))
    rebuilt = StatusInformation.build(list(info.bitmaps)).apdu().encode()
    assert rebuilt.hex(" ") == _bytes(vector["hex"]).hex(" ")


def test_simulator_status_information_matches_a_real_terminal() -> None:
    """For every field the simulator sends, its bytes equal a real terminal's for the same value
    (card type 8A is the simulator's constant UnionPay, so it is compared by tag only)."""
    (vector,) = [v for v in _load("status_information.toml") if v["name"].endswith("maestro")]
    real = decode_bmps(_apdu(vector).data)
    values = vector["bmps"]
    terminal = SimTerminal(terminal_id=values["29"], card_name="Debit Mastercard\x00")
    hhmmss, mmdd = f"{values['0C']:06d}", f"{values['0D']:04d}"
    txn = SimTxn(
        kind="payment",
        amount=values["04"],
        currency=values["49"],
        result_code=values["27"],
        receipt=values["87"],
        trace=values["0B"],
        card=values["22"],
        at=f"2021-{mmdd[:2]}-{mmdd[2:]}T{hhmmss[:2]}:{hhmmss[2:4]}:{hhmmss[4:]}",
        batch=1,
    )
    simulated = decode_bmps(txn_info(terminal, txn, full_pan=True).data)
    sent = [tag for tag, _ in simulated]
    assert set(sent) <= {tag for tag, _ in real}
    compared = [tag for tag in sent if tag != 0x8A]
    assert len(compared) >= 10
    assert {t: simulated.raw(t) for t in compared} == {t: real.raw(t) for t in compared}


# other terminal messages


@pytest.mark.parametrize("vector", _cases("replies.toml", "completion"))
def test_completion_both_ways(vector: Vector) -> None:
    reply = parse_reply(_apdu(vector))
    assert isinstance(reply, Completion)
    _check_bmps(reply.bitmaps(), vector)
    assert Completion.build(list(reply.bitmaps())).apdu().encode() == _bytes(vector["hex"])


@pytest.mark.parametrize("vector", _cases("replies.toml", "status_completion"))
def test_status_completion_both_ways(vector: Vector) -> None:
    """The simulator answers a status enquiry with ``Completion.for_status``."""
    reply = parse_reply(_apdu(vector))
    assert isinstance(reply, Completion)
    software, status, bitmaps = reply.status(vector["charset"])
    assert (software, status) == (vector["software"], vector["terminal_status"])
    _check_bmps(bitmaps, vector)
    encoded = software.encode(vector["charset"])
    built = Completion.for_status(encoded, status, list(bitmaps)).apdu().encode()
    assert built == _bytes(vector["hex"])


@pytest.mark.parametrize("vector", _cases("replies.toml", "intermediate"))
def test_intermediate_status_decodes(vector: Vector) -> None:
    reply = parse_reply(_apdu(vector))
    assert isinstance(reply, IntermediateStatus)
    assert reply.code == vector["code"]
    assert reply.timeout_minutes == vector.get("timeout_minutes")


def test_simulator_intermediate_status_matches() -> None:
    (vector,) = [v for v in _load("replies.toml") if v["name"] == "intermediate_insert_card"]
    assert IntermediateStatus(vector["code"]).apdu().encode() == _bytes(vector["hex"])


@pytest.mark.parametrize("vector", _cases("replies.toml", "print_line"))
def test_print_line_decodes_every_field(vector: Vector) -> None:
    line = parse_reply(_apdu(vector))
    assert isinstance(line, PrintLine)
    assert line.attribute == vector["attribute"]
    assert line.text.decode(vector["charset"]) == vector["text"]
    assert line.last is vector["last"]
    assert line.receipt_type == vector.get("receipt_type")


@pytest.mark.parametrize("vector", _cases("replies.toml", "print_line"))
def test_simulator_print_line_matches(vector: Vector) -> None:
    """The simulator sends receipts with ``PrintLine(...).apdu()``."""
    text = vector["text"].encode(vector["charset"])
    line = PrintLine(vector["attribute"], text, vector.get("receipt_type"))
    assert line.apdu().encode() == _bytes(vector["hex"])


@pytest.mark.parametrize("vector", _cases("replies.toml", "text_block"))
def test_text_block_decodes_every_field(vector: Vector) -> None:
    block = parse_reply(_apdu(vector))
    assert isinstance(block, TextBlock)
    assert [line.decode(vector["charset"]) for line in block.lines] == vector["lines"]
    assert block.receipt_type == vector["receipt_type"]
    assert block.complete is vector["complete"]


@pytest.mark.parametrize("vector", _cases("replies.toml", "abort"))
def test_pt_abort_both_ways(vector: Vector) -> None:
    reply = parse_reply(_apdu(vector))
    assert reply == PtAbort(vector["result_code"])
    assert PtAbort(vector["result_code"]).apdu().encode() == _bytes(vector["hex"])


@pytest.mark.parametrize(
    "vector", _cases("replies.toml", "ack") + _cases("replies.toml", "negative_ack")
)
def test_acknowledgements_both_ways(vector: Vector) -> None:
    want = Ack() if vector["kind"] == "ack" else NegativeAck(vector["code"])
    assert parse_reply(_apdu(vector)) == want
    assert want.apdu().encode() == _bytes(vector["hex"])


def test_outcome_data_of_a_track2_card_number() -> None:
    """An approved payment whose BMP 22 carries track-2 style data still becomes an outcome, with
    the card number masked and nothing after the separator (the expiry) kept."""
    (vector,) = [v for v in _load("status_information.toml") if "track2" in v["name"]]
    info = StatusInformation.parse(_apdu(vector))
    data = info_data(info, vector["charset"])
    assert data["card"] == mask_pan(vector["bmps"]["22"])
    assert "2002" not in str(data)


@pytest.mark.parametrize("vector", _cases("replies.toml", "text_block"))
def test_text_block_tlv_encoder_gives_the_terminals_bytes(vector: Vector) -> None:
    """The simulator's text blocks go through ``Tlv.of``/``encode_bmp``: rebuilt from the decoded
    objects, every length (here the long forms 81 A9 and 81 A2) is the terminal's."""
    block = decode_bmps(_apdu(vector).data)
    items = block.tlv()
    assert [t.tag for t in items] == [0x1F07, 0x25]
    rebuilt = Apdu(6, 0xD3, encode_bmp(0x06, [_rebuilt(t) for t in items])).encode()
    assert rebuilt.hex(" ") == _bytes(vector["hex"]).hex(" ")


def _rebuilt(item: Tlv) -> Tlv:
    """The object built the way the simulator builds one: constructed ones from their children."""
    if item.children is None:
        return Tlv(item.tag, item.value)
    return Tlv.of(item.tag, *(_rebuilt(c) for c in item.children))


def test_end_of_day_totals_against_a_real_terminal() -> None:
    """The driver reads a real terminal's BMP 60, and the simulator's totals encoder gives its
    bytes (the count 4 reads the same as BCD or binary, so that one question stays open)."""
    (vector,) = [v for v in _load("status_information.toml") if "totals" in v]
    want = vector["totals"]
    info = StatusInformation.parse(_apdu(vector))
    totals = day_totals(Exchange("End-of-Day", infos=[info]), "EUR")
    assert (totals.first_receipt, totals.last_receipt) == (want["first"], want["last"])
    count, minor = want["ec"]
    assert totals.by_card == {"ec": (count, Money.of_minor(minor, "EUR"))}
    assert totals.total == Money.of_minor(vector["bmps"]["04"], "EUR")
    built = encode_individual_totals(want["first"], want["last"], {"ec": (count, minor)})
    assert built == info.bitmaps.raw(0x60)
