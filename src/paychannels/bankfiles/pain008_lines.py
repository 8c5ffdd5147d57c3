"""Many pain.008 debits as lines at once: each field checked for a whole chunk in one pass.

Debit by debit, every value costs Python calls. Here a chunk's values are taken column by
column (``map`` over attribute getters), each text column is checked over the column joined
with newlines (the rules of ``checks.check_text``: length in code points, XML-safe
characters, no edge spaces) — a plain ASCII column by C-level string operations (lengths,
``bytes.translate`` deleting the allowed bytes, searches for an edge space), any other by
one regex — and escaped once, the IBANs' mod-97 is computed for the column, amounts are
formatted from integer minor units (decimals looked up), the lines joined from the columns
and constant tags (one ``join``; a ``%`` of the line's template repeated per debit costs
three times more, its parser walks every constant byte).
A chunk holding anything this does not cover (a retry, a refused value, accounts of both
kinds) gives ``None``: the writer then takes its debit-by-debit path, which names the debit
and the reason. Both paths write the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from itertools import chain, repeat
from operator import attrgetter, itemgetter
from typing import TypeVar

from paychannels.bankfiles.checks import ValueProblem
from paychannels.bankfiles.model import BatchSpan, Debit
from paychannels.bankfiles.pain008_parts import Fragments

__all__ = ["DebitLines"]

# what ``checks.check_text`` refuses anywhere (controls, surrogates, non-characters); a
# newline is among them, so a value matched between two newlines is one whole value
_UNSAFE = "\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
_SEPA_CHARS = r"A-Za-z0-9/\-?:().,'+"
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_IBAN_HEAD = re.compile(r"[A-Z]{2}[0-9]{2}").fullmatch  # country, check digits
_PRINTABLE = bytes(range(0x20, 0x7F))  # ASCII without controls (U+0000..U+001F, U+007F)
_SEPA_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/-?:().,'+ "
_ALNUM = _SEPA_BYTES[:62]
_DIGITS = _SEPA_BYTES[52:62]
_M6 = 10**6 % 97  # the rearranged IBAN is BBAN * 10**6 + (country digits, check digits)
_M6_INVERSE = pow(_M6, -1, 97)

_FIELDS = ("currency", "collection_date", "sequence", "retry_of")
_SAME = attrgetter(*_FIELDS)
_E2E, _AMOUNT, _NAME, _ACCOUNT, _BANK, _MANDATE, _SIGNED, _REMITTANCE = map(
    attrgetter,
    (
        "end_to_end_id",
        "amount_minor",
        "name",
        "account",
        "bank",
        "mandate_id",
        "mandate_date",
        "remittance",
    ),
)
_K = TypeVar("_K")
_OPTIONAL_TEXT = frozenset({str, type(None)})
_BBAN = itemgetter(slice(4, None))
_HEAD = itemgetter(slice(0, 4))


def _column_check(max_len: int, sepa: bool) -> Callable[[str], re.Match[str] | None]:
    """A matcher of newline-joined values, each 1..max_len characters of the allowed set
    without a space at either end (``&<>"`` allowed: they are escaped afterwards)."""
    if sepa:
        edge, inner = f"[{_SEPA_CHARS}]", f"[{_SEPA_CHARS} ]"
    else:
        edge, inner = rf"[^\s{_UNSAFE}]", f"[^{_UNSAFE}]"
    one = f"{edge}(?:{inner}{{0,{max_len - 2}}}{edge})?"
    return re.compile(f"(?:{one}\n)*{one}\\Z").match


def _ascii_check(max_len: int, sepa: bool) -> Callable[[str, list[str]], bool]:
    """What ``_column_check`` decides, for a column known to be ASCII, without a regex:
    lengths, allowed bytes (a newline only between values), no space at either end."""
    allowed = _SEPA_BYTES if sepa else _PRINTABLE

    def check(joined: str, values: list[str]) -> bool:
        lengths = set(map(len, values))
        return (
            min(lengths) >= 1
            and max(lengths) <= max_len
            and _only(joined, allowed, len(values))
            and not (joined.startswith(" ") or joined.endswith(" "))
            and " \n" not in joined
            and "\n " not in joined
        )

    return check


def _only(joined: str, allowed: bytes, count: int) -> bool:
    """Whether ASCII ``joined`` (``count`` values) holds only ``allowed`` bytes besides the
    newlines between its values."""
    return len(joined.encode("ascii").translate(None, allowed)) == count - 1


class DebitLines:
    """The chunked path of one writer; ``render`` gives a chunk's lines or ``None``."""

    def __init__(self, parts: Fragments, *, currency: str, digits: int) -> None:
        self.parts = parts
        self.currency = currency
        self.sepa = parts.sepa
        names = 70 if parts.sepa else 140
        self._ids = _column_check(35, parts.sepa), _ascii_check(35, parts.sepa)
        self._names = _column_check(names, parts.sepa), _ascii_check(names, parts.sepa)
        self._expected: dict[str, int] = {}  # "DE89" -> what BBAN mod 97 must be
        self._shown = _amounts(digits)

    def render(self, chunk: Sequence[Debit], batch: BatchSpan) -> tuple[str, int] | None:
        """The lines of ``chunk`` (all in ``batch``) and the sum of its amounts, or ``None``
        if any debit needs the debit-by-debit path (which refuses it or writes the same)."""
        if not chunk:
            return "", 0
        want = (self.currency, batch.collection_date, batch.sequence, None)
        try:
            same = set(map(_SAME, chunk)) == {want}
        except TypeError:  # an unhashable value: the debit-by-debit path names it
            return None
        if not same:
            return None
        amounts = list(map(_AMOUNT, chunk))
        if set(map(type, amounts)) != {int} or min(amounts) <= 0 or max(amounts) >= 10**18:
            return None
        texts = self._texts(chunk)
        accounts = self._accounts(list(map(_ACCOUNT, chunk)))
        looked_up = self._looked_up(chunk)
        if texts is None or accounts is None or looked_up is None:
            return None
        e2e, mandates, names = texts
        signed, agents, remittances = looked_up
        opening, accounts_ = accounts
        line: list[str | Iterable[str]] = [
            "<DrctDbtTxInf><PmtId><EndToEndId>",
            e2e,
            f'</EndToEndId></PmtId><InstdAmt Ccy="{self.currency}">',
            *self._shown(amounts),
            "</InstdAmt><DrctDbtTx><MndtRltdInf><MndtId>",
            mandates,
            "</MndtId>",
            signed,
            "</MndtRltdInf></DrctDbtTx><DbtrAgt>",
            agents,
            "</DbtrAgt><Dbtr><Nm>",
            names,
            f"</Nm></Dbtr><DbtrAcct>{opening}",
            accounts_,
            _CLOSING[opening],
            remittances,
            "</DrctDbtTxInf>\n",
        ]
        return _joined_lines(line), sum(amounts)

    def _texts(self, chunk: Sequence[Debit]) -> tuple[list[str], list[str], list[str]] | None:
        """EndToEndId, MndtId and the debtor's name, checked and escaped per column."""
        columns = []
        for getter, (check, ascii_check) in (
            (_E2E, self._ids),
            (_MANDATE, self._ids),
            (_NAME, self._names),
        ):
            values = list(map(getter, chunk))
            joined = _joined(values)
            if joined is None:
                return None
            if not (ascii_check(joined, values) if joined.isascii() else check(joined)):
                return None
            if "&" in joined or "<" in joined or ">" in joined or '"' in joined:
                values = joined.translate(_ESCAPES).split("\n")
            columns.append(values)
        return columns[0], columns[1], columns[2]

    def _accounts(self, accounts: list[str]) -> tuple[str, list[str]] | None:
        """The opening tag and the accounts, if all are valid IBANs with digits only, or
        (outside the SEPA profile) all plain account numbers that no IBAN could be."""
        joined = _joined(accounts)
        if joined is None or not joined.isascii():
            return None
        count, lengths = len(accounts), set(map(len, accounts))
        heads = list(map(_HEAD, accounts))
        ibans = [bool(_IBAN_HEAD(head)) for head in set(heads)]
        if all(ibans) and min(lengths) >= 5 and max(lengths) <= 34:  # [A-Z]{2}[0-9]{3,32}
            bbans = list(map(_BBAN, accounts))
            if not _only("\n".join(bbans), _DIGITS, count):
                return None  # IBAN-shaped but not an IBAN: the debit-by-debit path says so
            for head in set(heads) - self._expected.keys():
                self._expected[head] = _expected_residue(head)
            residues = map((97).__rmod__, map(int, bbans))
            if list(residues) != list(map(self._expected.__getitem__, heads)):
                return None
            return "<Id><IBAN>", accounts
        plain = min(lengths) >= 1 and max(lengths) <= 34 and _only(joined, _ALNUM, count)
        if not self.sepa and plain and not any(ibans):
            return "<Id><Othr><Id>", accounts
        return None

    def _looked_up(self, chunk: Sequence[Debit]) -> tuple[str | list[str], ...] | None:
        """The date of signature, agent and remittance fragments, each distinct value
        checked once (``Fragments`` keeps them); only exact ``str`` (see ``_joined``)."""
        kinds = set(map(type, map(_BANK, chunk))) | set(map(type, map(_REMITTANCE, chunk)))
        if not kinds <= _OPTIONAL_TEXT:
            return None
        parts = self.parts
        try:
            signed = _each(map(_SIGNED, chunk), self._signed_tag)
            agents = _each(map(_BANK, chunk), parts.agent)
            remittances = _each(map(_REMITTANCE, chunk), self._remittance)
        except (ValueProblem, TypeError, AttributeError):
            return None
        return signed, agents, remittances

    def _signed_tag(self, signed: date | None) -> str:
        if signed is None and not self.sepa:
            return ""
        if type(signed) is not date:
            raise ValueProblem("DtOfSgntr must be a date")
        return self.parts.signed_on(signed)

    def _remittance(self, text: str | None) -> str:
        return "" if not text else self.parts.remittance(text)


_CLOSING = {
    "<Id><IBAN>": "</IBAN></Id></DbtrAcct>",
    "<Id><Othr><Id>": "</Id></Othr></Id></DbtrAcct>",
}


def _joined(values: list[str]) -> str | None:
    """The values joined by newlines, if all are exactly ``str`` (a subclass's ``__str__``
    could write other text than was checked) and none holds a newline itself (a value
    ``"a\\nb"`` would otherwise pass the column's check as two values)."""
    if set(map(type, values)) != {str}:
        return None
    joined = "\n".join(values)
    return joined if joined.count("\n") == len(values) - 1 else None


def _each(values: Iterable[_K], make: Callable[[_K], str]) -> str | list[str]:
    """``make`` of each value, called once per distinct value; one text if all are one."""
    listed = list(values)
    made = {value: make(value) for value in set(listed)}
    if len(made) == 1:
        return next(iter(made.values()))
    return list(map(made.__getitem__, listed))


def _joined_lines(line: list[str | Iterable[str]]) -> str:
    """Lines from a line's pieces (a text is the same on every line, else one per line):
    neighbouring texts merged, then each line's end and the next one's start as one."""
    merged: list[str | Iterable[str]] = []
    for piece in line:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    first, last = merged[0], merged[-1]
    assert isinstance(first, str) and isinstance(last, str)  # every line opens and closes a tag
    columns = [repeat(p) if isinstance(p, str) else p for p in merged[1:-1]]
    columns.append(repeat(last + first))
    text = "".join(chain.from_iterable(zip(*columns, strict=False)))  # repeat() never ends
    return first + text[: len(text) - len(first)]


def _expected_residue(head: str) -> int:
    """For an IBAN starting ``head`` (``DE89``): the BBAN mod 97 that makes it valid."""
    country = "".join(str(ord(c) - 55) for c in head[:2])
    return (1 - int(country + head[2:])) * _M6_INVERSE % 97


def _amounts(digits: int) -> Callable[[list[int]], list[str | Iterable[str]]]:
    """``38000`` -> ``380`` ``.`` ``00`` for a whole column (the pieces of a line), as
    ``checks.format_minor`` writes it: the whole units by ``str``, the decimals looked up."""
    unit = 10**digits
    if digits == 0:
        return lambda amounts: [map(str, amounts)]
    if digits > 4:  # no currency has more; a table of 10**digits texts would be too big
        pattern = f"%d.%0{digits}d".__mod__
        return lambda amounts: [map(pattern, map(divmod, amounts, repeat(unit)))]
    fractions = [f"{n:0{digits}d}" for n in range(unit)]

    def shown(amounts: list[int]) -> list[str | Iterable[str]]:
        wholes = map(str, map(unit.__rfloordiv__, amounts))
        return [wholes, ".", map(fractions.__getitem__, map(unit.__rmod__, amounts))]

    return shown
