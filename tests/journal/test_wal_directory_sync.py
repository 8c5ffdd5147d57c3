"""A write-ahead log the journal flushes itself must also have its directory entry on the
disk, or a power loss just after a fresh log's first durable commit could lose the whole
file with the payment's intent in it. ``synchronous=FULL`` synced the directory the first
time it synced a log it made; since the journal runs its connections at NORMAL and
fdatasyncs the log itself, it relies on SQLite doing the same at NORMAL (it syncs a fresh
log's header, and with it the directory, before the first frame's commit). A guard: a
change of setting (OFF) or of SQLite that stops it fails here, not in a power cut."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

STRACE = shutil.which("strace")

CHILD = """
import sys
from paychannels import Collector, MemoryChannel, Money, PaymentRequest
col = Collector.open(sys.argv[1], create=True)
col.add_channel("hall-1", MemoryChannel())
sys.stdout.write("OPENED\\n"); sys.stdout.flush()
col.collect(PaymentRequest(payer_id="150422199001010001", amount=Money("380.00", "CNY"),
    reference="2026", idempotency_key="k-1", payer_name="张三"), channel="hall-1")
sys.stdout.write("COLLECTED\\n"); sys.stdout.flush()
col.close()
"""


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
def test_a_fresh_logs_directory_is_synced_before_its_first_durable_commit_returns(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "j"
    folder.mkdir()
    trace = tmp_path / "strace.txt"
    assert STRACE is not None
    subprocess.run(
        [STRACE, "-f", "-y", "-qq", "-o", str(trace), "-e",
         "trace=openat,fsync,fdatasync,write", sys.executable, "-c", CHILD,
         f"sqlite:///{folder}/journal.db"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    lines = trace.read_text().splitlines()
    collected = next(i for i, line in enumerate(lines) if "COLLECTED" in line)
    wal = re.escape(f"{folder}/journal.db-wal")
    created = [
        i for i, line in enumerate(lines)
        if re.search(rf'openat\(.*"{wal}".*O_CREAT', line) and "= -1" not in line
    ]  # fmt: skip
    # the log the payment is written to: the last one made before it was collected
    made = max(i for i in created if i < collected)
    dir_synced = [
        i for i, line in enumerate(lines)
        if re.search(rf"^\d+\s+f(data)?sync\(\d+<{re.escape(str(folder))}>\)", line)
    ]  # fmt: skip
    assert any(made < i < collected for i in dir_synced), (
        "the fresh log's directory was never synced before the payment was answered"
    )
