"""Reading a profile file, refusing every mistake with the line it is on.

What is refused: TOML that does not parse; unknown sections and keys (a typo is a mistake,
not a comment); values of the wrong kind or out of range; an encoding Python does not know;
a field with an unknown format, a tag of the wrong size, or both ``size`` and ``max``; a
verb naming a field or tag the profile does not declare ("unknown tag"), a transaction code
that does not fit the ``trans_type`` field, or a message without ``trans_type`` (requests)
or the result field (answers); a field longer than a TLV length can say, or a message
longer than the frame's length can announce ("length overflow"); a TLV body with binary
lengths in a frame without a length (an ETX byte could end it early); separated bodies whose
requests do not all carry ``trans_type`` at the same place; and a missing mandatory verb
(sale, void, refund and query last transaction — recovery depends on the last).
"""

from __future__ import annotations

import codecs
import tomllib
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from paychannels.currencies import currency as find_currency
from paychannels.drivers.mispos.errors import ProfileError
from paychannels.drivers.mispos.profile import (
    BOOKING_VERBS,
    FORMATS,
    MANDATORY_VERBS,
    VERBS,
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
from paychannels.drivers.mispos.tomllines import KeyLines
from paychannels.errors import UnknownCurrency
from paychannels.links.serial import BAUDRATES
from paychannels.reasons import Reason

__all__ = ["load", "loads"]

_TOP = {"name", "title", "source", "encoding", "currency", "line", "frame", "body", "fields"}
_TOP |= {"result", "verbs"}
_LINE = {"baudrate", "bytesize", "parity", "stopbits", "answer_timeout"}
_FRAME = {"stx", "etx", "length", "length_size", "length_counts", "lrc", "lrc_seed"}
_FRAME |= {"acknowledge", "ack", "nak", "ack_timeout", "resends", "resend_key"}
_BODY = {"codec", "tag_size", "length_format", "length_size", "separator"}
_FIELD = {"tag", "format", "size", "max"}
_RESULT = {"field", "approved", "reasons", "texts"}
_VERB = {"code", "request", "response"}
T = TypeVar("T")


class _Reader:
    """Typed access to the parsed TOML, every error naming file and line."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = KeyLines(text)
        self.source = source

    def fail(self, path: tuple[str | int, ...], message: str) -> NoReturn:
        line = self.lines.line(*path)
        where = f"{self.source}:{line}" if line else self.source
        raise ProfileError(where, message)

    def table(self, data: Any, path: tuple[str, ...], allowed: set[str]) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail(path, f"[{'.'.join(path)}] must be a table")
        for key in data:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.fail((*path, key), f"unknown key {'.'.join((*path, key))!r}; known: {known}")
        return data

    def get(
        self,
        data: dict[str, Any],
        path: tuple[str, ...],
        kind: type[T],
        default: T | None = None,
        check: Callable[[T], str | None] | None = None,
    ) -> T:
        key = path[-1]
        if key not in data:
            if default is None:
                self.fail(path, f"{'.'.join(path)} is required")
            return default
        value = data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(path, f"{'.'.join(path)} must be {kind.__name__}, not {value!r}")
        problem = check(value) if check is not None else None
        if problem:
            self.fail(path, f"{'.'.join(path)} {problem}")
        return value


def _within(low: int | float, high: int | float) -> Callable[[Any], str | None]:
    return lambda v: None if low <= v <= high else f"must be {low}..{high}, not {v}"


def _one_of_ints(choices: tuple[int, ...]) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"must be one of {choices}, not {v}"


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"must be one of {', '.join(choices)}, not {v!r}"


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


def loads(text: str, *, source: str = "<profile>") -> Profile:
    """Check and build a profile from TOML text (``source`` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_of(str(exc))
        raise ProfileError(f"{source}:{line}" if line else source, f"not TOML: {exc}") from None
    r = _Reader(text, source)
    r.table(data, (), _TOP)
    encoding = r.get(data, ("encoding",), str, "gbk")
    try:
        codecs.lookup(encoding)
    except LookupError:
        r.fail(("encoding",), f"encoding {encoding!r} is not a known text encoding")
    currency = r.get(data, ("currency",), str, "CNY")
    try:
        find_currency(currency)
    except UnknownCurrency as exc:
        r.fail(("currency",), str(exc))
    line = r.table(data.get("line", {}), ("line",), _LINE)
    frame = _frame(r, r.table(data.get("frame", {}), ("frame",), _FRAME))
    body = _body(r, r.table(data.get("body", {}), ("body",), _BODY), frame)
    fields = _fields(
        r, r.table(data.get("fields", {}), ("fields",), set(data.get("fields", {}))), body, encoding
    )
    result = _result(r, r.table(data.get("result", {}), ("result",), _RESULT), fields)
    verbs = _verbs(
        r,
        r.table(data.get("verbs", {}), ("verbs",), set(VERBS)),
        fields,
        body,
        frame,
        result,
        encoding,
    )
    _check_resend_key(r, frame, verbs)
    return Profile(
        name=r.get(data, ("name",), str),
        title=r.get(data, ("title",), str, ""),
        source=r.get(data, ("source",), str, ""),
        path=source,
        encoding=encoding,
        currency=currency,
        line=LineSpec(
            baudrate=r.get(line, ("line", "baudrate"), int, 9600, _one_of_ints(BAUDRATES)),
            bytesize=r.get(line, ("line", "bytesize"), int, 8, _within(5, 8)),
            parity=r.get(line, ("line", "parity"), str, "N", _one_of("N", "E", "O", "M", "S")),
            stopbits=r.get(line, ("line", "stopbits"), str, "1", _one_of("1", "1.5", "2")),
        ),
        answer_timeout=r.get(line, ("line", "answer_timeout"), float, 60.0, _within(0.1, 600)),
        frame=frame,
        body=body,
        fields=fields,
        result=result,
        verbs=verbs,
    )


def _line_of(message: str) -> int | None:
    marker = "line "
    if marker in message:
        digits = "".join(ch for ch in message.split(marker, 1)[1][:8] if ch.isdigit())
        return int(digits) if digits else None
    return None


def _frame(r: _Reader, t: dict[str, Any]) -> FrameSpec:
    byte = _within(0, 255)
    p = ("frame",)
    length = r.get(t, (*p, "length"), str, "bcd", _one_of("bcd", "ascii", "binary", "none"))
    sizes = {"bcd": (1, 3), "ascii": (1, 6), "binary": (1, 4), "none": (0, 0)}[length]
    lrc = r.get(t, (*p, "lrc"), list, ["length", "body", "etx"])
    for i, part in enumerate(lrc):
        if part not in ("stx", "length", "body", "etx"):
            r.fail((*p, "lrc", i), f"frame.lrc part {part!r} must be stx, length, body or etx")
    if length == "none" and "length" in lrc:
        r.fail((*p, "lrc"), "frame.lrc covers the length, but frame.length is none")
    return FrameSpec(
        stx=r.get(t, (*p, "stx"), int, 0x02, byte),
        etx=r.get(t, (*p, "etx"), int, 0x03, byte),
        length=length,
        length_size=r.get(t, (*p, "length_size"), int, 2, _within(*sizes)) if sizes[1] else 0,
        length_counts=r.get(t, (*p, "length_counts"), str, "body", _one_of("body", "body+etx")),
        lrc=tuple(lrc),
        lrc_seed=r.get(t, (*p, "lrc_seed"), int, 0, byte),
        acknowledge=r.get(t, (*p, "acknowledge"), bool, True),
        ack=r.get(t, (*p, "ack"), int, 0x06, byte),
        nak=r.get(t, (*p, "nak"), int, 0x15, byte),
        ack_timeout=r.get(t, (*p, "ack_timeout"), float, 2.0, _within(0.05, 60)),
        resends=r.get(t, (*p, "resends"), int, 3, _within(0, 9)),
        resend_key=r.get(t, (*p, "resend_key"), str, ""),
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


def _body(r: _Reader, t: dict[str, Any], frame: FrameSpec) -> BodySpec:
    p = ("body",)
    codec = r.get(t, (*p, "codec"), str, "tlv", _one_of("tlv", "separated"))
    spec = BodySpec(
        codec=codec,
        tag_size=r.get(t, (*p, "tag_size"), int, 2, _within(1, 4)),
        length_format=r.get(
            t, (*p, "length_format"), str, "binary", _one_of("binary", "bcd", "ascii")
        ),
        length_size=r.get(t, (*p, "length_size"), int, 2, _within(1, 4)),
        separator=r.get(t, (*p, "separator"), int, 0x1C, _within(0, 255)),
    )
    if codec == "tlv" and frame.length == "none" and spec.length_format != "ascii":
        r.fail(
            (*p, "codec"),
            "a TLV body with binary or BCD lengths needs frame.length "
            "(an ETX byte inside a length would end the frame early)",
        )
    if codec == "separated" and spec.separator in (frame.stx, frame.etx):
        r.fail((*p, "separator"), "body.separator must differ from frame.stx and frame.etx")
    return spec


def _fields(r: _Reader, t: dict[str, Any], body: BodySpec, encoding: str) -> dict[str, FieldSpec]:
    out: dict[str, FieldSpec] = {}
    for name, raw in t.items():
        p = ("fields", name)
        f = r.table(raw, p, _FIELD)
        fmt = r.get(f, (*p, "format"), str, None, _one_of(*FORMATS))
        size = r.get(f, (*p, "size"), int, 0, _within(1, 65535)) if "size" in f else None
        most = r.get(f, (*p, "max"), int, 0, _within(1, 65535)) if "max" in f else None
        if (size is None) == (most is None):
            r.fail(p, f"field {name!r} needs exactly one of size (exact) or max (at most)")
        tag: bytes | None = None
        if body.codec == "tlv":
            text = r.get(f, (*p, "tag"), str)
            try:
                tag = bytes.fromhex(text)
            except ValueError:
                r.fail((*p, "tag"), f"tag {text!r} of field {name!r} is not hex")
            if len(tag) != body.tag_size:
                r.fail((*p, "tag"), f"tag {text} of field {name!r} is not {body.tag_size} bytes")
        elif "tag" in f:
            r.fail((*p, "tag"), f"field {name!r} has a tag, but body.codec is separated")
        spec = FieldSpec(name, fmt, size, most, tag)
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


def _result(r: _Reader, t: dict[str, Any], fields: dict[str, FieldSpec]) -> ResultSpec:
    p = ("result",)
    name = r.get(t, (*p, "field"), str, "rc")
    if name not in fields:
        r.fail((*p, "field"), f"result.field {name!r} is not a declared field")
    approved = r.get(t, (*p, "approved"), list, ["00"])
    if not approved or not all(isinstance(c, str) for c in approved):
        r.fail((*p, "approved"), "result.approved must list the codes (text) that mean approved")
    reasons: dict[str, Reason] = {}
    for code, reason in r.table(
        t.get("reasons", {}), (*p, "reasons"), set(t.get("reasons", {}))
    ).items():
        if reason not in Reason.__members__:
            r.fail(
                (*p, "reasons", code),
                f"reason {reason!r} for {code!r} is not one of ours "
                f"({', '.join(Reason.__members__)})",
            )
        reasons[code] = Reason[reason]
    texts = r.table(t.get("texts", {}), (*p, "texts"), set(t.get("texts", {})))
    return ResultSpec(name, frozenset(approved), reasons, {k: str(v) for k, v in texts.items()})


def _message(
    r: _Reader, p: tuple[str, ...], names: list[Any], fields: dict[str, FieldSpec]
) -> tuple[FieldSpec, ...]:
    by_tag = {f.tag.hex().upper(): f for f in fields.values() if f.tag is not None}
    out: list[FieldSpec] = []
    for i, item in enumerate(names):
        if not isinstance(item, str):
            r.fail((*p, i), f"{'.'.join(p)} lists field names or tags, not {item!r}")
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
    t: dict[str, Any],
    fields: dict[str, FieldSpec],
    body: BodySpec,
    frame: FrameSpec,
    result: ResultSpec,
    encoding: str,
) -> dict[str, VerbSpec]:
    for verb in MANDATORY_VERBS:
        if verb not in t:
            r.fail(
                ("verbs",),
                f"missing mandatory verb [verbs.{verb}] (mandatory: {', '.join(MANDATORY_VERBS)})",
            )
    if "trans_type" not in fields:
        r.fail(("fields",), "field trans_type (the transaction-type code) is not declared")
    out: dict[str, VerbSpec] = {}
    positions: set[int] = set()
    for name, raw in t.items():
        p = ("verbs", name)
        v = r.table(raw, p, _VERB)
        code = r.get(v, (*p, "code"), str)
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
        request = _message(r, (*p, "request"), r.get(v, (*p, "request"), list), fields)
        response = _message(r, (*p, "response"), r.get(v, (*p, "response"), list), fields)
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
