"""``BankBatchChannel``: direct debit by request file and result file, through a folder.

``bankfile+dir:///srv/exchange/county-bank?format=pain.008.001.08`` (or ``format=icbc-fixed``,
``format=ccb-pipe``, or a layout ``.toml``). The Collector claims payments and calls
``start_batch``: each debit is checked against the format's rules and spooled durably for
its collection date (PENDING; one that cannot be sent is DECLINED with the reason). ``poll``
cuts the spool into request files in the outbox (see ``flush``); ``reports`` hands the
Collector each result file in the inbox, applied all-or-nothing and exactly once. What a
debit needs comes from the payment: ``payer_name`` and the metadata keys ``account``,
``bank`` (BIC or bank code), ``mandate_id``, ``mandate_date`` and optionally
``account_name``, ``collection_date``, ``sequence`` — or, for backends that keep debit
agreements in their own database, from a ``mandates(payment)`` lookup given to the channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path

from paychannels.bankfiles.calendar import BusinessCalendar, load_calendar
from paychannels.bankfiles.ids import end_to_end_id, payment_of
from paychannels.bankfiles.model import Creditor, Debit, RequestFile
from paychannels.bankfiles.split import Limits
from paychannels.channels.bank import spool as spooling
from paychannels.channels.bank.exchange import Exchange
from paychannels.channels.bank.flush import Flusher, utc_offset
from paychannels.channels.bank.formats import Format
from paychannels.channels.bank.ingest import ResultFileReport, file_sha256
from paychannels.channels.bank.ledger import Ledger
from paychannels.channels.base import Capabilities, Channel, ChannelContext, Notice
from paychannels.values.errors import ChannelError, NotSentError
from paychannels.values.models import Outcome, Payment, Record
from paychannels.values.reasons import Reason
from paychannels.values.results import Report
from paychannels.values.status import Status

__all__ = ["BankBatchChannel"]

log = logging.getLogger("paychannels.channels.bank")
_LOCK_WAIT = 120.0


class BankBatchChannel(Channel):
    """Bank batch debit through an exchange folder; see the module docstring."""

    scheme = "bankfile+dir"
    capabilities = Capabilities(
        inquire=True, cancel=True, batch=True, asynchronous=True, dispatch_timeout=600.0
    )

    def __init__(
        self,
        exchange: str | Path,
        *,
        format: Format,
        creditor: Creditor,
        limits: Limits | None = None,
        lead_days: int = 1,
        calendar: BusinessCalendar | None = None,
        retries: int = 2,
        retry_days: int = 3,
        utc_offset_hours: float = 8.0,
        outbox: Path | None = None,
        inbox: Path | None = None,
        mandates: Callable[[Payment], Mapping[str, str]] | None = None,
    ) -> None:
        self.exchange = Exchange(Path(exchange), outbox=outbox, inbox=inbox)
        self.format = format
        self.creditor = creditor
        self.limits = limits or Limits()
        self.lead_days = lead_days
        self.calendar = calendar or load_calendar("cn")
        self.retries = retries
        self.retry_days = retry_days
        self.tz = utc_offset(utc_offset_hours)
        self.mandates = mandates
        self.published: list[RequestFile] = []

    # -- sending -------------------------------------------------------------------------

    def earliest_collection(self, now: datetime, *, after_days: int | None = None) -> date:
        """The first collection date a debit spooled ``now`` can have (business days)."""
        today = now.astimezone(self.tz).date()
        lead = self.lead_days if after_days is None else after_days
        return self.calendar.next_business_day(today, after=max(lead, 0) or 0)

    def _debit(self, p: Payment, earliest: date) -> Debit | Outcome:
        md = {**(self.mandates(p) if self.mandates else {}), **p.metadata}
        account, mandate = md.get("account"), md.get("mandate_id")
        name = md.get("account_name") or p.payer_name
        if not account:
            return Outcome.declined(Reason.INVALID_ACCOUNT, "no bank account (metadata 'account')")
        if not mandate:
            return Outcome.declined(Reason.NO_MANDATE, "no debit agreement (metadata 'mandate_id')")
        if not name:
            return Outcome.declined(Reason.NAME_MISMATCH, "no account holder name")
        try:
            signed = date.fromisoformat(md["mandate_date"]) if md.get("mandate_date") else None
            wanted = (
                date.fromisoformat(md["collection_date"]) if md.get("collection_date") else earliest
            )
        except ValueError as exc:
            return Outcome.declined(Reason.INVALID_DATE, f"bad date in metadata: {exc}")
        when = self.calendar.next_business_day(max(wanted, earliest))
        debit = Debit(
            end_to_end_id=end_to_end_id(p.id, p.attempt),
            amount_minor=p.amount.minor,
            currency=p.amount.currency.code,
            name=name,
            account=account,
            bank=md.get("bank") or None,
            mandate_id=mandate,
            mandate_date=signed,
            collection_date=when,
            sequence=md.get("sequence", "RCUR"),
            remittance=p.description or f"{p.reference} {p.period or ''}".strip(),
            payer_id=p.payer_id,
            payment_id=p.id,
            retry_of=md.get("retry_of_ref"),
        )
        problem = self.format.check(debit, self.creditor)
        if problem is not None:
            return Outcome.declined(
                _reason_for(problem), f"cannot be sent as {self.format.name}: {problem}"
            )
        return debit

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        return self.start_batch([payment], ctx)[0]

    def start_batch(self, payments: Sequence[Payment], ctx: ChannelContext) -> list[Outcome]:
        self.exchange.ensure()
        earliest = self.earliest_collection(ctx.clock.now())
        outcomes: list[Outcome | None] = [None] * len(payments)
        groups: dict[spooling.SpoolGroup, list[tuple[int, Debit]]] = {}
        for i, p in enumerate(payments):
            made = self._debit(p, earliest)
            if isinstance(made, Outcome):
                outcomes[i] = made
            else:
                group = spooling.SpoolGroup(made.collection_date, made.sequence)
                groups.setdefault(group, []).append((i, made))
        spool = spooling.Spool(self.exchange.spool)
        written = 0
        with ctx.lock("exchange", timeout=_LOCK_WAIT):
            ctx.crashpoint("bank.before_spool")
            for group, items in groups.items():
                try:
                    spool.append(group, (spooling.to_line(d) for _i, d in items))
                except OSError as exc:
                    if not written:
                        raise NotSentError(f"cannot spool debits: {exc.strerror or exc}") from exc
                    for i, _d in items:
                        outcomes[i] = Outcome.not_sent(f"cannot spool: {exc.strerror or exc}")
                    continue
                written += len(items)
                for i, d in items:
                    outcomes[i] = Outcome.pending(
                        channel_ref=d.end_to_end_id,
                        message=f"queued for the request file of {d.collection_date}",
                        data={"collection_date": d.collection_date.isoformat()},
                    )
            ctx.crashpoint("bank.after_spool")
        return [o if o is not None else Outcome.not_sent("not spooled") for o in outcomes]

    def flush(self, ctx: ChannelContext) -> list[RequestFile]:
        """Cut every spooled debit into request files in the outbox (what ``poll`` does)."""
        self.exchange.ensure()
        with ctx.lock("exchange", timeout=_LOCK_WAIT):
            flusher = Flusher(
                self.exchange,
                self.format,
                self.creditor,
                self.limits,
                Ledger(ctx),
                ctx.clock,
                self.tz,
            )
            files = flusher.run()
        self.published.extend(files)
        return files

    # -- results ---------------------------------------------------------------------------

    def poll(self, ctx: ChannelContext) -> list[Notice]:
        """Write due request files; results come through ``reports``."""
        self.flush(ctx)
        return []

    def reports(self, ctx: ChannelContext) -> Iterator[Report]:
        try:
            held = ctx.lock("inbox", timeout=1.0)
            held.__enter__()
        except NotSentError:
            log.info("%s: another process is reading the inbox", self.describe())
            return
        try:
            for path in list(self.exchange.results()):
                report = self.report_for(path, ctx, move=True)
                if report is not None:
                    yield report
        finally:
            held.__exit__(None, None, None)

    def report_for(self, path: Path, ctx: ChannelContext, *, move: bool = False) -> Report | None:
        """The report of one result file, or None when that file was applied before (it
        is then moved aside if ``move``)."""
        sha = file_sha256(path)
        ledger = Ledger(ctx)
        seen = ledger.result(sha)
        if seen is not None:
            log.info(
                "%s: %s was applied before (as %s); nothing changes",
                self.describe(),
                path.name,
                seen.get("name"),
            )
            if move:
                self.exchange.move(path, self.exchange.processed / "duplicates")
            return None
        return ResultFileReport(
            path=path,
            sha256=sha,
            layout=self.format.layout,
            ledger=ledger,
            exchange=self.exchange,
            move=move,
        )

    # -- asking and cancelling ------------------------------------------------------------------

    def _ref(self, record: Record) -> str:
        if record.channel_ref and payment_of(record.channel_ref):
            return record.channel_ref
        return end_to_end_id(record.id, record.attempt)

    def inquire(self, record: Record, ctx: ChannelContext) -> Outcome:
        ref = self._ref(record)
        if record.status is Status.PENDING:
            return Outcome.pending(channel_ref=ref)  # spooled or sent: the result file will tell
        since = record.created_at.timestamp() - 60
        folders = (self.exchange.spool, self.exchange.archive)
        needle = f'"e":"{ref}"'.encode()
        cancel = f'"x":"{ref}"'.encode()
        found = cancelled = False
        for folder in folders:
            for path in sorted(folder.glob("*")) if folder.is_dir() else []:
                if path.stat().st_mtime < since or not path.name.endswith((".jsonl", ".flushing")):
                    continue
                data = path.read_bytes()
                found = found or needle in data
                cancelled = cancelled or cancel in data
        if cancelled:
            return Outcome(status=Status.CANCELLED, channel_ref=ref, reason=Reason.ORDER_CLOSED)
        if found:
            return Outcome.pending(channel_ref=ref)
        return Outcome.not_sent(f"{ref} is in no spool and no request file: it never left")

    def cancel(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        ref = self._ref(payment)
        needle = f'"e":"{ref}"'.encode()
        with ctx.lock("exchange", timeout=_LOCK_WAIT):
            spool = spooling.Spool(self.exchange.spool)
            for group, path in spool.groups():
                if needle in path.read_bytes():
                    spool.append(group, [f'{{"x":"{ref}"}}\n'.encode()])
                    return Outcome(
                        status=Status.CANCELLED,
                        channel_ref=ref,
                        reason=Reason.ORDER_CLOSED,
                        reason_detail="withdrawn before the request file was written",
                    )
        raise ChannelError(
            f"{payment.id} is already in a request file sent to the bank; "
            "a debit in the bank's hands can only be recalled by the bank"
        )

    def quarantined(self) -> int:
        """Result files refused and set aside for a person (the metrics' backlog gauge)."""
        return self.exchange.quarantined()

    def describe(self) -> str:
        return f"BankBatchChannel({self.exchange.root}, format={self.format.name})"


def _reason_for(problem: str) -> Reason:
    text = problem.lower()
    if "account" in text or "iban" in text:
        return Reason.INVALID_ACCOUNT
    if "mndt" in text or "mandate" in text:
        return Reason.NO_MANDATE
    if "name" in text:
        return Reason.NAME_MISMATCH
    return Reason.OTHER
