"""Profiles: the shipped ones load; a profile with a mistake is refused naming its line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paychannels import Reason
from paychannels.drivers.mispos.errors import ProfileError
from paychannels.drivers.mispos.profile import MANDATORY_VERBS, profile_file, shipped_profiles
from paychannels.drivers.mispos.profile_checks import load, loads

TLV = profile_file("tlv-9f").read_text(encoding="utf-8")


def test_the_shipped_profiles_load() -> None:
    assert shipped_profiles() == ["fs-delimited", "tlv-9f"]
    for name in shipped_profiles():
        profile = load(name)
        assert set(MANDATORY_VERBS) <= set(profile.verbs)
        assert profile.path.endswith(f"{name}.toml")
    tlv = load("tlv-9f")
    assert tlv.fields["amount"].tag == bytes.fromhex("9F02")
    assert tlv.fields["print_text"].tag == bytes.fromhex("9F52")
    assert tlv.verbs["void"].code == "03" and tlv.verbs["settle"].code == "14"
    assert tlv.result.reasons["51"] is Reason.INSUFFICIENT_FUNDS
    assert tlv.frame.length == "bcd" and tlv.encoding == "gbk"
    fs = load("fs-delimited")
    assert fs.body.codec == "separated" and fs.frame.length == "none"


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def refused(text: str) -> ProfileError:
    with pytest.raises(ProfileError) as info:
        loads(text, source="bank.toml")
    return info.value


def test_unknown_tag_names_its_line() -> None:
    text = TLV.replace('request = ["trans_type", "amount"]', 'request = ["trans_type", "9F99"]')
    error = refused(text)
    assert str(error).startswith(f"bank.toml:{line_of(text, '9F99')}: unknown tag '9F99'")


def test_unknown_field_names_its_line() -> None:
    text = TLV.replace('request = ["trans_type", "amount"]', 'request = ["trans_type", "amout"]')
    error = refused(text)
    assert f"bank.toml:{line_of(text, 'amout')}: unknown field 'amout'" in str(error)


def test_field_longer_than_a_tlv_length_can_say() -> None:
    text = TLV.replace(
        'length_format = "binary"\nlength_size = 2', 'length_format = "bcd"\nlength_size = 1'
    )
    error = refused(text)
    assert "length overflow" in str(error)
    assert error.where == f"bank.toml:{line_of(text, 'print_text = {')}"


def test_message_longer_than_the_frame_length_can_announce() -> None:
    text = TLV.replace(
        'print_text = { tag = "9F52", format = "text", max = 2000 }',
        'print_text = { tag = "9F52", format = "text", max = 9000 }',
    )
    error = refused(text)
    assert "length overflow: the sale response" in str(error)
    assert "9999" in str(error)
    assert error.where == f"bank.toml:{line_of(text, '[verbs.sale]') + 3}"


def test_missing_mandatory_verb() -> None:
    text = re.sub(r"\[verbs\.query\]\n(.+\n){3}", "", TLV)
    error = refused(text)
    assert "missing mandatory verb [verbs.query]" in str(error)
    assert error.where == f"bank.toml:{line_of(text, '[verbs.sale]')}"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('length = "bcd"', 'length = "hex"'), "must be one of bcd, ascii, binary, none"),
        (("lrc_seed = 0x00", "lrc_seed = 256"), "must be 0..255"),
        (('encoding = "gbk"', 'encoding = "klingon"'), "not a known text encoding"),
        (('currency = "CNY"', 'currency = "XXY"'), "XXY"),
        (('code = "03"', 'code = "3"'), "does not fit field trans_type"),
        (('code = "04"', 'code = "03"'), "used by two verbs"),
        (('"51" = "INSUFFICIENT_FUNDS"', '"51" = "BROKE"'), "not one of ours"),
        (('tag = "9F0E"', 'tag = "9F0E00"'), "is not 2 bytes"),
        (("resends = 3", "resends = 3\nretries = 2"), "unknown key 'frame.retries'"),
        (("resends = 3", 'resends = 3\nresend_key = "batch"'), "is not in the sale request"),
        (("resends = 3", 'resends = 3\nresend_key = "trans_type"'), "must be digits, 4 or more"),
        (
            (
                'rc = { tag = "9F14", format = "ans", size = 2 }',
                'rc = { tag = "9F14", format = "ans" }',
            ),
            "exactly one of size",
        ),
        (
            (
                'length = "bcd"\nlength_size = 2\nlength_counts = "body"\n'
                'lrc = ["length", "body", "etx"]',
                'length = "none"\nlrc = ["body", "etx"]',
            ),
            "needs frame.length",
        ),
        (("[line]", "[lines]"), "unknown key 'lines'"),
        (("baudrate = 9600", "baudrate = 9601"), "must be one of"),
    ],
)
def test_mistakes_are_refused_with_their_line(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in TLV
    text = TLV.replace(old, new, 1)
    error = refused(text)
    assert message in str(error)
    line = int(error.where.rsplit(":", 1)[1])
    assert new.splitlines()[-1].split("=")[0].strip().strip('"[]') in text.splitlines()[
        line - 1
    ] or ("needs frame.length" in message)


def test_not_toml_names_the_line() -> None:
    error = refused(TLV.replace("[body]", "[body"))
    assert error.where == f"bank.toml:{line_of(TLV, '[body]')}"


def test_unknown_profile_lists_the_shipped_ones(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="shipped: fs-delimited, tlv-9f"):
        load("no-such-bank")
    own = tmp_path / "bank.toml"
    own.write_text(TLV.replace('name = "tlv-9f"', 'name = "my-bank"'), encoding="utf-8")
    assert load(str(own)).name == "my-bank"
