"""The values that cross the public interface: requests, payments, refunds, outcomes, events.

All are pydantic v2 models, frozen. Construction errors are raised as ``InvalidRequest``
naming every bad field (``amount: must be greater than zero``), so backends catch one type.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from paychannels.security.textrules import check_text
from paychannels.values.errors import InvalidRequest
from paychannels.values.money import Money
from paychannels.values.paymentcode import PaymentCode
from paychannels.values.reasons import Reason
from paychannels.values.status import Status, reportable_by_channel

__all__ = [
    "Event",
    "EventType",
    "FrozenModel",
    "Outcome",
    "Payment",
    "PaymentRequest",
    "Record",
    "Refund",
    "as_payment",
    "as_refund",
    "trusted",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KEY = re.compile(r"[\x21-\x7e]+")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters (newline, tab, NUL...)")
    return value


def _visible_ascii(value: str) -> str:
    # fullmatch: ``^...$`` let a trailing newline through, and with it a second key
    if not _KEY.fullmatch(value):
        raise ValueError("must be printable ASCII without spaces or control characters")
    return value


def _width_folded(value: object) -> object:
    """An identifier as typed on any keyboard: full-width forms to ASCII, outer spaces gone.

    Only width variants are folded (NFKC of ``<wide>``/``<narrow>`` characters: ``１２３`` is
    ``123``, an ideographic space a space); other compatibility forms (``²``, ``①``) could
    change what an identifier means, so they are kept for the other checks to judge.
    """
    if not isinstance(value, str):
        return value
    if not value.isascii():
        value = "".join(
            unicodedata.normalize("NFKC", ch)
            if unicodedata.decomposition(ch).startswith(("<wide>", "<narrow>"))
            else ch
            for ch in value
        )
    return value.strip()


NoControl = AfterValidator(lambda v: check_text(_no_control(v)))  # textrules: bidi, C1...


M = TypeVar("M", bound=BaseModel)


def trusted(cls: type[M], values: dict[str, Any]) -> M:
    """Build a model from values that are already valid (journal rows), without validation.

    Every field must be given: this is pydantic's ``model_construct`` minus the per-field
    default handling, which costs more than the rest of reading a journal row.
    """
    assert len(values) == _field_count(cls), f"{cls.__name__}: missing fields"
    obj = cls.__new__(cls)
    _set_dict(obj, values)
    _set_fields_set(obj, set(values))
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


# BaseModel's own slots, set through their descriptors: no attribute look-up by name on
# every object (a paid callback builds two, a journal read one a row)
_set_dict, _set_fields_set, _set_extra, _set_private = (
    BaseModel.__dict__[name].__set__
    for name in (
        "__dict__",
        "__pydantic_fields_set__",
        "__pydantic_extra__",
        "__pydantic_private__",
    )
)
_FIELD_COUNTS: dict[type[BaseModel], int] = {}


def _field_count(cls: type[BaseModel]) -> int:
    """How many fields a model has (pydantic's class attribute is a slow look-up)."""
    count = _FIELD_COUNTS.get(cls)
    if count is None:
        count = _FIELD_COUNTS[cls] = len(cls.__pydantic_fields__)
    return count


def _describe(exc: ValidationError, model: str) -> InvalidRequest:
    parts: list[str] = []
    errors: list[dict[str, object]] = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "(model)"
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
        errors.append({"field": where, "message": msg, "type": err["type"]})
    return InvalidRequest(f"invalid {model}: " + "; ".join(parts), errors)


class FrozenModel(BaseModel):
    """Base: frozen, no unknown fields, validation errors as ``InvalidRequest``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _describe(exc, type(self).__name__) from None

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise _describe(exc, cls.__name__) from None


class PaymentRequest(FrozenModel):
    """What the backend asks for: take ``amount`` from ``payer_id`` for ``reference``.

    ``reference`` names the obligation (e.g. "2026-pension"); while one attempt for a
    (payer_id, reference) is unresolved, a second one is refused (``AlreadyInDoubt``), and
    once one has paid, a new one is refused too (``AlreadyPaid``) unless ``pay_again=True``
    asks for one more payment on purpose. ``idempotency_key`` makes a retried call return
    the same payment instead of taking money twice. Payer ids and references are compared
    after folding full-width characters and trimming outer spaces.
    """

    MAX_REFERENCE: ClassVar[int] = 64

    payer_id: Annotated[str, StringConstraints(min_length=1, max_length=64), NoControl]
    amount: Money
    reference: Annotated[str, StringConstraints(min_length=1, max_length=64), NoControl]
    idempotency_key: Annotated[
        str, StringConstraints(min_length=1, max_length=128), AfterValidator(_visible_ascii)
    ]
    payer_name: Annotated[str, StringConstraints(max_length=100), NoControl] | None = None
    region: Annotated[str, StringConstraints(max_length=200), NoControl] | None = None
    operator: Annotated[str, StringConstraints(max_length=64), NoControl] | None = None
    period: Annotated[str, StringConstraints(max_length=32), NoControl] | None = None
    description: Annotated[str, StringConstraints(max_length=128), NoControl] | None = None
    metadata: Annotated[dict[str, str], Field(max_length=32)] = Field(default_factory=dict)
    pay_again: bool = False
    #: the scanned payment code (付款码): handed to the channel once, never dumped or journaled
    payment_code: PaymentCode | None = Field(default=None, exclude=True, repr=False)

    def __init__(self, /, **data: Any) -> None:
        if isinstance(code := data.get("payment_code"), str):
            data["payment_code"] = PaymentCode.parse(code)  # InvalidPaymentCode, not quoting it
        super().__init__(**data)

    @field_validator("payer_id", "reference", mode="before")
    @classmethod
    def _folded(cls, value: object) -> object:
        folded = _width_folded(value)
        if folded == "" and value != "":
            raise ValueError("must not be blank")
        return folded

    @field_validator("amount")
    @classmethod
    def _positive(cls, value: Money) -> Money:
        if not value.is_positive():
            raise ValueError(f"must be greater than zero (got {value.to_decimal_string()})")
        return value

    @field_validator("payer_id", "reference")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata_sizes(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            if not 1 <= len(key) <= 64:
                raise ValueError(f"key {key[:20]!r} must be 1 to 64 characters")
            if len(item) > 512:
                raise ValueError(f"value of {key!r} is longer than 512 characters")
        return value

    def fingerprint(self, channel: str) -> str:
        """A digest of everything that makes this request what it is, to detect key reuse."""
        body = self.model_dump(mode="json", exclude={"idempotency_key"})
        if not self.pay_again:
            del body["pay_again"]  # digests of requests journaled before the flag stay valid
        body["channel"] = channel
        if self.payment_code is not None:  # another code under the same key is key reuse
            body["payment_code"] = self.payment_code.digest
        text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Record(FrozenModel):
    """What the journal knows about one payment or refund, at one version.

    ``occurrence`` is the n-th payment of its obligation; above 1 only by ``pay_again``.
    """

    id: str
    kind: Literal["payment", "refund"]
    status: Status
    channel: str
    payer_id: str
    reference: str
    amount: Money
    idempotency_key: str
    amount_taken: Money | None = None
    channel_ref: str | None = None
    reason: Reason | None = None
    reason_detail: str | None = None
    attention: str | None = None
    payer_name: str | None = None
    region: str | None = None
    operator: str | None = None
    period: str | None = None
    description: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    pay_again: bool = False
    channel_data: dict[str, JsonValue] = Field(default_factory=dict)
    parent_id: str | None = None
    occurrence: int = 1
    attempt: int = 0
    claimed_by: str | None = None
    lease_until: datetime | None = None
    created_at: datetime
    updated_at: datetime
    version: int = 1

    @property
    def scanned_code(self) -> str | None:
        """The masked payment code this payment was made with; None: no code payment. The
        digits are gone (never stored), so it is never sent again from the journal: the
        payer scans a new code, a new attempt."""
        masked = self.channel_data.get("code") if "code_digest" in self.channel_data else None
        return masked if isinstance(masked, str) else None

    @property
    def voiding(self) -> bool:
        """A void of this SUCCEEDED payment was journaled and its outcome is not: the claim
        names who sent it (a live lease: in flight; an expired one: recovery asks)."""
        return self.status is Status.SUCCEEDED and self.claimed_by is not None

    def request(self) -> PaymentRequest:
        """The request this record was created from (a scanned code is not in it)."""
        return PaymentRequest(
            payer_id=self.payer_id,
            amount=self.amount,
            reference=self.reference,
            idempotency_key=self.idempotency_key,
            payer_name=self.payer_name,
            region=self.region,
            operator=self.operator,
            period=self.period,
            description=self.description,
            metadata=self.metadata,
            pay_again=self.pay_again,
        )


class Payment(Record):
    """A payment: money to be taken from a payer through one channel."""

    kind: Literal["payment"] = "payment"


class Refund(Record):
    """A refund: a child record of a succeeded payment, with the same state machine."""

    kind: Literal["refund"] = "refund"
    parent_id: str


def as_payment(record: Record) -> Payment:
    """``record`` as a Payment, or InvalidRequest naming what it is instead."""
    if isinstance(record, Payment):
        return record
    raise InvalidRequest(f"{record.id} is a {record.kind}, not a payment")


def as_refund(record: Record) -> Refund:
    """``record`` as a Refund, or InvalidRequest naming what it is instead."""
    if isinstance(record, Refund):
        return record
    raise InvalidRequest(f"{record.id} is a {record.kind}, not a refund")


class Outcome(FrozenModel):
    """What a channel reports back for one verb: a status plus what it learned.

    A channel reports only what it saw; ``UNKNOWN`` means "I sent it and have no trustworthy
    answer" and ``NOT_SENT`` means "provably nothing left". The Collector decides the state.
    """

    status: Status
    amount_taken: Money | None = None
    channel_ref: str | None = None
    reason: Reason | None = None
    reason_detail: str | None = None
    message: str | None = None
    receipt: tuple[str, ...] = ()
    data: dict[str, JsonValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not reportable_by_channel(self.status):
            raise ValueError(f"a channel cannot report {self.status}; the Collector owns it")
        if self.amount_taken is not None and self.status not in (Status.SUCCEEDED, Status.REVERSED):
            # REVERSED with amount_taken: taken, then given back (a reversed payment-code order)
            raise ValueError("amount_taken only goes with SUCCEEDED (or REVERSED: taken, returned)")
        return self

    @classmethod
    def succeeded(
        cls, *, amount_taken: Money | None = None, channel_ref: str | None = None, **kw: Any
    ) -> Outcome:
        """Money was taken (``amount_taken`` defaults to the requested amount)."""
        return cls(
            status=Status.SUCCEEDED, amount_taken=amount_taken, channel_ref=channel_ref, **kw
        )

    @classmethod
    def declined(cls, reason: Reason, detail: str | None = None, **kw: Any) -> Outcome:
        """A definitive refusal with our reason and the channel's own code."""
        return cls(status=Status.DECLINED, reason=reason, reason_detail=detail, **kw)

    @classmethod
    def pending(cls, **kw: Any) -> Outcome:
        """Accepted; the result comes later (callback, result file, cardholder)."""
        return cls(status=Status.PENDING, **kw)

    @classmethod
    def unknown(cls, detail: str, **kw: Any) -> Outcome:
        """Sent, no trustworthy answer: the channel must be asked later."""
        return cls(status=Status.UNKNOWN, reason=Reason.NO_ANSWER, reason_detail=detail, **kw)

    @classmethod
    def not_sent(cls, detail: str, **kw: Any) -> Outcome:
        """Provably never left: retrying with the same key is safe."""
        return cls(status=Status.NOT_SENT, reason_detail=detail, **kw)


class EventType(StrEnum):
    """What kind of thing an event records."""

    CREATED = "created"
    STATUS = "status"
    PROGRESS = "progress"
    ATTENTION = "attention"
    CALLBACK = "callback"
    NOTE = "note"


class Event(FrozenModel):
    """One appended journal event; ``seq`` orders all events of a journal."""

    seq: int
    payment_id: str
    #: the record's channel, carried from where the event is written or read, so that a
    #: subscriber (metrics by channel) never reads the record back; None on hand-made events
    channel: str | None = None
    at: datetime
    type: EventType
    from_status: Status | None = None
    to_status: Status | None = None
    data: dict[str, JsonValue] = Field(default_factory=dict)
