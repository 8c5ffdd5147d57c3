"""Hypothesis: framing round-trips any APDU; decoders raise nothing but the driver's error."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paychannels.drivers.framing import Event, Noise
from paychannels.drivers.zvt.apdu import Apdu, ApduSplitter, decode_apdu
from paychannels.drivers.zvt.bcd import digits_encode
from paychannels.drivers.zvt.bmp import decode_bmps, encode_bmp
from paychannels.drivers.zvt.commands import parse_command
from paychannels.drivers.zvt.errors import ZvtProtocolError
from paychannels.drivers.zvt.frames import Frame, FrameDecoder, encode_frame
from paychannels.drivers.zvt.replies import Completion, parse_reply
from paychannels.drivers.zvt.scrubbing import ZvtFilter, mask_apdu, mask_bcd_runs
from paychannels.drivers.zvt.tlv import decode_tlv

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# APDU data full of DLE (0x10) and the other framing bytes, at any length around 254/255
framing_bytes = st.sampled_from([0x10, 0x02, 0x03, 0x06, 0x15, 0xFF, 0x00])
payload = st.lists(st.one_of(framing_bytes, st.integers(0, 255)), max_size=600).map(bytes)
apdus = st.builds(Apdu, st.integers(0, 255), st.integers(0, 255), payload)


@FUZZ
@given(apdus, st.lists(st.integers(1, 50), min_size=1, max_size=30))
@pytest.mark.slow
def test_serial_framing_round_trips_any_apdu_split_anywhere(apdu: Apdu, cuts: list[int]) -> None:
    raw = apdu.encode()
    frame = encode_frame(raw)
    decoder = FrameDecoder()
    events = []
    pos = 0
    for cut in cuts * (len(frame) // max(1, sum(cuts)) + 1):
        events += decoder.feed(frame[pos : pos + cut])
        pos += cut
        if pos >= len(frame):
            break
    events += decoder.feed(frame[pos:])
    assert events == [Frame(raw, True, frame)]
    assert decode_apdu(raw) == apdu


def _stream_piece(raw: bytes, how: int, at: int) -> bytes:
    """One piece of a serial line: a frame, a lone ACK/NAK, noise, a frame with one byte
    changed (a CRC, a DLE, an ETX) or a frame cut short."""
    frame = encode_frame(raw)
    if how == 0:
        return frame
    if how == 1:
        return bytes([0x06 if at % 2 else 0x15])
    if how == 2:
        return raw[:5]
    if how == 3:
        broken = bytearray(frame)
        broken[at % len(broken)] ^= 0x11
        return bytes(broken)
    return frame[: 1 + at % (len(frame) - 1)]


@FUZZ
@given(st.lists(st.tuples(payload, st.integers(0, 4), st.integers(0, 999)), max_size=6))
@pytest.mark.slow
def test_frame_decoder_cuts_a_whole_read_as_it_cuts_byte_by_byte(
    pieces: list[tuple[bytes, int, int]],
) -> None:
    """Whole frames in one read are cut at once (the fast path); a line fed byte by byte
    goes through the state machine alone. Both must report the same frames and control
    bytes in the same order, and the same noise (which a decoder reports per read: a final
    ACK flushes it)."""
    line = b"".join(_stream_piece(raw[:40], how, at) for raw, how, at in pieces) + b"\x06"
    whole, single = FrameDecoder(), FrameDecoder()
    at_once = whole.feed(line)
    one_by_one = [event for i in range(len(line)) for event in single.feed(line[i : i + 1])]

    def noise(events: list[Event]) -> bytes:
        return b"".join(e.raw for e in events if isinstance(e, Noise))

    assert [e for e in at_once if not isinstance(e, Noise)] == [
        e for e in one_by_one if not isinstance(e, Noise)
    ]
    assert noise(at_once) == noise(one_by_one)
    assert whole.reset() == single.reset()


@FUZZ
@given(st.lists(apdus, min_size=1, max_size=5), st.integers(1, 64))
@pytest.mark.slow
def test_tcp_reassembly_round_trips_any_apdus(items: list[Apdu], step: int) -> None:
    stream = b"".join(a.encode() for a in items)
    splitter = ApduSplitter()
    out: list[bytes] = []
    for i in range(0, len(stream), step):
        out += splitter.feed(stream[i : i + step])
    assert [decode_apdu(raw) for raw in out] == items


DECODERS: list[Callable[[bytes], object]] = [
    decode_apdu,
    lambda b: parse_reply(Apdu(b[0], b[1], b[2:]) if len(b) >= 2 else Apdu(4, 0x0F, b)),
    lambda b: parse_command(Apdu(6, b[0], b[1:]) if b else Apdu(6, 1)),
    lambda b: parse_command(Apdu(5, 1, b)),
    lambda b: parse_reply(Apdu(4, 0x0F, b)),
    lambda b: parse_reply(Apdu(6, 0xD3, b)),
    lambda b: parse_reply(Apdu(4, 0xFF, b)),
    lambda b: Completion(b).status("cp437"),
    lambda b: Completion(b).bitmaps(),
    decode_bmps,
    decode_tlv,
]
structured = st.one_of(
    st.binary(max_size=300),
    st.lists(
        st.sampled_from(
            [0x04, 0x06, 0x22, 0x27, 0x3C, 0x60, 0x87, 0xF1, 0xF9, 0xFF, 0x1F, 0x81, 0x82]
        ),
        max_size=40,
    ).map(bytes),
)


@FUZZ
@given(structured)
@pytest.mark.slow
def test_decoders_raise_only_the_protocol_error(data: bytes) -> None:
    for decode in DECODERS:
        with contextlib.suppress(ZvtProtocolError):
            decode(data)


@FUZZ
@given(structured)
@pytest.mark.slow
def test_bmp_readers_raise_only_the_protocol_error(data: bytes) -> None:
    try:
        bitmaps = decode_bmps(data)
    except ZvtProtocolError:
        return
    for tag, _ in bitmaps:
        for read in (
            bitmaps.number,
            bitmaps.digits,
            lambda t: bitmaps.text(t, "cp437"),
            bitmaps.byte,
        ):
            with contextlib.suppress(ZvtProtocolError):
                read(tag)
    with contextlib.suppress(ZvtProtocolError):
        bitmaps.tlv()


@FUZZ
@given(st.binary(max_size=400), st.integers(1, 40))
@pytest.mark.slow
def test_frame_decoder_and_masking_never_raise(data: bytes, step: int) -> None:
    decoder = FrameDecoder()
    for i in range(0, len(data), step):
        decoder.feed(data[i : i + step])
    decoder.reset()
    mask_apdu(data)
    assert len(mask_bcd_runs(data)) == len(data)
    for framing in ("tcp", "serial"):
        f = ZvtFilter(framing)  # type: ignore[arg-type]
        f.feed(data)
        f.flush()


@FUZZ
@given(st.text(alphabet="0123456789", min_size=13, max_size=19), apdus)
@pytest.mark.slow
def test_masking_keeps_lengths_and_hides_card_numbers(pan: str, apdu: Apdu) -> None:
    fields = encode_bmp(0x27, 0) + encode_bmp(0x22, digits_encode(pan)) + encode_bmp(0x87, 7)
    info = Apdu(4, 0x0F, fields).encode()
    masked, note = mask_apdu(info)
    assert len(masked) == len(info) and note == "Status-Information"
    shown = decode_bmps(decode_apdu(masked).data)
    assert shown.digits(0x22) == pan[:6] + "*" * (len(pan) - 10) + pan[-4:]
    assert shown.number(0x87) == 7
    raw = apdu.encode()
    assert len(mask_apdu(raw)[0]) == len(raw)
