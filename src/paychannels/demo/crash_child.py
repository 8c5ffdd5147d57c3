"""A backend process that the demo kills mid-payment: ``python -m paychannels.demo.crash_child``.

It opens the demo's journal and the channel, and collects the payments given in a JSON
file (``{"options": channel options, "requests": [...]}``; options stay off the command
line, where other users could read them). The demo starts it with
``PAYCHANNELS_CRASH_AT=collect.after_outcome@N``: the N-th payment is approved by the
terminal and the process dies (SIGKILL) before the journal hears of it — the demo's own
process then recovers it by asking the terminal.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from paychannels.collector import Collector
from paychannels.models import PaymentRequest


def main() -> None:
    """Collect the requests of ``--work`` through ``--url`` (dies at the crash point)."""
    parser = argparse.ArgumentParser(prog="paychannels.demo.crash_child")
    parser.add_argument("--db", required=True)
    parser.add_argument("--channel", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--work", required=True, type=Path, help="options and requests (JSON)")
    args = parser.parse_args()
    work = json.loads(args.work.read_text("utf-8"))
    requests = [PaymentRequest.model_validate(r) for r in work["requests"]]
    with Collector.open(args.db) as col:
        col.add_channel(args.channel, args.url, **work["options"])
        for request in requests:
            col.collect(request, channel=args.channel)


if __name__ == "__main__":
    main()
