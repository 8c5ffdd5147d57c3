"""A backend process that the demo kills mid-payment: ``python -m paychannels.demo.crash_child``.

It opens the demo's journal and the channel, and collects the payments given as JSON on its
stdin (``{"db": journal URL, "channel": name, "url": channel URL, "options": channel options,
"requests": [...]}``): a command line is readable by every user of the machine (``ps``), and a
journal URL may carry a password. The demo starts it with
``--halt-at collect.after_outcome@N``: it installs a crash hook that, the N-th time that point
is reached (the terminal approved, the journal has not heard of it), says so on stdout and
waits; the demo then kills it from outside (SIGKILL), like a power cut, and recovers the
payment by asking the terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading

from paychannels.collector import Collector
from paychannels.runtime import crashpoints
from paychannels.values.errors import ConfigurationError
from paychannels.values.models import PaymentRequest

__all__ = ["HALTED", "Halt", "main"]

#: the line the child writes when it has reached its point and waits to be killed
HALTED = "halted at crash point"

#: how long a halted child waits for its kill before it dies on its own (no cleanup either)
_WAIT = 120.0


class Halt:
    """A crash hook: at the ``nth`` arrival at ``point``, report and freeze until killed."""

    def __init__(self, spec: str) -> None:
        point, _, nth = spec.partition("@")
        if point not in crashpoints.POINTS or not (nth or "1").isdigit():
            raise ConfigurationError(f"--halt-at {spec!r}: not a crash point (name or name@N)")
        self.point, self.nth = point, int(nth or "1")
        self.hits = 0
        self._lock = threading.Lock()

    def __call__(self, name: str) -> None:
        if name != self.point:
            return
        with self._lock:
            self.hits += 1
            if self.hits < self.nth:
                return
            print(f"{HALTED} {name}@{self.hits}", flush=True)
            threading.Event().wait(_WAIT)  # the demo kills us here
            os._exit(70)  # never killed: still no cleanup, nothing journaled after the point


def main() -> None:
    """Collect the requests of the work on stdin (halts at ``--halt-at``)."""
    parser = argparse.ArgumentParser(prog="paychannels.demo.crash_child")
    parser.add_argument("--halt-at", default="", help="crash point to halt at: name or name@N")
    args = parser.parse_args()
    if args.halt_at:
        crashpoints.install(Halt(args.halt_at))
    work = json.load(sys.stdin)
    requests = [PaymentRequest.model_validate(r) for r in work["requests"]]
    with Collector.open(work["db"]) as col:
        col.add_channel(work["channel"], work["url"], **work["options"])
        for request in requests:
            col.collect(request, channel=work["channel"])
    sys.stdout.flush()


if __name__ == "__main__":
    main()
