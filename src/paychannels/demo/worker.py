"""One worker process of a demo day run with ``--workers N``: its channels, its own Collector.

The demo's process (``demo.workers``) starts each worker as a fresh interpreter and hands it
whole channels: the URL and options of each, its payers and the faults armed for them. The
worker opens its own Collector on the day's journal and runs each channel in a thread
through the same drivers as one process would (``demo.drivers.collect``). The simulators stay
with the demo: what a driver asks of one (arm a fault, a payer's code, a terminal's tag, what
was seen) goes over the channel's own pipe and waits for the answer, so a channel's payers
meet its simulator in the same order as in one process. The cashier's screen goes there too:
a channel's progress is told to the demo's feed before the channel goes on.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from pydantic import JsonValue

from paychannels.collector import Collector
from paychannels.demo.channels import DemoChannel
from paychannels.demo.dice import Dice
from paychannels.demo.drivers import Fault, Plan, collect
from paychannels.demo.logfile import log_to
from paychannels.demo.sims import Running
from paychannels.documents.roster import load_roster
from paychannels.values.errors import PaychannelsError

__all__ = ["Link", "RemoteCodes", "RemoteSimulator", "Share", "Work", "WorkerError", "main"]

#: the longest a simulator may take to answer a call (a terminal's power cut is 5 s at most)
CALL_TIMEOUT = 120.0
#: progress is told to the demo at most this often (a tick a payer would be a message each)
_TICK_EVERY = 0.2


class WorkerError(PaychannelsError):
    """A worker of the demo day could not do its part: which worker, and why."""


@dataclass(frozen=True)
class Share:
    """One channel as a worker runs it: everything but its simulator, which stays with the
    demo (``simulator`` is its class, for the watch a channel needs)."""

    channel: DemoChannel
    simulator: type[Running]
    url: str
    options: dict[str, Any]
    lines: list[int]  # its payers, by their line in the day's roster (read there)
    faults: dict[int, str]


@dataclass(frozen=True)
class Work:
    """A worker's part of the day."""

    index: int
    db: str
    seed: int
    log: Path
    roster: Path
    shares: list[Share]


class Link:
    """One channel's pipe to the demo: calls on its simulator (answered in turn), progress,
    and at the end what the channel found or why it failed. Safe from several threads."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()
        self._ticks = 0
        self._told = time.monotonic()

    def call(self, verb: str, *args: Any) -> Any:
        """``verb(*args)`` on the channel's simulator, in the demo's process; its answer."""
        return self._ask(("call", verb, args))

    def screen(self, payment: str, data: dict[str, JsonValue]) -> None:
        """The channel's progress, on the demo's screen (its simulators act on it) first."""
        self._ask(("screen", payment, data))

    def tick(self, n: int) -> None:
        """``n`` more payers done (told in batches)."""
        with self._lock:
            self._ticks += n
            if time.monotonic() - self._told >= _TICK_EVERY:
                self._flush()

    def finish(self, found: list[Fault], seconds: float) -> None:
        """The channel is done: the faults it met and how long it took."""
        with self._lock:
            self._flush()
            self.conn.send(("done", found, seconds))

    def fail(self, why: str) -> None:
        """The channel stopped on an error (the day will not balance)."""
        with self._lock:
            self._flush()
            self.conn.send(("failed", why))

    def _ask(self, message: tuple[Any, ...]) -> Any:
        with self._lock:
            self.conn.send(message)
            if not self.conn.poll(CALL_TIMEOUT):
                raise WorkerError(f"the demo did not answer {message[0]} within {CALL_TIMEOUT} s")
            kind, value = self.conn.recv()
        if kind != "ok":
            raise WorkerError(f"the simulator refused {message[1]!r}: {value}")
        return value

    def _flush(self) -> None:
        if self._ticks:
            self.conn.send(("tick", self._ticks))
            self._ticks = 0
        self._told = time.monotonic()


class RemoteSimulator(Running):
    """A channel's simulator as its driver sees it from a worker: each verb a call over the
    channel's pipe to the real one in the demo's process."""

    def __init__(self, share: Share, link: Link) -> None:
        self.url, self.options = share.url, share.options
        self.link = link

    def inject(self, fault: str) -> None:
        self.link.call("inject", fault)

    def after(self, fault: str, payment: str | None) -> Any:
        return self.link.call("after", fault, payment)

    def truth(self) -> dict[str, int]:
        truth: dict[str, int] = self.link.call("truth")
        return truth

    def settle(self, collector: Collector, name: str) -> str:
        """Never here: the day is settled once, by the demo, after every worker is done."""
        raise WorkerError(f"{name}: a worker does not settle; the demo does, once")

    def close(self) -> None:
        """Nothing to stop: the simulator is the demo's."""


class RemoteCodes(RemoteSimulator):
    """A code desk's simulator from a worker: the payers' codes come from its wallets."""

    def code(self) -> str:
        """The next payer's fresh code (``CodeDesk``)."""
        code: str = self.link.call("code")
        return code


log = logging.getLogger("paychannels.demo")
_here = threading.local()  # the link of the channel this thread runs


def _screen(payment: str, data: dict[str, JsonValue]) -> None:
    """Progress heard on this worker's Collector goes to the demo through the channel's link
    (the thread reporting it runs that channel)."""
    link: Link | None = getattr(_here, "link", None)
    if link is not None:
        link.screen(payment, data)


def main(work: Work, pipes: dict[str, Connection]) -> None:
    """Run the worker's channels to the end (``pipes``: one per channel, by name).

    A Ctrl-C at the terminal reaches the whole process group: the demo decides (it
    terminates its workers when it stops), so a worker ignores SIGINT; and a worker whose
    demo is gone stops too (``_orphaned``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with log_to(work.log, who=f"worker {work.index}"):
        log.info("worker %d started (pid %d): %s", work.index, os.getpid(), ", ".join(pipes))
        links = {name: Link(conn) for name, conn in pipes.items()}
        try:
            col = Collector.open(work.db)
        except PaychannelsError as exc:
            for link in links.values():
                link.fail(f"worker {work.index} could not open the journal: {exc}")
            return
        parent = multiprocessing.parent_process()
        if parent is not None:
            threading.Thread(
                target=_orphaned, args=(parent.sentinel, col, work.index), daemon=True
            ).start()
        try:
            _run(col, work, links)
        except Exception as exc:  # before its channels ran (a channel that cannot open)
            for link in links.values():
                link.fail(f"worker {work.index}: {type(exc).__name__}: {exc}")
            raise SystemExit(1) from None
        finally:
            col.close()
        log.info("worker %d done", work.index)


def _orphaned(sentinel: int, col: Collector, index: int) -> None:
    """The demo's process is gone (its simulators with it): the Collector is closed
    (payments in flight finish, bounded) and the worker ends; ``recover()`` settles the rest."""
    multiprocessing.connection.wait([sentinel])
    log.warning("worker %d: the demo's process is gone; stopping", index)
    col.close(timeout=10.0)
    os._exit(1)


def _run(col: Collector, work: Work, links: dict[str, Link]) -> None:
    dice = Dice(work.seed)
    roster = {entry.line: entry for entry in load_roster(work.roster)}
    plans: list[tuple[Plan, Link]] = []
    for share in work.shares:
        link = links[share.channel.name]
        remote: Running = (
            RemoteCodes(share, link)
            if share.channel.style == "scan"
            else RemoteSimulator(share, link)
        )
        channel = col.add_channel(share.channel.name, share.url, **share.options)
        share.simulator.watch(channel, link.call)
        payers = [roster[line] for line in share.lines]
        plan = Plan(share.channel, remote, payers, dict(share.faults))
        plans.append((plan, link))
    col.watch_progress(_screen)
    log.info("worker %d: channels open, collecting", work.index)
    threads = [
        threading.Thread(
            target=_channel, args=(col, plan, link, dice), name=f"demo-{plan.channel.name}"
        )
        for plan, link in plans
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _channel(col: Collector, plan: Plan, link: Link, dice: Dice) -> None:
    """One channel's payers through it; the end told to the demo, whatever happens."""
    _here.link = link
    began = time.perf_counter()
    try:
        collect(col, plan, dice, link.tick)
    except BaseException as exc:  # told to the demo, which reports the day short
        last = traceback.format_exception_only(exc)[-1].strip()
        link.fail(f"{plan.channel.name}: {last}")
        return
    link.finish(plan.found, round(time.perf_counter() - began, 3))
