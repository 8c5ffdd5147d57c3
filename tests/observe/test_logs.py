"""The operator's log: named loggers per room, one INFO line per channel verb, JSON lines.

Real journals (SQLite and PostgreSQL) and the ``memory://`` channel; the CLI's
``--log-format json`` in a real process.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from paychannels import Collector, Money, PaymentRequest, Status
from paychannels.channels.memory import MemoryChannel
from paychannels.observe.logs import JsonFormatter
from paychannels.simulators.terminal import TerminalSimulator
from tests.commands import paychannels

ROOT = Path(__file__).resolve().parents[2]
ROOMS = {ROOT / "src" / "paychannels": "paychannels", ROOT / "drivers": "paychannels.drivers"}
ROOMS[ROOT / "simulators"] = "paychannels.simulators"
PASSWORD = "741852"
CARD = "6222021234567890123"
VERB_FIELDS = {"verb", "payment_id", "channel", "status", "elapsed_ms"}


def request(n: int) -> PaymentRequest:
    return PaymentRequest(
        payer_id=f"P{n}",
        amount=Money("12.00", "CNY"),
        reference="2026-fee",
        idempotency_key=f"k{n}",
    )


@pytest.fixture
def col(journal_url: str) -> Iterator[Collector]:
    with Collector.open(journal_url, create=True) as c:
        c.add_channel("hall", "memory://")
        yield c


def verb_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if hasattr(r, "paychannels")]


def test_each_channel_verb_logs_one_info_line(
    col: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    hall = col.channel("hall")
    assert isinstance(hall, MemoryChannel)
    caplog.set_level(logging.INFO, logger="paychannels")
    paid = col.collect(request(1), channel="hall")
    refund = col.refund(paid.id)
    to_cancel = col.collect(request(2), channel="hall")
    cancelled = col.cancel(to_cancel.id)
    hall.script("lose_reply")
    lost = col.collect(request(3), channel="hall")
    assert lost.status is Status.UNKNOWN
    col.recover()
    lines = [
        (
            r.name,
            r.levelno,
            r.paychannels["verb"],
            r.paychannels["payment_id"],
            r.paychannels["status"],
        )  # type: ignore[attr-defined]
        for r in verb_records(caplog)
    ]
    assert lines == [
        ("paychannels.channel.hall", logging.INFO, "collect", paid.id, "SUCCEEDED"),
        ("paychannels.channel.hall", logging.INFO, "refund", refund.id, "SUCCEEDED"),
        ("paychannels.channel.hall", logging.INFO, "collect", to_cancel.id, "SUCCEEDED"),
        ("paychannels.channel.hall", logging.INFO, "cancel", cancelled.id, cancelled.status.value),
        ("paychannels.channel.hall", logging.INFO, "collect", lost.id, "UNKNOWN"),
        ("paychannels.channel.hall", logging.INFO, "inquire", lost.id, "SUCCEEDED"),
        ("paychannels.collector", logging.INFO, "recover", None, None),
    ]
    for record in verb_records(caplog):
        fields = record.paychannels  # type: ignore[attr-defined]
        assert set(fields) >= VERB_FIELDS
        assert isinstance(fields["elapsed_ms"], float) and fields["elapsed_ms"] >= 0
        text = record.getMessage()
        assert f"elapsed_ms={fields['elapsed_ms']}" in text
        assert text.startswith(fields["verb"])
    first = verb_records(caplog)[0].getMessage()
    assert first.startswith(f"collect {paid.id} channel=hall status=SUCCEEDED elapsed_ms=")


def test_a_verb_that_raises_still_logs_its_line_with_the_error(
    col: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="paychannels")
    paid = col.collect(request(1), channel="hall")
    caplog.clear()
    with pytest.raises(Exception) as raised:
        col.refund(paid.id, Money("99.00", "CNY"))  # more than was taken
    [line] = verb_records(caplog)
    assert line.paychannels["error"] == type(raised.value).__name__  # type: ignore[attr-defined]
    assert line.paychannels["verb"] == "refund"  # type: ignore[attr-defined]
    assert f"error={type(raised.value).__name__}" in line.getMessage()


def test_json_lines_parse_and_carry_the_verb_fields(col: Collector) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("paychannels")
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        paid = col.collect(request(1), channel="hall")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("paychannels.collector").exception("a failure, with its traceback")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    lines = stream.getvalue().splitlines()
    objects = [json.loads(line) for line in lines]  # one object per line, each parses
    collect = next(o for o in objects if o.get("verb") == "collect")
    assert collect["payment_id"] == paid.id
    assert collect["channel"] == "hall" and collect["status"] == "SUCCEEDED"
    assert collect["logger"] == "paychannels.channel.hall" and collect["level"] == "INFO"
    assert collect["time"].endswith("+00:00")
    failure = objects[-1]
    assert failure["level"] == "ERROR" and "ValueError: boom" in failure["exception"]
    assert len(lines) == len(objects)


def _probe(tmp_path: Path, port: int, *options: str) -> subprocess.CompletedProcess[str]:
    return paychannels(
        *options, "terminal", "probe",
        "--link", f"tcp://127.0.0.1:{port}", "--pay", "0.01", "--yes", "--keep", "--create",
        "--db", f"sqlite:///{tmp_path}/j.db", "--transcript", str(tmp_path / "t.trace"),
        env={**os.environ, "PAYCHANNELS_ZVT_PASSWORD": PASSWORD},
    )  # fmt: skip


@pytest.mark.slow
def test_the_cli_writes_json_log_lines(tmp_path: Path) -> None:
    """A field-test payment on the ZVT simulator: ``--log-format json --log-level info``
    gives one JSON object per stderr line, the verb line among them."""
    sim = TerminalSimulator(password=int(PASSWORD), card=CARD, t2=0.3)
    _host, port = sim.serve_tcp("127.0.0.1", 0)
    try:
        done = _probe(tmp_path, port, "--log-format", "json", "--log-level", "info")
        assert done.returncode == 0, done.stderr
        objects = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
        [collect] = [o for o in objects if o.get("verb") == "collect"]
        assert collect["logger"] == "paychannels.channel.field-test"
        assert collect["status"] == "SUCCEEDED" and collect["payment_id"].startswith("pay_")
        assert all({"time", "level", "logger", "message"} <= set(o) for o in objects)
        assert CARD not in done.stderr and CARD not in done.stdout
        text = _probe(tmp_path, port, "--log-level", "info")
        assert text.returncode == 0, text.stderr
        [line] = [x for x in text.stderr.splitlines() if " collect pay_" in x]
        assert line.startswith("INFO paychannels.channel.field-test: collect pay_")
        assert "status=SUCCEEDED elapsed_ms=" in line
        quiet = _probe(tmp_path, port)  # the default: warnings only, no verb lines
        assert quiet.returncode == 0 and "collect pay_" not in quiet.stderr
    finally:
        sim.close()
    bad = paychannels("--log-format", "xml", "journal", "list")
    assert bad.returncode == 2 and "--log-format" in bad.stderr


def _loggers(path: Path) -> Iterator[tuple[int, str]]:
    text = path.read_text("utf-8")
    for found in re.finditer(r"getLogger\(\s*[\"']([^\"']*)[\"']", text):
        yield text.count("\n", 0, found.start()) + 1, found[1]


def test_every_logger_is_named_after_its_room() -> None:
    """``paychannels.<room>[.<part>]``: an operator silences or raises a layer by its name
    (the verb lines' ``paychannels.channel.<name>`` is built from the channel's name)."""
    wrong = []
    for folder, package in ROOMS.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).parts
            room = package if package != "paychannels" else f"paychannels.{parts[0]}"
            for line, name in _loggers(path):
                if name != "paychannels" and name != room and not name.startswith(room + "."):
                    wrong.append(f"{path.relative_to(ROOT)}:{line}: {name} (room {room})")
    assert wrong == []
