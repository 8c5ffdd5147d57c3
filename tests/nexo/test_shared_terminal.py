"""One virtual terminal, reached over ZVT (TCP) and over its cloud (nexo): one journal, one
set of receipts, one transaction at a time."""

from __future__ import annotations

from pathlib import Path

from paychannels import Collector, Money, PaymentRequest, Status
from paychannels.drivers.zvt import TerminalChannel, TerminalEvent
from paychannels.simulators.terminal import TerminalSimulator

API_KEY = "AQEyhmfxK4-shared-api-key-0123456789"
PASSWORD = "246813"


def request(n: int) -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"15042219900101{n:04d}",
        amount=Money(f"{n}00.00", "CNY"),
        reference=f"2026-{n}",
        idempotency_key=f"shared-{n}",
    )


def test_zvt_and_cloud_see_the_same_terminal(tmp_path: Path) -> None:
    sim = TerminalSimulator(password=int(PASSWORD), charset="gb18030")
    try:
        host, port = sim.serve_tcp("127.0.0.1", 0)
        base = sim.serve_nexo(poiid="P400Plus-1", api_key=API_KEY)
        with Collector.open(f"sqlite:///{tmp_path}/j.db", create=True) as col:
            zvt = col.add_channel(
                "zvt", f"zvt+tcp://{host}:{port}?t3=1&t4=3&charset=gb18030", password=PASSWORD
            )
            assert isinstance(zvt, TerminalChannel)
            zvt.watch(
                lambda e: (
                    sim.terminal.tag_next(e.record_id)
                    if isinstance(e, TerminalEvent) and e.kind == "command" and e.record_id
                    else None
                )
            )
            col.add_channel("cloud", f"nexo+{base}/?poi=P400Plus-1", api_key=API_KEY)
            by_cloud = col.collect(request(1), channel="cloud")
            by_zvt = col.collect(request(2), channel="zvt")
            again_cloud = col.collect(request(3), channel="cloud")
            records = [by_cloud, by_zvt, again_cloud]
            assert [r.status for r in records] == [Status.SUCCEEDED] * 3
            txns = sim.terminal.journal.txns
            assert [t.receipt for t in txns] == [1, 2, 3], "one receipt sequence for both fronts"
            assert [t.tag for t in txns] == [r.id for r in records]
            for record, txn in zip(records, txns, strict=True):
                lines = sim.terminal.receipt_lines(txn, chinese=True)
                assert list(record.channel_data["receipt"]) == [  # type: ignore[arg-type]
                    line.replace("6222021234567890123", "622202*********0123") for line in lines
                ], f"{record.channel}: the receipt differs from the terminal's"
            # ZVT's "repeat receipt" after a cloud payment repeats that payment
            with zvt.client.session() as session:
                repeated = session.repeat_status()
            assert repeated.info is not None and repeated.info.receipt == 3
            assert by_cloud.channel_ref == f"29001234.0001.{txns[0].trace:06d}"
            col.cancel(by_cloud.id)  # reversed through the cloud, seen by the terminal
            assert txns[0].reversed and sim.terminal.journal.charges() == 2
    finally:
        sim.close()
