"""The roster: who owes what, and how each payer pays — the one format of the whole library.

A CSV file, UTF-8 (with or without BOM) or GBK/GB18030, one payer and obligation per line,
with a header line naming the columns in English or Chinese (docs/roster.md has the table).
Batch debit builds its request files from it, reconciliation compares against it, the demo
generates one. Reading streams; every problem is collected with its file, line and column,
so one bad row never hides the others.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from paychannels.errors import InvalidRequest, MoneyError
from paychannels.idnumbers import check_resident_id
from paychannels.models import PaymentRequest
from paychannels.money import Money

__all__ = [
    "COLUMNS",
    "RosterEntry",
    "RosterError",
    "RosterOptions",
    "RosterProblem",
    "iter_roster",
    "load_roster",
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
_CHANNEL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
_ACCOUNT = re.compile(r"^[A-Za-z0-9]{4,34}$")
_BANK = re.compile(r"^([0-9]{12}|[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?)$")
_OTHER_ID = re.compile(r"^[A-Za-z0-9-]{4,32}$")


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


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One payer's obligation for one period, and how they pay it."""

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
    extra: dict[str, str] = field(default_factory=dict)

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


def _decode(path: Path, encoding: str) -> tuple[str, str]:
    data = path.read_bytes()
    tried = ["utf-8-sig", "gb18030"] if encoding == "auto" else [encoding]
    for name in tried:
        try:
            return data.decode(name), name
        except UnicodeDecodeError as exc:
            last = exc
    line = data.count(b"\n", 0, last.start) + 1
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
    path: str | Path, *, encoding: str = "auto", options: RosterOptions | None = None
) -> Iterator[RosterEntry | RosterProblem]:
    """Every good line as a ``RosterEntry`` and every problem as a ``RosterProblem``, in order."""
    path = Path(path)
    opts = options or RosterOptions()
    try:
        text, _used = _decode(path, encoding)
    except OSError as exc:
        yield RosterProblem(path.name, 0, "-", f"cannot read: {exc.strerror}")
        return
    except RosterError as exc:
        yield from exc.problems
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    first = next(reader, None)
    if first is None:
        yield RosterProblem(path.name, 1, "-", "the file is empty (no header line)")
        return
    columns, problems = _header(path, first)
    yield from problems
    if problems:
        return
    seen: dict[tuple[str, str], int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        entry = _row(path.name, line, columns, row, opts)
        if isinstance(entry, RosterEntry):
            key = (entry.payer_id, entry.reference)
            if key in seen:
                yield RosterProblem(
                    path.name, line, "payer_id", f"same payer and period as line {seen[key]}"
                )
                continue
            seen[key] = line
            yield entry
        else:
            yield from entry


def load_roster(path: str | Path, **kwargs: object) -> list[RosterEntry]:
    """All entries, or ``RosterError`` listing every problem of the file."""
    entries: list[RosterEntry] = []
    problems: list[RosterProblem] = []
    for item in iter_roster(path, **kwargs):  # type: ignore[arg-type]
        (entries if isinstance(item, RosterEntry) else problems).append(item)  # type: ignore[arg-type]
    if problems:
        raise RosterError(problems)
    return entries


def _row(
    file: str, line: int, columns: dict[int, str], row: list[str], opts: RosterOptions
) -> RosterEntry | list[RosterProblem]:
    problems: list[RosterProblem] = []

    def bad(column: str, message: str) -> None:
        problems.append(RosterProblem(file, line, column, message))

    if len(row) != len(columns):
        bad("-", f"{len(row)} cells, the header has {len(columns)}")
        return problems
    v = {columns[i]: cell.strip() for i, cell in enumerate(row)}
    for need in REQUIRED:
        if not v.get(need):
            bad(need, "is empty")
    for name, limit in _LIMITS.items():
        value = v.get(name, "")
        if len(value) > limit:
            bad(name, f"has {len(value)} characters, at most {limit}")
        if value and not value.isprintable():
            bad(name, "contains a control character")
    scheme = v.get("id_scheme") or "cn_resident"
    if scheme not in opts.id_schemes:
        bad(
            "id_scheme",
            f"{scheme!r} is not allowed here (allowed: {', '.join(sorted(opts.id_schemes))})",
        )
    elif v.get("payer_id"):
        payer = v["payer_id"]
        problem = (
            check_resident_id(payer, today=opts.today)
            if scheme == "cn_resident"
            else (None if _OTHER_ID.match(payer) else "must be 4-32 letters, digits or '-'")
        )
        if problem:
            bad("payer_id", problem)
    amount = None
    if v.get("amount"):
        try:
            amount = Money(v["amount"], v.get("currency") or opts.currency)
            if not amount.is_positive():
                bad("amount", "must be greater than zero")
        except (MoneyError, TypeError) as exc:
            bad("amount", str(exc))
    channels = tuple(c.strip() for c in re.split(r"[;；,，]", v.get("channels", "")) if c.strip())
    for ch in channels:
        if not _CHANNEL.match(ch):
            bad("channels", f"{ch!r} is not a channel name")
    mandate_date = None
    if v.get("mandate_date"):
        try:
            mandate_date = date.fromisoformat(v["mandate_date"])
            if mandate_date > (opts.today or date.today()):
                bad("mandate_date", "is in the future")
        except ValueError:
            bad("mandate_date", f"{v['mandate_date']!r} is not a date (YYYY-MM-DD)")
    if v.get("account") and not _ACCOUNT.match(v["account"]):
        bad("account", "must be 4-34 letters or digits, no spaces")
    if v.get("bank_code") and not _BANK.match(v["bank_code"]):
        bad("bank_code", "must be a 12-digit bank code (CNAPS) or a BIC")
    if set(channels) & opts.bank_channels:
        for need in ("account", "bank_code", "mandate_id", "mandate_date"):
            if not v.get(need):
                bad(need, "is needed for bank debit")
    if problems or amount is None:
        return problems
    return RosterEntry(
        line=line,
        payer_id=v["payer_id"],
        name=v["name"],
        amount=amount,
        period=v["period"],
        id_scheme=scheme,
        township=v.get("township", ""),
        village=v.get("village", ""),
        insurance_type=v.get("insurance_type", ""),
        grade=v.get("grade", ""),
        channels=channels,
        account=v.get("account", ""),
        account_name=v.get("account_name", ""),
        bank_code=v.get("bank_code", ""),
        mandate_id=v.get("mandate_id", ""),
        mandate_date=mandate_date,
        phone=v.get("phone", ""),
        extra={k[6:]: val for k, val in v.items() if k.startswith("extra:") and val},
    )
