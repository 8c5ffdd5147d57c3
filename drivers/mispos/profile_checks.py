from __future__ import annotations

import codecs
from typing import NoReturn

from pydantic_core import ErrorDetails

from paychannels.drivers.mispos.errors import ProfileError
from paychannels.drivers.mispos.profile import (
    BOOKING_VERBS,
    MANDATORY_VERBS,
    BodySpec,
    FieldSpec,
    FrameSpec,
    LineSpec,
    Profile,
    ResultSpec,
    VerbSpec,
    profile_file,
    shipped_profiles,
)
from paychannels.drivers.mispos.profile_file import (
    BodyTable,
    FieldTable,
    FrameTable,
    ProfileFile,
    ResultTable,
    VerbTable,
)
from paychannels.values.configfile import KeyLines, parse_toml, raise_at, validate
from paychannels.values.currencies import currency as find_currency
from paychannels.values.errors import UnknownCurrency
from paychannels.values.reasons import Reason

__all__ = ["load", "loads"]

_LENGTH_SIZES = {"bcd": (1, 3), "ascii": (1, 6), "binary": (1, 4), "none": (0, 0)}


class _Reader:
    """The profile's text, to name the line of every mistake."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = KeyLines(text)
        self.source = source

    def fail(self, path: tuple[str | int, ...], message: str) -> NoReturn:
        raise_at(self.lines, self.source, path, message, ProfileError)


def load(name_or_path: str) -> Profile:
    """Load a shipped profile by name (``tlv-9f``) or a profile file by path."""
    path = profile_file(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        known = ", ".join(shipped_profiles())
        raise ProfileError(str(path), f"no such profile (shipped: {known})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(str(path), f"cannot read it: {exc}") from None
    return loads(text, source=str(path))


def _explain(error: ErrorDetails, _key: str) -> str | None:
    """Our words for the mistakes a field engineer makes most."""
    loc = tuple(str(p) for p in error["loc"])
    if error["type"] == "missing" and loc[:1] == ("verbs",):
        verb = loc[1] if len(loc) > 1 else MANDATORY_VERBS[0]
        mandatory = ", ".join(MANDATORY_VERBS)
        if verb in MANDATORY_VERBS and len(loc) <= 2:
            return f"missing mandatory verb [verbs.{verb}] (mandatory: {mandatory})"
    return None


def loads(text: str, *, source: str = "<profile>") -> Profile:
    """Check and build a profile from TOML text (``source`` names it in errors)."""
    data = parse_toml(text, source, ProfileError)
    r = _Reader(text, source)
    raw = validate(
        ProfileFile, data, lines=r.lines, source=source, fail=ProfileError, explain=_explain
    )
    try:
        codecs.lookup(raw.encoding)
    except LookupError:
        r.fail(("encoding",), f"encoding {raw.encoding!r} is not a known text encoding")
    try:
        find_currency(raw.currency)
    except UnknownCurrency as exc:
        r.fail(("currency",), str(exc))
    frame = _frame(r, raw.frame)
    body = _body(r, raw.body, frame)
    fields = _fields(r, raw.fields, body, raw.encoding)
    result = _result(r, raw.result, fields)
    declared = {n: getattr(raw.verbs, n) for n in type(raw.verbs).model_fields}
    verbs = _verbs(
        r,
        {n: v for n, v in declared.items() if v is not None},
        fields,
        body,
        frame,
        result,
        raw.encoding,
    )
    _check_resend_key(r, frame, verbs)
    return Profile(
        name=raw.name,
        title=raw.title,
        source=raw.source,
        path=source,
        encoding=raw.encoding,
        currency=raw.currency,
        line=LineSpec(
            baudrate=raw.line.baudrate,
            bytesize=raw.line.bytesize,
            parity=raw.line.parity,
            stopbits=raw.line.stopbits,
        ),
        answer_timeout=raw.line.answer_timeout,
        frame=frame,
        body=body,
        fields=fields,
        result=result,
        verbs=verbs,
    )


def _frame(r: _Reader, t: FrameTable) -> FrameSpec:
    p = ("frame",)
    low, high = _LENGTH_SIZES[t.length]
    if high and not low <= t.length_size <= high:
        r.fail(
            (*p, "length_size"),
            f"frame.length_size must be {low}..{high} for a {t.length} length, not {t.length_size}",
        )
    if t.length == "none" and "length" in t.lrc:
        r.fail((*p, "lrc"), "frame.lrc covers the length, but frame.length is none")
    return FrameSpec(
        stx=t.stx,
        etx=t.etx,
        length=t.length,
        length_size=t.length_size if high else 0,
        length_counts=t.length_counts,
        lrc=tuple(t.lrc),
        lrc_seed=t.lrc_seed,
        acknowledge=t.acknowledge,
        ack=t.ack,
        nak=t.nak,
        ack_timeout=t.ack_timeout,
        resends=t.resends,
        resend_key=t.resend_key,
    )


def _check_resend_key(r: _Reader, frame: FrameSpec, verbs: dict[str, VerbSpec]) -> None:
    """A declared resend key must be a number field every booking request carries."""
    key = frame.resend_key
    if not key:
        return
    for name in BOOKING_VERBS:
        verb = verbs.get(name)
        spec = next((f for f in verb.request if f.name == key), None) if verb else None
        if spec is None:
            r.fail(
                ("frame", "resend_key"), f"frame.resend_key {key!r} is not in the {name} request"
            )
        if spec.format != "n" or spec.limit < 4:
            r.fail(("frame", "resend_key"), f"frame.resend_key {key!r} must be digits, 4 or more")


def _body(r: _Reader, t: BodyTable, frame: FrameSpec) -> BodySpec:
    p = ("body",)
    spec = BodySpec(
        codec=t.codec,
        tag_size=t.tag_size,
        length_format=t.length_format,
        length_size=t.length_size,
        separator=t.separator,
    )
    if t.codec == "tlv" and frame.length == "none" and spec.length_format != "ascii":
        r.fail(
            (*p, "codec"),
            "a TLV body with binary or BCD lengths needs frame.length "
            "(an ETX byte inside a length would end the frame early)",
        )
    if t.codec == "separated" and spec.separator in (frame.stx, frame.etx):
        r.fail((*p, "separator"), "body.separator must differ from frame.stx and frame.etx")
    return spec


def _fields(
    r: _Reader, t: dict[str, FieldTable], body: BodySpec, encoding: str
) -> dict[str, FieldSpec]:
    out: dict[str, FieldSpec] = {}
    for name, f in t.items():
        p = ("fields", name)
        if (f.size is None) == (f.max is None):
            r.fail(p, f"field {name!r} needs exactly one of size (exact) or max (at most)")
        tag: bytes | None = None
        if body.codec == "tlv":
            if f.tag is None:
                r.fail((*p, "tag"), f"fields.{name}.tag is required")
            try:
                tag = bytes.fromhex(f.tag)
            except ValueError:
                r.fail((*p, "tag"), f"tag {f.tag!r} of field {name!r} is not hex")
            if len(tag) != body.tag_size:
                r.fail((*p, "tag"), f"tag {f.tag} of field {name!r} is not {body.tag_size} bytes")
        elif f.tag is not None:
            r.fail((*p, "tag"), f"field {name!r} has a tag, but body.codec is separated")
        spec = FieldSpec(name, f.format, f.size, f.max, tag)
        if body.codec == "tlv" and spec.max_bytes(_per_char(encoding)) > body.max_value:
            r.fail(
                p,
                f"length overflow: field {name!r} can be {spec.max_bytes(_per_char(encoding))} "
                f"bytes, a {body.length_format} length of {body.length_size} holds "
                f"{body.max_value}",
            )
        out[name] = spec
    return out


def _per_char(encoding: str) -> int:
    return len("中".encode(encoding, "replace")) if encoding else 1


def _result(r: _Reader, t: ResultTable, fields: dict[str, FieldSpec]) -> ResultSpec:
    if t.field not in fields:
        r.fail(("result", "field"), f"result.field {t.field!r} is not a declared field")
    reasons = {code: Reason[reason] for code, reason in t.reasons.items()}
    return ResultSpec(t.field, frozenset(t.approved), reasons, dict(t.texts))


def _message(
    r: _Reader, p: tuple[str, ...], names: list[str], fields: dict[str, FieldSpec]
) -> tuple[FieldSpec, ...]:
    by_tag = {f.tag.hex().upper(): f for f in fields.values() if f.tag is not None}
    out: list[FieldSpec] = []
    for i, item in enumerate(names):
        spec = fields.get(item) or by_tag.get(item.upper())
        if spec is None:
            what = "tag" if all(c in "0123456789abcdefABCDEF" for c in item) else "field"
            r.fail((*p, i), f"unknown {what} {item!r} in {'.'.join(p)}: not declared in [fields]")
        if spec in out or (spec.tag is not None and any(o.tag == spec.tag for o in out)):
            r.fail((*p, i), f"{'.'.join(p)} names {item!r} twice")
        out.append(spec)
    return tuple(out)


def _verbs(
    r: _Reader,
    t: dict[str, VerbTable],
    fields: dict[str, FieldSpec],
    body: BodySpec,
    frame: FrameSpec,
    result: ResultSpec,
    encoding: str,
) -> dict[str, VerbSpec]:
    if "trans_type" not in fields:
        r.fail(("fields",), "field trans_type (the transaction-type code) is not declared")
    out: dict[str, VerbSpec] = {}
    positions: set[int] = set()
    for name, v in t.items():
        p = ("verbs", name)
        code = v.code
        kind = fields["trans_type"]
        if (
            (kind.size is not None and len(code) != kind.size)
            or len(code) > kind.limit
            or (kind.format in ("n", "amount") and not code.isdigit())
        ):
            r.fail(
                (*p, "code"),
                f"code {code!r} does not fit field trans_type ({kind.format}, "
                f"{'size' if kind.size else 'max'} {kind.limit})",
            )
        request = _message(r, (*p, "request"), v.request, fields)
        response = _message(r, (*p, "response"), v.response, fields)
        if kind not in request:
            r.fail((*p, "request"), f"{'.'.join(p)}.request must carry trans_type")
        if fields[result.field] not in response:
            r.fail((*p, "response"), f"{'.'.join(p)}.response must carry {result.field}")
        if body.codec == "separated":
            positions.add(request.index(kind))
            if len(positions) > 1:
                r.fail((*p, "request"), "every request must carry trans_type at the same place")
        for message, specs in (("request", request), ("response", response)):
            worst = _worst_body(specs, body, encoding)
            if worst > frame.max_body:
                r.fail(
                    (*p, message),
                    f"length overflow: the {name} {message} can be {worst} "
                    f"bytes, the frame's length announces at most {frame.max_body}",
                )
        if name in out or any(o.code == code for o in out.values()):
            r.fail((*p, "code"), f"code {code!r} is used by two verbs")
        out[name] = VerbSpec(name, code, request, response)
    return out


def _worst_body(specs: tuple[FieldSpec, ...], body: BodySpec, encoding: str) -> int:
    per = _per_char(encoding)
    if body.codec == "tlv":
        return sum(body.tag_size + body.length_size + s.max_bytes(per) for s in specs)
    return sum(s.max_bytes(per) for s in specs) + max(0, len(specs) - 1)
