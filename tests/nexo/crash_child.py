"""The backend process the nexo crash test kills: three payments through a simulated cloud.

Run as ``python crash_child.py DB_URL BASE_URL PHASE``; the parent arms a crash point via
PAYCHANNELS_CRASH_AT (the test kit's killer reads it before anything runs) and runs the
simulator (its truth survives the kill).
"""

from __future__ import annotations

import sys

from paychannels import Collector
from tests.crashkit import install_from_env, terminal_requests

API_KEY = "AQEyhmfxK4-crash-api-key-0123456789"
POIID = "P400Plus-275039202"


def main(db_url: str, base: str, phase: str) -> None:
    with Collector.open(db_url, create=phase != "restart") as col:
        url = f"nexo+{base}/?poi={POIID}&status_wait=0&timeout=5"
        col.add_channel("cloud", url, api_key=API_KEY, backoff=0.01)
        for _ in range(2 if phase == "restart" else 1):
            for req in terminal_requests():
                col.collect(req, channel="cloud")
            col.recover()


if __name__ == "__main__":
    install_from_env()
    main(*sys.argv[1:4])
