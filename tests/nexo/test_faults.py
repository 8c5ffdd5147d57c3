"""Every fault of the simulated cloud ends, after ``recover()``, as the terminal knows it.

None lost (a payment the terminal booked is SUCCEEDED in the journal), none taken twice (a
payment sent again after NOT_SENT was never booked the first time). Each case checks the
whole journal against the simulator's own journal (``Hall.check_truth``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from paychannels import Status
from tests.nexo.conftest import Hall, open_hall


@pytest.mark.parametrize(
    ("faults", "at_first", "truth"),
    [
        ({"cloud_error"}, Status.UNKNOWN, Status.NOT_SENT),
        ({"cloud_error_after_approval"}, Status.UNKNOWN, Status.SUCCEEDED),
        ({"late_completion"}, Status.UNKNOWN, Status.SUCCEEDED),  # the answer after our timeout
        ({"disconnect_after_approval"}, Status.UNKNOWN, Status.SUCCEEDED),
        ({"garble_reply"}, Status.UNKNOWN, Status.SUCCEEDED),
        ({"lose_request"}, Status.UNKNOWN, Status.NOT_SENT),
        ({"refuse"}, Status.NOT_SENT, Status.NOT_SENT),
    ],
)
@pytest.mark.slow
def test_sync_faults_resolve_to_the_truth(
    tmp_path: Path, faults: set[str], at_first: Status, truth: Status
) -> None:
    h = open_hall(tmp_path, query="&timeout=1")
    try:
        h.script(faults=faults, fault_delay=2.0)
        p = h.pay()
        assert p.status is at_first
        assert h.recover_until(p, lambda s: s is truth) is truth
        h.check_truth()
        if truth is Status.NOT_SENT:  # sending again is safe: it is taken exactly once
            again = h.col.collect(p.request(), channel="cloud")
            assert again.status is Status.SUCCEEDED and h.charges(again) == 1
        h.check_truth()
    finally:
        h.close()


@pytest.mark.parametrize("when", ["power_cycle", "power_cycle_after_booking"])
@pytest.mark.slow
def test_terminal_power_cut(tmp_path: Path, when: str) -> None:
    h = open_hall(tmp_path, cloud_timeout=1.0)
    try:
        h.script(faults={when}, off_for=1.5)
        p = h.pay()
        assert p.status is Status.UNKNOWN  # the cloud: "Did not receive a response from the POI"
        assert "Did not receive a response" in (p.reason_detail or "")
        assert h.col.recover().still_in_doubt == [p.id]  # the terminal is off: no answer yet
        truth = Status.NOT_SENT if when == "power_cycle" else Status.SUCCEEDED
        assert h.recover_until(p, lambda s: s is truth) is truth
        h.check_truth()
    finally:
        h.close()


@pytest.mark.slow
def test_terminal_offline_then_back(hall: Hall) -> None:
    hall.sim.terminal.online = False
    p = hall.pay()
    assert p.status is Status.UNKNOWN and "not connected" in (p.reason_detail or "")
    assert hall.col.recover().still_in_doubt == [p.id]
    hall.sim.terminal.online = True
    assert hall.recover_until(p, lambda s: s is Status.NOT_SENT) is Status.NOT_SENT
    assert hall.col.collect(p.request(), channel="cloud").status is Status.SUCCEEDED
    hall.check_truth()


@pytest.mark.parametrize(
    "faults",
    [{"duplicate_notification"}, {"late_notification"}, {"drop_notification"}, set()],
)
@pytest.mark.slow
def test_async_notification_faults(async_hall: Hall, faults: set[str]) -> None:
    h = async_hall
    h.script(faults=faults, fault_delay=1.0)
    p = h.pay()
    # A prompt signed notification may be applied before the cloud's own "accepted" answer
    # (a busy machine): then collect() already returns SUCCEEDED, never anything else.
    assert p.status in (Status.PENDING, Status.SUCCEEDED)
    assert h.until(lambda: h.charges(p) == 1)
    h.col.recover()  # asking finds it paid, whatever the notifications do
    time.sleep(1.2)
    h.settle_notifications()
    assert h.status(p) is Status.SUCCEEDED
    events = [e for e in h.col.events(payment_id=p.id) if e.to_status is Status.SUCCEEDED]
    assert len(events) == 1, "a duplicate or late notification changes nothing"
    h.check_truth()


@pytest.mark.parametrize(
    ("faults", "truth"),
    [
        ({"cloud_error"}, Status.NOT_SENT),
        ({"lose_request"}, Status.NOT_SENT),
        ({"disconnect_after_approval"}, Status.SUCCEEDED),
        ({"cloud_error_after_approval"}, Status.SUCCEEDED),
    ],
)
@pytest.mark.slow
def test_async_request_faults(async_hall: Hall, faults: set[str], truth: Status) -> None:
    h = async_hall
    h.script(faults=faults)
    p = h.pay()
    # The cloud's answer is lost, but the terminal goes on: its signed notification may be
    # applied before the lost answer is (on a busy machine), and then nothing is in doubt.
    early = {Status.UNKNOWN, truth} if truth is Status.SUCCEEDED else {Status.UNKNOWN}
    assert p.status in early
    assert h.recover_until(p, lambda s: s is truth) is truth
    h.settle_notifications()
    assert h.status(p) is truth
    h.check_truth()
