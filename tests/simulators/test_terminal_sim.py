"""The terminal simulator on its own: its control API over HTTP, scripts and rules, its journal."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from paychannels.drivers.zvt.client import ClientConfig, ZvtClient
from paychannels.links import open_link
from paychannels.simulators.terminal import Rule, Script, ScriptBook, SimJournal, TerminalSimulator


@pytest.fixture
def sim() -> Iterator[TerminalSimulator]:
    s = TerminalSimulator(password=123456, ack_timeout=1.0)
    yield s
    s.close()


def call(base: str, path: str, body: object | None = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def client(sim: TerminalSimulator) -> ZvtClient:
    host, port = sim.serve_tcp("127.0.0.1", 0)
    return ZvtClient(
        open_link(f"tcp://{host}:{port}", do_not_open=True), "tcp", ClientConfig(password=123456)
    )


@pytest.mark.slow
def test_control_api_scripts_rules_and_truth(sim: TerminalSimulator) -> None:
    base = sim.serve_control()
    zvt = client(sim)
    assert (
        call(
            base, "/script", [{"outcome": "decline", "result_code": "78"}, {"outcome": "approve"}]
        )[0]
        == 200
    )
    code, body = call(
        base,
        "/rules",
        [{"kind": "payment", "min_amount": 50000, "script": {"outcome": "insufficient_funds"}}],
    )
    assert (code, body) == (200, {"rules": 1})
    with zvt.session() as s:
        declined = s.authorize(100, last_receipt=None)
        approved = s.authorize(200, last_receipt=None)
        poor = s.authorize(60000, last_receipt=None)
    assert declined.abort is not None and declined.abort.result_code == 0x78
    assert approved.completion is not None
    assert poor.abort is not None and poor.abort.result_code == 51
    code, truth = call(base, "/truth")
    assert code == 200 and truth["charges"] == 1
    assert [t["amount"] for t in truth["journal"]["txns"]] == [100, 200, 60000]
    assert call(base, "/reset", {})[0] == 200 and sim.terminal.scripts.rules == []


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/script", {"outcome": "explode"}, 400, "unknown outcome"),
        ("/script", {"faults": ["meteor"]}, 400, "unknown fault"),
        ("/script", {"speed": 3}, 400, "unknown script field"),
        ("/line", {"mode": "smoke"}, 400, "mode must be one of"),
        ("/nothing", {}, 404, "GET /help"),
    ],
)
@pytest.mark.slow
def test_control_api_refuses_nonsense(
    sim: TerminalSimulator, path: str, body: object, status: int, message: str
) -> None:
    code, answer = call(sim.serve_control(), path, body)
    assert code == status and message in answer["error"]


@pytest.mark.slow
def test_help_lists_outcomes_and_faults(sim: TerminalSimulator) -> None:
    code, body = call(sim.serve_control(), "/help")
    assert code == 200 and "power_cycle" in body["faults"] and "pin_timeout" in body["outcomes"]


@pytest.mark.slow
def test_power_cycle_refuses_connections_then_comes_back(sim: TerminalSimulator) -> None:
    zvt = client(sim)
    with zvt.session() as s:
        assert s.status().ready
    sim.terminal.power_cycle(0.5)
    from paychannels import LinkConnectError

    with pytest.raises(LinkConnectError), zvt.session():
        pass
    import time

    time.sleep(0.8)
    with zvt.session() as s:
        assert s.status().ready
    assert not sim.terminal.registered  # forgotten with the power


def test_an_echoed_receipt_one_behind_reverses_the_last_payment(sim: TerminalSimulator) -> None:
    zvt = client(sim)
    with zvt.session() as s:
        first = s.authorize(100, last_receipt=None)
        assert first.info is not None and first.info.receipt == 1
        # an ECR that never saw receipt 1 echoes 0: the terminal reverses it (terminals.md §4)
        s.authorize(200, last_receipt=0)
    txns = sim.terminal.journal.txns
    assert txns[0].reversed and txns[0].reversed_implicitly and not txns[1].reversed
    assert sim.terminal.journal.charges() == 1


def test_the_journal_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "terminal.json"
    with TerminalSimulator(password=123456, journal=path) as sim, client(sim).session() as s:
        s.authorize(500, last_receipt=None)
    reopened = SimJournal.open(path)
    assert [(t.receipt, t.amount) for t in reopened.txns] == [(1, 500)]
    assert (
        reopened.book(
            kind="payment", amount=1, currency=156, result_code=0, card="1" * 16, at="x"
        ).receipt
        == 2
    )


def test_scripts_queue_before_rules_before_the_default() -> None:
    book = ScriptBook(default=Script(outcome="decline"))
    book.rules.append(Rule(Script(outcome="insufficient_funds"), kind="refund"))
    book.push(Script(outcome="approve"))
    assert book.peek("payment", 1).outcome == "approve"
    assert book.take("payment", 1).outcome == "approve"
    assert book.take("refund", 1).outcome == "insufficient_funds"
    assert book.take("payment", 1).outcome == "decline"
    with pytest.raises(ValueError, match="card must be"):
        Script(card="12")
