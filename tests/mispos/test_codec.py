"""MIS-POS framing and packing: every variant round-trips; garbage raises only our error."""

from __future__ import annotations

import contextlib
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paychannels.drivers.framing import Control, Frame, Noise
from paychannels.drivers.mispos.codec import decode_fields, decode_request, encode_fields, pad
from paychannels.drivers.mispos.errors import MisposFormatError
from paychannels.drivers.mispos.frame import MisposFraming, lrc
from paychannels.drivers.mispos.profile import FieldSpec, FrameSpec, Profile, shipped_profiles
from paychannels.drivers.mispos.profile_checks import load

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROFILES = {name: load(name) for name in shipped_profiles()}

frame_specs = st.builds(
    FrameSpec,
    stx=st.just(0x02),
    etx=st.just(0x03),
    length=st.sampled_from(["bcd", "ascii", "binary", "none"]),
    length_size=st.sampled_from([2]),
    length_counts=st.sampled_from(["body", "body+etx"]),
    lrc=st.sampled_from(
        [(), ("body", "etx"), ("length", "body", "etx"), ("stx", "length", "body", "etx")]
    ),
    lrc_seed=st.sampled_from([0x00, 0x7F, 0xFF]),
)


def _usable(spec: FrameSpec) -> FrameSpec:
    if spec.length == "none":
        return replace(spec, lrc=tuple(p for p in spec.lrc if p != "length"), length_size=0)
    return spec


def test_known_vectors() -> None:
    transbank = MisposFraming(FrameSpec(length="none", length_size=0, lrc=("body", "etx")))
    assert transbank.encode(b"ABC") == b"\x02ABC\x03" + bytes([0x41 ^ 0x42 ^ 0x43 ^ 0x03])
    bcd = MisposFraming(FrameSpec(length="bcd", length_size=2, lrc=("length", "body", "etx")))
    body = b"x" * 123
    wire = bcd.encode(body)
    assert wire[1:3] == b"\x01\x23" and wire[-2] == 0x03
    assert wire[-1] == lrc(b"\x01\x23" + body + b"\x03")
    ascii_ = MisposFraming(FrameSpec(length="ascii", length_size=4, length_counts="body+etx"))
    assert ascii_.encode(b"AB")[1:5] == b"0003"
    nexi = MisposFraming(
        FrameSpec(length="none", length_size=0, lrc=("body", "etx"), lrc_seed=0x7F)
    )
    assert nexi.encode(b"A")[-1] == 0x7F ^ 0x41 ^ 0x03


@FUZZ
@given(frame_specs, st.binary(max_size=300), st.lists(st.integers(1, 40), min_size=1, max_size=20))
@pytest.mark.slow
def test_frames_round_trip_split_anywhere(spec: FrameSpec, body: bytes, cuts: list[int]) -> None:
    spec = _usable(spec)
    if spec.length == "none":
        body = body.replace(b"\x03", b"")
    framing = MisposFraming(spec)
    wire = framing.encode(body)
    decoder = framing.decoder()
    events = []
    at = 0
    for cut in cuts * (len(wire) // max(1, sum(cuts)) + 1):
        events += decoder.feed(wire[at : at + cut])
        at += cut
        if at >= len(wire):
            break
    assert events == [Frame(body, True, wire)]
    assert not decoder.in_frame


@FUZZ
@given(frame_specs, st.binary(max_size=400))
@pytest.mark.slow
def test_decoder_never_raises(spec: FrameSpec, data: bytes) -> None:
    decoder = MisposFraming(_usable(spec)).decoder()
    for event in decoder.feed(data):
        assert isinstance(event, Frame | Control | Noise)
    decoder.reset()


def test_bad_lrc_and_bad_length_are_named() -> None:
    framing = MisposFraming(FrameSpec())
    wire = bytearray(framing.encode(b"hello"))
    wire[-1] ^= 0xFF
    (bad,) = framing.decoder().feed(bytes(wire))
    assert isinstance(bad, Frame) and not bad.valid and bad.problem.startswith("LRC")
    events = framing.decoder().feed(b"\x02\x0a\x00hello\x03\x00")
    assert isinstance(events[0], Frame) and "not a bcd length" in events[0].problem
    events = framing.decoder().feed(b"\x06\x15junk" + framing.encode(b"ok"))
    assert [type(e).__name__ for e in events] == ["Control", "Control", "Noise", "Frame"]


def test_a_body_with_etx_needs_a_length() -> None:
    framing = MisposFraming(FrameSpec(length="none", length_size=0, lrc=("body", "etx")))
    with pytest.raises(MisposFormatError, match="ETX"):
        framing.encode(b"a\x03b")


def _value(spec: FieldSpec) -> st.SearchStrategy[str]:
    size = spec.limit
    if spec.format in ("n", "amount", "card"):
        low = spec.size or 1
        return st.text("0123456789", min_size=low, max_size=size)
    if spec.format == "ans":
        return st.text(
            st.characters(min_codepoint=0x21, max_codepoint=0x7E),
            min_size=spec.size or 0,
            max_size=size,
        )
    return st.text(
        st.sampled_from("交易成功余额不足城乡居民养老保险ABC xyz12\n"), max_size=min(size, 60)
    )


def _message(profile: Profile, specs: tuple[FieldSpec, ...]) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({s.name: _value(s) for s in specs})


@pytest.mark.parametrize("name", sorted(PROFILES))
@pytest.mark.slow
def test_every_message_of_every_profile_round_trips(name: str) -> None:
    profile = PROFILES[name]

    @FUZZ
    @given(st.data())
    def run(data: st.DataObject) -> None:
        verb = data.draw(st.sampled_from(sorted(profile.verbs)))
        for specs in (profile.verbs[verb].request, profile.verbs[verb].response):
            values = data.draw(_message(profile, specs))
            if profile.body.codec == "separated":  # empty means absent there
                values = {k: v for k, v in values.items() if v}
            body = encode_fields(profile, specs, values)
            wire = MisposFraming(profile.frame).encode(body)
            (frame,) = MisposFraming(profile.frame).decoder().feed(wire)
            assert isinstance(frame, Frame) and frame.valid
            got = decode_fields(profile, specs, frame.payload).values
            want = {k: pad(next(s for s in specs if s.name == k), v) for k, v in values.items()}
            want = {
                k: v.rstrip(" ") if next(s for s in specs if s.name == k).format == "ans" else v
                for k, v in want.items()
            }
            assert got == {k: v for k, v in want.items() if v or profile.body.codec == "tlv"}

    run()


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_requests_say_which_verb_they_are(name: str) -> None:
    profile = PROFILES[name]
    for verb in profile.verbs.values():
        body = encode_fields(profile, verb.request, {"trans_type": verb.code, "amount": "38000"})
        found, fields = decode_request(profile, body)
        assert found == verb and fields.get("trans_type") == verb.code


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_garbage_bodies_raise_only_format_errors(name: str) -> None:
    profile = PROFILES[name]

    @FUZZ
    @given(st.binary(max_size=200), st.sampled_from(sorted(profile.verbs)))
    def run(data: bytes, verb: str) -> None:
        for call in (
            lambda: decode_request(profile, data),
            lambda: decode_fields(profile, profile.verbs[verb].response, data),
        ):
            with contextlib.suppress(MisposFormatError):
                call()

    run()


def test_chinese_text_travels_in_the_profile_encoding() -> None:
    tlv = PROFILES["tlv-9f"]
    verb = tlv.verbs["reprint"]
    body = encode_fields(
        tlv, verb.response, {"trans_type": "09", "rc": "00", "print_text": "城乡居民养老保险"}
    )
    assert "城乡居民养老保险".encode("gbk") in body
    assert decode_fields(tlv, verb.response, body).get("print_text") == "城乡居民养老保险"
    with pytest.raises(MisposFormatError, match="gbk"):
        encode_fields(tlv, verb.response, {"trans_type": "09", "rc": "00", "print_text": "ᠮᠣᠩᠭᠣᠯ"})
    fs = PROFILES["fs-delimited"]  # GB18030 carries traditional Mongolian too
    text = "ᠮᠣᠩᠭᠣᠯ 蒙古文"
    body = encode_fields(
        fs, fs.verbs["reprint"].response, {"trans_type": "30", "rc": "00", "print_text": text}
    )
    assert decode_fields(fs, fs.verbs["reprint"].response, body).get("print_text") == text


def test_bad_values_are_refused_naming_the_field() -> None:
    tlv = PROFILES["tlv-9f"]
    sale = tlv.verbs["sale"]
    with pytest.raises(MisposFormatError, match="amount"):
        encode_fields(tlv, sale.request, {"trans_type": "02", "amount": "12.50"})
    with pytest.raises(MisposFormatError, match="trans_type"):
        encode_fields(tlv, sale.request, {"trans_type": "002"})
    truncated = encode_fields(tlv, sale.request, {"trans_type": "02", "amount": "1"})[:-3]
    with pytest.raises(MisposFormatError, match="says 12 bytes"):
        decode_fields(tlv, sale.request, truncated)
