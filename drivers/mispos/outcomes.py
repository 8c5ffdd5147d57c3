"""From a MIS-POS answer to the book's ``Result`` and to an ``Outcome``.

A direct answer is ours: its answer code decides (the profile's ``approved`` codes, else a
refusal with the profile's reason). An in-doubt attempt is identified from "query last
transaction" by trace numbers: the terminal's last trace still ``before`` -> nothing ran;
a new trace with our amount (and our transaction type, when the answer says it) -> ours;
anything else -> ambiguous, for a person. Card numbers are masked, print text scrubbed.
"""

from __future__ import annotations

from pydantic import JsonValue

from paychannels.drivers.book import Attempt, Result
from paychannels.drivers.mispos.codec import Fields
from paychannels.drivers.mispos.profile import Profile
from paychannels.security.masking import mask_pan, scrub
from paychannels.values.models import Outcome
from paychannels.values.money import Money
from paychannels.values.reasons import Reason
from paychannels.values.status import Status

__all__ = ["answer_result", "earlier_answer", "identify", "receipt_lines", "to_outcome", "trace_of"]

_KEPT = ("reference", "date", "time", "batch", "auth_code", "terminal_id", "merchant_id")


def trace_of(fields: Fields | None) -> int | None:
    """The trace number an answer carries (None: none)."""
    value = fields.get("trace") if fields is not None else None
    return int(value) if value and value.isdigit() else None


def _data(profile: Profile, fields: Fields) -> dict[str, JsonValue]:
    out: dict[str, JsonValue] = {}
    rc = fields.get(profile.result.field)
    if rc is not None:
        out["rc"] = rc
    for name in _KEPT:  # references, not card data: a refund must name them exactly
        value = fields.get(name)
        if value:
            out[name] = value
    card = fields.get("card")
    if card:
        out["card"] = mask_pan(card)
    text = fields.get("print_text")
    if text:
        out["print"] = [scrub(line) for line in receipt_lines(text)]
    return out


def receipt_lines(text: str) -> list[str]:
    """Print text as lines (terminals separate them by CR LF, LF or ``|``)."""
    return [line.rstrip() for line in text.replace("\r\n", "\n").replace("|", "\n").split("\n")]


def _amount(fields: Fields) -> int | None:
    value = fields.get("amount")
    return int(value) if value and value.isdigit() else None


def earlier_answer(attempt: Attempt, fields: Fields) -> bool:
    """Whether an answer cannot be about ``attempt``: an earlier request's, arriving late.

    Every booking moves the terminal's trace (``identify`` relies on it too), so an answer
    carrying the trace the terminal had before we sent, or another amount than ours, is not
    this attempt's.
    """
    trace, amount = trace_of(fields), _amount(fields)
    if trace is not None and attempt.before is not None and trace == attempt.before:
        return True
    return amount is not None and attempt.amount is not None and amount != attempt.amount


def answer_result(profile: Profile, attempt: Attempt, fields: Fields) -> Result:
    """What a direct answer says became of ``attempt`` (in doubt if it cannot be about it)."""
    trace, amount = trace_of(fields), _amount(fields)
    if earlier_answer(attempt, fields):
        return Result(
            "ambiguous",
            trace=trace,
            amount=amount,
            detail=(
                f"the answer is for trace {trace} and {amount}, this attempt is for "
                f"{attempt.amount} after trace {attempt.before}: an earlier request's answer"
            ),
        )
    return Result(
        "booked",
        trace=trace,
        amount=amount,
        detail="answered directly",
        data=_data(profile, fields),
    )


def identify(profile: Profile, attempt: Attempt, last: Fields | None, code: str) -> Result:
    """Decide an attempt from the terminal's last transaction (None: it has none)."""
    before = attempt.before
    if before is None:
        return Result("ambiguous", detail="the terminal's last trace was unknown before sending")
    trace = trace_of(last) or 0
    if trace == before:
        return Result(
            "not_booked", trace=trace, detail=f"the terminal's last trace is still {trace}"
        )
    assert last is not None
    amount = _amount(last)
    said = last.get("trans_type")
    query = profile.verbs["query"].code
    same_type = said in (None, query, code)
    if amount == attempt.amount and same_type:
        return Result("booked", trace=trace, amount=amount, data=_data(profile, last))
    return Result(
        "ambiguous",
        trace=trace,
        amount=amount,
        detail=(
            f"expected trace {before} (nothing ran) or a new one for {attempt.amount} of type "
            f"{code}; the terminal's last is {trace} for {amount} of type {said}"
        ),
    )


def _refusal(profile: Profile, rc: str) -> tuple[Reason, str]:
    reason = profile.result.reasons.get(rc, Reason.UNMAPPED)
    text = profile.result.texts.get(rc, "")
    return reason, f"MIS-POS {rc}" + (f": {text}" if text else "")


def to_outcome(
    profile: Profile, result: Result, *, currency: str, success: Status = Status.SUCCEEDED
) -> Outcome:
    """The ``Outcome`` a result means (``success`` is REVERSED for a void)."""
    if result.verdict == "ambiguous":
        return Outcome.unknown(result.detail or "the terminal's answer does not identify it")
    if result.verdict == "not_booked":
        return Outcome.not_sent(
            f"the terminal ran nothing for this attempt ({result.detail}); a retry is safe"
        )
    data: dict[str, JsonValue] = dict(result.data)
    lines = tuple(str(line) for line in data.pop("print", []) or [])  # type: ignore[union-attr]
    if result.trace is not None:
        data["trace"] = f"{result.trace:06d}"
    parts = [str(data.get(name) or "") for name in ("terminal_id", "batch", "trace")]
    # always three places (an empty one stays): reconciliation reads the batch in the middle
    ref = "/".join(parts) if any(parts) else None
    rc = str(data.get("rc", ""))
    if rc not in profile.result.approved:
        reason, detail = _refusal(profile, rc or "(none)")
        return Outcome.declined(reason, detail, channel_ref=ref, receipt=lines, data=data)
    if success is Status.SUCCEEDED:
        taken = Money.of_minor(result.amount, currency) if result.amount is not None else None
        return Outcome.succeeded(amount_taken=taken, channel_ref=ref, receipt=lines, data=data)
    return Outcome(status=success, channel_ref=ref, receipt=lines, data=data)
