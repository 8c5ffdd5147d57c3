"""The command line people use (issue 15 item 7): pipes, usage errors, plain help, no reprs."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from paychannels import Collector, MemoryChannel, Money, PaymentRequest
from paychannels.cli.main import build_parser, main
from paychannels.runtime.clock import ManualClock
from paychannels.runtime.countytime import CountyTime
from paychannels.values.errors import ConfigurationError

#: Python reprs, and JSON where text for people is expected (``--json`` is for machines)
PY_REPR = re.compile(r"\{'|\{\}|\['|\[\]|\bNone\b|\(\)|: \{|\{\"|\[\"")


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/j.db"
    with Collector.open(url, create=True) as col:
        col.add_channel("hall-1", MemoryChannel())
        for i in range(400):
            col.collect(
                PaymentRequest(
                    payer_id=f"1504221990010{i:05d}",
                    amount=Money("380.00", "CNY"),
                    reference="2026",
                    idempotency_key=f"k{i}",
                    payer_name="张三",
                ),
                channel="hall-1",
            )
    return url


def _closing_reader(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``paychannels ARGS | head -1``: the reader closes after the first line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "paychannels.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # as head does
    err = proc.stderr.read().decode()
    return proc.wait(timeout=60), err


@pytest.mark.parametrize(
    "args",
    [
        ["journal", "list", "--limit", "400"],
        ["journal", "list", "--limit", "400", "--json"],
        ["--help"],
        ["journal", "show", "PLACEHOLDER"],
    ],
)
def test_a_closed_pipe_is_not_an_internal_error(db: str, args: list[str]) -> None:
    env = {**os.environ, "PAYCHANNELS_DB": db}
    if "PLACEHOLDER" in args:
        with Collector.open(db) as col:
            args = [a if a != "PLACEHOLDER" else col.journal.find(limit=1)[0].id for a in args]
    code, err = _closing_reader(args, env)
    assert "internal error" not in err and "Traceback" not in err and "Exception" not in err, err
    assert code in (0, 141), err


def _parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:  # test only: argparse has no public walk
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, (*path, name))


def test_every_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    from paychannels.simulators import cli as sim

    seen = 0
    for prog, build, run in (
        ("paychannels", build_parser, main),
        ("paychannels-sim", sim.build_parser, sim.main),
    ):
        for path, _ in _parsers(build()):
            with pytest.raises(SystemExit):
                run([*path, "--help"])
            text = capsys.readouterr().out
            assert "``" not in text, f"{prog} {' '.join(path)} --help:\n{text}"
            seen += 1
    assert seen > 18


def _encoding_commands() -> list[tuple[str, ...]]:
    return [
        path
        for path, parser in _parsers(build_parser())
        if any("--encoding" in a.option_strings for a in parser._actions)
    ]


def test_every_encoding_option_is_found() -> None:
    assert {"batch", "reconcile", "feed"} <= {p[0] for p in _encoding_commands()}


@pytest.mark.parametrize("path", _encoding_commands(), ids=" ".join)
def test_an_unknown_encoding_is_a_usage_error(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main([*path, "--encoding", "klingon-8"])
    assert stop.value.code == 2
    assert "klingon-8" in capsys.readouterr().err


def _text(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    main(argv)
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_no_python_internals_in_what_commands_print(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each command's text output, over a small bank cycle, reads as prose: no dict/list reprs."""
    from tests.bank.test_full_cycle import write_roster

    roster = tmp_path / "roster.csv"
    write_roster(roster, 12)
    (tmp_path / "creditor.toml").write_text(
        '[creditor]\nname = "某社保局"\naccount = "15050171001234567890"\n'
        'bank = "105191000011"\nmsg_prefix = "KYQ"\n',
        "utf-8",
    )
    db = f"sqlite:///{tmp_path}/journal.db"
    build = ["batch", "build", "--format", "pain.008.001.08", "--db", db, "--roster", str(roster)]
    build += ["--creditor", str(tmp_path / "creditor.toml"), "--out", str(tmp_path / "x")]
    outputs = {"batch build": _text([*build, "--create"], capsys)}
    outputs["batch resubmit"] = _text(["batch", "resubmit", "--db", db], capsys)
    outputs["journal list"] = _text(["journal", "list", "--db", db], capsys)
    first = next(line.split()[0] for line in outputs["journal list"].splitlines()[1:])
    outputs["journal show"] = _text(["journal", "show", first, "--db", db], capsys)
    outputs["journal verify"] = _text(["journal", "verify", "--db", db], capsys)
    request = next((tmp_path / "x" / "outbox").iterdir())
    outputs["batch validate"] = _text(["batch", "validate", str(request)], capsys)
    for name, text in outputs.items():
        assert text.strip(), name
        assert not PY_REPR.search(text), f"paychannels {name}:\n{text}"


def test_the_demo_crash_note_reads_as_prose() -> None:
    """The demo's note on recovery after the killed backend (it printed ``{'SUCCEEDED': 1}``)."""
    from paychannels.demo.crash import Crash
    from paychannels.demo.drivers import Fault

    crash = Crash("hall-1", Fault("hall-1", "killed", ""), True, -9, {"SUCCEEDED": 1, "UNKNOWN": 2})
    assert crash.recovery_note() == "recovery after the killed process: 1 SUCCEEDED, 2 UNKNOWN"
    assert "{" not in Crash("hall-1", Fault("hall-1", "k", ""), True, -9).recovery_note()


def test_journal_list_says_when_it_shows_only_part(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _text(["journal", "list", "--db", db], capsys).splitlines()
    assert len(lines) == 1 + 50 + 1
    assert lines[-1] == "… and 350 more (--limit N or --all to see them)"
    everything = _text(["journal", "list", "--db", db, "--all"], capsys).splitlines()
    assert len(everything) == 1 + 400 and "more" not in everything[-1]
    main(["journal", "list", "--db", db, "--json", "--limit", "10"])
    out = capsys.readouterr()
    assert len(json.loads(out.out)) == 10  # --json: the rows as before; the note for people
    assert "… and 390 more" in out.err
    lines = _text(["journal", "list", "--db", db, "--status", "SUCCEEDED", "--limit", "3"], capsys)
    assert lines.splitlines()[-1].startswith("… and 397 more")


def test_journal_list_all_and_limit_exclude_each_other(db: str) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["journal", "list", "--db", db, "--all", "--limit", "3"])
    assert stop.value.code == 2


def _demo_summary(attention: int, unpaid: int, workspace: str | None = "/w") -> dict[str, object]:
    return {
        "payers": 500,
        "categories": {"paid": 400, "unpaid": 100},
        "received_minor": 100,
        "owed_minor": 200,
        "channels": {},
        "lost": 0,
        "doubled": 0,
        "unconfirmed": 0,
        "in_doubt": 0,
        "simulator_problems": [],
        "scanned": {"by_operator": {}},
        "faults_injected": 0,
        "faults_resolved": 0,
        "faults_for_attention": 0,
        "faults_open": 0,
        "faults": [],
        "attention_total": attention,
        "attention": [
            {"category": "unknown", "payer": f"150422********{i:04d}", "text": "ask the bank"}
            for i in range(min(attention, 50))
        ],
        "follow_up": {
            "payers": unpaid,
            "by_reason": {"AC04 closed account": unpaid},
            "examples": [
                f"150422********{i:04d} 张*三 (察尔森镇 第1嘎查): AC04 closed account"
                for i in range(min(unpaid, 20))
            ],
        },
        "notes": [],
        "timings": {},
        "workspace": workspace,
        "arrivals": None,
        "balanced": True,
        "files": {"attention": "/w/reports/attention.csv", "unpaid": "/w/reports/unpaid.csv"},
    }


def test_the_demo_summary_ends_long_lists_with_where_the_rest_is() -> None:
    from paychannels.demo.summary import summary_text

    text = summary_text(_demo_summary(attention=30, unpaid=68))
    assert "  … and 18 more, see attention.csv" in text
    assert "  … and 63 more, see unpaid.csv" in text
    short = summary_text(_demo_summary(attention=3, unpaid=2))
    assert "more" not in short
    gone = summary_text(_demo_summary(attention=3, unpaid=68, workspace=None))
    assert "  … and 63 more (run with --keep for the full list)" in gone


def test_the_demo_follow_up_masks_names_beside_masked_ids(tmp_path: Path) -> None:
    from paychannels.demo.summary import unpaid_after_trying
    from paychannels.reconcile import reconcile
    from tests.bank.test_full_cycle import write_roster

    roster = tmp_path / "roster.csv"
    write_roster(roster, 3)  # nobody paid; one declined attempt follows
    url = f"sqlite:///{tmp_path}/j.db"
    with Collector.open(url, create=True) as col:
        col.add_channel("hall-1", MemoryChannel(default="insufficient_funds"))
        col.collect(
            PaymentRequest(
                payer_id=_first_payer(roster),
                amount=Money("100.00", "CNY"),
                reference="2026:城乡居民基本养老保险",
                idempotency_key="k",
                payer_name="张三0",
            ),
            channel="hall-1",
        )
    follow = unpaid_after_trying(reconcile(url, roster))
    assert follow["payers"] == 1, follow
    assert "张三0" not in follow["examples"][0] and " 张*0 " in follow["examples"][0]


def _first_payer(roster: Path) -> str:
    import csv

    with open(roster, encoding="gb18030") as fh:
        return next(iter(csv.DictReader(fh)))["证件号码"]


# -- one county clock (issue 15 item 8) ------------------------------------------------------

#: 23:30 UTC on 3 March is 07:30 on 4 March in the county (Beijing time)
BEFORE_EIGHT = datetime(2026, 3, 3, 23, 30, tzinfo=UTC)


def test_county_time_dates_by_the_county_not_the_server() -> None:
    county = CountyTime(clock=ManualClock(BEFORE_EIGHT))
    assert county.today() == date(2026, 3, 4)
    assert county.stamp() == "2026-03-04 07:30 Asia/Shanghai"
    assert CountyTime("UTC", ManualClock(BEFORE_EIGHT)).today() == date(2026, 3, 3)
    with pytest.raises(ConfigurationError, match="Mars/Olympus"):
        CountyTime("Mars/Olympus")


def test_a_notice_posted_before_eight_carries_the_county_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.bank.test_full_cycle import write_roster

    roster = tmp_path / "roster.csv"
    write_roster(roster, 3)
    db = f"sqlite:///{tmp_path}/j.db"
    Collector.open(db, create=True).close()
    out = tmp_path / "notices"
    argv = ["notice", "--level", "county", "--roster", str(roster), "--db", db, "--out", str(out)]
    assert main(argv, clock=ManualClock(BEFORE_EIGHT)) == 0
    html = next(out.glob("*.html")).read_text("utf-8")
    assert "2026-03-04 (Asia/Shanghai)" in html and "2026-03-03" not in html
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--zone", "Mars/Olympus"])
    assert stop.value.code == 2 and "Mars/Olympus" in capsys.readouterr().err


def test_the_report_is_stamped_in_the_county_zone_and_names_it(tmp_path: Path) -> None:
    from paychannels.reconcile import reconcile
    from paychannels.reconcile.report import html_report
    from tests.bank.test_full_cycle import write_roster

    roster = tmp_path / "roster.csv"
    write_roster(roster, 2)
    db = f"sqlite:///{tmp_path}/j.db"
    Collector.open(db, create=True).close()
    rec = reconcile(db, roster, county=CountyTime(clock=ManualClock(BEFORE_EIGHT)))
    assert "2026-03-04 07:30 Asia/Shanghai" in html_report(rec)
    assert "UTC" not in html_report(rec)


# -- rich tables and progress (item 7 f) -------------------------------------------------------

COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|9[0-7])(?:;[0-9;]*)?m")
DRAWING = re.compile("[─━│┃┌┐└┘]")
COLUMNS = ["ID", "STATUS", "CHANNEL", "PAYER", "AMOUNT", "REFERENCE", "UPDATED", "UTC"]


def _on_a_terminal(argv: list[str], env: dict[str, str]) -> str:
    """Run ``paychannels ARGV`` with stdout and stderr on a real pseudo-terminal."""
    import pty
    import select
    import time

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "paychannels.cli.main", *argv],
        stdout=slave,
        stderr=slave,
        env={**env, "COLUMNS": "100", "TERM": "xterm"},
    )
    os.close(slave)
    data = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            data += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    return data.decode("utf-8", "replace")


def test_journal_list_is_a_rich_table_on_a_terminal_and_plain_elsewhere(db: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    argv = ["journal", "list", "--db", db, "--limit", "3"]
    drawn = _on_a_terminal(argv, env)
    assert DRAWING.search(drawn) and "\x1b[" in drawn, drawn
    assert "pay_" in drawn and "150422********0000" in drawn  # ids are never cut to fit
    assert "… and 397 more" in drawn

    plain = subprocess.run(
        [sys.executable, "-m", "paychannels.cli.main", *argv],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    ).stdout
    no_colour = _on_a_terminal(argv, {**env, "NO_COLOR": "1"})
    for text in (plain, no_colour.replace("\r\n", "\n")):
        assert "\x1b" not in text and not DRAWING.search(text), text
        assert all(line == line.rstrip() for line in text.splitlines())
        header, first = text.splitlines()[:2]
        assert header.split() == COLUMNS
        assert first.split()[1:4] == ["SUCCEEDED", "hall-1", "150422********0000"]


def test_json_is_the_same_on_a_terminal(db: str) -> None:
    argv = ["journal", "list", "--db", db, "--limit", "2", "--json"]
    shown = _on_a_terminal(argv, dict(os.environ)).replace("\r\n", "\n")
    rows = json.loads(shown[: shown.rindex("]") + 1])
    assert [r["payer_id"] for r in rows] == ["150422********0000", "150422********0001"]


def _read_all(master: int) -> str:
    """Everything written so far to the terminal whose master end is ``master``."""
    os.set_blocking(master, False)
    data = b""
    for _ in range(10_000):  # bounded: a few KiB arrive in chunks
        try:
            chunk = os.read(master, 1 << 16)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace")


def test_progress_is_a_rich_bar_on_a_terminal_and_silent_elsewhere() -> None:
    import io
    import pty

    from paychannels.console.progress import Progress

    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as terminal:
        with Progress("collecting", total=40, stream=terminal) as bar:
            for _ in range(40):
                bar.advance()
        terminal.flush()
        drawn = _read_all(master)
    os.close(master)
    assert "collecting" in drawn and "40/40" in drawn and "━" in drawn, drawn
    piped = io.StringIO()
    with Progress("collecting", total=40, stream=piped) as bar:
        bar.advance(40)
    assert piped.getvalue() == "" and bar.done == 40


def test_progress_without_colour_when_no_color_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    import pty

    from paychannels.console.progress import Progress

    monkeypatch.setenv("NO_COLOR", "1")
    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as terminal:
        with Progress("reading", stream=terminal) as bar:
            bar.advance(1234)
        terminal.flush()
        drawn = _read_all(master)
    os.close(master)
    assert "reading" in drawn and "1,234" in drawn and not COLOUR.search(drawn), repr(drawn)


def test_long_lines_are_cut_between_words() -> None:
    from paychannels.console.readable import clipped

    text = "  [arrival]  hall-1: late: " + "due by 2026-12-08; arrived 1 working day late " * 5
    cut = clipped(text, 160)
    assert len(cut) <= 160 and cut.endswith(" …")
    assert text.startswith(cut.removesuffix(" …")) and text[len(cut) - 2] == " "
    assert clipped("short", 160) == "short"
    assert clipped("x" * 200, 160) == "x" * 158 + " …"  # no space to cut at: cut anyway
