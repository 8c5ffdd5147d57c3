"""Taking the payers' money through one demo channel, as its style requires.

- ``sync`` (terminals): one payment at a time; the clerk retries a payment that provably
  did not leave (same key), the payer offers another card after a decline (a new key), a
  double click sends the same request twice (same key: the same payment comes back); when
  an answer was lost the clerk asks the terminal (``recover`` on the idle channel) before
  deciding on another card, so what the payer does next never depends on how fast the
  machine was.
- ``async`` (mobile): each order is created; the payer pays in the app and the provider's
  callback settles it; a lost or garbled answer is left UNKNOWN for recovery (nothing is
  decided on it).
- ``scan`` (payment codes): a village assistant scans the code each payer shows; a code
  refused as used or expired, or a scan that never left, makes the payer show a new code (a
  new attempt: the code is never kept, so nothing is sent again from the journal); a payer
  who walks away is reversed by the channel; after a lost answer the channel is asked
  before a new code is decided on.
- ``batch`` (bank): all debits at once, request files out, result files back, retryable
  refusals resubmitted until the retry cap; the bank answers each debit by its payer.

Every choice about a payer comes from the day's ``Dice`` (the seed and the payer), never from
the order in which the channels' threads happen to run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from paychannels.channels.bank import resubmit_retryable
from paychannels.collector import Collector
from paychannels.demo.channels import DemoChannel
from paychannels.demo.codes_sim import CodeDesk
from paychannels.demo.dice import Dice
from paychannels.demo.sims import BankSim, Observed, Running
from paychannels.documents.roster import RosterEntry
from paychannels.security.masking import mask_id_number
from paychannels.values.errors import PaychannelsError
from paychannels.values.models import Payment, PaymentRequest, as_payment
from paychannels.values.paymentcode import PaymentCode
from paychannels.values.reasons import Reason
from paychannels.values.status import Status

__all__ = ["Fault", "Plan", "collect", "request_for"]

_BATCH = 5000


@dataclass
class Fault:
    """One injected fault: where, on whose payment, and (later) what became of it."""

    channel: str
    fault: str
    payer: str  # masked
    payment: str = ""
    outcome: str = ""
    resolved: bool = False
    attention: str = ""
    problem: str = ""  # something that must not happen was seen: the fault stays open

    def observe(self, seen: Observed | None) -> None:
        """Note what the simulator saw of the fault."""
        if seen is None:
            return
        self.outcome = f"{self.outcome}; {seen.text}" if self.outcome else seen.text
        if seen.wrong:
            self.problem = seen.text


@dataclass
class Plan:
    """What one channel does during the day: its payers and the faults armed for them."""

    channel: DemoChannel
    running: Running
    payers: list[RosterEntry] = field(default_factory=list)
    faults: dict[int, str] = field(default_factory=dict)  # payer index -> fault
    found: list[Fault] = field(default_factory=list)


def request_for(
    entry: RosterEntry, channel: DemoChannel, dice: Dice, *, key_suffix: str = ""
) -> PaymentRequest:
    """The payment request for a payer on a channel, with who collects it (whether an
    assistant helps is the payer's, on that channel: the same on every attempt)."""
    operator = channel.clerk
    helped = dice.chance(channel.assisted, "assisted", channel.name, entry.payer_id)
    if operator is None and helped:
        operator = f"协理员-{entry.township}-{entry.village}"[:64]
    req = entry.request(channel.name)
    update: dict[str, object] = {"operator": operator}
    if key_suffix:
        update["idempotency_key"] = req.idempotency_key + key_suffix
    return req.model_copy(update=update)


def collect(col: Collector, plan: Plan, dice: Dice, tick: Callable[[int], None]) -> None:
    """Run the channel's payers through it."""
    match plan.channel.style:
        case "sync":
            _sync(col, plan, dice, tick)
        case "async":
            _async(col, plan, dice, tick)
        case "scan":
            _scan(col, plan, dice, tick)
        case "batch":
            _batch(col, plan, dice, tick)


def _fault(plan: Plan, i: int, entry: RosterEntry) -> Fault | None:
    name = plan.faults.get(i)
    if name is None:
        return None
    fault = Fault(plan.channel.name, name, mask_id_number(entry.payer_id))
    plan.found.append(fault)
    if name != "duplicate submission":
        plan.running.inject(name)
    return fault


def _send(col: Collector, req: PaymentRequest, name: str) -> Payment | None:
    """Collect; a payment that provably never left is sent again (same key, up to 3 times)."""
    payment: Payment | None = None
    for _ in range(3):
        try:
            payment = col.collect(req, channel=name)
        except PaychannelsError:
            return payment  # refused by the journal (an attempt still open): recovery decides
        if payment.status is not Status.NOT_SENT:
            return payment
    return payment


def _asked(col: Collector, payment: Payment | None, name: str) -> Payment | None:
    """What the clerk decides on (another card, a new code): the answer, or when it was lost
    (a slow machine loses more), what the channel says when asked — the same either way."""
    if payment is None or payment.status not in (Status.UNKNOWN, Status.DISPATCHED):
        return payment
    col.recover(channel=name)  # the channel is idle: only this payment is in doubt on it
    return as_payment(col.status(payment.id))


def _sync(col: Collector, plan: Plan, dice: Dice, tick: Callable[[int], None]) -> None:
    name = plan.channel.name
    for i, entry in enumerate(plan.payers):
        fault = _fault(plan, i, entry)
        req = request_for(entry, plan.channel, dice)
        payment = _send(col, req, name)
        if fault is not None and payment is not None:
            fault.payment = payment.id
            if fault.fault == "duplicate submission":  # the clerk clicks twice
                again = col.collect(req, channel=name)
                fault.observe(
                    Observed("same payment returned")
                    if again.id == payment.id
                    else Observed(f"a second payment {again.id} was made", wrong=True)
                )
        if fault is not None:
            fault.observe(plan.running.after(fault.fault, payment.id if payment else None))
        payment = _asked(col, payment, name)
        if payment is not None and payment.status is Status.DECLINED:
            _send(col, request_for(entry, plan.channel, dice, key_suffix="~card2"), name)
        tick(1)


def _async(col: Collector, plan: Plan, dice: Dice, tick: Callable[[int], None]) -> None:
    name = plan.channel.name
    for i, entry in enumerate(plan.payers):
        fault = _fault(plan, i, entry)
        payment = _send(col, request_for(entry, plan.channel, dice), name)
        if fault is not None:
            fault.payment = payment.id if payment is not None else ""
            fault.observe(plan.running.after(fault.fault, payment.id if payment else None))
        tick(1)


#: answers after which the payer refreshes the code and shows it again (a new attempt)
_SCAN_AGAIN = {Reason.CODE_USED, Reason.CODE_EXPIRED}


def _scan(col: Collector, plan: Plan, dice: Dice, tick: Callable[[int], None]) -> None:
    codes = plan.running
    assert isinstance(codes, CodeDesk)
    name = plan.channel.name
    last: str | None = None  # the code read just before (a scanner may read it twice)
    for i, entry in enumerate(plan.payers):
        fault = _fault(plan, i, entry)
        req = request_for(entry, plan.channel, dice)
        twice = fault is not None and fault.fault == "code scanned twice" and last is not None
        code = last if twice and last is not None else codes.code()
        payment = _scanned(col, req, code, name)
        final = _asked(col, payment, name)
        if final is not None and (
            final.status is Status.NOT_SENT
            or (final.status is Status.DECLINED and final.reason in _SCAN_AGAIN)
        ):
            again = req.model_copy(update={"idempotency_key": req.idempotency_key + "~rescan"})
            _scanned(col, again, codes.code(), name)
        if fault is not None:
            fault.payment = payment.id if payment is not None else ""
            if payment is not None:
                why = f" {payment.reason.value}" if payment.reason else ""
                fault.outcome = f"first answer {payment.status.value}{why}"
            fault.observe(codes.after(fault.fault, payment.id if payment else None))
        last = code
        tick(1)


def _scanned(col: Collector, req: PaymentRequest, code: str, name: str) -> Payment | None:
    """One scan, sent once (a code is never sent twice: no retry here)."""
    try:
        scanned = req.model_copy(update={"payment_code": PaymentCode.parse(code)})
        return col.collect(scanned, channel=name)
    except PaychannelsError:
        return None  # refused before anything was sent (an attempt still open, a bad code)


def _batch(col: Collector, plan: Plan, dice: Dice, tick: Callable[[int], None]) -> None:
    bank = plan.running
    assert isinstance(bank, BankSim)
    name = plan.channel.name
    # a debit's scripted answer is armed for its payer (the bank answers by whose debit it
    # is, not by where it lands in a file); the rest concern no payment
    faulted: dict[str, Fault] = {}
    others: list[Fault] = []
    for i, fault_name in sorted(plan.faults.items()):
        if fault_name in bank.debit_faults:
            entry = plan.payers[i]
            faulted[entry.payer_id] = Fault(name, fault_name, mask_id_number(entry.payer_id))
            bank.arm(entry.payer_id, fault_name)
        else:
            others.append(Fault(name, fault_name, ""))
            bank.inject(fault_name)
    plan.found += [*faulted.values(), *others]
    for start in range(0, len(plan.payers), _BATCH):
        chunk: Sequence[RosterEntry] = plan.payers[start : start + _BATCH]
        for p in col.collect_many([request_for(e, plan.channel, dice) for e in chunk], name):
            if isinstance(p, Payment):
                bank.expect(p.id, p.payer_id)
                if p.payer_id in faulted:
                    faulted[p.payer_id].payment = p.id
        tick(len(chunk))
    bank.answer(col, name)
    for _ in range(3):  # retryable refusals go out again, up to the channel's retry cap
        if not resubmit_retryable(col, name).resubmitted:
            break
        bank.answer(col, name)
    for fault in others:
        fault.observe(bank.after(fault.fault, None))
