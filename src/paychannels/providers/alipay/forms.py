"""``application/x-www-form-urlencoded`` as Alipay sends it: strict, and charset-aware.

Alipay's notify says its own charset in the ``charset`` field (``utf-8`` or ``gbk``), so the
body is split on the raw bytes first, percent-decoded to bytes, and only then decoded with
that charset. A key that appears twice is refused (``parse_qs`` would quietly make a list,
the bug behind many broken verifiers), as are bodies that are not a form at all.
"""

from __future__ import annotations

import codecs
from urllib.parse import quote_plus, unquote_to_bytes

from paychannels.security.verification import MalformedCallback

__all__ = ["decode_form", "encode_form"]

_CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "gbk": "gb18030", "gb2312": "gb18030"}
_MAX_FIELDS = 200


def decode_form(body: bytes, *, where: str = "body") -> dict[str, str]:
    """Parse a form body into a dict of text; ``MalformedCallback`` on anything odd."""
    if not body:
        raise MalformedCallback("is empty", where=where)
    raw_pairs: list[tuple[bytes, bytes]] = []
    for part in body.split(b"&"):
        if not part:
            continue
        name, eq, value = part.partition(b"=")
        if not eq or not name:
            raise MalformedCallback("is not a form (a field lacks '=')", where=where)
        raw_pairs.append((_unquote(name), _unquote(value)))
        if len(raw_pairs) > _MAX_FIELDS:
            raise MalformedCallback(f"has more than {_MAX_FIELDS} fields", where=where)
    names = [n for n, _ in raw_pairs]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise MalformedCallback(
            f"field {twice[:40].decode('ascii', 'replace')!r} appears more than once", where=where
        )
    declared = dict(raw_pairs).get(b"charset", b"utf-8").decode("ascii", "replace").lower()
    charset = _CHARSETS.get(declared)
    if charset is None:
        raise MalformedCallback(f"charset {declared[:20]!r} is not utf-8 or gbk", where=where)
    out: dict[str, str] = {}
    for name, value in raw_pairs:
        try:
            out[name.decode("ascii")] = codecs.decode(value, charset)
        except UnicodeDecodeError:
            raise MalformedCallback(
                f"field {name[:40].decode('ascii', 'replace')!r} is not {declared}", where=where
            ) from None
    return out


def _unquote(value: bytes) -> bytes:
    return unquote_to_bytes(value.replace(b"+", b" "))


def encode_form(fields: dict[str, str], *, charset: str = "utf-8") -> bytes:
    """A form body with each value percent-encoded in ``charset`` (the simulator's side)."""
    encoding = _CHARSETS.get(charset.lower(), "utf-8")
    return "&".join(
        f"{quote_plus(k)}={quote_plus(v, encoding=encoding)}" for k, v in fields.items()
    ).encode("ascii")
