"""The simulated terminal's cloud: nexo over HTTP (``/sync``, ``/async``), as a vendor runs it.

``SimCloud`` is the app behind a ``SimServer`` on 127.0.0.1. It checks the API key
(``x-api-key``), reads the request, and hands payments, refunds and reversals to the
terminal core in a worker thread (see ``nexo_work``). ``/sync`` answers when the terminal
does, or with a ``Reject`` event when the terminal stays silent longer than the cloud
waits (``cloud_timeout``, 150 s at Adyen); ``/async`` answers ``ok`` and posts the result
to the notification URL, signed with the shared secret (Stripe-style ``t=...,v1=...``
HMAC), retried until acknowledged. Status requests find tickets by SaleID and ServiceID;
aborts reach a payment still waiting for the card. A terminal that is off or not connected
(``terminal.online``) is answered with ``Reject``. The script's faults act here where they
are the cloud's (``cloud_error``, ``lose_request``, ``disconnect_after_approval``,
``late_completion``, ``garble_reply``, notification faults) and in ``nexo_work`` where they
are the terminal's.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from datetime import date, datetime
from typing import Any

from paychannels.drivers.nexo import bodies as b
from paychannels.drivers.nexo import common as c
from paychannels.drivers.nexo.envelope import (
    SaleToPOIRequest,
    SaleToPOIResponse,
    decode_request,
    encode,
)
from paychannels.drivers.nexo.errors import NexoFormatError
from paychannels.drivers.nexo.header import MessageHeader, MessageReference
from paychannels.security.webhooks import TimestampedHmac
from paychannels.simulators.provider.notifier import Notification, Notifier
from paychannels.simulators.provider.server import DROP, Request, Response
from paychannels.simulators.terminal.core import SimTerminal
from paychannels.simulators.terminal.nexo_replies import (
    event,
    failure,
    response_header,
    transaction_response,
)
from paychannels.simulators.terminal.nexo_report import settlement_report
from paychannels.simulators.terminal.nexo_tickets import Ticket
from paychannels.simulators.terminal.nexo_work import amount_of, carry_out

__all__ = ["NOTIFY_HEADER", "SimCloud"]

log = logging.getLogger("paychannels.simulators.terminal.cloud")

NOTIFY_HEADER = "Nexo-Signature"
SCHEDULE = (1, 2, 4, 8, 15, 30, 60, 120, 300)
_JSON = {"Content-Type": "application/json"}
_AFTER_BOOKING = ("disconnect_after_approval", "cloud_error_after_approval", "garble_reply")
_REPORT = re.compile(r"^settlement_detail_report_(\d{4})_(\d{2})_(\d{2})\.csv$")
_FORGER = TimestampedHmac(["a key the receiver does not hold"], header=NOTIFY_HEADER)


class SimCloud:
    """The cloud in front of one simulated terminal; see the module docstring."""

    def __init__(
        self,
        terminal: SimTerminal,
        *,
        poiid: str = "P400Plus-275039202",
        api_key: str | None = None,
        notify_url: str | None = None,
        notify_secret: str | None = None,
        cloud_timeout: float = 150.0,
        time_scale: float = 1.0,
    ) -> None:
        self.terminal = terminal
        self.poiid = poiid
        self.api_key = api_key
        self.notify_url = notify_url
        self.cloud_timeout = cloud_timeout
        self.signer = (
            TimestampedHmac([notify_secret], header=NOTIFY_HEADER) if notify_secret else None
        )
        self.notifier = Notifier(time_scale=time_scale, timeout=5.0, workers=4)
        self.tickets: dict[tuple[str, str], Ticket] = {}
        self._lock = threading.Lock()

    # -- the HTTP app ----------------------------------------------------------------------

    def app(self, request: Request) -> Response:
        """Route one HTTP request (the ``SimServer`` app)."""
        if request.method == "GET" and "/reports/" in request.path:
            return self._report(request)
        if request.method != "POST":
            return _json(405, {"message": "POST nexo messages to .../sync or .../async"})
        endpoint = request.path.rstrip("/").rsplit("/", 1)[-1]
        if endpoint not in ("sync", "async"):
            return _json(404, {"message": f"no {request.path}; use .../sync or .../async"})
        if self.api_key is not None and request.headers.optional("x-api-key") != self.api_key:
            return _json(401, {"status": 401, "errorType": "security", "message": "Unauthorized"})
        try:
            message = decode_request(request.body)
        except NexoFormatError as exc:
            return self._reject(f"MessageFormat: {exc}", None, request.body)
        header = message.MessageHeader
        if self.poiid != header.POIID:
            return self._reject(f"unknown POIID {header.POIID}", message, request.body)
        if not (self.terminal.powered and self.terminal.online):
            return self._reject("Terminal not connected.", message, request.body)
        if message.PaymentRequest is not None or message.ReversalRequest is not None:
            return self._transaction(message, asynchronous=endpoint == "async")
        if endpoint == "async":
            return _json(400, {"message": f"{message.body_name} goes to /sync"})
        if message.TransactionStatusRequest is not None:
            return self._reply(self._status(message))
        if message.AbortRequest is not None:
            self._abort(message)
            return Response(200, {}, b"")
        if message.DiagnosisRequest is not None:
            return self._reply(self._diagnosis(message))
        return Response(200, {"Content-Type": "text/plain"}, b"ok")

    def _report(self, request: Request) -> Response:
        """A day's settlement report (``.../reports/settlement_detail_report_YYYY_MM_DD.csv``)."""
        if self.api_key is not None and request.headers.optional("x-api-key") != self.api_key:
            return _json(401, {"status": 401, "errorType": "security", "message": "Unauthorized"})
        name = request.path.rsplit("/", 1)[-1]
        m = _REPORT.match(name)
        if m is None:
            return _json(404, {"message": f"no report {name[:80]!r}"})
        try:
            day = date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return _json(404, {"message": f"no report {name[:80]!r}"})
        body = settlement_report(self.terminal, day)
        return Response(200, {"Content-Type": "text/csv; charset=utf-8"}, body)

    def _reply(self, message: SaleToPOIResponse | SaleToPOIRequest) -> Response:
        return Response(200, dict(_JSON), encode(message))

    def _reject(self, details: str, message: SaleToPOIRequest | None, raw: bytes) -> Response:
        header = message.MessageHeader if message is not None else None
        note = event(self.poiid, details, datetime.now(), request=header, rejected=raw)
        return self._reply(note)

    # -- payments, refunds, reversals ------------------------------------------------------

    def _transaction(self, message: SaleToPOIRequest, *, asynchronous: bool) -> Response:
        t = self.terminal
        header = message.MessageHeader
        key = (header.SaleID or "", header.ServiceID or "")
        if key in self.tickets:
            refused = failure("NotAllowed", f"ServiceID {header.ServiceID} was used before")
            return self._answer_now(message, refused)
        kind = "payment" if message.PaymentRequest is not None else "refund"
        try:
            amount = amount_of(t, message)
        except NexoFormatError as exc:
            return self._answer_now(message, failure("MessageFormat", str(exc)))
        if amount is None:
            kind = "reversal"
        script, tag = t.take(kind, amount)
        sale = message.PaymentRequest.SaleData if message.PaymentRequest else None
        if message.ReversalRequest is not None:
            sale = message.ReversalRequest.SaleData
        tag = tag or (sale.SaleTransactionID.TransactionID if sale is not None else None)
        if script.has("lose_request"):
            t.note(f"nexo {kind}: the cloud lost the request (lose_request)")
            return DROP
        if script.has("cloud_error"):
            return _json(500, {"message": "internal error (cloud_error)"})
        if script.has("refuse") or not t.busy.acquire(timeout=0.5):
            return self._answer_now(message, failure("Busy", "the terminal is busy"))
        ticket = Ticket(message, script, kind, amount, tag, asynchronous)
        with self._lock:
            self.tickets[key] = ticket
        threading.Thread(target=self._work, args=(ticket,), daemon=True).start()
        if asynchronous and not any(script.has(f) for f in (*_AFTER_BOOKING, "late_completion")):
            return Response(200, {"Content-Type": "text/plain"}, b"ok")
        if not ticket.done.wait(self.cloud_timeout) or ticket.state != "answered":
            return self._reject("Did not receive a response from the POI.", message, b"")
        assert ticket.response is not None
        body = b"ok" if asynchronous else encode(ticket.response)
        return self._after_booking(script.faults, script.fault_delay, body)

    def _after_booking(self, faults: frozenset[str], delay: float, body: bytes) -> Response:
        if "disconnect_after_approval" in faults:
            return DROP
        if "cloud_error_after_approval" in faults:
            return _json(502, {"message": "bad gateway (cloud_error_after_approval)"})
        if "garble_reply" in faults:
            return Response(200, dict(_JSON), body[: len(body) // 2])
        late = delay if "late_completion" in faults else 0.0
        return Response(200, dict(_JSON), body, delay=late)

    def _answer_now(self, message: SaleToPOIRequest, response: c.Response) -> Response:
        return self._reply(transaction_response(self.terminal, message, None, response))

    def _work(self, ticket: Ticket) -> None:
        carry_out(self.terminal, ticket)
        if ticket.asynchronous and ticket.state == "answered" and ticket.response is not None:
            self._notify(ticket)

    # -- notifications ---------------------------------------------------------------------

    def _notify(self, ticket: Ticket) -> None:
        script = ticket.script
        if self.notify_url is None or script.has("drop_notification"):
            return
        assert ticket.response is not None
        body = encode(ticket.response)
        signer = self.signer
        note = Notification(
            provider="nexo",
            number=ticket.key[1],
            url=self.notify_url,
            render=lambda _attempt, variant: (body, self._signed(body, variant, signer)),
            accepted=lambda r: r.status_code == 200,
            schedule=SCHEDULE,
        )
        copies = 2 if script.has("duplicate_notification") else 1
        delay = script.fault_delay if script.has("late_notification") else 0.0
        for _ in range(copies):
            if delay:
                timer = threading.Timer(delay, self.notifier.submit, args=(note,))
                timer.daemon = True
                timer.start()
            else:
                self.notifier.submit(note)

    @staticmethod
    def _signed(body: bytes, variant: str, signer: TimestampedHmac | None) -> dict[str, str]:
        headers = dict(_JSON)
        if signer is None:
            return headers
        if variant == "genuine":
            headers[NOTIFY_HEADER] = signer.sign(body)
        elif variant == "stale":
            an_hour_ago = int(datetime.now().timestamp()) - 3600
            headers[NOTIFY_HEADER] = signer.sign(body, timestamp=an_hour_ago)
        else:  # forged, probe: signed with a key the receiver does not hold
            headers[NOTIFY_HEADER] = _FORGER.sign(body)
        return headers

    # -- status, abort, diagnosis ----------------------------------------------------------

    def _status(self, message: SaleToPOIRequest) -> SaleToPOIResponse:
        asked = message.TransactionStatusRequest
        assert asked is not None
        ref = asked.MessageReference
        with self._lock:
            if ref is not None and ref.ServiceID is not None:
                ticket = self.tickets.get((ref.SaleID or "", ref.ServiceID))
            else:
                ticket = next(reversed(self.tickets.values()), None)
        header = response_header(message.MessageHeader)
        if ticket is None or ticket.state == "lost":
            result = failure("NotFound", "no such transaction")
            return _status_response(header, result, ref, None)
        if ticket.state == "running":
            return _status_response(header, failure("InProgress", "in progress"), ref, None)
        assert ticket.response is not None
        return _status_response(header, c.Response(Result="Success"), ref, ticket.response)

    def _abort(self, message: SaleToPOIRequest) -> None:
        ref = message.AbortRequest.MessageReference if message.AbortRequest else None
        if ref is None:
            return
        with self._lock:
            ticket = self.tickets.get((ref.SaleID or "", ref.ServiceID or ""))
        if ticket is not None and ticket.state == "running":
            self.terminal.note(f"nexo abort for ServiceID {ref.ServiceID}")
            ticket.abort.set()
        else:  # a real terminal ignores it too: nothing of that ServiceID is running
            self.terminal.note(f"nexo abort for ServiceID {ref.ServiceID} ignored: not running")

    def _diagnosis(self, message: SaleToPOIRequest) -> SaleToPOIResponse:
        busy = self.terminal.busy.locked()
        return SaleToPOIResponse(
            MessageHeader=response_header(message.MessageHeader),
            DiagnosisResponse=b.DiagnosisResponse(
                Response=c.Response(Result="Success"),
                POIStatus=b.POIStatus(
                    GlobalStatus="Busy" if busy else "OK",
                    CommunicationOKFlag=True,
                    PEDOKFlag=True,
                    PrinterStatus="OK",
                ),
                HostStatus=[b.HostStatus(AcquirerID="SIMBANK", IsReachableFlag=True)],
            ),
        )

    def truth(self) -> dict[str, Any]:
        """The tickets by ServiceID and state (for tests and the control API)."""
        with self._lock:
            return {f"{k[0]}/{k[1]}": t.state for k, t in self.tickets.items()}

    def close(self) -> None:
        self.notifier.close()


def _status_response(
    header: MessageHeader,
    result: c.Response,
    ref: MessageReference | None,
    original: SaleToPOIResponse | None,
) -> SaleToPOIResponse:
    repeated = None
    if original is not None:
        repeated = b.RepeatedMessageResponse(
            MessageHeader=original.MessageHeader,
            RepeatedResponseMessageBody=b.RepeatedResponseMessageBody(
                PaymentResponse=original.PaymentResponse, ReversalResponse=original.ReversalResponse
            ),
        )
    return SaleToPOIResponse(
        MessageHeader=header,
        TransactionStatusResponse=b.TransactionStatusResponse(
            Response=result, MessageReference=ref, RepeatedMessageResponse=repeated
        ),
    )


def _json(status: int, payload: dict[str, Any]) -> Response:
    return Response(status, dict(_JSON), json.dumps(payload).encode())
