"""Packing a MIS-POS body: the fields of one message, as TLV or separated by a byte.

Framing (``frame``) is kept apart from packing: here a message is a verb's list of fields
and their values as text (digits for ``n``, ``amount`` and ``card``; text for ``ans`` and
``text``, written in the profile's encoding, GBK or GB18030). TLV: each field is its tag,
its value's length (binary, BCD or ASCII digits, as declared) and the value, in any order;
tags not in the message are kept aside (``unknown``), not refused. Separated: the values in
the declared order, joined by the separator; missing trailing fields are empty. Decoding
raises only ``MisposFormatError``, naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from paychannels.drivers.mispos.errors import MisposFormatError
from paychannels.drivers.mispos.profile import BodySpec, FieldSpec, Profile, VerbSpec

__all__ = ["Fields", "decode_fields", "decode_request", "encode_fields", "split_tlv"]


@dataclass(frozen=True)
class Fields:
    """A decoded message: values by field name, and TLV tags we did not expect."""

    values: dict[str, str]
    unknown: dict[str, bytes] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        return self.values.get(name)


def _check_value(spec: FieldSpec, value: str) -> str:
    if spec.format in ("n", "amount", "card") and not value.isdigit():
        raise MisposFormatError(f"{value[:24]!r} is not digits", field=spec.name)
    if spec.format == "ans" and not all(" " <= ch <= "~" for ch in value):
        raise MisposFormatError("holds characters other than printable ASCII", field=spec.name)
    if spec.size is not None and len(value) != spec.size:
        raise MisposFormatError(f"is {len(value)} long, must be {spec.size}", field=spec.name)
    if spec.max is not None and len(value) > spec.max:
        raise MisposFormatError(f"is {len(value)} long, at most {spec.max}", field=spec.name)
    return value


def _to_bytes(spec: FieldSpec, value: str, encoding: str) -> bytes:
    _check_value(spec, value)
    try:
        return value.encode(encoding if spec.format == "text" else "ascii")
    except UnicodeEncodeError:
        raise MisposFormatError(f"cannot be written in {encoding}", field=spec.name) from None


def _to_text(spec: FieldSpec, raw: bytes, encoding: str) -> str:
    try:
        text = raw.decode(encoding if spec.format == "text" else "ascii")
    except UnicodeDecodeError:
        raise MisposFormatError(f"is not {encoding} text", field=spec.name) from None
    return _check_value(spec, text if spec.format == "text" else text.rstrip(" "))


def pad(spec: FieldSpec, value: str) -> str:
    """A value brought to a fixed-size field (digits zero-padded, text space-padded)."""
    if spec.size is None or len(value) >= spec.size:
        return value
    if spec.format in ("n", "amount"):
        return value.rjust(spec.size, "0")
    return value.ljust(spec.size)


def _tlv_length(body: BodySpec, count: int) -> bytes:
    size = body.length_size
    if body.length_format == "binary":
        return count.to_bytes(size, "big")
    if body.length_format == "bcd":
        return bytes.fromhex(f"{count:0{2 * size}d}")
    return f"{count:0{size}d}".encode("ascii")


def _read_tlv_length(body: BodySpec, raw: bytes, at: int) -> int:
    if body.length_format == "binary":
        return int.from_bytes(raw, "big")
    text = raw.hex() if body.length_format == "bcd" else raw.decode("latin-1")
    if not text.isdigit():
        raise MisposFormatError(f"TLV length {raw.hex(' ').upper()} is not digits", offset=at)
    return int(text)


def encode_fields(
    profile: Profile, specs: tuple[FieldSpec, ...], values: Mapping[str, str]
) -> bytes:
    """The body for a message of ``specs`` (fields without a value are left out / empty;
    values for fields the message does not have are ignored)."""
    body = profile.body
    if body.codec == "tlv":
        out = bytearray()
        for spec in specs:
            value = values.get(spec.name)
            if value is None:
                continue
            data = _to_bytes(spec, pad(spec, value), profile.encoding)
            assert spec.tag is not None
            out += spec.tag + _tlv_length(body, len(data)) + data
        return bytes(out)
    sep = bytes([body.separator])
    parts = []
    for spec in specs:
        value = values.get(spec.name)
        data = b"" if value is None else _to_bytes(spec, pad(spec, value), profile.encoding)
        if sep in data or profile.frame.etx in data:
            raise MisposFormatError("holds the separator or ETX byte", field=spec.name)
        parts.append(data)
    while parts and not parts[-1]:
        parts.pop()
    return sep.join(parts)


def split_tlv(body: BodySpec, raw: bytes) -> list[tuple[bytes, bytes]]:
    """The (tag, value) pairs of a TLV body, in order."""
    items: list[tuple[bytes, bytes]] = []
    at = 0
    head = body.tag_size + body.length_size
    while at < len(raw):
        if at + head > len(raw):
            raise MisposFormatError(f"{len(raw) - at} bytes left, a TLV head is {head}", offset=at)
        tag = raw[at : at + body.tag_size]
        count = _read_tlv_length(body, raw[at + body.tag_size : at + head], at)
        end = at + head + count
        if end > len(raw):
            raise MisposFormatError(
                f"tag {tag.hex().upper()} says {count} bytes, {len(raw) - at - head} follow",
                offset=at,
            )
        items.append((tag, raw[at + head : end]))
        at = end
    return items


def decode_fields(profile: Profile, specs: tuple[FieldSpec, ...], raw: bytes) -> Fields:
    """A message of ``specs`` read from a body."""
    if profile.body.codec == "tlv":
        by_tag = {spec.tag: spec for spec in specs}
        values: dict[str, str] = {}
        unknown: dict[str, bytes] = {}
        for tag, data in split_tlv(profile.body, raw):
            spec = by_tag.get(tag)
            if spec is None:
                unknown[tag.hex().upper()] = data
            elif spec.name in values:
                raise MisposFormatError("appears twice", field=spec.name)
            else:
                values[spec.name] = _to_text(spec, data, profile.encoding)
        return Fields(values, unknown)
    parts = raw.split(bytes([profile.body.separator])) if raw else []
    if len(parts) > len(specs):
        raise MisposFormatError(f"{len(parts)} fields, the message has {len(specs)}")
    found = {
        spec.name: _to_text(spec, data, profile.encoding)
        for spec, data in zip(specs, parts, strict=False)
        if data
    }
    return Fields(found)


def decode_request(profile: Profile, raw: bytes) -> tuple[VerbSpec, Fields]:
    """Which verb a request is (by its ``trans_type``) and its fields (the terminal's side)."""
    kind = profile.fields["trans_type"]
    if profile.body.codec == "tlv":
        code = next((d for t, d in split_tlv(profile.body, raw) if t == kind.tag), None)
    else:
        position = next(iter(profile.verbs.values())).request.index(kind)
        parts = raw.split(bytes([profile.body.separator]))
        code = parts[position] if position < len(parts) else None
    if code is None:
        raise MisposFormatError("the request has no transaction type", field="trans_type")
    text = code.decode("latin-1").strip()
    verb = profile.verb_for_code(text)
    if verb is None:
        raise MisposFormatError(f"unknown transaction type {text!r}", field="trans_type")
    return verb, decode_fields(profile, verb.request, raw)
