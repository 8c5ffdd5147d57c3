"""The dialogues behind fixtures/zvt/*.trace: recorded from the simulator, replayed by tests.

Each scenario drives a Collector with a fresh journal through a ``zvt`` channel and returns
the statuses it saw. ``record_fixtures`` runs them against the simulator (fixed clock) with
the spy on; ``test_replay`` runs them again against a peer that replays the terminal's half
of the transcript and checks our half byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from paychannels import Collector, Money, PaymentRequest
from paychannels.drivers.zvt import TerminalChannel
from paychannels.simulators.terminal import Script

PASSWORD = "246813"
OPTIONS = "t3=1&t4=2&t2=1"
CLOCK = datetime(2026, 1, 5, 9, 30, 0)

Push = Callable[[Script], None]


@dataclass(frozen=True)
class Scenario:
    transport: str
    run: Callable[[Collector, TerminalChannel, Push], list[str]]


def request(n: int, amount: str = "380.00") -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"15042219900101{n:04d}",
        amount=Money(amount, "CNY"),
        reference="2026-养老",
        idempotency_key=f"fixture-{n}",
    )


def pay(col: Collector, n: int = 1, amount: str = "380.00") -> str:
    return col.collect(request(n, amount), channel="hall-1").status.value


def approved(col: Collector, ch: TerminalChannel, push: Push) -> list[str]:
    return [pay(col)]


def declined(col: Collector, ch: TerminalChannel, push: Push) -> list[str]:
    push(Script(outcome="decline", result_code=0x05))
    return [pay(col)]


def cardholder_abort(col: Collector, ch: TerminalChannel, push: Push) -> list[str]:
    push(Script(outcome="cardholder_abort"))
    return [pay(col)]


def refund(col: Collector, ch: TerminalChannel, push: Push) -> list[str]:
    p = col.collect(request(1), channel="hall-1")
    r = col.refund(p.id, Money("100.00", "CNY"))
    return [p.status.value, r.status.value]


def reversal(col: Collector, ch: TerminalChannel, push: Push) -> list[str]:
    p = col.collect(request(1), channel="hall-1")
    return [p.status.value, col.cancel(p.id).status.value]


def end_of_day(col: Collector, ch: TerminalChannel, push: Push) -> list[str]:
    out = [pay(col, 1), pay(col, 2, "20.00")]
    totals = ch.end_of_day(col.channel_context("hall-1"))
    return [*out, str(totals.total), str(totals.count)]


def lost_reply(col: Collector, ch: TerminalChannel, push: Push) -> list[str]:
    push(Script(faults=frozenset({"disconnect_after_approval"})))
    p = col.collect(request(1), channel="hall-1")
    col.recover()
    return [p.status.value, col.status(p.id).status.value]


def corrupt_frame(col: Collector, ch: TerminalChannel, push: Push) -> list[str]:
    push(Script(faults=frozenset({"corrupt_frame"})))
    return [pay(col)]


def status(col: Collector, ch: TerminalChannel, push: Push) -> list[str]:
    answer = ch.status()
    return [answer.text, str(answer.terminal_id), answer.software]


SCENARIOS: dict[str, Scenario] = {
    "payment_approved_tcp": Scenario("tcp", approved),
    "payment_approved_serial": Scenario("serial", approved),
    "payment_declined_tcp": Scenario("tcp", declined),
    "payment_cardholder_abort_serial": Scenario("serial", cardholder_abort),
    "payment_lost_reply_tcp": Scenario("tcp", lost_reply),
    "payment_crc_error_serial": Scenario("serial", corrupt_frame),
    "refund_approved_tcp": Scenario("tcp", refund),
    "reversal_approved_tcp": Scenario("tcp", reversal),
    "end_of_day_totals_serial": Scenario("serial", end_of_day),
    "status_ready_tcp": Scenario("tcp", status),
}

#: what each scenario must return, recorded and replayed alike
EXPECTED: dict[str, list[str]] = {
    "payment_approved_tcp": ["SUCCEEDED"],
    "payment_approved_serial": ["SUCCEEDED"],
    "payment_declined_tcp": ["DECLINED"],
    "payment_cardholder_abort_serial": ["DECLINED"],
    "payment_lost_reply_tcp": ["UNKNOWN", "SUCCEEDED"],
    "payment_crc_error_serial": ["SUCCEEDED"],
    "refund_approved_tcp": ["SUCCEEDED", "SUCCEEDED"],
    "reversal_approved_tcp": ["SUCCEEDED", "REVERSED"],
    "end_of_day_totals_serial": ["SUCCEEDED", "SUCCEEDED", "¥400.00", "2"],
    "status_ready_tcp": ["ready", "29001234", "paychannels-sim 1.0"],
}
