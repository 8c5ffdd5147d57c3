"""The ZVT codec against the reference's examples and hand-checked bytes."""

from __future__ import annotations

import random

import pytest

from paychannels.drivers.zvt.apdu import Apdu, ApduSplitter, decode_apdu
from paychannels.drivers.zvt.bcd import (
    bcd_decode,
    bcd_encode,
    decode_var_length,
    digits_decode,
    digits_encode,
    encode_var_length,
)
from paychannels.drivers.zvt.bmp import decode_bmps, encode_bmp
from paychannels.drivers.zvt.codes import result_meaning, status_text
from paychannels.drivers.zvt.commands import (
    Authorization,
    EndOfDay,
    Refund,
    Registration,
    RepeatReceipt,
    Reversal,
    StatusEnquiry,
    parse_command,
)
from paychannels.drivers.zvt.crc import crc16_kermit
from paychannels.drivers.zvt.dialogue import Exchange
from paychannels.drivers.zvt.errors import ZvtProtocolError
from paychannels.drivers.zvt.frames import Control, Frame, FrameDecoder, Noise, encode_frame
from paychannels.drivers.zvt.replies import (
    Ack,
    Completion,
    IntermediateStatus,
    NegativeAck,
    PrintLine,
    PtAbort,
    StatusInformation,
    TextBlock,
    UnknownMessage,
    parse_reply,
)
from paychannels.drivers.zvt.tlv import Tlv, decode_ber_length, decode_tlv, encode_ber_length, find
from paychannels.drivers.zvt.totals import day_totals, encode_individual_totals
from paychannels.values.money import Money
from paychannels.values.reasons import Reason
from tests.zvt.hexfile import hex_sections

# -- checksums and frames (terminals.md §1) -------------------------------------------------


def test_crc_check_value() -> None:
    assert crc16_kermit(b"123456789") == 0x2189


def test_crc_agrees_with_the_bitwise_definition() -> None:
    """Reflected polynomial 0x8408, init 0, bit by bit, as the specification defines it."""

    def bitwise(data: bytes) -> int:
        crc = 0
        for byte in data:
            crc ^= byte
            for _ in range(8):
                crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        return crc

    rng = random.Random(12)
    samples = [b"", b"\x10", b"\xff" * 7] + [rng.randbytes(rng.randrange(300)) for _ in range(300)]
    for data in samples:
        assert crc16_kermit(data) == bitwise(data), data.hex()


def test_status_enquiry_frame_matches_the_reference() -> None:
    fixture = hex_sections("status_enquiry_serial.hex")
    assert StatusEnquiry().apdu().encode() == fixture["apdu"]
    assert encode_frame(fixture["apdu"]) == fixture["frame"]
    events = FrameDecoder().feed(fixture["frame"])
    assert events == [Frame(fixture["apdu"], True, fixture["frame"])]


def test_dle_is_doubled_inside_and_counts_in_neither_crc_nor_length() -> None:
    apdu = Apdu(0x04, 0x0F, b"\x10\x10\x01").encode()
    frame = encode_frame(apdu)
    assert frame.count(b"\x10\x10\x10\x10") == 1
    assert frame[-2:] == crc16_kermit(apdu + b"\x03").to_bytes(2, "little")
    assert FrameDecoder().feed(frame) == [Frame(apdu, True, frame)]


def test_decoder_reports_control_bytes_noise_bad_crc_and_broken_escapes() -> None:
    apdu = b"\x80\x00\x00"
    good = encode_frame(apdu)
    bad_crc = good[:-1] + bytes([good[-1] ^ 1])
    events = FrameDecoder().feed(b"\x06" + b"xy" + bad_crc + b"\x15" + good)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["Control", "Noise", "Frame", "Control", "Frame"]
    assert events[0] == Control(0x06, b"\x06") and events[1] == Noise(b"xy")
    assert isinstance(events[2], Frame) and not events[2].valid and "CRC" in events[2].problem
    assert isinstance(events[4], Frame) and events[4].valid
    broken = FrameDecoder().feed(b"\x10\x02\x80\x10\x41\x00\x10\x03\x00\x00")
    assert (
        isinstance(broken[0], Frame)
        and not broken[0].valid
        and "DLE followed by 41" in broken[0].problem
    )


def test_partial_frame_is_given_back_on_reset() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\x10\x02\x80\x00") == []
    assert decoder.in_frame
    partial = decoder.reset()
    assert partial is not None and not partial.valid and not decoder.in_frame


# -- APDUs ---------------------------------------------------------------------------------


def test_extended_length_for_255_bytes_and_more() -> None:
    short = Apdu(0x06, 0xD3, b"a" * 254).encode()
    assert short[2] == 254 and len(short) == 257
    long = Apdu(0x06, 0xD3, b"a" * 300).encode()
    assert long[2:5] == b"\xff\x2c\x01" and len(long) == 305
    assert decode_apdu(long) == Apdu(0x06, 0xD3, b"a" * 300)
    with pytest.raises(ZvtProtocolError, match="announces 8 bytes, has 7"):
        decode_apdu(b"\x06\x01\x05abcd")


def test_splitter_reassembles_apdus_split_anywhere() -> None:
    stream = (
        Apdu(0x80, 0).encode()
        + Apdu(0x04, 0xFF, b"\x0a").encode()
        + Apdu(6, 0xD3, b"x" * 400).encode()
    )
    splitter = ApduSplitter()
    out: list[bytes] = []
    for i in range(0, len(stream), 7):
        out += splitter.feed(stream[i : i + 7])
    assert [decode_apdu(a).command for a in out] == [b"\x80\x00", b"\x04\xff", b"\x06\xd3"]
    assert splitter.pending == b""


# -- BCD, LLVAR, TLV, BMPs -------------------------------------------------------------------


def test_bcd_and_var_lengths() -> None:
    assert bcd_encode(38000, 6) == bytes.fromhex("000000038000")
    assert bcd_decode(bytes.fromhex("000000038000")) == 38000
    with pytest.raises(ValueError, match="more than 4"):
        bcd_encode(12345, 2)
    with pytest.raises(ZvtProtocolError, match="3A is not BCD"):
        bcd_decode(b"\x12\x3a", field="amount")
    assert encode_var_length(19, 2) == b"\xf1\xf9"
    assert decode_var_length(b"\xf1\xf9", 0, 2, field="x") == 19
    with pytest.raises(ZvtProtocolError, match="not a length digit"):
        decode_var_length(b"\xf1\x09", 0, 2, field="x")


def test_card_numbers_with_masked_digits_and_padding() -> None:
    assert digits_encode("6222021234567890123") == bytes.fromhex(
        "62220212345678901 23f".replace(" ", "")
    )
    assert digits_decode(bytes.fromhex("622202eeeeeeeee0123f")) == "622202*********0123"
    assert digits_encode("622202*********0123") == bytes.fromhex("622202eeeeeeeee0123f")


def test_ber_tlv_with_two_byte_tags_and_long_lengths() -> None:
    assert encode_ber_length(5) == b"\x05" and encode_ber_length(200) == b"\x81\xc8"
    assert decode_ber_length(b"\x82\x01\x2c", 0) == (300, 3)
    echo = Tlv(0x1F1F, b"\x00\x42")
    assert echo.encode() == bytes.fromhex("1f1f020042")
    nested = Tlv.of(0x25, Tlv(0x07, b"line 1"), Tlv(0x07, b"x" * 200), Tlv(0x09, b""))
    decoded = decode_tlv(nested.encode() + echo.encode())
    assert decoded[0].children is not None and len(decoded[0].children) == 3
    assert find(decoded, 0x1F1F) == echo
    with pytest.raises(ZvtProtocolError, match="claims 9 bytes"):
        decode_tlv(b"\x07\x09abc")


def test_bmps_fixed_llvar_and_tlv() -> None:
    data = (
        encode_bmp(0x27, 0)
        + encode_bmp(0x04, 38000)
        + encode_bmp(0x22, digits_encode("622202*********0123"))
        + encode_bmp(0x06, [Tlv(0x1F1F, b"\x00\x07")])
        + encode_bmp(0x2A, b"VU1234567890123")
    )
    b = decode_bmps(data)
    assert b.byte(0x27) == 0 and b.number(0x04) == 38000
    assert b.digits(0x22) == "622202*********0123"
    assert b.text(0x2A, "cp437") == "VU1234567890123"
    assert find(b.tlv(), 0x1F1F) == Tlv(0x1F1F, b"\x00\x07")
    with pytest.raises(ZvtProtocolError, match=r"BMP 22 .* needs 16 bytes, only 2 left"):
        decode_bmps(b"\x22\xf1\xf6\x12\x34")
    with pytest.raises(ZvtProtocolError, match="unknown BMP 77"):
        decode_bmps(b"\x77\x01")


# -- commands (ECR -> terminal) ----------------------------------------------------------------


def test_registration_matches_the_acquirer_example() -> None:
    raw = hex_sections("registration_acquirer.hex")["main"]
    reg = parse_command(decode_apdu(raw))
    assert reg == Registration(123456, 0x8E, 978, None, (b"\x06\xd3",))
    assert reg.apdu().encode() == raw


@pytest.mark.parametrize(
    "command",
    [
        Authorization(38000, 156, last_receipt=41),
        Authorization(1, None),
        Reversal(123456, 42, 38000),
        Refund(123456, 3000, 156),
        EndOfDay(0),
        RepeatReceipt(123456),
        StatusEnquiry(),
        Registration(0, 0xBE, 156, 0x01, (b"\x06\xd3",)),
    ],
)
def test_commands_round_trip(command: object) -> None:
    apdu = command.apdu()  # type: ignore[attr-defined]
    assert parse_command(decode_apdu(apdu.encode())) == command


def test_authorization_bytes() -> None:
    raw = Authorization(38000, 156, last_receipt=41).apdu().encode()
    assert raw.hex() == "0601110400000003800049015606051f1f020041"


def test_unknown_command_is_none_not_an_error() -> None:
    assert parse_command(Apdu(0x08, 0x10)) is None


# -- replies (terminal -> ECR) -----------------------------------------------------------------


def test_acknowledgements() -> None:
    assert parse_reply(decode_apdu(b"\x80\x00\x00")) == Ack()
    assert parse_reply(decode_apdu(b"\x84\x00\x00")) == Ack()
    assert parse_reply(decode_apdu(b"\x84\x6b\x00")) == NegativeAck(0x6B)
    assert NegativeAck(0x9C).apdu().encode() == b"\x84\x9c\x00"


def test_status_information_and_text_block_round_trip() -> None:
    info = StatusInformation.build(
        [(0x27, 0), (0x04, 38000), (0x87, 42), (0x0B, 123), (0x29, 29001234)]
    )
    parsed = parse_reply(decode_apdu(info.apdu().encode()))
    assert isinstance(parsed, StatusInformation)
    assert (
        parsed.result_code,
        parsed.amount,
        parsed.receipt,
        parsed.trace,
        parsed.terminal_id,
    ) == (
        0,
        38000,
        42,
        123,
        29001234,
    )
    block = TextBlock(("收款 PAYMENT".encode("gb18030"), b"AMOUNT CNY 380.00"), receipt_type=2)
    again = parse_reply(decode_apdu(block.apdu().encode()))
    assert again == block
    assert isinstance(again, TextBlock) and again.text_lines("gb18030")[0] == "收款 PAYMENT"


def test_print_lines_intermediate_status_abort_and_unknown() -> None:
    assert PrintLine(0, b"HELLO  ").lines("cp437") == ["HELLO"]
    assert PrintLine(0xFF, b"\x02").lines("cp437") == ["", ""]
    assert parse_reply(decode_apdu(b"\x04\xff\x02\x0a\x03")) == IntermediateStatus(0x0A, 3)
    assert parse_reply(decode_apdu(b"\x06\x1e\x01\x6c")) == PtAbort(0x6C)
    assert parse_reply(Apdu(0x0F, 0x01, b"xyz")) == UnknownMessage(Apdu(0x0F, 0x01, b"xyz"))
    with pytest.raises(ZvtProtocolError, match="without a result code"):
        parse_reply(Apdu(0x06, 0x1E))


def test_status_enquiry_completion() -> None:
    done = Completion.for_status(b"SW 1.2", 0x00, [(0x29, 29001234)])
    software, status, bitmaps = done.status("cp437")
    assert (software, status, bitmaps.number(0x29)) == ("SW 1.2", 0, 29001234)
    with pytest.raises(ZvtProtocolError, match="software version"):
        Completion(b"\xf0\xf0\xf9abc").status("cp437")


# -- codes and totals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (0x05, Reason.CARD_DECLINED),
        (51, Reason.INSUFFICIENT_FUNDS),
        (55, Reason.PIN_INVALID),
        (0x6C, Reason.CARDHOLDER_ABORT),
        (0x78, Reason.CARD_EXPIRED),
        (0xC3, Reason.LIMIT_EXCEEDED),
        (0xFE, Reason.UNMAPPED),
    ],
)
def test_result_codes_map_to_reasons(code: int, reason: Reason) -> None:
    meaning = result_meaning(code)
    assert meaning.reason is reason and meaning.detail.startswith(f"ZVT {code:02X}")


def test_status_texts_have_chinese() -> None:
    assert status_text(0x0A) == ("insert card", "请插卡或刷卡")
    assert status_text(0x4B)[0] == "remove card, remove card"
    assert status_text(0x99)[0] == "terminal status 99"


def test_day_totals_from_bmp_60() -> None:
    raw = encode_individual_totals(1, 9, {"other": (3, 114000), "visa": (1, 500)})
    info = StatusInformation.build([(0x27, 0), (0x04, 114500), (0x60, raw)])
    totals = day_totals(Exchange("End-of-Day", infos=[info], receipt=["END OF DAY"]), "CNY")
    assert totals.total == Money("1145.00", "CNY") and totals.count == 4
    assert (totals.first_receipt, totals.last_receipt) == (1, 9)
    assert totals.by_card == {
        "visa": (1, Money("5.00", "CNY")),
        "other": (3, Money("1140.00", "CNY")),
    }
    odd = StatusInformation.build([(0x04, 5), (0x60, b"\x01\x02")])
    assert day_totals(Exchange("x", infos=[odd]), "CNY").raw_totals == "0102"
