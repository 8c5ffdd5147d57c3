"""Settlement arrivals: did what each channel settled reach the collection account, in full
and on time (及时足额)?

Every recorded settlement (a terminal's batch, a provider's bill for a day, a bank result
file) is an *expected arrival*: its net, less the fees the channel declared (``fee_minor``:
a bill's 手续费 / 服务费, an acquirer report's commission) or, for a channel whose
statement cannot carry them (a terminal's batch), its fee rate declared in the rules; due
by its trade day plus the channel's settlement cycle in working days (``T+1``: the next
working day of the holiday calendar). Statement credits are matched to it **by reference**
where the bank carried one the settlement knows (``refs``: a bank file's message ids, a
payout id a channel recorded) — a credit and the debits after it under that reference add
up — and otherwise **by amount and date**: the earliest unmatched credit of exactly the
expected amount on or after the trade day. Each arrival then is ``in_full``, ``late``
(arrived after its due day), ``short`` or ``over`` (a different amount arrived under its
reference), ``missing`` (due, nothing arrived) or ``not_due`` (the statements end before its
due day); a credit nothing explains is an ``unexplained`` credit, and so is a debit (a fee
taken from the account) under no settlement's reference. Every difference names the
settlement's source and the statement lines (file and line).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import Field as Spec

from paychannels.bankfiles.calendar import BusinessCalendar, load_calendar
from paychannels.bankfiles.statement import StatementLine
from paychannels.channels.settlement import Settlement, SettlementKind
from paychannels.reconcile.classify import yuan
from paychannels.reconcile.model import Concern
from paychannels.reconcile.statements import StatementRun, read_statements
from paychannels.runtime.clock import BEIJING
from paychannels.values.configfile import FileModel, configuration_error, read
from paychannels.values.errors import ConfigurationError

__all__ = [
    "Arrival",
    "ArrivalReport",
    "ArrivalRules",
    "Funnel",
    "arrival_concerns",
    "check_arrivals",
    "expected_minor",
    "load_arrival_rules",
    "parse_cycle",
    "parse_fee_rate",
    "trade_day",
]

Status = Literal["in_full", "late", "short", "over", "missing", "not_due"]
_SHOWN = 5  # statement lines named per arrival; the rest are counted
#: the cycle a settlement kind has when neither the channel nor the rules say
DEFAULT_CYCLES = {SettlementKind.TERMINAL: 1, SettlementKind.PROVIDER: 1, SettlementKind.BANK: 0}


def parse_cycle(text: str) -> int:
    """``T+1`` (or ``1``) -> 1 working day after the trade day; ``ConfigurationError``."""
    body = text.strip().upper().removeprefix("T+").removeprefix("T")
    if not (body.isascii() and body.isdigit() and int(body) <= 30):
        raise ConfigurationError(f"settlement cycle {text[:12]!r} is not T+n (n at most 30)")
    return int(body)


_MAX_FEE_RATE = Decimal("0.05")  # above 5 % a "rate" is a typo (0.38 for 0.38 %)


def parse_fee_rate(text: str) -> Decimal:
    """``"0.38%"`` or ``"0.0038"`` -> Decimal("0.0038"), exactly; ``ConfigurationError``."""
    body = text.strip()
    percent = body.endswith("%")
    try:
        rate = Decimal(body.removesuffix("%").strip())
    except InvalidOperation:
        rate = Decimal("NaN")
    if rate.is_finite() and percent:
        rate /= 100
    if not (rate.is_finite() and 0 <= rate <= _MAX_FEE_RATE):
        raise ConfigurationError(
            f'fee rate {text[:16]!r} is not a rate from 0 to 5 % ("0.38%" or "0.0038")'
        )
    return rate


class ChannelRule(FileModel):
    """One channel's declared settlement: its cycle, references its payouts carry, and the
    fee rate its counterparty keeps back when its statement cannot say (a terminal batch)."""

    cycle: str = "T+1"
    refs: list[str] = Spec(default_factory=list)
    fee: str | None = None


class RulesFile(FileModel):
    """``arrivals.toml``: the collection account, the calendar, each channel's cycle."""

    account: str | None = None
    calendar: str = "cn"
    cycles: dict[Literal["terminal", "provider", "bank"], str] = Spec(default_factory=dict)
    channel: dict[str, ChannelRule] = Spec(default_factory=dict)


@dataclass(frozen=True)
class ArrivalRules:
    """Where settlements must arrive and when: the account, the calendar, cycles by channel
    (else the cycle a settlement declares in ``detail["cycle"]``, else by kind)."""

    account: str | None = None
    calendar: BusinessCalendar = field(default_factory=lambda: load_calendar("cn"))
    cycles: Mapping[str, int] = field(default_factory=dict)
    kind_cycles: Mapping[SettlementKind, int] = field(default_factory=lambda: DEFAULT_CYCLES)
    refs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: a channel's fee rate, for settlements that do not declare their fees themselves
    fee_rates: Mapping[str, Decimal] = field(default_factory=dict)

    def fee(self, channel: str, s: Settlement) -> tuple[int, str]:
        """What the counterparty keeps back of a settlement, and who says so: the fees the
        settlement declares (exact), else the channel's rate of its payments (its net when
        the payments are not known), rounded half up to the minor unit; else nothing."""
        declared = s.detail.get("fee_minor")
        if isinstance(declared, int):
            return declared, "declared by the channel"
        rate = self.fee_rates.get(channel)
        if rate is None:
            return 0, ""
        basis = s.gross_minor if s.gross_minor is not None else s.net_minor
        fee = int((rate * basis).quantize(Decimal(1), ROUND_HALF_UP))
        return fee, f"{_percent(rate)} declared in the rules"

    def cycle(self, channel: str, s: Settlement) -> int:
        """Working days from trade day to arrival for this channel's settlement."""
        if channel in self.cycles:
            return self.cycles[channel]
        declared = s.detail.get("cycle")
        if isinstance(declared, str):
            return parse_cycle(declared)
        return self.kind_cycles.get(s.kind, 1)


def load_arrival_rules(path: str | Path, *, account: str | None = None) -> ArrivalRules:
    """Rules from a TOML file (docs/reconciliation.md); ``account`` overrides the file's."""
    where = str(path)
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read {where}: {exc.strerror}") from None
    data = read(RulesFile, text, source=where, fail=configuration_error)
    fees: dict[str, Decimal] = {}
    for name, rule in data.channel.items():
        if rule.fee is not None:
            try:
                fees[name] = parse_fee_rate(rule.fee)
            except ConfigurationError as exc:
                raise ConfigurationError(f"{where} [channel.{name}] fee: {exc}") from None
    kinds = dict(DEFAULT_CYCLES)
    kinds.update({SettlementKind(k): parse_cycle(v) for k, v in data.cycles.items()})
    return ArrivalRules(
        account=account or data.account,
        calendar=load_calendar(data.calendar),
        cycles={name: parse_cycle(rule.cycle) for name, rule in data.channel.items()},
        kind_cycles=kinds,
        refs={name: tuple(rule.refs) for name, rule in data.channel.items() if rule.refs},
        fee_rates=fees,
    )


def _percent(rate: Decimal) -> str:
    """``Decimal("0.0038")`` -> ``0.38%``."""
    return f"{(rate * 100).normalize():f}%"


@dataclass
class Arrival:
    """One settlement (or several under one reference) against the account's bookings."""

    channel: str
    kind: str
    sources: list[str]
    trade_day: date
    due: date
    expected_minor: int
    currency: str
    refs: tuple[str, ...] = ()
    fee_minor: int = 0  # kept back by the counterparty, as declared: not short
    fee_basis: str = ""  # who declared it
    arrived_minor: int = 0
    lines: list[str] = field(default_factory=list)  # "file line N" of each booking
    lines_more: int = 0
    last_booked: date | None = None
    matched_by: str = ""  # "reference" | "amount and date" | ""
    status: Status = "missing"
    note: str = ""

    def take(self, line: StatementLine, by: str) -> None:
        """Count one booking (a credit, or a debit under the same reference) as arriving."""
        self.arrived_minor += line.signed_minor
        self.matched_by = self.matched_by or by
        if line.credit and (self.last_booked is None or line.booked > self.last_booked):
            self.last_booked = line.booked
        if len(self.lines) < _SHOWN:
            self.lines.append(line.where)
        else:
            self.lines_more += 1

    def judge(self, covered_to: date | None, calendar: BusinessCalendar) -> None:
        """Set the status and say why, naming both sides."""
        where = ", ".join(self.lines) + (f" and {self.lines_more} more" if self.lines_more else "")
        what = f"{'; '.join(self.sources)}: {self._amount()} due by {self.due.isoformat()}"
        gap = self.arrived_minor - self.expected_minor
        if not self.matched_by:
            if self.expected_minor == 0:  # an accepted file, a bill netting to nothing
                self.status, self.note = "in_full", f"{what}; nothing to arrive"
            elif covered_to is not None and covered_to < self.due:
                self.status, self.note = "not_due", f"{what}; the statements end {covered_to}"
            else:
                self.status, self.note = "missing", f"{what}; no credit on the account"
            return
        late = self.last_booked is not None and self.last_booked > self.due
        days = _working_days(self.due, self.last_booked, calendar) if late else 0
        when = f" on {self.last_booked}" if self.last_booked else ""
        if gap < 0:
            self.status = "short"
            self.note = (
                f"{what}; {yuan(self.arrived_minor, self.currency)} arrived{when} ({where}): "
                f"{yuan(-gap, self.currency)} short"
            )
        elif gap > 0:
            self.status = "over"
            self.note = (
                f"{what}; {yuan(self.arrived_minor, self.currency)} arrived{when} ({where}): "
                f"{yuan(gap, self.currency)} more"
            )
        elif late:
            self.status = "late"
            self.note = f"{what}; arrived{when} ({where}), {days} working day(s) late"
        else:
            self.status = "in_full"
            self.note = f"{what}; arrived{when} ({where})"
        if late and self.status != "late":
            self.note += f", {days} working day(s) late"

    def _amount(self) -> str:
        """The expected amount in words: ``380.00 less 2.88 fees (who says) = 377.12``."""
        if not self.fee_minor:
            return yuan(self.expected_minor, self.currency)
        gross, fees, net = (
            yuan(m, self.currency)
            for m in (self.expected_minor + self.fee_minor, self.fee_minor, self.expected_minor)
        )
        return f"{gross} less {fees} fees ({self.fee_basis}) = {net}"

    @property
    def late(self) -> bool:
        """Arrived (in whole or part) after its due day."""
        return self.last_booked is not None and self.last_booked > self.due

    def as_dict(self) -> dict[str, Any]:
        """For ``--json``."""
        return {
            "channel": self.channel,
            "kind": self.kind,
            "sources": list(self.sources),
            "trade_day": self.trade_day.isoformat(),
            "due": self.due.isoformat(),
            "expected_minor": self.expected_minor,
            "fee_minor": self.fee_minor,
            "arrived_minor": self.arrived_minor,
            "currency": self.currency,
            "status": self.status,
            "late": self.late,
            "matched_by": self.matched_by,
            "lines": list(self.lines),
            "note": self.note,
        }


def _working_days(due: date, booked: date | None, calendar: BusinessCalendar) -> int:
    if booked is None:
        return 0
    n, day = 0, due
    while day < booked and n < 400:
        day += timedelta(days=1)
        if calendar.is_business_day(day):
            n += 1
    return max(n, 1)


@dataclass
class Funnel:
    """One channel: collected (the journal) → settled (the channel) → credited (the bank)."""

    channel: str
    collected_minor: int = 0
    settled_minor: int = 0
    fee_minor: int = 0  # kept back as declared (bills, reports, the rules' rates)
    credited_minor: int = 0
    late_minor: int = 0
    missing_minor: int = 0
    short_minor: int = 0
    not_due_minor: int = 0

    def as_dict(self) -> dict[str, Any]:
        """For ``--json``."""
        return dict(vars(self))


@dataclass
class ArrivalReport:
    """The third level: settlements against the collection account's statements."""

    statements: StatementRun
    arrivals: list[Arrival]
    unexplained: list[str]
    unexplained_minor: int
    funnels: list[Funnel]
    currency: str

    @property
    def in_full_and_on_time(self) -> bool:
        """Every due settlement arrived, in full, by its due day; no credit unexplained."""
        return (
            all(a.status in ("in_full", "not_due") for a in self.arrivals)
            and not self.unexplained
            and not self.statements.notes
        )

    def named(self, status: Status) -> list[Arrival]:
        """The arrivals with one status."""
        return [a for a in self.arrivals if a.status == status]

    def verdict(self) -> str:
        """One line: in full and on time, or what is not, by channel."""
        if self.in_full_and_on_time:
            return "in full and on time (及时足额): every due settlement arrived"
        parts = []
        for status in ("late", "short", "over", "missing"):
            found = self.named(status)
            if found:
                parts.append(f"{status}: " + ", ".join(sorted({a.channel for a in found})))
        if self.unexplained:
            parts.append(f"{len(self.unexplained)} unexplained booking(s)")
        if self.statements.notes:
            parts.append(f"{len(self.statements.notes)} statement note(s)")
        return "NOT in full and on time — " + "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """For ``--json``."""
        return {
            "in_full_and_on_time": self.in_full_and_on_time,
            "verdict": self.verdict(),
            "statements": self.statements.as_dict(),
            "arrivals": [a.as_dict() for a in self.arrivals],
            "unexplained": list(self.unexplained),
            "unexplained_minor": self.unexplained_minor,
            "funnels": [f.as_dict() for f in self.funnels],
        }


def expected_minor(s: Settlement, rules: ArrivalRules | None = None, channel: str = "") -> int:
    """What a settlement should put on the account: its net less the fees it declared (or,
    given the rules, the channel's declared rate of it)."""
    if rules is not None:
        return s.net_minor - rules.fee(channel, s)[0]
    fee = s.detail.get("fee_minor")
    return s.net_minor - (fee if isinstance(fee, int) else 0)


def trade_day(s: Settlement) -> date:
    """The day the money was collected: a bill's day, else the day it was recorded."""
    if s.dates:
        return date.fromisoformat(s.dates[0])
    return s.recorded_at.astimezone(BEIJING).date()


def _refs(s: Settlement, channel: str, rules: ArrivalRules) -> tuple[str, ...]:
    found = s.detail.get("refs")
    own = tuple(str(r) for r in found) if isinstance(found, list) else ()
    return own + rules.refs.get(channel, ())


def _expected(
    settlements: Mapping[str, Sequence[Settlement]], rules: ArrivalRules
) -> list[Arrival]:
    """One arrival per settlement, merged where settlements share a reference."""
    out: list[Arrival] = []
    by_ref: dict[str, Arrival] = {}
    for channel in sorted(settlements):
        for s in sorted(settlements[channel], key=lambda s: (s.recorded_at, s.key)):
            fee, basis = rules.fee(channel, s)
            amount = s.net_minor - fee
            day = trade_day(s)
            due = rules.calendar.next_business_day(day, after=rules.cycle(channel, s))
            refs = _refs(s, channel, rules)
            shared = next((by_ref[r] for r in refs if r in by_ref), None)
            if shared is not None and shared.channel == channel:
                shared.sources.append(s.source)
                shared.expected_minor += amount
                shared.fee_minor += fee
                shared.fee_basis = shared.fee_basis or basis
                shared.refs = tuple(dict.fromkeys(shared.refs + refs))
                shared.trade_day, shared.due = min(shared.trade_day, day), min(shared.due, due)
                for r in refs:
                    by_ref.setdefault(r, shared)
                continue
            if amount == 0 and not refs:
                continue  # nothing to arrive (a terminal closed an empty batch)
            a = Arrival(channel, s.kind.value, [s.source], day, due, amount, s.currency, refs)
            a.fee_minor, a.fee_basis = fee, basis
            out.append(a)
            for r in refs:
                by_ref.setdefault(r, a)
    return out


class _Matcher:
    """Takes statement bookings as they stream: by reference at once, the rest kept."""

    def __init__(self, arrivals: list[Arrival]) -> None:
        self.by_ref = {r: a for a in arrivals for r in a.refs}
        self.loose: list[StatementLine] = []
        self.debits: list[StatementLine] = []  # money out under no settlement's reference

    def __call__(self, line: StatementLine) -> None:
        for ref in line.refs:
            a = self.by_ref.get(ref)
            if a is not None and line.currency == a.currency:
                a.take(line, "reference")
                return
        if line.credit:
            self.loose.append(line)
        else:
            self.debits.append(line)


def check_arrivals(
    settlements: Mapping[str, Sequence[Settlement]],
    collected: Mapping[str, int],
    statements: Iterable[Path],
    rules: ArrivalRules,
    *,
    currency: str = "CNY",
    layout: str = "icbc",
) -> ArrivalReport:
    """Match every settlement to the statements' credits (see the module docstring)."""
    arrivals = _expected(settlements, rules)
    matcher = _Matcher(arrivals)
    run = read_statements(statements, matcher, account=rules.account, layout=layout)
    loose = sorted(matcher.loose, key=lambda x: (x.booked, x.file, x.line))
    for a in sorted(arrivals, key=lambda a: (a.trade_day, a.channel)):
        if a.matched_by or a.expected_minor <= 0:
            continue
        for i, line in enumerate(loose):
            if (
                line.minor == a.expected_minor
                and line.currency == a.currency
                and line.booked >= a.trade_day
            ):
                a.take(loose.pop(i), "amount and date")
                break
    covered = date.fromisoformat(run.last_day) if run.last_day else None
    for a in arrivals:
        a.judge(covered, rules.calendar)
    unexplained = [
        f"{x.where}: credit of {yuan(x.minor, x.currency)} on {x.booked}"
        + (f" ({x.text[:60]})" if x.text else "")
        + ": no channel settled it"
        for x in loose
    ] + [
        f"{x.where}: debit of {yuan(x.minor, x.currency)} on {x.booked}"
        + (f" ({x.text[:60]})" if x.text else "")
        + ": money out of the collection account under no settlement"
        for x in matcher.debits
    ]
    return ArrivalReport(
        statements=run,
        arrivals=arrivals,
        unexplained=unexplained,
        unexplained_minor=sum(x.minor for x in loose),
        funnels=_funnels(arrivals, settlements, collected),
        currency=currency,
    )


def _funnels(
    arrivals: Sequence[Arrival],
    settlements: Mapping[str, Sequence[Settlement]],
    collected: Mapping[str, int],
) -> list[Funnel]:
    out: dict[str, Funnel] = {}
    for name in sorted(set(collected) | set(settlements)):
        f = out[name] = Funnel(name, collected_minor=collected.get(name, 0))
        f.settled_minor = sum(s.net_minor for s in settlements.get(name, ()))
    for a in arrivals:
        f = out[a.channel]
        f.fee_minor += a.fee_minor
        f.credited_minor += a.arrived_minor
        if a.status == "late" or a.late:
            f.late_minor += a.arrived_minor
        if a.status == "missing":
            f.missing_minor += a.expected_minor
        if a.status == "short":
            f.short_minor += a.expected_minor - a.arrived_minor
        if a.status == "not_due":
            f.not_due_minor += a.expected_minor
    return list(out.values())


def arrival_concerns(report: ArrivalReport) -> list[Concern]:
    """What a person must look at: every arrival not in full and on time, every unexplained
    credit, every note on the statements themselves."""
    out = [
        Concern("arrival", f"{a.channel}: {a.status}: {a.note}")
        for a in report.arrivals
        if a.status not in ("in_full", "not_due")
    ]
    out += [Concern("arrival", f"unexplained: {text}") for text in report.unexplained]
    out += [Concern("arrival", f"statement: {text}") for text in report.statements.notes]
    return out
