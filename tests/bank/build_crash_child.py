"""The backend process the bank build crash test kills: journals and spools a chunk of
debits with ``collect_many`` (``work``), or recovers, retries the same keys and flushes the
request file (``restart``).

Run as ``python build_crash_child.py DB_URL EXCHANGE PHASE``; the parent arms a crash point
via PAYCHANNELS_CRASH_AT."""

from __future__ import annotations

import sys
from pathlib import Path

from paychannels import Collector
from paychannels.channels.bank import BankBatchChannel
from paychannels.channels.bank.formats import open_format
from tests.bank.conftest import CREDITOR, bank_request
from tests.crashkit import install_from_env

DEBITS = 100  # above the set path's minimum of 64: the chunk's PENDING goes set-based


def main(db_url: str, exchange: str, phase: str) -> None:
    ch = BankBatchChannel(Path(exchange), format=open_format("pain.008.001.08"), creditor=CREDITOR)
    with Collector.open(db_url, create=phase == "work") as col:
        col.add_channel("bank", ch)
        if phase == "restart":
            col.recover()
        col.collect_many([bank_request(i) for i in range(DEBITS)], channel="bank")
        if phase == "restart":
            ch.flush(col.channel_context("bank"))


if __name__ == "__main__":
    install_from_env()
    main(*sys.argv[1:4])
