"""A result file given by hand and refused stays where it is, and the log says so (it said
"quarantined" though nothing went into ``quarantine/``)."""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

import pytest

from paychannels.cli.main import main
from tests.bank.cycle import build_day


@pytest.mark.slow
def test_a_refused_file_given_by_hand_is_left_in_place_and_logged_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    db = build_day(tmp_path, 3)
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n", "utf-8")
    with caplog.at_level(logging.WARNING), contextlib.redirect_stdout(io.StringIO()):
        assert main(["batch", "ingest", str(passwd), "--db", db]) == 2
    capsys.readouterr()
    said = " ".join(r.getMessage() for r in caplog.records)
    assert passwd.is_file()
    assert not list((tmp_path / "exchange").glob("quarantine/*"))
    assert "quarantined" not in said, said
    assert "passwd" in said and "left where it is" in said, said
