"""Every reply the simulated cloud can give validates against Adyen's published Terminal API
models (``fixtures/nexo/schema``, written from Adyen's typings, not from our models).

The requests are written by hand in Adyen's shape and sent over real HTTP on 127.0.0.1; the
asynchronous result is caught as the cloud posts it to a notification URL.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from paychannels.simulators.provider.server import Request, Response, SimServer
from paychannels.simulators.terminal import Script, TerminalSimulator

SCHEMA_FILE = (
    Path(__file__).parents[2]
    / "fixtures"
    / "nexo"
    / "schema"
    / "terminal_api_responses.schema.json"
)
POIID = "P400Plus-275039202"
SALE = "POSSystemID12345"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _header(category: str, service_id: str, poiid: str = POIID) -> dict[str, str]:
    return {
        "ProtocolVersion": "3.0",
        "MessageClass": "Service",
        "MessageCategory": category,
        "MessageType": "Request",
        "ServiceID": service_id,
        "SaleID": SALE,
        "POIID": poiid,
    }


def _sale(sid: str) -> dict[str, Any]:
    return {"SaleTransactionID": {"TransactionID": f"T-{sid}", "TimeStamp": _now()}}


def _request(category: str, sid: str, name: str, body: Any) -> Any:
    return {"SaleToPOIRequest": {"MessageHeader": _header(category, sid), name: body}}


def _ref(category: str, service_id: str) -> dict[str, str]:
    return {"MessageCategory": category, "SaleID": SALE, "ServiceID": service_id}


def payment(sid: str, amount: float = 10.99, currency: str = "CNY", poiid: str = POIID) -> Any:
    return {
        "SaleToPOIRequest": {
            "MessageHeader": _header("Payment", sid, poiid),
            "PaymentRequest": {
                "SaleData": {
                    "SaleTransactionID": {"TransactionID": f"T-{sid}", "TimeStamp": _now()}
                },
                "PaymentTransaction": {
                    "AmountsReq": {"Currency": currency, "RequestedAmount": amount}
                },
            },
        }
    }


def reversal(sid: str, original: dict[str, str], amount: float | None = None) -> Any:
    body: dict[str, Any] = {
        "OriginalPOITransaction": {"POITransactionID": original, "SaleID": SALE, "POIID": POIID},
        "ReversalReason": "MerchantCancel",
        "SaleData": _sale(sid),
    }
    if amount is not None:
        body["ReversedAmount"] = amount
    return {
        "SaleToPOIRequest": {"MessageHeader": _header("Reversal", sid), "ReversalRequest": body}
    }


def status(sid: str, of: str | None) -> Any:
    asked: dict[str, Any] = {}
    if of is not None:
        asked["MessageReference"] = _ref("Payment", of)
    request = {"MessageHeader": _header("TransactionStatus", sid)}
    return {"SaleToPOIRequest": {**request, "TransactionStatusRequest": asked}}


def abort(sid: str, of: str) -> Any:
    body = {"MessageReference": _ref("Payment", of), "AbortReason": "MerchantAbort"}
    return {"SaleToPOIRequest": {"MessageHeader": _header("Abort", sid), "AbortRequest": body}}


def diagnosis(sid: str) -> Any:
    body = {"HostDiagnosisFlag": True, "POIID": POIID}
    return {
        "SaleToPOIRequest": {"MessageHeader": _header("Diagnosis", sid), "DiagnosisRequest": body}
    }


class Cloud:
    """The simulator's cloud, a notification catcher, and every answer seen (kind, body)."""

    def __init__(self) -> None:
        self.notes: list[bytes] = []
        self.catcher = SimServer(self._catch).start()
        self.sim = TerminalSimulator(card="6222021234567890123")
        self.base = self.sim.serve_nexo(
            poiid=POIID, notify_url=f"{self.catcher.url}/notify", cloud_timeout=1.0
        )
        self.http = httpx.Client(base_url=self.base, timeout=10.0)
        self.seen: list[tuple[str, bytes]] = []

    def _catch(self, request: Request) -> Response:
        self.notes.append(request.body)
        return Response(200, {}, b"[accepted]")

    def script(self, **fields: Any) -> None:
        fields["faults"] = frozenset(fields.get("faults", ()))
        self.sim.terminal.scripts.push(Script(**fields))

    def post(self, what: str, message: Any, endpoint: str = "sync") -> Any:
        reply = self.http.post(f"/{endpoint}", content=json.dumps(message).encode())
        assert reply.status_code == 200, f"{what}: HTTP {reply.status_code} {reply.text[:200]}"
        self.seen.append((what, reply.content))
        return json.loads(reply.content) if reply.content.strip() not in (b"", b"ok") else None

    def close(self) -> None:
        self.http.close()
        self.sim.close()
        self.catcher.stop()


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    c = Cloud()
    yield c
    c.close()


def _poi_id(reply: Any) -> dict[str, str]:
    return reply["SaleToPOIResponse"]["PaymentResponse"]["POIData"]["POITransactionID"]


def _wait(check: Any, seconds: float = 8.0) -> bool:
    end = time.monotonic() + seconds
    while not check():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def _every_reply(c: Cloud) -> None:
    """Drive the cloud through every kind of answer it gives."""
    approved = c.post("approve", payment("ap1"))
    for n, outcome in enumerate(
        ("decline", "insufficient_funds", "pin_timeout", "cardholder_abort")
    ):
        c.script(outcome=outcome)
        c.post(outcome, payment(f"out{n}"))
    c.post("status found", status("st1", "ap1"))
    c.post("status not found", status("st2", "nosuch"))
    c.post("status of the last", status("st3", None))
    c.post("duplicate ServiceID", payment("ap1"))
    c.post("wrong currency", payment("eur1", currency="EUR"))
    c.post("unknown POIID", payment("poi1", poiid="V400m-000000001"))
    c.post("refund", reversal("rf1", _poi_id(approved), amount=1.00))
    c.post("refund too much", reversal("rf2", _poi_id(approved), amount=999.00))
    c.post("void", reversal("vd1", _poi_id(approved)))
    c.post("void again", reversal("vd2", _poi_id(approved)))
    c.post("diagnosis", diagnosis("dg1"))
    # abort: a payment waits for the card while the abort and a status request come in
    c.script(card_delay=20.0)
    waiting = threading.Thread(target=c.post, args=("aborted payment", payment("ab1")))
    waiting.start()
    assert c.sim.cloud is not None
    truth = c.sim.cloud.truth
    assert _wait(lambda: truth().get(f"{SALE}/ab1") == "running"), truth()
    c.post("status in progress", status("st4", "ab1"))
    c.post("abort request", abort("abx1", "ab1"))
    c.post("abort of nothing", abort("abx2", "nosuch"))
    waiting.join(10)
    assert not waiting.is_alive()
    # the cloud gives up on a silent terminal
    c.script(card_delay=3.0)
    c.post("cloud timeout", payment("ct1"))
    assert _wait(lambda: truth().get(f"{SALE}/ct1") != "running"), truth()
    # asynchronous: answered "ok", the result posted to the notification URL
    assert c.post("async accepted", payment("as1"), endpoint="async") is None
    assert _wait(lambda: len(c.notes) >= 1), truth()
    c.seen += [("async notification", note) for note in c.notes]
    c.sim.terminal.online = False
    c.post("terminal offline", payment("off1"))
    c.sim.terminal.online = True


def test_every_reply_validates_against_the_published_models(cloud: Cloud) -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    _every_reply(cloud)
    kinds = set()
    problems = []
    for what, body in cloud.seen:
        if body.strip() in (b"", b"ok"):  # an abort's empty 200, an async "ok"
            kinds.add(f"{what} (empty)")
            continue
        message = json.loads(body)
        outer = message.get("SaleToPOIResponse") or message.get("SaleToPOIRequest") or {}
        kinds.add(f"{what}: {'/'.join(sorted(k for k in outer if k != 'MessageHeader'))}")
        error = jsonschema.exceptions.best_match(validator.iter_errors(message))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path)
            problems.append(f"{what}: {where}: {error.message[:160]}")
    assert not problems, "\n".join(problems)
    # every kind of body was met (a scenario that silently answered otherwise would hide)
    bodies = {k.split(": ", 1)[-1] for k in kinds}
    assert {
        "PaymentResponse",
        "ReversalResponse",
        "TransactionStatusResponse",
        "DiagnosisResponse",
        "EventNotification",
    } <= bodies, sorted(kinds)
    assert any(k.startswith("aborted payment: PaymentResponse") for k in kinds), sorted(kinds)
    assert any(k.startswith("async notification: PaymentResponse") for k in kinds), sorted(kinds)
    assert any(k.startswith("cloud timeout: EventNotification") for k in kinds), sorted(kinds)


def test_the_schema_refuses_a_payment_response_without_poidata() -> None:
    """The schema has teeth: the abort answer as the simulator used to give it is refused."""
    schema = json.loads(SCHEMA_FILE.read_text())
    header = {**_header("Payment", "x1"), "MessageType": "Response"}
    sale = {"SaleTransactionID": {"TransactionID": "T-x1", "TimeStamp": _now()}}
    body = {"Response": {"Result": "Failure", "ErrorCondition": "Aborted"}, "SaleData": sale}
    message = {"SaleToPOIResponse": {"MessageHeader": header, "PaymentResponse": body}}
    with pytest.raises(jsonschema.ValidationError, match="'POIData' is a required property"):
        jsonschema.validate(message, schema)
