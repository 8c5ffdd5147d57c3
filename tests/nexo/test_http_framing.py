"""The simulated cloud reads a request however a standard HTTP client frames it.

Adyen's Node client posts with ``Transfer-Encoding: chunked`` (no Content-Length); curl sends
``Expect: 100-continue`` for larger bodies; every client keeps connections alive. The bodies
here are written by hand in Adyen's Terminal API shape, not built by our driver.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from paychannels.simulators.terminal import TerminalSimulator

POIID = "P400Plus-275039202"
KEY = "framing-test-key"


def _header(category: str, service_id: str) -> dict[str, str]:
    return {
        "ProtocolVersion": "3.0",
        "MessageClass": "Service",
        "MessageCategory": category,
        "MessageType": "Request",
        "ServiceID": service_id,
        "SaleID": "POSSystemID12345",
        "POIID": POIID,
    }


def _payment(service_id: str) -> bytes:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps(
        {
            "SaleToPOIRequest": {
                "MessageHeader": _header("Payment", service_id),
                "PaymentRequest": {
                    "SaleData": {
                        "SaleTransactionID": {"TransactionID": f"T-{service_id}", "TimeStamp": now}
                    },
                    "PaymentTransaction": {
                        "AmountsReq": {"Currency": "CNY", "RequestedAmount": 10.99}
                    },
                },
            }
        }
    ).encode()


def _diagnosis(service_id: str) -> bytes:
    request = {
        "MessageHeader": _header("Diagnosis", service_id),
        "DiagnosisRequest": {"HostDiagnosisFlag": True, "POIID": POIID},
    }
    return json.dumps({"SaleToPOIRequest": request}).encode()


@pytest.fixture
def cloud() -> Iterator[str]:
    sim = TerminalSimulator(card="6222021234567890123")
    try:
        yield sim.serve_nexo(poiid=POIID, api_key=KEY, cloud_timeout=5.0)
    finally:
        sim.close()


def _response_body(reply: dict[str, object], name: str) -> dict[str, object]:
    outer = reply["SaleToPOIResponse"]
    assert isinstance(outer, dict), reply
    body = outer.get(name)
    assert isinstance(body, dict), f"no {name} in {reply}"
    return body


def test_chunked_body_from_a_real_client_is_read(cloud: str) -> None:
    payload = _payment("chunk1")

    def pieces() -> Iterator[bytes]:  # a generator body: httpx frames it chunked
        yield payload[:40]
        yield payload[40:]

    with httpx.Client(timeout=10.0) as client:
        request = client.build_request(
            "POST",
            f"{cloud}/sync",
            content=pieces(),
            headers={"x-api-key": KEY, "Content-Type": "application/json"},
        )
        assert request.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in request.headers
        reply = client.send(request)
    assert reply.status_code == 200, reply.text
    body = _response_body(reply.json(), "PaymentResponse")
    assert body["Response"]["Result"] == "Success", reply.text  # type: ignore[index]


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    """One HTTP/1.1 response with Content-Length off ``sock`` (bounded by the socket timeout)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed mid-head: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = {k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:])}
    length = int(fields.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(4096)
        assert chunk, "connection closed mid-body"
        rest += chunk
    assert len(rest) == length, f"bytes beyond the answer: {rest[length:]!r}"
    return status, rest


def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5.0)
    sock.settimeout(5.0)
    return sock


def _head(body_framing: str, extra: str = "") -> bytes:
    return (
        f"POST /sync HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {KEY}\r\n"
        f"Content-Type: application/json\r\n{body_framing}{extra}\r\n"
    ).encode()


def test_expect_100_continue_is_answered_before_the_body(cloud: str) -> None:
    payload = _diagnosis("expect1")
    with _connect(cloud) as sock:
        sock.sendall(_head(f"Content-Length: {len(payload)}\r\n", "Expect: 100-continue\r\n"))
        interim = sock.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100"), interim
        sock.sendall(payload)
        status, body = _read_response(sock)
    assert status == 200
    assert _response_body(json.loads(body), "DiagnosisResponse")["Response"] == {
        "Result": "Success"
    }


def test_chunked_with_expect_and_keep_alive_on_one_connection(cloud: str) -> None:
    """Two requests on one connection, the first chunked behind ``Expect: 100-continue``."""
    first, second = _diagnosis("keep1"), _diagnosis("keep2")
    chunked = (
        b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (first[:25], first[25:]))
        + b"0\r\n\r\n"
    )
    with _connect(cloud) as sock:
        sock.sendall(_head("Transfer-Encoding: chunked\r\n", "Expect: 100-continue\r\n"))
        assert sock.recv(4096).startswith(b"HTTP/1.1 100")
        sock.sendall(chunked)
        status, body = _read_response(sock)
        assert status == 200
        head = json.loads(body)["SaleToPOIResponse"]
        assert head["MessageHeader"]["ServiceID"] == "keep1", body
        assert "DiagnosisResponse" in head, body
        sock.sendall(_head(f"Content-Length: {len(second)}\r\n") + second)
        status, body = _read_response(sock)
    assert status == 200
    assert json.loads(body)["SaleToPOIResponse"]["MessageHeader"]["ServiceID"] == "keep2"
