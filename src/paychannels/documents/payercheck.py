"""The payer's own check (信息查询比对): ID number and name in, masked obligations out.

A payer (or a hall clerk for them) types an ID number and a name and sees, for each
obligation of the roster, whether it is paid, when and through which channel. Two rules make
this safe to put on a township's web page:

- **No clear ID numbers or names kept.** The ``PayerIndex`` is built from the roster and
  holds, per payer, the keyed digest of the ID number (``PayerKey``), the keyed digests of
  the name, the name masked as the notices print it and the obligations — nothing that
  names a person without the key. The number typed in is only held for the one check.
- **No enumeration.** A wrong name and an unknown ID number give the same ``NOT_FOUND``
  answer by the same steps: the name's digest is always computed and compared in constant
  time (against a stand-in when the number is unknown), and the journal is read only after
  both matched.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Literal, NamedTuple, Protocol

from paychannels.documents.lookuptexts import CHANNEL_KINDS, LOOKUP_TEXTS, both
from paychannels.documents.roster import RosterEntry, RosterOptions, iter_roster
from paychannels.runtime.countytime import DEFAULT_ZONE, zone_named
from paychannels.security.masking import mask_id_number, mask_name
from paychannels.security.payerkey import PayerKey, normal_name
from paychannels.values.errors import ConfigurationError, InvalidRequest, PaychannelsError
from paychannels.values.idnumbers import PROVINCES, check_birth_date, check_digit
from paychannels.values.models import Event, Record
from paychannels.values.money import Money
from paychannels.values.status import Status

__all__ = [
    "NOT_FOUND",
    "CheckAnswer",
    "InvalidIdNumber",
    "InvalidName",
    "LineState",
    "ObligationLine",
    "PayerCheck",
    "PayerIndex",
]

log = logging.getLogger("paychannels.documents.payercheck")

INDEX_FORMAT = "paychannels-lookup-index"
INDEX_VERSION = 1
#: longest name accepted (the roster's limit)
MAX_NAME = 100
LineState = Literal["paid", "unpaid", "in_progress", "refunded"]
_OPEN = frozenset(
    {Status.CREATED, Status.DISPATCHED, Status.PENDING, Status.UNKNOWN, Status.NEEDS_ATTENTION}
)
#: at most this many journal records are read for one payer (a few per obligation)
_MAX_RECORDS = 200


class InvalidIdNumber(InvalidRequest):
    """An ID number that cannot be a resident ID number; ``reason`` says which check failed
    (``length``, ``characters``, ``region``, ``birth_date``, ``check_digit``). The number
    itself is never in the message: only its masked form, in ``shown``."""

    def __init__(self, reason: str, shown: str) -> None:
        super().__init__(
            f"the ID number {shown} is not a valid resident ID number ({reason})",
            [{"field": "id_number", "message": reason, "type": "invalid_id_number"}],
        )
        self.reason = reason
        self.shown = shown


class InvalidName(InvalidRequest):
    """A name that is empty or longer than a roster allows (never quoted back)."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"the name is not acceptable ({reason})",
            [{"field": "name", "message": reason, "type": "invalid_name"}],
        )
        self.reason = reason


def _checked(id_number: str, today: date) -> str:
    """The number as stored (ASCII, upper-case X), or ``InvalidIdNumber`` naming the check."""
    value = id_number.strip().upper() if isinstance(id_number, str) else ""
    shown = mask_id_number(value) if value.isascii() and value.isprintable() else "***"
    if len(value) != 18:
        raise InvalidIdNumber("length", "*" * min(len(value), 18))
    body, last = value[:17], value[17]
    if not (body.isascii() and body.isdigit() and (last.isdigit() or last == "X")):
        raise InvalidIdNumber("characters", shown)
    if int(body[:2]) not in PROVINCES:
        raise InvalidIdNumber("region", shown)
    if check_birth_date(body[6:14], today=today) is not None:
        raise InvalidIdNumber("birth_date", shown)
    if check_digit(body) != last:
        raise InvalidIdNumber("check_digit", shown)
    return value


class Obligation(NamedTuple):
    """What the roster says one payer owes for one period and insurance type."""

    reference: str
    period: str
    insurance: str
    grade: str
    amount: Money


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One payer in the index: name digests, the masked name, the obligations."""

    names: tuple[bytes, ...]
    shown_name: str
    obligations: tuple[Obligation, ...]


class PayerIndex:
    """Payers by the keyed digest of their ID number, built from a roster, savable.

    Holds no ID number and no name in clear; ``save`` writes it as JSON Lines (mode 0600)
    with the key's fingerprint, and ``load`` refuses a file made with another key.
    """

    def __init__(self, key: PayerKey, entries: Mapping[str, IndexEntry]) -> None:
        self.key = key
        self._entries = dict(entries)

    @classmethod
    def from_entries(cls, key: PayerKey, entries: Iterable[RosterEntry]) -> PayerIndex:
        """The index of roster entries (a payer's lines merged: pension and medical…)."""
        built: dict[str, IndexEntry] = {}
        shared = _Shared()
        for e in entries:
            digest = key.id_digest(e.payer_id)
            owed = shared.obligation(
                (e.reference, e.period, e.insurance_type, e.grade, e.amount.to_decimal_string(),
                 e.amount.currency.code)
            )  # fmt: skip
            name = key.name_digest(e.name)
            found = built.get(digest)
            if found is None:
                built[digest] = IndexEntry((name,), mask_name(e.name), shared.owed((owed,)))
            else:  # a second line of the same payer (rare): merged
                names = found.names if name in found.names else (*found.names, name)
                merged = shared.owed((*found.obligations, owed))
                built[digest] = IndexEntry(names, found.shown_name, merged)
        return cls(key, built)

    @classmethod
    def from_roster(
        cls, key: PayerKey, path: str | Path, *, options: RosterOptions | None = None
    ) -> PayerIndex:
        """The index of a roster file, streamed; lines with problems are skipped (and counted
        in a warning: the roster's own check, ``batch build``, names them)."""
        bad = 0

        def good() -> Iterator[RosterEntry]:
            nonlocal bad
            for item in iter_roster(path, options=options):
                if isinstance(item, RosterEntry):
                    yield item
                else:
                    bad += 1

        index = cls.from_entries(key, good())
        if bad:
            log.warning("lookup index: %d roster problem(s) skipped in %s", bad, Path(path).name)
        return index

    def get(self, digest: str) -> IndexEntry | None:
        """The payer with this ID-number digest, if the roster has them."""
        return self._entries.get(digest)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"PayerIndex({len(self._entries)} payers, key {self.key.fingerprint})"

    def save(self, path: str | Path) -> Path:
        """Write the index (JSON Lines, readable by its owner only)."""
        out = Path(path)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            head = {"format": INDEX_FORMAT, "version": INDEX_VERSION, "key": self.key.fingerprint}
            fh.write(json.dumps(head) + "\n")
            for digest, entry in self._entries.items():
                row = {
                    "id": digest,
                    "names": [n.hex() for n in entry.names],
                    "name": entry.shown_name,
                    "owed": [
                        [o.reference, o.period, o.insurance, o.grade, o.amount.to_decimal_string(),
                         o.amount.currency.code]
                        for o in entry.obligations
                    ],
                }  # fmt: skip
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return out

    @classmethod
    def load(cls, key: PayerKey, path: str | Path) -> PayerIndex:
        """Read an index ``save`` wrote with the same key."""
        source = Path(path)
        try:
            with source.open(encoding="utf-8") as fh:
                head = json.loads(fh.readline() or "null")
                if not isinstance(head, dict) or head.get("format") != INDEX_FORMAT:
                    raise ConfigurationError(f"{source.name}: not a lookup index")
                if head.get("key") != key.fingerprint:
                    raise ConfigurationError(
                        f"{source.name}: made with the key {head.get('key')!s:.12}, "
                        f"this is {key.fingerprint} (PAYCHANNELS_LOOKUP_KEY)"
                    )
                entries: dict[str, IndexEntry] = {}
                shared = _Shared()
                for number, line in enumerate(fh, start=2):
                    digest, entry = _index_row(source.name, number, line, shared)
                    entries[digest] = entry
        except OSError as exc:
            raise ConfigurationError(f"cannot read {source}: {exc.strerror}") from None
        return cls(key, entries)


class _Shared:
    """Obligations and lists of them made once and shared: a county's 300,000 payers owe a
    few dozen different things (a grade, an amount, a period), so the index holds those
    few objects, not 300,000 copies."""

    def __init__(self) -> None:
        self._one: dict[tuple[str, ...], Obligation] = {}
        self._lists: dict[tuple[Obligation, ...], tuple[Obligation, ...]] = {}

    def obligation(self, fields: tuple[str, ...]) -> Obligation:
        found = self._one.get(fields)
        if found is None:
            ref, period, kind, grade, amount, currency = fields
            found = Obligation(ref, period, kind, grade, Money(amount, currency))
            self._one[fields] = found
        return found

    def owed(self, obligations: tuple[Obligation, ...]) -> tuple[Obligation, ...]:
        return self._lists.setdefault(obligations, obligations)


def _index_row(file: str, number: int, line: str, shared: _Shared) -> tuple[str, IndexEntry]:
    try:
        row = json.loads(line)
        owed = shared.owed(tuple(shared.obligation(tuple(map(str, o))) for o in row["owed"]))
        names = tuple(bytes.fromhex(n) for n in row["names"])
        return str(row["id"]), IndexEntry(names, str(row["name"]), owed)
    except (ValueError, KeyError, TypeError, PaychannelsError) as exc:
        raise ConfigurationError(f"{file} line {number}: not an index row ({exc})") from None


@dataclass(frozen=True, slots=True)
class ObligationLine:
    """One obligation in the answer: what was owed, and whether, when and how it was paid."""

    reference: str
    period: str
    insurance: str
    grade: str
    owed: Money
    state: LineState
    paid: Money | None = None
    paid_at: datetime | None = None
    channel: str | None = None

    def as_json(self) -> dict[str, object]:
        """The line as the endpoint sends it: yuan with two decimals, times with offset."""
        return {
            "reference": self.reference,
            "period": self.period,
            "insurance": self.insurance,
            "grade": self.grade,
            "owed": self.owed.to_decimal_string(),
            "currency": self.owed.currency.code,
            "state": self.state,
            "state_text": both(self.state),
            "paid": self.paid.to_decimal_string() if self.paid is not None else None,
            "paid_at": self.paid_at.isoformat(timespec="seconds") if self.paid_at else None,
            "channel": self.channel,
            "channel_text": _channel_text(self.channel) if self.channel else None,
        }


def _channel_text(channel: str) -> dict[str, str]:
    kind = channel.split("-", 1)[0].split("_", 1)[0].lower()
    zh, mn = CHANNEL_KINDS.get(kind, (channel, channel))
    return {"zh": zh, "mn": mn}


@dataclass(frozen=True, slots=True)
class CheckAnswer:
    """The answer: ``found`` with the masked payer and their obligations, or ``NOT_FOUND``
    (the same object whatever did not match)."""

    found: bool
    id_number: str = ""
    name: str = ""
    obligations: tuple[ObligationLine, ...] = field(default=())

    def as_json(self) -> dict[str, object]:
        """The body the endpoint sends (``NOT_FOUND`` has the same body for every cause)."""
        if not self.found:
            return {"found": False, "message": both("not_found")}
        return {
            "found": True,
            "message": both("found"),
            "id_number": self.id_number,
            "name": self.name,
            "obligations": [o.as_json() for o in self.obligations],
        }

    def as_text(self) -> str:
        """The answer for a terminal or a printed slip, each line in both languages."""
        if not self.found:
            return "\n".join(LOOKUP_TEXTS["not_found"])
        out = [f"{' / '.join(LOOKUP_TEXTS['title'])}"]
        out.append(f"{_label('id')}: {self.id_number}")
        out.append(f"{_label('name')}: {self.name}")
        for o in self.obligations:
            zh, mn = LOOKUP_TEXTS[o.state]
            out.append("")
            out.append(f"{_label('insurance')}: {o.insurance or o.reference}")
            out.append(f"{_label('period')}: {o.period}   {_label('grade')}: {o.grade or '-'}")
            out.append(f"{_label('owed')}: {o.owed.to_decimal_string()} {o.owed.currency.code}")
            out.append(f"{_label('status')}: {zh} / {mn}")
            if o.paid is not None and o.paid_at is not None and o.channel is not None:
                via = _channel_text(o.channel)
                out.append(f"{_label('paid_amount')}: {o.paid.to_decimal_string()}")
                out.append(f"{_label('paid_at')}: {o.paid_at:%Y-%m-%d %H:%M:%S %z}")
                out.append(f"{_label('channel')}: {via['zh']} / {via['mn']} ({o.channel})")
        return "\n".join(out)

    def __repr__(self) -> str:
        if not self.found:
            return "CheckAnswer(NOT_FOUND)"
        return f"CheckAnswer({self.id_number}, {len(self.obligations)} obligation(s))"


def _label(key: str) -> str:
    zh, mn = LOOKUP_TEXTS[key]
    return f"{zh} {mn}"


NOT_FOUND = CheckAnswer(found=False)


class PaymentsRead(Protocol):
    """What the check reads of the journal (a ``Journal`` has it)."""

    def find(self, *, payer_id: str | None = ..., limit: int = ...) -> list[Record]: ...

    def events(
        self, *, after: int = ..., record_id: str | None = ..., limit: int = ...
    ) -> list[Event]: ...


class PayerCheck:
    """``check(id_number, name)``: the payer's obligations and their state, or ``NOT_FOUND``.

    ``journal_payer_id`` turns the typed number into the payer id the journal holds: the
    number itself by default (``RosterEntry.request`` journals it so), or e.g.
    ``key.id_digest`` for a journal written with keyed payer ids.
    """

    def __init__(
        self,
        index: PayerIndex,
        journal: PaymentsRead,
        *,
        zone: tzinfo | None = None,
        journal_payer_id: Callable[[str], str] | None = None,
        today: date | None = None,
    ) -> None:
        self.index = index
        self.journal = journal
        self.zone = zone or zone_named(DEFAULT_ZONE)
        self._journal_id = journal_payer_id
        self._today = today
        # the stand-in an unknown number's name is compared with: same length, never equal
        self._absent = IndexEntry((b"\x00" * 16,), "", ())

    def __repr__(self) -> str:
        return f"PayerCheck({self.index!r})"

    def check(self, id_number: str, name: str) -> CheckAnswer:
        """The answer for this number and name (``InvalidIdNumber``/``InvalidName`` if either
        cannot be one); a mismatch of either is ``NOT_FOUND``, by the same steps."""
        number = _checked(id_number, self._today or date.today())
        if not isinstance(name, str) or len(name) > MAX_NAME:
            raise InvalidName("length")
        if not normal_name(name):
            raise InvalidName("empty")
        entry = self.index.get(self.index.key.id_digest(number))
        known = entry is not None
        candidate = entry if entry is not None else self._absent
        typed = self.index.key.name_digest(name)
        matched = False
        for stored in candidate.names:  # every stored name, no early exit
            matched |= hmac.compare_digest(typed, stored)
        if not (known and matched):
            return NOT_FOUND
        assert entry is not None
        payer_id = self._journal_id(number) if self._journal_id else number
        records = self.journal.find(payer_id=payer_id, limit=_MAX_RECORDS)
        return CheckAnswer(
            found=True,
            id_number=mask_id_number(number),
            name=entry.shown_name,
            obligations=tuple(self._lines(entry.obligations, records)),
        )

    def _lines(self, owed: Sequence[Obligation], records: Sequence[Record]) -> list[ObligationLine]:
        payments: dict[str, list[Record]] = {}
        refunds: dict[str, list[Record]] = {}
        for r in records:
            if r.kind == "payment":
                payments.setdefault(r.reference, []).append(r)
            elif r.parent_id is not None:
                refunds.setdefault(r.parent_id, []).append(r)
        lines = [self._line(o, payments.pop(o.reference, []), refunds) for o in owed]
        for reference, paid in payments.items():  # paid outside the roster (a hall desk)
            first = paid[0]
            extra = Obligation(reference, first.period or "", "", "", first.amount)
            lines.append(self._line(extra, paid, refunds))
        return lines

    def _line(
        self, o: Obligation, records: list[Record], refunds: Mapping[str, list[Record]]
    ) -> ObligationLine:
        base = (o.reference, o.period, o.insurance, o.grade, o.amount)
        succeeded = [r for r in records if r.status is Status.SUCCEEDED]
        if succeeded:
            last = succeeded[-1]
            taken = last.amount_taken or last.amount
            back = sum(
                (r.amount_taken or r.amount).minor
                for r in refunds.get(last.id, [])
                if r.status is Status.SUCCEEDED
            )
            state: LineState = "refunded" if back >= taken.minor else "paid"
            return ObligationLine(*base, state, taken, self._paid_at(last), last.channel)
        if any(r.status in _OPEN for r in records):
            return ObligationLine(*base, "in_progress")
        return ObligationLine(*base, "unpaid")

    def _paid_at(self, record: Record) -> datetime:
        """When the journal recorded the payment as succeeded, in the county's time."""
        events = self.journal.events(record_id=record.id, limit=1000)
        at = next(
            (e.at for e in reversed(events) if e.to_status is Status.SUCCEEDED), record.updated_at
        )
        return at.astimezone(self.zone)
