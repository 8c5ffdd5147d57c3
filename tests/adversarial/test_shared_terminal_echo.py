"""A terminal shared by several channels never loses a payment to ZVT's receipt echo.

ZVT's Authorization may carry the ECR's last receipt number (TLV ``1F1F``); a terminal whose
own last receipt is one ahead reverses that last payment on its own, thinking the ECR never
saw it (terminals.md §4). When something else booked on the terminal in between — its cloud
(nexo) front, or another backend with its own journal — that payment is someone else's. The
simulator's shared core (one journal and receipt sequence for the ZVT and nexo fronts) books
exactly as a real terminal does; the trial then compares every journal with it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from paychannels import Collector, InvalidURL, Money, PaymentRequest, Status
from paychannels.drivers.zvt import TerminalChannel, TerminalEvent
from paychannels.simulators.terminal import TerminalSimulator
from tests.adversarial.ledger import compare

API_KEY = "AQEyhmfxK4-shared-api-key-0123456789"
PASSWORD = "246813"
_n = itertools.count(1)


def request() -> PaymentRequest:
    n = next(_n)
    return PaymentRequest(
        payer_id=f"15042219900101{n:04d}",
        amount=Money(f"{n}.00", "CNY"),
        reference=f"echo-{n}",
        idempotency_key=f"echo-{n}",
    )


@pytest.fixture
def sim() -> Iterator[TerminalSimulator]:
    with TerminalSimulator(password=int(PASSWORD)) as made:
        yield made


def add_zvt(col: Collector, sim: TerminalSimulator, name: str, query: str) -> TerminalChannel:
    host, port = sim.tcp.host, sim.tcp.port  # type: ignore[union-attr]
    channel = col.add_channel(name, f"zvt+tcp://{host}:{port}?t3=1&t4=3{query}", password=PASSWORD)
    assert isinstance(channel, TerminalChannel)

    def label(event: TerminalEvent) -> None:
        if event.kind == "command" and event.record_id:
            sim.terminal.tag_next(event.record_id)

    channel.watch(label)
    return channel


@pytest.mark.parametrize("query", ["", "&echo=on"], ids=["default", "echo=on"])
@pytest.mark.parametrize("other", ["cloud", "second-journal", "second-channel"])
@pytest.mark.slow
def test_a_payment_booked_by_another_channel_is_never_reversed(
    sim: TerminalSimulator, tmp_path: Path, other: str, query: str
) -> None:
    sim.serve_tcp("127.0.0.1", 0)
    base = sim.serve_nexo(poiid="P400Plus-1", api_key=API_KEY)
    col = Collector.open(f"sqlite:///{tmp_path}/ours.db", create=True)
    theirs = (
        Collector.open(f"sqlite:///{tmp_path}/theirs.db", create=True)
        if other == "second-journal"
        else col
    )
    try:
        add_zvt(col, sim, "zvt", query)
        if other == "cloud":
            col.add_channel("other", f"nexo+{base}/?poi=P400Plus-1", api_key=API_KEY)
        else:
            add_zvt(theirs, sim, "other", query)
        paid = [
            col.collect(request(), channel="zvt"),
            theirs.collect(request(), channel="other"),  # booked behind our channel's back
            col.collect(request(), channel="zvt"),  # its echo must not reverse the one before
            theirs.collect(request(), channel="other"),
            col.collect(request(), channel="zvt"),
        ]
        assert [p.status for p in paid] == [Status.SUCCEEDED] * 5
        assert not any(t.reversed for t in sim.terminal.journal.txns), sim.terminal.log
        journals = tuple({id(col): col, id(theirs): theirs}.values())
        for journal in journals:
            compare(journal, sim.terminal, others=journals).assert_balanced()
    finally:
        col.close()
        if theirs is not col:
            theirs.close()


def test_echo_on_echoes_the_terminals_own_last_receipt(
    sim: TerminalSimulator, tmp_path: Path
) -> None:
    """On a terminal the channel has to itself, echo=on echoes the receipt it just confirmed."""
    host, port = sim.serve_tcp("127.0.0.1", 0)
    transcript = tmp_path / "zvt.trace"
    with Collector.open(f"sqlite:///{tmp_path}/ours.db", create=True) as col:
        col.add_channel(
            "zvt",
            f"zvt+tcp://{host}:{port}?t3=1&t4=3&echo=on",
            password=PASSWORD,
            transcript=transcript,
        )
        paid = [col.collect(request(), channel="zvt") for _ in range(3)]
        assert [p.status for p in paid] == [Status.SUCCEEDED] * 3
    sent = [line for line in transcript.read_text().splitlines() if "# Authorization" in line]
    assert [("1f1f02" + f"{n:04d}") in line for n, line in enumerate(sent)] == [True] * 3
    assert sim.terminal.journal.charges() == 3


def test_echo_takes_on_or_off_only(tmp_path: Path) -> None:
    with (
        Collector.open(f"sqlite:///{tmp_path}/j.db", create=True) as col,
        pytest.raises(InvalidURL, match="echo='yes' must be on or off"),
    ):
        col.add_channel("zvt", "zvt+tcp://127.0.0.1:1?echo=yes", password=PASSWORD)
