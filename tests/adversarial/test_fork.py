"""A Collector made before a fork: every child names itself, opens its own connections,
never takes its parent's terminal lock, and sees a dead sibling's claim as dead.

Plain ``os.fork()`` and ``multiprocessing`` (fork) here; gunicorn ``--preload`` and uvicorn
``--workers`` serving the callback apps in ``test_fork_servers.py``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from paychannels import Collector, MemoryChannel, Money, NotSentError, PaymentRequest
from paychannels.channels.base import ChannelContext
from paychannels.channels.ledger import FileLedger
from paychannels.values.models import Outcome, Payment
from paychannels.values.status import Status

FORK = multiprocessing.get_context("fork")


def request(key: str) -> PaymentRequest:
    return PaymentRequest(
        amount=Money("5.00", "CNY"), payer_id=f"p-{key}", reference="2026", idempotency_key=key
    )


def in_child(work: Any) -> dict[str, Any]:
    """Run ``work()`` in an ``os.fork()`` child; what it returned (JSON through a pipe)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(read)
        try:
            result = {"ok": work()}
        except BaseException as exc:
            result = {"error": f"{type(exc).__name__}: {exc}"}
        os.write(write, json.dumps(result).encode())
        os.close(write)
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    out: dict[str, Any] = json.loads(b"".join(chunks))
    return out


@pytest.mark.slow
def test_a_forked_child_names_itself_and_uses_its_own_connections(journal_url: str) -> None:
    with Collector.open(journal_url, create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        paid = col.collect(request("before-fork"), "hall-1")  # this thread has a connection
        parent = col.owner

        def child() -> dict[str, Any]:
            done = col.collect(request("in-child"), "hall-1")
            return {"owner": col.owner, "pid": os.getpid(), "status": done.status.value}

        result = in_child(child)
        assert "ok" in result, result
        seen = result["ok"]
        assert seen["status"] == "SUCCEEDED"
        assert seen["owner"] != parent
        assert seen["owner"].split("/")[1] == str(seen["pid"])
        # the parent's connection was neither used nor closed by the child: it still works
        assert col.status(paid.id).status is Status.SUCCEEDED
        again = col.collect(request("after-fork"), "hall-1")
        assert again.status is Status.SUCCEEDED
        assert col.owner == parent
        claimed_by = {
            e.data.get("owner") for e in col.events(limit=1000) if e.to_status is Status.DISPATCHED
        }
        assert claimed_by == {parent, seen["owner"]}


def _try_parents_lock(col: Collector, queue: Any) -> None:
    try:
        with col.channel_context("hall-1").lock("terminal", timeout=0.3):
            queue.put("took the parent's lock")
    except NotSentError:
        queue.put("busy")
    except BaseException as exc:
        queue.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.slow
def test_a_child_never_takes_its_parents_terminal_lock(journal_url: str) -> None:
    with Collector.open(journal_url, lock_linger=30, create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        with col.channel_context("hall-1").lock("terminal", timeout=1):
            pass  # given back to linger: the parent holds the journal row for 30 s
        queue = FORK.Queue()
        proc = FORK.Process(target=_try_parents_lock, args=(col, queue))
        proc.start()
        answer = queue.get(timeout=30)
        proc.join(10)
        assert answer == "busy"


class DiesMidDispatch(MemoryChannel):
    """A device that charges, then its backend process dies before hearing the answer."""

    def start(self, payment: Payment, ctx: ChannelContext) -> Outcome:
        outcome = super().start(payment, ctx)
        if os.environ.get("PAYCHANNELS_TEST_DIE_HERE") == str(os.getpid()):
            os._exit(9)
        return outcome


def _collect_and_die(col: Collector) -> None:
    os.environ["PAYCHANNELS_TEST_DIE_HERE"] = str(os.getpid())
    col.collect(request("dies"), "hall-1")


@pytest.mark.slow
def test_recovery_sees_a_dead_siblings_claim_as_dead(journal_url: str, tmp_path: Path) -> None:
    device = DiesMidDispatch(FileLedger(tmp_path / "device.sqlite"))  # shared by the processes
    with Collector.open(journal_url, create=True) as col:
        col.add_channel("hall-1", device)
        col.find(limit=1)
        proc = FORK.Process(target=_collect_and_die, args=(col,))
        proc.start()
        proc.join(30)
        assert proc.exitcode == 9
        record = col.journal.get_by_key("dies")
        assert record is not None and record.status is Status.DISPATCHED
        report = col.recover()
        assert report.in_flight == [], "the dead child's claim was taken for ours"
        assert col.status(record.id).status is Status.SUCCEEDED  # asked the device
        assert device.charges(record.id) == 1


@pytest.mark.slow
def test_a_lock_table_in_a_forked_child_starts_empty(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/j.db"
    with Collector.open(url, lock_linger=30, create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        hold = threading.Event()
        release = threading.Event()

        def holder() -> None:  # a parent thread in the middle of a payment at the fork
            with col.channel_context("hall-1").lock("terminal", timeout=1):
                hold.set()
                release.wait(10)

        t = threading.Thread(target=holder)
        t.start()
        assert hold.wait(5)
        try:

            def child() -> str:
                began = time.monotonic()
                try:
                    with col.channel_context("hall-1").lock("terminal", timeout=0.3):
                        return "took it"
                except NotSentError:
                    return f"busy after {time.monotonic() - began:.1f}s"

            result = in_child(child)
        finally:
            release.set()
            t.join(5)
        assert result.get("ok", "").startswith("busy"), result


@pytest.mark.parametrize("n", [3])
@pytest.mark.slow
def test_forked_children_collect_side_by_side(journal_url: str, n: int) -> None:
    with Collector.open(journal_url, create=True) as col:
        col.add_channel("dev", MemoryChannel())
        col.find(limit=1)
        procs = [FORK.Process(target=_collect_some, args=(col, i)) for i in range(n)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
        done = col.find(statuses=[Status.SUCCEEDED], limit=1000)
        assert len(done) == n * 5
        owners = {e.data.get("owner") for e in col.events(limit=1000) if e.data.get("owner")}
        assert len(owners) == n and col.owner not in owners


def _collect_some(col: Collector, i: int) -> None:
    for k in range(5):
        col.collect(request(f"c{i}-{k}").model_copy(update={"payer_id": f"p{i}-{k}"}), "dev")
