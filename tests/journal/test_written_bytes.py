"""What a ``collect()`` writes, pinned byte for byte on both journal backends (issue 12 item 11:
the journal's hot path was cut — each value encoded once, no scrub of text that cannot need
it — and must keep writing the very rows and events, JSON text included, that it wrote before).

The golden file was written by the code before the cut (``PAYCHANNELS_PIN_WRITE=1`` rewrites
it); ids, claims and lease times, which differ per run, are replaced by their order of
appearance."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from paychannels import Behaviour, Collector, ManualClock, MemoryChannel, Money, PaymentRequest
from tests.journal.stored import stored_rows

GOLDEN = Path(__file__).parent / "data" / "written_bytes.json"
# payment and refund ids, a worker's claim (host/pid/token), the memory device's reference
_VOLATILE = re.compile(
    r"\b[a-z]{2,4}_[0-9A-Z]{20,}\b|[A-Za-z0-9._-]+/\d+/[0-9a-f]{8}\b|mem-[0-9A-Z]{8}\b"
)


def _requests() -> list[PaymentRequest]:
    """Text that needs nothing, text beyond ASCII, text a scrub would touch, metadata."""
    return [
        PaymentRequest(
            payer_id="150422199001010011",
            amount=Money("200.00", "CNY"),
            reference="2026:城乡居民基本养老保险",
            idempotency_key="pin-1",
            payer_name="李四",
            description="城乡居民基本养老保险 2026 — «ü» 😀",
            metadata={"account": "6217000010000001", "mandate_id": "DK202500001", "n": "3"},
        ),
        PaymentRequest(
            payer_id="P2",
            amount=Money("12.34", "EUR"),
            reference="plain ascii",
            idempotency_key="pin-2",
            description="card 4111111111111111 pin 1234",
        ),
    ]


def _dump(url: str) -> dict[str, Any]:
    """Every payment row and event as stored: the database's own text for each column."""
    payments = "SELECT * FROM pc_payments ORDER BY created_at, idempotency_key"
    events = (
        "SELECT payment_id, at, type, from_status, to_status, data, columns_set "
        "FROM pc_events ORDER BY seq"
    )
    rows, evs = stored_rows(url, payments), stored_rows(url, events)
    return {"payments": [_text(r) for r in rows], "events": [_text(e) for e in evs]}


def _text(row: dict[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else repr(v) for k, v in row.items()}


def _normalise(dump: dict[str, Any]) -> dict[str, Any]:
    """Ids, claims and device references (random per run) replaced by their order of
    appearance; a refund's fingerprint by a name."""
    text = json.dumps(dump, ensure_ascii=False, sort_keys=True)
    seen: dict[str, str] = {}
    for row in dump["payments"]:  # a refund's fingerprint hashes its parent's (random) id
        if row["kind"] == "refund":
            text = text.replace(row["fingerprint"], "<refund fingerprint>")
    for found in _VOLATILE.findall(text):
        seen.setdefault(found, f"<v{len(seen)}>")
    return dict(json.loads(_VOLATILE.sub(lambda m: seen[m.group(0)], text)))


def test_a_collect_writes_the_same_rows_and_events_as_before(journal_url: str) -> None:
    backend = "sqlite" if journal_url.startswith("sqlite") else "postgres"
    clock = ManualClock()
    with Collector.open(journal_url, clock=clock, create=True) as col:
        mem = MemoryChannel()
        col.add_channel("hall-1", mem)
        first, second = _requests()
        paid = col.collect(first, "hall-1")
        clock.advance(seconds=5)
        mem.script(Behaviour.DECLINE)
        col.collect(second, "hall-1")
        clock.advance(seconds=5)
        col.refund(paid.id, Money("50.00", "CNY"), idempotency_key="pin-refund")
    got = _normalise(_dump(journal_url))
    if os.environ.get("PAYCHANNELS_PIN_WRITE"):
        pinned = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
        pinned[backend] = got
        GOLDEN.write_text(json.dumps(pinned, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    want = json.loads(GOLDEN.read_text())[backend]
    assert got["events"] == want["events"]
    assert got["payments"] == want["payments"]
