"""``paychannels feed`` on the command line: written, fed before (1), usage mistakes (2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from paychannels.cli import feed_cmd
from paychannels.cli.main import main
from paychannels.documents.feeds import ENCODINGS, FORMATS, INSURANCES
from paychannels.journal import open_journal
from tests.feeds.county import SHANGHAI, at, fill


def test_the_command_spells_the_library_s_choices() -> None:
    names = {i.code for i in INSURANCES} | {i.name for i in INSURANCES} | {"all"}
    assert set(feed_cmd.TYPES) == names
    assert feed_cmd.FORMATS == FORMATS and feed_cmd.ENCODINGS == ENCODINGS


def test_feed_writes_then_refuses_the_same_day_and_rewrites_it_only_when_asked(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day = datetime.now(UTC).astimezone(SHANGHAI).date() - timedelta(days=2)
    journal = open_journal(sqlite_url, create=True)
    fill(journal, range(3), paid_at=at(day, 9))
    fill(journal, range(3, 5), paid_at=at(day, 9), medical=True)
    journal.close()
    argv = ["feed", "--db", sqlite_url, "--day", day.isoformat(), "--out", str(tmp_path)]
    assert main([*argv, "--type", "all", "--json"]) == 0
    written = json.loads(capsys.readouterr().out)["written"]
    assert [(w["feed"], w["lines"], w["action"]) for w in written] == [
        (f"pension-{day}", 3, "new"),
        (f"medical-{day}", 2, "new"),
    ]
    first = Path(written[0]["path"]).read_bytes()
    assert main([*argv, "--type", "pension"]) == 1
    err = capsys.readouterr().err
    assert "nothing is fed twice" in err and "--again" in err
    assert main([*argv, "--type", "城乡居民基本养老保险", "--again"]) == 0
    assert Path(written[0]["path"]).read_bytes() == first
    assert "(again)" in capsys.readouterr().out
    journal = open_journal(sqlite_url)
    assert [(f.feed_id, f.lines) for f in journal.feeds()] == [
        (f"medical-{day}", 2),
        (f"pension-{day}", 3),
    ]
    journal.close()


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--type", "unemployment"], "invalid choice"),
        (["--type", "pension", "--encoding", "latin-1"], "invalid choice"),
        (["--type", "pension", "--format", "jsonl", "--encoding", "gbk"], "UTF-8"),
        (["--type", "pension", "--day", "2026-02-30"], "not a date"),
        (["--type", "pension", "--zone", "Mars/Olympus"], "unknown time zone"),
    ],
)
def test_usage_mistakes_exit_2(
    sqlite_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    said: str,
) -> None:
    open_journal(sqlite_url, create=True).close()
    try:
        code = main(["feed", "--db", sqlite_url, "--out", str(tmp_path), *extra])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code  # type: ignore[assignment]
    assert code == 2
    assert said in capsys.readouterr().err
    assert not list(tmp_path.glob("*.csv"))
