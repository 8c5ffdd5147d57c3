"""``Collector.close()`` while threads collect: new calls refused, calls in flight finished
(bounded), connections closed only by whoever knows no thread uses them — then every
payment recoverable from a reopened journal. SQLite and PostgreSQL."""

from __future__ import annotations

import linecache
import random
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import pytest

from paychannels import Collector, MemoryChannel, Money, PaymentRequest
from paychannels.channels.base import ChannelContext
from paychannels.values.errors import (
    CollectorClosed,
    ConfigurationError,
    JournalClosed,
    PaychannelsError,
)
from paychannels.values.models import Outcome, Payment
from paychannels.values.status import Status

THREADS = 6


class SlowDevice(MemoryChannel):
    """A memory device that takes a few milliseconds per payment, so close() meets calls
    in flight; ``hold`` keeps a payment on the device until released."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = threading.Event()
        self.hold.set()
        self.held = threading.Event()

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        if not self.hold.is_set():
            self.held.set()
            self.hold.wait(10)
        time.sleep(random.uniform(0.001, 0.01))
        return super().start(payment, ctx)


def request(thread: int, n: int) -> PaymentRequest:
    return PaymentRequest(
        amount=Money("10.00", "CNY"),
        payer_id=f"payer-{thread}-{n}",
        reference=f"2026-{thread}-{n}",
        idempotency_key=f"k-{thread}-{n}",
    )


def collecting(col: Collector, thread: int, errors: list[BaseException], keys: list[str]) -> None:
    """Collect until the Collector refuses; anything but a typed error is a failure."""
    for n in range(10_000):
        keys.append(f"k-{thread}-{n}")
        try:
            col.collect(request(thread, n), "dev")
        except CollectorClosed:
            return
        except PaychannelsError as exc:  # typed, but only a refusal is expected here
            errors.append(exc)
            return
        except BaseException as exc:
            errors.append(exc)
            return


def run_threads(col: Collector) -> tuple[list[threading.Thread], list[BaseException], list[str]]:
    errors: list[BaseException] = []
    keys: list[str] = []
    threads = [
        threading.Thread(target=collecting, args=(col, t, errors, keys), daemon=True)
        for t in range(THREADS)
    ]
    for t in threads:
        t.start()
    return threads, errors, keys


def check_recoverable(url: str, device: SlowDevice, keys: list[str]) -> int:
    """Reopen, recover; each payment's journal state agrees with the device's ledger."""
    with Collector.open(url) as col:
        col.add_channel("dev", device)
        report = col.recover()
        assert not report.in_flight and not report.still_in_doubt, report
        checked = 0
        for key in keys:
            record = col.journal.get_by_key(key)
            if record is None:  # refused before its intent was written
                continue
            charged = device.charges(record.id)
            checked += 1
            assert charged <= 1, key
            assert (record.status is Status.SUCCEEDED) == (charged == 1), (key, record.status)
        for entry in device.ledger.entries():  # nothing charged that the journal lacks
            assert col.status(entry.key).status is Status.SUCCEEDED, entry.key
        return checked


@pytest.fixture
def device() -> SlowDevice:
    return SlowDevice()


@pytest.mark.parametrize("round_", range(3))
@pytest.mark.slow
def test_close_waits_for_calls_in_flight(journal_url: str, device: SlowDevice, round_: int) -> None:
    col = Collector.open(journal_url, create=True)
    col.add_channel("dev", device)
    threads, errors, keys = run_threads(col)
    time.sleep(0.2 + 0.1 * round_)
    began = time.monotonic()
    col.close()
    assert time.monotonic() - began < 5
    for t in threads:
        t.join(10)
        assert not t.is_alive(), "a collecting thread hung after close()"
    assert not errors, errors
    with pytest.raises(CollectorClosed):
        col.collect(request(99, 0), "dev")
    assert check_recoverable(journal_url, device, keys) > THREADS


@pytest.mark.slow
def test_a_call_past_the_bound_is_left_to_finish(journal_url: str, device: SlowDevice) -> None:
    col = Collector.open(journal_url, close_timeout=0.3, create=True)
    col.add_channel("dev", device)
    device.hold.clear()
    stuck: list[BaseException | Payment] = []

    def one() -> None:
        try:
            stuck.append(col.collect(request(7, 0), "dev"))
        except BaseException as exc:
            stuck.append(exc)

    t = threading.Thread(target=one, daemon=True)
    t.start()
    assert device.held.wait(5)
    began = time.monotonic()
    col.close()
    assert time.monotonic() - began < 3, "close() did not keep to its bound"
    device.hold.set()
    t.join(10)
    assert not t.is_alive()
    (result,) = stuck
    assert isinstance(result, Payment | PaychannelsError), repr(result)
    assert check_recoverable(journal_url, device, ["k-7-0"]) == 1


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1, "3"])
def test_close_timeout_must_be_seconds(sqlite_url: str, bad: object) -> None:
    with pytest.raises(ConfigurationError, match="close_timeout"):
        Collector.open(sqlite_url, close_timeout=bad, create=True)  # type: ignore[arg-type]


def test_close_from_inside_a_call_does_not_wait_for_itself(sqlite_url: str) -> None:
    col = Collector.open(sqlite_url, close_timeout=5, create=True)
    col.add_channel("dev", MemoryChannel())
    col.subscribe(lambda event: col.close() if event.to_status is Status.SUCCEEDED else None)
    began = time.monotonic()
    paid = col.collect(request(1, 1), "dev")
    assert time.monotonic() - began < 2 and paid.status is Status.SUCCEEDED
    assert col.closed and col.journal.closed
    with pytest.raises(JournalClosed):
        col.journal.get(paid.id)


def test_a_closed_journal_refuses_new_transactions_with_a_typed_error(journal_url: str) -> None:
    col = Collector.open(journal_url, create=True)
    col.close()
    col.close()  # twice is fine
    with pytest.raises(CollectorClosed):
        col.status("pay_x")
    with pytest.raises(JournalClosed):
        col.journal.find(limit=1)


def test_an_interrupt_just_before_commit_leaves_no_writer_lock(tmp_path: Path) -> None:
    """A KeyboardInterrupt in a program's main thread right before COMMIT (raised there by a
    trace hook) must roll back, or every other writer waits out its busy timeout."""
    url = f"sqlite:///{tmp_path}/j.db?busy_timeout=1"
    col = Collector.open(url, create=True)
    col.add_channel("dev", MemoryChannel())

    def interrupt_at_commit(frame: FrameType, event: str, arg: object) -> object:
        if event == "call" and frame.f_code.co_name == "_transaction":
            return interrupt_at_commit
        if event == "line" and '"COMMIT"' in (
            linecache.getline(frame.f_code.co_filename, frame.f_lineno)
        ):
            sys.settrace(None)
            raise KeyboardInterrupt
        return interrupt_at_commit if event != "call" else None

    sys.settrace(interrupt_at_commit)
    try:
        with pytest.raises(KeyboardInterrupt):
            col.collect(request(5, 5), "dev")
    finally:
        sys.settrace(None)
    other = Collector.open(url)
    try:
        other.add_channel("dev", MemoryChannel())
        assert other.collect(request(6, 6), "dev").status is Status.SUCCEEDED
    finally:
        other.close()
        col.close()
