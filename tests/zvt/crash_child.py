"""The backend process the ZVT crash test kills: three payments through a simulated terminal.

Run as ``python crash_child.py DB_URL PORT PHASE``; the parent arms a crash point via
PAYCHANNELS_CRASH_AT (the test kit's killer reads it before anything runs) and runs the
terminal simulator (its truth survives the kill).
"""

from __future__ import annotations

import sys

from paychannels import Collector
from tests.crashkit import install_from_env, terminal_requests

PASSWORD = "246813"


def main(db_url: str, port: str, phase: str) -> None:
    with Collector.open(db_url, create=phase != "restart") as col:
        col.add_channel("hall-1", f"zvt+tcp://127.0.0.1:{port}?t3=1&t4=3", password=PASSWORD)
        for _ in range(2 if phase == "restart" else 1):
            for req in terminal_requests():
                col.collect(req, channel="hall-1")
            col.recover()


if __name__ == "__main__":
    install_from_env()
    main(*sys.argv[1:4])
