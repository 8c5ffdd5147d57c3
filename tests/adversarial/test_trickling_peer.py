"""A terminal that never stops sending bytes cannot hold ``collect()`` (or the terminal lock).

The peer is a real TCP server on 127.0.0.1 (and a real pty for the serial line) that
trickles garbage forever: never a whole frame, never a pause long enough for a read to time
out. Every read in the links and transports honours its deadline, so ``collect()`` returns
within the protocol's own bound (the check before sending, or the answer time) with UNKNOWN
or NOT_SENT, and another process can take the terminal at once.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from paychannels import Collector, Money, NotSentError, PaymentRequest, Record, Status


@dataclass
class Peer:
    """A flooding peer in its own process: where to reach it, and how to stop it."""

    where: str
    proc: subprocess.Popen[str]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)


@pytest.fixture(params=["tcp", "pty"])
def peer(request: pytest.FixtureRequest) -> Iterator[Peer]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.adversarial.flood_peer", request.param],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert proc.stdout is not None
    made = Peer(proc.stdout.readline().strip(), proc)
    try:
        yield made
    finally:
        made.stop()


def pay_bounded(
    col: Collector, channel: str, bound: float
) -> tuple[list[Record], float, threading.Thread]:
    """collect() in a thread, given ``bound`` seconds (the test never hangs on it)."""
    got: list[Record] = []
    request = PaymentRequest(
        payer_id="150422199001010001",
        amount=Money("10.00", "CNY"),
        reference="trickle-1",
        idempotency_key="trickle-1",
    )
    started = time.monotonic()
    thread = threading.Thread(target=lambda: got.append(col.collect(request, channel=channel)))
    thread.daemon = True
    thread.start()
    thread.join(timeout=bound)
    return got, time.monotonic() - started, thread


def lock_is_free(db: str, url: str, options: dict[str, object]) -> bool:
    """Whether another Collector (another owner) gets the terminal at once."""
    with Collector.open(db) as other:
        other.add_channel("t", url, **options)
        try:
            with other.channel_context("t").lock("terminal", timeout=0.5):
                return True
        except NotSentError:  # "busy with another payment"
            return False


CASES = {
    # (URL, options, bound in s). MIS-POS: the check before sending (query last) waits the
    # answer time, 3 s; ZVT: Registration first, T3 3 s. Margin: 2 s on a busy machine.
    "mispos": ("mispos+{kind}://{where}?profile=tlv-9f&answer_timeout=3", {}, 3 + 2),
    "zvt": ("zvt+{kind}://{where}?t3=3&t4=3&t2=1", {"password": "000000"}, 3 + 2),
}


@pytest.mark.parametrize("protocol", sorted(CASES))
@pytest.mark.slow
def test_a_trickling_terminal_cannot_hold_collect(
    protocol: str, peer: Peer, tmp_path: Path
) -> None:
    template, options, bound = CASES[protocol]
    kind = "tcp" if ":" in peer.where else "serial"
    url = template.format(kind=kind, where=peer.where)
    db = f"sqlite:///{tmp_path}/journal.db"
    col = Collector.open(db, lock_linger=0, create=True)
    try:
        col.add_channel("t", url, **options)
        got, took, thread = pay_bounded(col, "t", bound + 10)
        if thread.is_alive():
            peer.stop()  # the link then fails and frees the blocked thread
            thread.join(timeout=10)
        assert got, f"collect() still blocked after {took:.1f} s"
        record = got[0]
        assert took <= bound, f"collect() took {took:.1f} s (bound {bound} s)"
        assert record.status in (Status.UNKNOWN, Status.NOT_SENT), record.reason_detail
        assert lock_is_free(db, url, options), "the terminal lock is still held"
    finally:
        peer.stop()
        col.close()
