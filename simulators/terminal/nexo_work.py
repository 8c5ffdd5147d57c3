"""The simulated terminal carrying out a nexo payment, refund or reversal on the shared core.

Runs in the worker thread the cloud starts for a ticket, holding the terminal (its ``busy``
lock, the same one the ZVT front takes, so one transaction runs at a time whichever way it
came). Faults that happen *at the terminal* are applied here: a power cut before booking
(the ticket is lost) or after it (booked, never answered: the ticket is silent).
"""

from __future__ import annotations

from paychannels.drivers.nexo.common import Response
from paychannels.drivers.nexo.envelope import SaleToPOIRequest
from paychannels.drivers.nexo.errors import NexoFormatError
from paychannels.drivers.nexo.outcomes import to_money
from paychannels.simulators.terminal.core import INSERT_CARD, Booking, Interrupted, SimTerminal
from paychannels.simulators.terminal.nexo_replies import (
    failure,
    trace_of,
    transaction_response,
)
from paychannels.simulators.terminal.nexo_tickets import Ticket, TicketFront

__all__ = ["amount_of", "carry_out"]


def amount_of(terminal: SimTerminal, ticket_request: SaleToPOIRequest) -> int | None:
    """The minor units a payment asks for, or a refund gives back (None: a full reversal)."""
    currency = terminal.currency.code
    if ticket_request.PaymentRequest is not None:
        amounts = ticket_request.PaymentRequest.PaymentTransaction.AmountsReq
        if amounts.Currency != currency or amounts.RequestedAmount is None:
            raise NexoFormatError(f"this terminal takes {currency} with a RequestedAmount")
        return to_money(amounts.RequestedAmount, currency, where="RequestedAmount").minor
    reversal = ticket_request.ReversalRequest
    if reversal is None or reversal.ReversedAmount is None:
        return None
    return to_money(reversal.ReversedAmount, currency, where="ReversedAmount").minor


def carry_out(terminal: SimTerminal, ticket: Ticket) -> None:
    """Run the ticket's transaction and finish the ticket; releases ``terminal.busy``."""
    try:
        _run(terminal, ticket)
    finally:
        terminal.busy.release()


def _run(terminal: SimTerminal, ticket: Ticket) -> None:
    front = TicketFront(terminal, ticket)
    script = ticket.script
    try:
        if script.has("power_cycle"):
            front.show(INSERT_CARD)
            terminal.power_cycle(script.off_for)
            raise Interrupted("power")
        outcome = _transaction(terminal, ticket, front)
    except Interrupted as stop:
        terminal.note(f"nexo {ticket.kind} interrupted before booking: {stop.reason}")
        if stop.reason == "abort":
            aborted = failure("Aborted", "Aborted by the sale system")
            ticket.finish("answered", transaction_response(terminal, ticket.request, None, aborted))
        else:
            ticket.finish("lost")
        return
    if isinstance(outcome, Booking):
        response = transaction_response(terminal, ticket.request, outcome.txn)
    else:
        response = transaction_response(terminal, ticket.request, None, outcome)
    if script.has("power_cycle_after_booking"):
        terminal.power_cycle(script.off_for)
        ticket.finish("silent", response)
        return
    ticket.finish("answered", response)


def _transaction(terminal: SimTerminal, ticket: Ticket, front: TicketFront) -> Booking | Response:
    request = ticket.request
    if request.PaymentRequest is not None:
        assert ticket.amount is not None
        return terminal.authorize(
            front, ticket.amount, last_receipt=None, script=ticket.script, tag=ticket.tag
        )
    reversal = request.ReversalRequest
    assert reversal is not None
    named = reversal.OriginalPOITransaction.POITransactionID
    trace = trace_of(named.TransactionID) if named is not None else None
    original = terminal.journal.by_trace(trace) if trace is not None else None
    if original is None or original.kind != "payment" or not original.approved:
        return failure("NotAllowed", "no such approved payment at this terminal")
    if ticket.amount is None:
        if original.reversed:
            return failure("NotAllowed", "the payment is already reversed")
        booking = terminal.reverse(front, original.receipt, script=ticket.script, tag=ticket.tag)
        if booking.txn is None:
            return failure(
                "NotAllowed", f"the terminal cannot reverse it ({booking.result_code:02X})"
            )
        return booking
    left = original.amount - terminal.journal.refunded(original.receipt, original.batch)
    if original.reversed or ticket.amount > left:
        return failure("NotAllowed", f"refund exceeds what is left of the payment ({left})")
    return terminal.refund(
        front,
        ticket.amount,
        script=ticket.script,
        tag=ticket.tag,
        original_receipt=original.receipt,
    )
