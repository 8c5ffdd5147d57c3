"""Bank batch debit: ``BankBatchChannel`` and its URL factory (``bankfile+dir://``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from paychannels.bankfiles.calendar import load_calendar
from paychannels.bankfiles.model import Creditor, CreditorFile
from paychannels.bankfiles.split import Limits
from paychannels.channels.bank.channel import BankBatchChannel
from paychannels.channels.bank.formats import open_format
from paychannels.channels.bank.resubmit import ResubmitSummary, resubmit_retryable
from paychannels.values.configfile import configuration_error, read
from paychannels.values.errors import ConfigurationError, InvalidURL
from paychannels.values.urls import ParsedURL

__all__ = ["BankBatchChannel", "ResubmitSummary", "from_url", "load_creditor", "resubmit_retryable"]

FORM = "bankfile+dir:///path/to/exchange?format=pain.008.001.08&creditor=/path/CREDITOR.toml"
_OPTIONS = {
    "format",
    "creditor",
    "profile",
    "rows_per_file",
    "batches_per_file",
    "rows_per_batch",
    "lead_days",
    "calendar",
    "retries",
    "retry_days",
    "utc_offset",
    "outbox",
    "inbox",
}


def load_creditor(source: Creditor | dict[str, Any] | str | Path) -> Creditor:
    """A creditor from an object, a mapping or a CREDITOR.toml file (table ``[creditor]``
    or top-level keys); a mistake in the file names its line and key."""
    if isinstance(source, Creditor):
        return source
    if isinstance(source, (str, Path)):
        try:
            text = Path(source).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise ConfigurationError(f"cannot read creditor file {source}: {reason}") from None
        checked = read(
            CreditorFile, text, source=str(source), fail=configuration_error, table="creditor"
        )
        return checked.creditor()
    if not isinstance(source, dict):
        raise ConfigurationError("creditor: expected a table of creditor settings")
    try:
        return Creditor.from_mapping(dict(source))
    except ValueError as exc:
        raise ConfigurationError(f"creditor: {exc}") from None


def from_url(parsed: ParsedURL, **options: Any) -> BankBatchChannel:
    """``bankfile+dir:///path?format=...``; ``creditor`` (a Creditor, mapping or file) may
    come as a keyword option instead of in the URL."""
    if parsed.transport != "dir":
        raise InvalidURL(
            f"{parsed.raw!r}: the bank channel reads and writes a folder; expected {FORM}"
        )
    parsed.check_options(_OPTIONS, FORM)
    folder = (parsed.host or "") + parsed.path
    if not folder:
        raise InvalidURL(f"{parsed.raw!r} names no exchange folder; expected {FORM}")
    name = parsed.option("format")
    if not name:
        raise InvalidURL(f"{parsed.raw!r} names no format; expected {FORM}")
    creditor = options.pop("creditor", None) or parsed.option("creditor")
    if creditor is None:
        raise ConfigurationError(
            f"{parsed.raw!r}: the creditor is missing (creditor=CREDITOR.toml or a keyword)"
        )
    unknown = set(options) - {"calendar", "mandates"}
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) for the bank channel: {', '.join(sorted(unknown))}"
        )
    limits = Limits(
        rows_per_file=parsed.int_option("rows_per_file", 0),
        batches_per_file=parsed.int_option("batches_per_file", 0),
        rows_per_batch=parsed.int_option("rows_per_batch", 0),
    )
    outbox, inbox = parsed.option("outbox"), parsed.option("inbox")
    return BankBatchChannel(
        Path(folder),
        format=open_format(name, profile=parsed.option("profile", "iso") or "iso"),
        creditor=load_creditor(creditor),
        limits=limits,
        lead_days=parsed.int_option("lead_days", 1),
        calendar=options.get("calendar") or load_calendar(parsed.option("calendar", "cn") or "cn"),
        retries=parsed.int_option("retries", 2),
        retry_days=parsed.int_option("retry_days", 3),
        utc_offset_hours=parsed.float_option("utc_offset", 8.0, minimum=-14, maximum=14),
        outbox=Path(outbox) if outbox else None,
        inbox=Path(inbox) if inbox else None,
        mandates=options.get("mandates"),
    )
