"""Masking of what must never reach a log, transcript or published list.

Card numbers keep the first six and last four digits (PCI DSS display rule), resident ID
numbers the region code and the last four, bank accounts the last four, names their first
and last letter (as public notice lists print them: 张*三); secrets in
``key=value`` or JSON form are replaced entirely. Adapters call :func:`scrub` on every
transcript and log line, and add protocol-aware masking on top.

One rule says what a secret is called (``is_secret_name``: passwords, tokens, private and
API keys, client secrets...), and one says how a URL is shown (``redact_url``: a password in
the user information and the value of every secret-named option become ``***``; in messages
also any value too long to be a plain setting, since a key pasted into the wrong field must
not be echoed). ``shown`` quotes a single value for a message by the same rule.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote

__all__ = [
    "is_secret_name",
    "mask_account",
    "mask_id_number",
    "mask_name",
    "mask_pan",
    "mask_payer_id",
    "may_hold_secret",
    "redact_url",
    "scrub",
    "shown",
]

#: names of secrets: anything that holds one of these words (``app_private_key``,
#: ``client_secret``, ``access_token``, ``sslpassword``...), and a few exact ones
_SENSITIVE_KEYS = (
    r"[A-Za-z0-9_.-]*(?:passw(?:or)?d|secret|token|credential|private[_-]?key|api[_-]?key|"
    r"apikey|apiv3[_-]?key|mch[_-]?key|hmac[_-]?key|signing[_-]?key)[A-Za-z0-9_.-]*|"
    r"pwd|pin|key|authorization|sign|signature"
)
_SECRET_NAME = re.compile(rf"(?i)(?:{_SENSITIVE_KEYS})")
#: a value longer than this is never quoted whole in a message (keys, tokens are longer)
SHOWN_LIMIT = 16
_MASK = "***"
#: what a message shows as a URL's host and port (anything else there is elided)
_HOST = re.compile(r"^(?:[A-Za-z0-9._-]{0,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$")
# key=value, key: value and "key": "value" forms; the value runs to a delimiter.
_SECRET_KV = re.compile(
    rf"""(?ix)
    (?P<key>(?<![A-Za-z0-9_.-])["']?(?:{_SENSITIVE_KEYS})["']?\s*[=:]\s*)
    (?P<quote>["']?)
    (?P<value>(?:WECHATPAY2-SHA256-RSA2048|Bearer|Basic)?\s?[^"'\s,;&}}]+)
    """
)
_CN_ID = re.compile(
    r"(?<![0-9])([1-9][0-9]{5})(?:18|19|20)[0-9]{2}[01][0-9][0-3][0-9][0-9]{3}[0-9Xx](?![0-9A-Za-z])"
)
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9](?:[0-9 -]?[0-9]){11,22}(?![0-9])")


def is_secret_name(name: str) -> bool:
    """True when an option or field called ``name`` holds a secret (see the module doc)."""
    return _SECRET_NAME.fullmatch(name.strip()) is not None


def shown(value: object) -> str:
    """``value`` quoted for a message, or only its length when it could be a misplaced key."""
    text = str(value)
    if len(text) <= SHOWN_LIMIT and text.isprintable():
        return repr(text)
    return f"<{len(text)} characters, not shown>"


def redact_url(url: str, *, message: bool = False) -> str:
    """``url`` with its secrets as ``***`` (password in the user information, secret-named
    options); ``message=True`` also elides long option values and the fragment (for errors).
    Text that is not a URL at all is shown as ``shown`` does."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme or not rest.isprintable():
        return shown(url) if message else _MASK
    rest, hashed, _fragment = rest.partition("#")
    rest, asked, query = rest.partition("?")
    netloc, slash, path = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if not _HOST.match(host):
        host = "…"  # not a host and port: could be anything pasted there
    if at:
        user, colon, _password = userinfo.partition(":")
        userinfo = _MASK if message else (f"{user}:{_MASK}" if colon else user)
    netloc = f"{userinfo}@{host}" if at else host
    pairs = []
    for pair in query.split("&") if query else []:
        name, eq, value = pair.partition("=")
        if message and len(unquote(name)) > SHOWN_LIMIT:
            name = "…"
        if eq and is_secret_name(unquote(name)):
            value = _MASK
        elif eq and message and len(unquote(value)) > SHOWN_LIMIT:
            value = "…"
        pairs.append(f"{name}{eq}{value}")
    tail = "#…" if hashed and message else ""
    return f"{scheme}://{netloc}{slash}{path}{asked}{'&'.join(pairs)}{tail}"


def mask_pan(pan: str) -> str:
    """``6222021234567890123`` -> ``622202*********0123`` (first 6, last 4 kept)."""
    digits = re.sub(r"[^0-9]", "", pan)
    if len(digits) <= 10:
        return "*" * len(digits)
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def mask_id_number(id_number: str) -> str:
    """``150422199001011234`` -> ``150422********1234`` (region code and last 4 kept)."""
    value = id_number.strip()
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_name(name: str) -> str:
    """``张小三`` -> ``张*三``, ``张三`` -> ``张*``, ``欧阳小明`` -> ``欧**明``.

    Letters and digits count; all but the first and the last become ``*`` (a two-letter
    name keeps only its first, a one-letter name none). Separators stay (``阿**·**曼``,
    ``B*** ****r``); invisible marks (Mongolian variation selectors, vowel separator,
    zero-width joiners, combining marks) are dropped, so what is left is exactly what a
    notice shows.
    """
    kept: list[tuple[str, bool]] = []
    for char in name.strip():
        kind = unicodedata.category(char)
        if kind[0] in "LN":
            kept.append((char, True))
        elif kind in ("Mn", "Me", "Cf", "Cc"):
            continue
        else:
            kept.append((" " if kind[0] == "Z" else char, False))
    letters = [i for i, (_, letter) in enumerate(kept) if letter]
    show = {letters[0], letters[-1]} if len(letters) > 2 else set(letters[:1])
    if len(letters) < 2:
        show = set()  # a one-letter name shown is the whole name
    return "".join(c if not letter or i in show else "*" for i, (c, letter) in enumerate(kept))


def mask_payer_id(payer_id: str) -> str:
    """A payer id fit for logs and screens: resident ID numbers and long digit runs masked."""
    if _CN_ID.fullmatch(payer_id):  # the usual payer id: what scrub would do, in one match
        return mask_id_number(payer_id)
    return scrub(payer_id)


def mask_account(account: str) -> str:
    """``6217000010001234567`` -> ``***************4567`` (last 4 kept)."""
    value = re.sub(r"\s", "", account)
    if len(value) <= 4:
        return "*" * len(value)
    return "*" * (len(value) - 4) + value[-4:]


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = re.sub(r"[^0-9]", "", run)
    if len(digits) < 12:
        return run
    return mask_pan(digits) if 13 <= len(digits) <= 19 else mask_account(digits)


#: a word every match of ``_SECRET_KV`` holds (its keys' words, lower case)
_SECRET_WORDS = ("passw", "secret", "token", "credential", "key", "pwd", "pin", "authoriz", "sign")


def may_hold_secret(text: str) -> bool:
    """False only where ``scrub``'s key=value pattern cannot match: ASCII text holding none of
    its words. That pattern's case-blind scan is most of what ``scrub`` costs (a receipt
    line, a log line), and most text holds no key at all."""
    if not text.isascii():
        return True  # case-blind, the pattern matches other letters too (K for k, ſ for s)
    low = text.lower()
    return any(word in low for word in _SECRET_WORDS)


def scrub(text: str) -> str:
    """Mask secrets, resident ID numbers, card numbers and account numbers in free text."""
    if may_hold_secret(text):
        text = _SECRET_KV.sub(lambda m: f"{m.group('key')}{m.group('quote')}[REDACTED]", text)
    text = _CN_ID.sub(lambda m: mask_id_number(m.group(0)), text)
    return _DIGIT_RUN.sub(_mask_run, text)
