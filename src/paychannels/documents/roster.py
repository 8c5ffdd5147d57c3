"""The roster: who owes what, and how each payer pays — the one format of the whole library.

A CSV file, UTF-8 (with or without BOM) or GBK/GB18030, one payer and obligation per line,
with a header line naming the columns in English or Chinese (docs/roster.md has the table).
Batch debit builds its request files from it, reconciliation compares against it, the demo
generates one. Reading streams; every problem is collected with its file, line and column,
so one bad row never hides the others.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple, TextIO

from paychannels.security.textrules import unsafe_character
from paychannels.values.errors import InvalidRequest, MoneyError
from paychannels.values.idnumbers import PROVINCES, check_birth_date, check_digit
from paychannels.values.models import PaymentRequest
from paychannels.values.money import Money

__all__ = [
    "COLUMNS",
    "RosterEntry",
    "RosterError",
    "RosterOptions",
    "RosterProblem",
    "iter_roster",
    "load_roster",
    "repeated",
]

#: canonical column -> accepted header names (English first)
COLUMNS: dict[str, tuple[str, ...]] = {
    "payer_id": ("payer_id", "证件号码", "身份证号"),
    "id_scheme": ("id_scheme", "证件类型"),
    "name": ("name", "姓名"),
    "township": ("township", "乡镇", "苏木乡镇"),
    "village": ("village", "村", "嘎查村"),
    "insurance_type": ("insurance_type", "险种"),
    "grade": ("grade", "缴费档次"),
    "amount": ("amount", "应缴金额"),
    "currency": ("currency", "币种"),
    "period": ("period", "缴费期间"),
    "channels": ("channels", "缴费方式"),
    "account": ("account", "银行账号"),
    "account_name": ("account_name", "账户名"),
    "bank_code": ("bank_code", "开户行行号"),
    "mandate_id": ("mandate_id", "代扣协议号"),
    "mandate_date": ("mandate_date", "协议签订日期"),
    "phone": ("phone", "联系电话"),
}
REQUIRED = ("payer_id", "name", "amount", "period")
#: the ``extra`` of an entry without unknown columns (shared, read-only)
NO_EXTRA: Mapping[str, str] = MappingProxyType({})
_LIMITS = {
    "name": 100,
    "township": 100,
    "village": 100,
    "insurance_type": 32,
    "grade": 32,
    "period": 32,
    "account_name": 100,
    "mandate_id": 35,
    "phone": 20,
}
_SHORTEST = min(_LIMITS.values())
_PROVINCE_TEXTS = frozenset(f"{code:02d}" for code in PROVINCES)
_UNSEEN = "unseen"
_new_entry = tuple.__new__
_CHANNEL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
_ACCOUNT = re.compile(r"^[A-Za-z0-9]{4,34}$")
_BANK = re.compile(r"^([0-9]{12}|[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?)$")
_OTHER_ID = re.compile(r"^[A-Za-z0-9-]{4,32}$")
#: white space other than line ends: without any, stripping cells would change nothing
_SPACE = re.compile(r"[^\S\r\n]")


@dataclass(frozen=True, slots=True)
class RosterOptions:
    """How strict to be: which id schemes and which channel needs bank details."""

    id_schemes: frozenset[str] = frozenset({"cn_resident"})
    bank_channels: frozenset[str] = frozenset({"bank"})
    currency: str = "CNY"
    today: date | None = None


@dataclass(frozen=True, slots=True)
class RosterProblem:
    """One thing wrong in a roster: where (file, line, column) and what."""

    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file} line {self.line}, column {self.column}: {self.message}"


class RosterError(InvalidRequest):
    """A roster with problems; ``problems`` lists every one of them."""

    def __init__(self, problems: list[RosterProblem]) -> None:
        shown = "\n  ".join(str(p) for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(
            f"the roster has {len(problems)} problem(s):\n  {shown}{more}",
            [
                {"file": p.file, "line": p.line, "field": p.column, "message": p.message}
                for p in problems
            ],
        )
        self.problems = problems


class RosterEntry(NamedTuple):
    """One payer's obligation for one period, and how they pay it.

    Immutable; a named tuple rather than a frozen dataclass because a county roster is
    300,000 of them, read every day for reconciliation, and a tuple is built in a fraction
    of the time.
    """

    line: int
    payer_id: str
    name: str
    amount: Money
    period: str
    id_scheme: str = "cn_resident"
    township: str = ""
    village: str = ""
    insurance_type: str = ""
    grade: str = ""
    channels: tuple[str, ...] = ()
    account: str = ""
    account_name: str = ""
    bank_code: str = ""
    mandate_id: str = ""
    mandate_date: date | None = None
    phone: str = ""
    extra: Mapping[str, str] = NO_EXTRA

    @property
    def reference(self) -> str:
        """The obligation this line names (payer + reference are unique in the journal)."""
        return f"{self.period}:{self.insurance_type}" if self.insurance_type else self.period

    def request(self, channel: str, *, key_prefix: str = "roster") -> PaymentRequest:
        """The payment request that collects this obligation through ``channel``."""
        metadata = {
            "township": self.township,
            "village": self.village,
            "insurance_type": self.insurance_type,
            "grade": self.grade,
            "id_scheme": self.id_scheme,
            "account": self.account,
            "account_name": self.account_name,
            "bank": self.bank_code,
            "mandate_id": self.mandate_id,
            "mandate_date": self.mandate_date.isoformat() if self.mandate_date else "",
        }
        region = "/".join(p for p in (self.township, self.village) if p) or None
        return PaymentRequest(
            payer_id=self.payer_id,
            amount=self.amount,
            reference=self.reference,
            idempotency_key=f"{key_prefix}:{_ascii(self.reference)}:{self.payer_id}:{channel}"[
                :128
            ],
            payer_name=self.name,
            region=region,
            period=self.period,
            description=f"{self.insurance_type or '社会保险'} {self.period}"[:128],
            metadata={k: v for k, v in metadata.items() if v},
        )


def _ascii(text: str) -> str:
    """``text`` if it can stand in an idempotency key, else a short digest of it."""
    if text.isascii() and text.isprintable() and " " not in text:
        return text
    return "h" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _sniff(path: Path, encoding: str) -> tuple[str, bool]:
    """The encoding that reads the whole file (``auto``: UTF-8, else GB18030), and whether
    it holds any white space besides line ends (cells then need stripping). Reads the file
    in chunks: a county roster is never in memory twice."""
    tried = ["utf-8-sig", "gb18030"] if encoding == "auto" else [encoding]
    for name in tried:
        try:
            decoder = codecs.getincrementaldecoder(name)()
        except (LookupError, ValueError):  # unknown, or no name at all ("utf\x00")
            raise RosterError(
                [RosterProblem(path.name, 0, "-", f"{name!r} is not an encoding")]
            ) from None
        padded = False
        fed = 0
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    fed += len(chunk)
                    text = decoder.decode(chunk)
                    padded = padded or _SPACE.search(text) is not None
                text = decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            where = fed - len(exc.object) + exc.start
            continue
        except UnicodeError:  # a codec that reads no text at all ("undefined", "idna")
            raise RosterError(
                [RosterProblem(path.name, 0, "-", f"{name!r} is not a text encoding")]
            ) from None
        return name, padded or _SPACE.search(text) is not None
    with path.open("rb") as fh:
        line = fh.read(max(where, 0)).count(b"\n") + 1
    raise RosterError(
        [RosterProblem(path.name, line, "-", f"the file is not {' or '.join(tried)} text")]
    )


def _header(path: Path, row: list[str]) -> tuple[dict[int, str], list[RosterProblem]]:
    aliases = {alias.lower(): canon for canon, names in COLUMNS.items() for alias in names}
    columns: dict[int, str] = {}
    problems: list[RosterProblem] = []
    for i, raw in enumerate(row):
        name = raw.strip().lower()
        canon = aliases.get(name, f"extra:{raw.strip()}")
        if canon in columns.values():
            problems.append(RosterProblem(path.name, 1, raw, "column named twice"))
        columns[i] = canon
    for need in REQUIRED:
        if need not in columns.values():
            problems.append(RosterProblem(path.name, 1, need, "required column is missing"))
    return columns, problems


def iter_roster(
    path: str | Path,
    *,
    encoding: str = "auto",
    options: RosterOptions | None = None,
    repeats: bool = True,
) -> Iterator[RosterEntry | RosterProblem]:
    """Every good line as a ``RosterEntry`` and every problem as a ``RosterProblem``, in order.

    ``repeats=False`` leaves out the check that no payer and period come twice (it keeps
    every payer in memory): for a caller that checks it itself, in a database."""
    path = Path(path)
    opts = options or RosterOptions()
    try:
        name, padded = _sniff(path, encoding)
        fh = path.open(encoding=name, newline="")
    except OSError as exc:
        yield RosterProblem(path.name, 0, "-", f"cannot read: {exc.strerror}")
        return
    except RosterError as exc:
        yield from exc.problems
        return
    with fh:
        yield from _lines(path, fh, opts, padded=padded, repeats=repeats)


def _lines(
    path: Path, fh: TextIO, opts: RosterOptions, *, padded: bool, repeats: bool = True
) -> Iterator[RosterEntry | RosterProblem]:
    reader = csv.reader(fh)
    first = next(reader, None)
    if first is None:
        yield RosterProblem(path.name, 1, "-", "the file is empty (no header line)")
        return
    columns, problems = _header(path, first)
    yield from problems
    if problems:
        return
    # obligations seen, per reference (a county has a few references and 300,000 payers)
    seen: dict[str, dict[str, int]] = {}
    rows = _RowReader(path.name, columns, opts, padded=padded)
    for row in reader:
        line = reader.line_num
        entry = rows.read(line, row)
        if entry is None:
            continue
        if isinstance(entry, RosterEntry) and not repeats:
            yield entry
        elif isinstance(entry, RosterEntry):
            payers = seen.get(entry.reference)
            if payers is None:
                payers = seen[entry.reference] = {}
            first_line = payers.get(entry.payer_id)
            if first_line is not None:
                yield repeated(path.name, line, first_line)
                continue
            payers[entry.payer_id] = line
            yield entry
        else:
            yield from entry


def repeated(file: str, line: int, first_line: int) -> RosterProblem:
    """The problem of a line whose payer and period an earlier line (``first_line``) has."""
    return RosterProblem(file, line, "payer_id", f"same payer and period as line {first_line}")


def load_roster(path: str | Path, **kwargs: object) -> list[RosterEntry]:
    """All entries, or ``RosterError`` listing every problem of the file."""
    entries: list[RosterEntry] = []
    problems: list[RosterProblem] = []
    for item in iter_roster(path, **kwargs):  # type: ignore[arg-type]
        (entries if isinstance(item, RosterEntry) else problems).append(item)  # type: ignore[arg-type]
    if problems:
        raise RosterError(problems)
    return entries


class _RowReader:
    """Reads the lines of one file: the checks of docs/roster.md, fast.

    A county roster has 300,000 lines and reconciliation reads it every day, so values that
    repeat (amounts, grades, periods, townships, channel lists, dates) are parsed once per
    file and their strings shared between entries (less memory, fewer objects).
    """

    def __init__(
        self, file: str, columns: dict[int, str], opts: RosterOptions, *, padded: bool = True
    ) -> None:
        self.file = file
        self.padded = padded
        self.width = len(columns)
        index = {canon: i for i, canon in columns.items()}
        # a column the file lacks reads the empty cell appended after the last one
        self.at = {name: index.get(name, self.width) for name in COLUMNS}
        self.ix = tuple(self.at[name] for name in COLUMNS)  # unpacked in read(), in order
        self.extras = [(i, canon[6:]) for i, canon in columns.items() if canon.startswith("extra:")]
        self.limits = [(name, limit, self.at[name]) for name, limit in _LIMITS.items()]
        self.opts = opts
        self.today = opts.today or date.today()
        self.shared: dict[str, str] = {}
        self.money: dict[tuple[str, str], Money | str] = {}
        self.channels: dict[str, tuple[tuple[str, ...], list[str]]] = {}
        self.dates: dict[str, date | str] = {}
        self.births: dict[str, str | None] = {}

    def read(self, line: int, row: list[str]) -> RosterEntry | list[RosterProblem] | None:
        """The entry, the problems of the line, or None for an empty line."""
        v = [cell.strip() for cell in row] if self.padded else row
        if not any(v):
            return None
        problems: list[RosterProblem] = []
        file = self.file

        def bad(column: str, message: str) -> None:
            problems.append(RosterProblem(file, line, column, message))

        if len(v) != self.width:
            bad("-", f"{len(v)} cells, the header has {self.width}")
            return problems
        v.append("")
        (
            i_payer, i_scheme, i_name, i_township, i_village, i_kind, i_grade, i_amount,
            i_currency, i_period, i_channels, i_account, i_account_name, i_bank, i_mandate,
            i_signed, i_phone,
        ) = self.ix  # fmt: skip
        payer, name, period, amount_text = v[i_payer], v[i_name], v[i_period], v[i_amount]
        if not (payer and name and amount_text and period):
            required = {"payer_id": payer, "name": name, "amount": amount_text, "period": period}
            for need, value in required.items():
                if not value:
                    bad(need, "is empty")
        # one C-level look for the common case: every cell of the line short and printable
        if max(map(len, v)) > _SHORTEST or not "".join(v).isprintable():
            limited = [v[i] for _c, _l, i in self.limits]
            for value, (column, limit, _i) in zip(limited, self.limits, strict=True):
                if len(value) > limit:
                    bad(column, f"has {len(value)} characters, at most {limit}")
                if value and not value.isprintable():
                    found = unsafe_character(value)
                    what = f" ({found[1]} at {found[0]})" if found else ""
                    bad(column, f"contains a control, bidi or invisible character{what}")
        scheme = v[i_scheme] or "cn_resident"
        if scheme not in self.opts.id_schemes:
            allowed = ", ".join(sorted(self.opts.id_schemes))
            bad("id_scheme", f"{scheme!r} is not allowed here (allowed: {allowed})")
        elif payer:
            problem = (
                self._resident(payer)
                if scheme == "cn_resident"
                else (None if _OTHER_ID.match(payer) else "must be 4-32 letters, digits or '-'")
            )
            if problem:
                bad("payer_id", problem)
        currency = v[i_currency] or self.opts.currency
        amount = (
            (self.money.get((amount_text, currency)) or self._money(amount_text, currency))
            if amount_text
            else None
        )
        if isinstance(amount, str):
            bad("amount", amount)
            amount = None
        text = v[i_channels]
        channels, channel_problems = self.channels.get(text) or self._channels(text)
        for message in channel_problems:
            bad("channels", message)
        signed_text = v[i_signed]
        mandate_date = (
            (self.dates.get(signed_text) or self._date(signed_text)) if signed_text else None
        )
        if isinstance(mandate_date, str):
            bad("mandate_date", mandate_date)
            mandate_date = None
        account, bank_code = v[i_account], v[i_bank]
        if account and not _ACCOUNT.match(account):
            bad("account", "must be 4-34 letters or digits, no spaces")
        if bank_code and not _BANK.match(bank_code):
            bad("bank_code", "must be a 12-digit bank code (CNAPS) or a BIC")
        mandate_id = v[i_mandate]
        if not self.opts.bank_channels.isdisjoint(channels):
            needed = {
                "account": account,
                "bank_code": bank_code,
                "mandate_id": mandate_id,
                "mandate_date": signed_text,
            }
            for need, value in needed.items():
                if not value:
                    bad(need, "is needed for bank debit")
        if problems or amount is None:
            return problems
        share = self.shared.setdefault
        township, village, kind, grade = v[i_township], v[i_village], v[i_kind], v[i_grade]
        extra = {key: val for i, key in self.extras if (val := v[i])} if self.extras else NO_EXTRA
        # positional, in field order: a third of the cost of keywords, 300,000 times
        return _new_entry(
            RosterEntry,
            (
                line, payer, name, amount, share(period, period), share(scheme, scheme),
                share(township, township), share(village, village), share(kind, kind),
                share(grade, grade), channels, account, v[i_account_name],
                share(bank_code, bank_code), mandate_id, mandate_date, v[i_phone], extra,
            ),
        )  # fmt: skip

    def _resident(self, value: str) -> str | None:
        """``check_resident_id``, with birth dates checked once per file (a county has some
        30,000 distinct ones among 300,000 payers)."""
        if len(value) != 18:
            return f"has {len(value)} characters, a resident ID number has 18"
        body, last = value[:17], value[17]
        if not (body.isascii() and body.isdigit()) or not (last.isdigit() or last == "X"):
            return "must be 17 digits and a digit or X (capital)"
        if body[:2] not in _PROVINCE_TEXTS:
            return f"region code {body[:6]} is not a Chinese province"
        born = body[6:14]
        problem = self.births.get(born, _UNSEEN)
        if problem is _UNSEEN:
            problem = self.births[born] = check_birth_date(born, today=self.today)
        if problem is not None:
            return problem
        expected = check_digit(body)
        if expected != last:
            return f"check digit is {last}, expected {expected} (a typo?)"
        return None

    def _money(self, text: str, currency: str) -> Money | str:
        key = (text, currency)
        found = self.money.get(key)
        if found is None:
            try:
                found = Money(text, currency)
                if not found.is_positive():
                    found = "must be greater than zero"
            except (MoneyError, TypeError) as exc:
                found = str(exc)
            self.money[key] = found
        return found

    def _channels(self, text: str) -> tuple[tuple[str, ...], list[str]]:
        found = self.channels.get(text)
        if found is None:
            names = tuple(c.strip() for c in re.split(r"[;；,，]", text) if c.strip())
            found = (
                names,
                [f"{c!r} is not a channel name" for c in names if not _CHANNEL.match(c)],
            )
            self.channels[text] = found
        return found

    def _date(self, text: str) -> date | str:
        found = self.dates.get(text)
        if found is None:
            try:
                found = date.fromisoformat(text)
                if found > self.today:
                    found = "is in the future"
            except ValueError:
                found = f"{text!r} is not a date (YYYY-MM-DD)"
            self.dates[text] = found
        return found
