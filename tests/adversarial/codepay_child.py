"""A backend process paying by payment code, or recovering; the crash test kills it.

``codepay_child.py pay PLAN`` collects the plan's payments (each with its scanned code);
``codepay_child.py recover PLAN`` runs ``recover()`` until nothing is in flight or in doubt
(bounded). PLAN is a JSON file the parent wrote: journal URL, channel URL and options.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tests.crashkit import install_from_env

install_from_env()

from paychannels import Collector, Money, PaymentRequest, Status  # noqa: E402

OPEN = [Status.DISPATCHED, Status.UNKNOWN, Status.PENDING]


def main(mode: str, plan_path: str) -> None:
    plan = json.loads(Path(plan_path).read_text(encoding="utf-8"))
    col = Collector.open(plan["db"])
    try:
        col.add_channel("wx", plan["url"], **plan["options"])
        if mode == "pay":
            for p in plan["payments"]:
                request = PaymentRequest(
                    payer_id=p["payer"],
                    amount=Money.of_minor(p["fen"], "CNY"),
                    reference="2026-村级代收",
                    idempotency_key=p["key"],
                    payment_code=p["code"],
                )
                col.collect(request, channel="wx")
            return
        for _ in range(100):  # bounded: every wait in a crash test ends
            col.recover()
            if not col.find(statuses=OPEN):
                return
            time.sleep(0.1)
        raise SystemExit("recovery did not settle within its bound")
    finally:
        col.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
