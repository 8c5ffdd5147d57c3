"""From what the terminal said to an ``Outcome``: results, declines, receipts, channel data.

Pure functions: a dialogue's ``Exchange`` (or a result learned by asking again) becomes a
``Result`` (booked / not booked / ambiguous, with the result code) and then an ``Outcome``.
Card numbers are masked and receipts scrubbed before anything reaches the journal.
"""

from __future__ import annotations

from pydantic import JsonValue

from paychannels.drivers.zvt.book import Attempt, Result, Verdict
from paychannels.drivers.zvt.codes import PIN_PROMPTS, result_meaning
from paychannels.drivers.zvt.dialogue import Exchange
from paychannels.drivers.zvt.replies import StatusInformation
from paychannels.security.masking import mask_pan, scrub
from paychannels.values.models import Outcome
from paychannels.values.money import Money
from paychannels.values.reasons import Reason
from paychannels.values.status import Status

__all__ = ["channel_ref", "info_data", "result_of", "to_outcome"]


def info_data(info: StatusInformation, charset: str) -> dict[str, JsonValue]:
    """What a status information tells about a transaction, fit for ``channel_data``."""
    b = info.bitmaps
    out: dict[str, JsonValue] = {}
    for key, tag in (("receipt_no", 0x87), ("trace", 0x0B), ("terminal_id", 0x29)):
        value = b.number(tag)
        if value is not None:
            out[key] = value
    for key, tag in (("turnover_no", 0x88), ("original_trace", 0x37)):
        value = b.number(tag)
        if value is not None:
            out[key] = value
    pan = b.digits(0x22)
    if pan is not None:
        out["card"] = mask_pan(pan) if "*" not in pan else pan
    for key, tag in (("card_name", 0x8B), ("vu", 0x2A)):
        text = b.text(tag, charset)
        if text:
            out[key] = scrub(text)
    card_type = b.byte(0x8A)
    if card_type is not None:
        out["card_type"] = card_type
    date, time = b.raw(0x0D), b.raw(0x0C)
    if date is not None and time is not None:
        d, t = date.hex(), time.hex()
        out["terminal_time"] = f"{d[:2]}-{d[2:]} {t[:2]}:{t[2:4]}:{t[4:]}"
    aid = b.raw(0x3B)
    if aid is not None:
        out["aid"] = aid.hex().upper()
    return out


def result_of(exchange: Exchange, attempt: Attempt, charset: str) -> Result | None:
    """The attempt's result as the dialogue showed it; None if the answer was incomplete."""
    info = exchange.info
    data = info_data(info, charset) if info is not None else {}
    if exchange.abort is not None:
        rc = exchange.abort.result_code
        receipt = info.receipt if info is not None else None
        booked = receipt is not None and receipt != attempt.before
        verdict: Verdict = "booked" if booked else "not_booked"
        return Result(verdict, rc, receipt, info.trace if info else None, data=data)
    if exchange.completion is None or info is None or info.receipt is None:
        return None
    # the status information came in answer to our own command: it is ours
    rc = info.result_code or 0
    return Result("booked", rc, info.receipt, info.trace, info.terminal_id, info.amount, data=data)


def channel_ref(result: Result) -> str | None:
    """``<terminal id>/<receipt>/<trace>``: how the terminal knows the transaction."""
    if result.receipt is None:
        return None
    parts = [f"{result.terminal_id or 0:08d}", f"{result.receipt:04d}"]
    if result.trace is not None:
        parts.append(f"{result.trace:06d}")
    return "/".join(parts)


def _reason(code: int, exchange: Exchange | None) -> tuple[Reason, str]:
    meaning = result_meaning(code)
    statuses = exchange.statuses if exchange is not None else []
    if code == 0x6C and statuses and statuses[-1].code in PIN_PROMPTS:
        return Reason.PIN_TIMEOUT, f"{meaning.detail} at the PIN prompt"
    return meaning.reason, meaning.detail


def to_outcome(
    result: Result,
    *,
    currency: str,
    receipt: list[str] | tuple[str, ...] = (),
    exchange: Exchange | None = None,
    success: Status = Status.SUCCEEDED,
) -> Outcome:
    """The ``Outcome`` a result means (``success`` is REVERSED for a reversal)."""
    lines = tuple(scrub(line) for line in receipt)
    data: dict[str, JsonValue] = dict(result.data)
    for key, value in (("receipt_no", result.receipt), ("trace", result.trace)):
        if value is not None:
            data.setdefault(key, value)
    ref = channel_ref(result)
    if result.verdict == "ambiguous":
        return Outcome.unknown(
            result.detail or "the terminal's answer does not identify the attempt"
        )
    if result.verdict == "not_booked" and result.result_code in (None, 0):
        return Outcome.not_sent(
            f"the terminal booked nothing for this attempt ({result.detail}); a retry is safe",
            receipt=lines,
        )
    if result.result_code:
        reason, detail = _reason(result.result_code, exchange)
        return Outcome.declined(reason, detail, channel_ref=ref, receipt=lines, data=data)
    if success is Status.SUCCEEDED:
        taken = Money.of_minor(result.amount, currency) if result.amount is not None else None
        return Outcome.succeeded(amount_taken=taken, channel_ref=ref, receipt=lines, data=data)
    return Outcome(status=success, channel_ref=ref, receipt=lines, data=data)
