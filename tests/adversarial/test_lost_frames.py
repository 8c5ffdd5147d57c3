"""Lost frames on the serial protocols: a booking frame is never resent blindly.

The fault is a ``FaultLink`` around the driver's real link (a pty opened with pyserial, or
a TCP socket): the answer line silent for a while right after the booking request left (the
terminal's ACK lost, and its answer too if the silence lasts), or our ACK of the answer
lost. Each trial pays, recovers and then compares the journal with the simulated terminal's
own ledger: 0 doubled, 0 lost.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from paychannels import Collector, Money, PaymentRequest, Record, Status
from paychannels.drivers.mispos.channel import MisposChannel
from paychannels.drivers.mispos.client import MisposClient
from paychannels.drivers.mispos.factory import client_from_url
from paychannels.drivers.mispos.profile import Profile, profile_file
from paychannels.drivers.mispos.profile_checks import load, loads
from paychannels.drivers.zvt import TerminalChannel, TerminalEvent
from paychannels.drivers.zvt.channel import TerminalChannel as _Zvt
from paychannels.drivers.zvt.client import ZvtClient
from paychannels.drivers.zvt.factory import client_from_url as zvt_client_from_url
from paychannels.simulators.faultlink import FaultLink
from paychannels.simulators.terminal import Script, TerminalSimulator
from paychannels.values.currencies import currency
from tests.adversarial.ledger import compare
from tests.conftest import pg_schema

CARD = "6222021234567890123"
PASSWORD = "246813"
_keys = itertools.count(1)


@dataclass
class Line:
    """A simulator, a Collector paying through one channel ``t`` over a lossy link."""

    sim: TerminalSimulator
    col: Collector
    lossy: FaultLink
    arm: list[str]  # faults to arm as the next booking request leaves

    def fire(self) -> None:
        for fault in self.arm:
            if fault == "mute_ack":  # the terminal's ACK lost; its answer comes later
                self.lossy.mute_answers(1.0)
            elif fault == "mute_all":  # the ACK and every transmission of the answer lost
                self.lossy.mute_answers(2.0)
            elif fault == "drop_our_ack":
                self.lossy.drop_next_ack()
        self.arm.clear()

    def pay(self, faults: list[str], *, card_delay: float = 0.0) -> Record:
        n = next(_keys)
        self.sim.terminal.scripts.push(Script(card_delay=card_delay))
        self.arm[:] = faults
        request = PaymentRequest(
            payer_id=f"15042219900101{n:04d}",
            amount=Money(f"{n}.00", "CNY"),
            reference=f"lost-{n}",
            idempotency_key=f"lost-{n}",
        )
        return self.col.collect(request, channel="t")

    def settle(self, record: Record, seconds: float = 8.0) -> Status:
        """recover() until the record leaves UNKNOWN (bounded)."""
        for _ in range(int(seconds / 0.2)):
            self.col.recover()
            status = self.col.status(record.id).status
            if status is not Status.UNKNOWN:
                return status
        return self.col.status(record.id).status


def dedupe_profile() -> Profile:
    """fs-delimited, with a terminal that recognises a resent booking by its ECR trace."""
    text = profile_file("fs-delimited").read_text(encoding="utf-8")
    for old, new in [
        ('name = "fs-delimited"', 'name = "fs-delimited-dedupe"'),
        ("resends = 3", 'resends = 3\nresend_key = "ecr_trace"'),
        ("[fields]", '[fields]\necr_trace = { format = "n", size = 6 }'),
        ('"ecr_reference"]', '"ecr_reference", "ecr_trace"]'),
        ('"original_trace"]', '"original_trace", "ecr_trace"]'),
        ('"original_date"]', '"original_date", "ecr_trace"]'),
    ]:
        assert old in text
        text = text.replace(old, new)
    return loads(text, source="dedupe.toml")


def mispos_line(db: str, transport: str, profile: Profile | None = None) -> Line:
    sim = TerminalSimulator(card=CARD)
    spec = profile or load("fs-delimited")
    quick = replace(spec, frame=replace(spec.frame, ack_timeout=0.3))  # T2 0.3 s both ends
    where = sim.serve_mispos(quick, tcp=("127.0.0.1", 0) if transport == "tcp" else None)
    url = f"mispos+{transport}://{where}?profile={spec.name}"
    plain, _ = client_from_url(url, profile=quick)
    lossy = FaultLink(plain.link, ack=bytes([quick.frame.ack]))
    channel = MisposChannel(
        MisposClient(lossy, quick, answer_timeout=3.0), currency=currency("CNY"), url=url
    )
    col = Collector.open(db, create=True)
    col.add_channel("t", channel)
    line = Line(sim, col, lossy, [])
    channel.watch(lambda _verb, record: (sim.terminal.tag_next(record.id), line.fire()))
    return line


def zvt_line(db: str, transport: str) -> Line:
    sim = TerminalSimulator(password=int(PASSWORD), card=CARD, t2=0.3, ack_timeout=1.0)
    if transport == "tcp":
        host, port = sim.serve_tcp("127.0.0.1", 0)
        url = f"zvt+tcp://{host}:{port}?t3=3&t4=3&t2=0.3"
    else:
        url = f"zvt+serial://{sim.serve_pty()}?t3=3&t4=3&t2=0.3"
    plain = zvt_client_from_url(url, password=PASSWORD)[0]
    lossy = FaultLink(plain.link, ack=b"\x06" if transport == "serial" else b"\x80\x00\x00")
    client = ZvtClient(lossy, plain.framing, plain.config)
    channel: TerminalChannel = _Zvt(client, currency=currency("CNY"), url=url.split("?")[0])
    col = Collector.open(db, create=True)
    col.add_channel("t", channel)
    line = Line(sim, col, lossy, [])

    def label(event: TerminalEvent) -> None:
        if event.kind == "command" and event.record_id:
            sim.terminal.tag_next(event.record_id)
            line.fire()

    channel.watch(label)
    return line


LINES = {"mispos": mispos_line, "zvt": zvt_line}


#: every protocol on both lines with SQLite; the serial lines with PostgreSQL too
LINE_PARAMS = [f"{p}-{t}-sqlite" for p in LINES for t in ("serial", "tcp")]
LINE_PARAMS += [f"{p}-serial-postgres" for p in LINES]


@pytest.fixture(params=LINE_PARAMS)
def line(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Line]:
    protocol, transport, journal = request.param.split("-")
    with contextlib.ExitStack() as stack:
        db = f"sqlite:///{tmp_path}/journal.db"
        if journal == "postgres":
            db = stack.enter_context(pg_schema())
        made = LINES[protocol](db, transport)
        try:
            yield made
        finally:
            made.col.close()
            made.sim.close()


@pytest.mark.slow
def test_a_lost_ack_does_not_book_twice(line: Line) -> None:
    """The answer line silent for 1 s after the sale: its ACK is lost, its answer comes late."""
    p = line.pay(["mute_ack"], card_delay=1.3)
    # MIS-POS answers later; a ZVT terminal that cannot deliver its 80 00 gives up unbooked
    assert line.settle(p) in (Status.SUCCEEDED, Status.NOT_SENT)
    q = line.pay([])  # the line is fine again
    assert q.status is Status.SUCCEEDED
    compare(line.col, line.sim.terminal).assert_balanced()


@pytest.mark.slow
def test_a_lost_completion_is_asked_for_not_resent(line: Line) -> None:
    """The ACK and every copy of the answer are lost: UNKNOWN, then the terminal is asked."""
    p = line.pay(["mute_all"])
    assert p.status is Status.UNKNOWN, p.reason_detail
    assert line.settle(p) in (Status.SUCCEEDED, Status.NOT_SENT)
    q = line.pay([])
    assert q.status is Status.SUCCEEDED
    compare(line.col, line.sim.terminal).assert_balanced()


@pytest.mark.slow
def test_our_lost_ack_of_the_answer(line: Line) -> None:
    """The other direction: our ACK of the answer is lost; the terminal resends its answer."""
    p = line.pay(["drop_our_ack"])
    # ZVT over TCP: a terminal whose 80 00 never comes gives up before booking
    assert line.settle(p) in (Status.SUCCEEDED, Status.NOT_SENT)
    q = line.pay([])
    assert line.settle(q) is Status.SUCCEEDED
    compare(line.col, line.sim.terminal).assert_balanced()


@pytest.mark.parametrize("transport", ["serial", "tcp"])
@pytest.mark.slow
def test_a_declared_resend_key_lets_a_lost_ack_be_resent(tmp_path: Path, transport: str) -> None:
    """A profile whose terminal recognises a repeated booking (``frame.resend_key``): the
    sale whose ACK was lost is resent, answered again, and booked once."""
    line = mispos_line(f"sqlite:///{tmp_path}/journal.db", transport, dedupe_profile())
    try:
        p = line.pay(["mute_ack"], card_delay=1.3)
        assert p.status is Status.SUCCEEDED, p.reason_detail
        assert any("answered again, not booked" in n for n in line.sim.terminal.log)
        assert line.pay([]).status is Status.SUCCEEDED
        compare(line.col, line.sim.terminal).assert_balanced()
    finally:
        line.col.close()
        line.sim.close()
