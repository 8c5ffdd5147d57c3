"""The collection across worker processes (``--workers N``), on one journal.

What is shared stays here, once: the simulators (a county has one provider, one bank, one
terminal per hall — and their ledgers are the day's truth), the callback endpoint (a
deployment has one) and the bank's batch (one file exchange; its simulator's ledger is
bound to this process). The other channels are dealt out **whole** to N fresh interpreters
(spawn: nothing crosses a fork), each with its own Collector on the same journal
(``demo.worker``). Whole channels, not shares of a channel's payers: a terminal has one
clerk, and a channel's faults are armed on its one simulator for "the next payment" — two
processes on one channel would take each other's faults, and the day would depend on the
scheduler. So each channel meets its simulator in the same order as in one process, and a
seed's day is the same for any N. The channels take about the same time each (their payers
are dealt by preference), so they are dealt largest first to the least loaded worker.

A worker that dies, or whose channel stops on an error, is reported: the day goes on to be
recovered, reconciled and reported, but it does not balance (``WorkerRun.failed``).
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from paychannels.collector import Collector
from paychannels.demo.channels import DemoChannel
from paychannels.demo.drivers import Plan
from paychannels.demo.sims import Running, Stage
from paychannels.demo.worker import Share, Work, WorkerError, main

__all__ = ["WorkerRun", "deal", "run_workers"]

#: how long a worker may take to exit once its channels are done (closing its Collector)
_EXIT_WAIT = 30.0


def _started_by_the_demo(stage: Stage) -> Running:
    """A channel's ``start`` as a worker holds it: its simulator is the demo's, never started
    there (a lambda would not cross to another interpreter)."""
    raise WorkerError(f"a worker does not start simulators (asked in {stage.folder})")


@dataclass
class WorkerRun:
    """One worker: its channels, how far it got, and how it ended."""

    index: int
    channels: list[str]
    payers: int
    reached: int = 0
    done: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    exit: int | None = None

    @property
    def failed(self) -> bool:
        """It did not finish every channel cleanly: the day is short or in question."""
        return bool(self.errors) or self.exit != 0 or self.done != set(self.channels)

    def as_dict(self) -> dict[str, Any]:
        """For the summary."""
        return {
            "worker": self.index,
            "channels": self.channels,
            "payers": self.payers,
            "reached": self.reached,
            "exit": self.exit,
            "failed": self.failed,
            "errors": self.errors,
        }

    def note(self) -> str:
        """What went wrong, as people read it."""
        how = (
            f"was killed (signal {-self.exit})"
            if self.exit is not None and self.exit < 0
            else f"exited with {self.exit}"
        )
        unfinished = [c for c in self.channels if c not in self.done]
        text = (
            f"worker {self.index} ({', '.join(self.channels)}) {how} after {self.reached:,} of "
            f"its {self.payers:,} payers"
        )
        if unfinished:
            text += f"; unfinished: {', '.join(unfinished)} (their payers not reached today)"
        if self.errors:
            text += "; " + "; ".join(self.errors)
        return text


def deal(plans: dict[str, Plan], workers: int) -> list[list[str]]:
    """The channels each worker takes (all but the batch ones, which stay here): whole
    channels, the most payers first, each to the worker with the fewest payers so far."""
    load = [0] * workers
    dealt: list[list[str]] = [[] for _ in range(workers)]
    movable = [p for p in plans.values() if p.channel.style != "batch"]
    for plan in sorted(movable, key=lambda p: (-len(p.payers), p.channel.name)):
        i = min(range(workers), key=lambda k: (load[k], k))
        dealt[i].append(plan.channel.name)
        load[i] += len(plan.payers)
    return [names for names in dealt if names]


class _Server:
    """This side of one channel's pipe: the worker's calls on the real simulator."""

    def __init__(
        self, col: Collector, plan: Plan, run: WorkerRun, tick: Callable[[int], None]
    ) -> None:
        self.col, self.plan, self.run, self.tick = col, plan, run, tick
        self.lock = threading.Lock()  # the run's counters, from each channel's thread
        self.seconds = 0.0  # how long the channel took in its worker

    def serve(self, conn: Connection) -> None:
        """Answer until the channel is done or failed, or the worker is gone."""
        name = self.plan.channel.name
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                return  # the worker is gone: its exit code tells how
            kind = message[0]
            if kind == "call":
                conn.send(self._call(message[1], message[2]))
            elif kind == "screen":
                self.col.feed.progress(message[1], message[2])
                conn.send(("ok", None))
            elif kind == "tick":
                with self.lock:
                    self.run.reached += message[1]
                self.tick(message[1])
            elif kind == "done":
                self.plan.found += message[1]
                self.seconds = float(message[2])
                with self.lock:
                    self.run.done.add(name)
                return
            else:  # "failed"
                with self.lock:
                    self.run.errors.append(str(message[1]))
                return

    def _call(self, verb: str, args: Sequence[Any]) -> tuple[str, Any]:
        try:
            return ("ok", self.plan.running.call(verb, *args))
        except Exception as exc:  # the worker's channel fails on it, and says so
            return ("error", f"{type(exc).__name__}: {exc}")


def run_workers(
    col: Collector,
    plans: dict[str, Plan],
    *,
    workers: int,
    seed: int,
    log: Path,
    roster: Path,
    tick: Callable[[int], None],
    here: Callable[[], None],
    check: Callable[[], None] = lambda: None,
) -> tuple[list[WorkerRun], dict[str, float]]:
    """Deal the channels to ``workers`` processes and serve them while ``here`` runs what
    stays in this process; each worker's end and each channel's seconds. ``check`` raises
    to stop (a signal): the workers are then terminated."""
    context = multiprocessing.get_context("spawn")
    runs: list[WorkerRun] = []
    servers: list[_Server] = []
    threads: list[threading.Thread] = []
    procs: list[Any] = []
    try:
        for index, names in enumerate(deal(plans, workers), start=1):
            run = WorkerRun(index, names, sum(len(plans[n].payers) for n in names))
            runs.append(run)
            ours: dict[str, Connection] = {}
            theirs: dict[str, Connection] = {}
            for name in names:
                ours[name], theirs[name] = context.Pipe()
            shares = [_share(plans[n]) for n in names]
            work = Work(index, col.journal.url, seed, log, roster, shares)
            proc = context.Process(
                target=main, args=(work, theirs), name=f"demo-worker-{index}", daemon=True
            )
            proc.start()
            procs.append(proc)
            for conn in theirs.values():
                conn.close()  # the worker's ends are its own: their EOF is its death
            for name in names:
                server = _Server(col, plans[name], run, tick)
                servers.append(server)
                thread = threading.Thread(
                    target=server.serve, args=(ours[name],), name=f"demo-serve-{name}", daemon=True
                )
                thread.start()
                threads.append(thread)
        here()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)
                check()
    except BaseException:  # stopping (a signal, an error here): the workers stop too
        for proc in procs:
            proc.terminate()
        raise
    finally:
        for run, proc in zip(runs, procs, strict=False):
            proc.join(_EXIT_WAIT)
            if proc.is_alive():  # stuck after its channels, or deaf to the stop: ended here
                proc.kill()
                proc.join(_EXIT_WAIT)
            run.exit = proc.exitcode
    seconds = {
        s.plan.channel.name: s.seconds for s in servers if s.plan.channel.name in _done(runs)
    }
    return runs, seconds


def _done(runs: list[WorkerRun]) -> set[str]:
    return {name for run in runs for name in run.done}


def _share(plan: Plan) -> Share:
    """A channel as a worker gets it (see ``Share``)."""
    channel: DemoChannel = replace(plan.channel, start=_started_by_the_demo)
    return Share(
        channel,
        type(plan.running),
        plan.running.url,
        dict(plan.running.options),
        [entry.line for entry in plan.payers],
        dict(plan.faults),
    )
