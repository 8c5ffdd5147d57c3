"""A simulated terminal on TCP or a pty, a Collector with a zvt channel to it, and its truth."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from paychannels import Collector, Money, PaymentRequest, Record, Status
from paychannels.drivers.zvt import TerminalChannel, TerminalEvent
from paychannels.simulators.terminal import Script, TerminalSimulator

PASSWORD = "246813"
CARD = "6222021234567890123"
TIMERS = "t3=0.5&t4=1.5&t2=1"
_keys = itertools.count(1)


@dataclass
class Hall:
    """A terminal simulator and a Collector paying through it (channel ``hall-1``)."""

    sim: TerminalSimulator
    col: Collector
    channel: TerminalChannel
    transport: str
    url: str
    transcript: Path

    def script(self, **fields: object) -> None:
        """Queue a script for the next transaction (``faults`` as a set of names)."""
        faults = frozenset(fields.pop("faults", ()))  # type: ignore[call-overload]
        self.sim.terminal.scripts.push(Script(faults=faults, **fields))  # type: ignore[arg-type]

    def pay(self, amount: str = "380.00", *, key: str | None = None) -> Record:
        n = next(_keys)
        return self.col.collect(
            PaymentRequest(
                payer_id=f"15042219900101{n:04d}",
                amount=Money(amount, "CNY"),
                reference=f"2026-{n}",
                idempotency_key=key or f"zvt-{n}",
                payer_name="张三",
            ),
            channel="hall-1",
        )

    def retry(self, record: Record) -> Record:
        """The backend sends the same request again (same idempotency key)."""
        return self.col.collect(record.request(), channel="hall-1")

    def status(self, record: Record) -> Status:
        return self.col.status(record.id).status

    def charges(self, record: Record) -> int:
        return self.sim.terminal.journal.charges(tag=record.id)

    def recover_until(
        self, record: Record, done: Callable[[Status], bool], seconds: float = 8
    ) -> Status:
        """Run recover() until the record's status satisfies ``done`` (terminals reboot)."""
        end = time.monotonic() + seconds
        while True:
            self.col.recover()
            status = self.status(record)
            if done(status) or time.monotonic() > end:
                return status
            time.sleep(0.2)

    def check_truth(self) -> None:
        """Every journaled payment agrees with the terminal: SUCCEEDED iff charged once."""
        for record in self.col.find(kind="payment", limit=1000):
            charged = self.charges(record)
            if record.status is Status.SUCCEEDED:
                assert charged == 1, f"{record.id} SUCCEEDED but charged {charged} times"
            else:
                assert charged == 0, f"{record.id} is {record.status} but was charged {charged}"
            assert self.col.journal.verify(record.id) == []
        # we resolve every in-doubt attempt before the next command, so the terminal never
        # has to reverse one implicitly on our 1F1F echo
        assert not any(t.reversed_implicitly for t in self.sim.terminal.journal.txns)


def open_hall(tmp_path: Path, transport: str, *, options: str = TIMERS, **sim: object) -> Hall:
    simulator = TerminalSimulator(password=int(PASSWORD), card=CARD, t2=0.3, ack_timeout=1.0, **sim)  # type: ignore[arg-type]
    if transport == "tcp":
        host, port = simulator.serve_tcp("127.0.0.1", 0)
        url = f"zvt+tcp://{host}:{port}?{options}"
    else:
        url = f"zvt+serial://{simulator.serve_pty()}?baudrate=9600&{options}"
    col = Collector.open(f"sqlite:///{tmp_path}/journal.db")
    transcript = tmp_path / "transcript.txt"
    channel = col.add_channel("hall-1", url, password=PASSWORD, transcript=transcript)
    assert isinstance(channel, TerminalChannel)

    def label(event: TerminalEvent) -> None:
        if event.kind == "command" and event.record_id:
            simulator.terminal.tag_next(event.record_id)

    channel.watch(label)
    return Hall(simulator, col, channel, transport, url, transcript)


@pytest.fixture(params=["tcp", "serial"])
def hall(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hall]:
    h = open_hall(tmp_path, request.param)
    try:
        yield h
    finally:
        h.col.close()
        h.sim.close()
