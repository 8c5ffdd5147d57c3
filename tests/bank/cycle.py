"""A small bank day set up through the command line, as the bank tests share it: a roster of
bank payers (GB 18030, a name outside the BMP), the creditor file, ``batch build --create``."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from paychannels.cli.main import main
from paychannels.demo.roster_gen import write_bank_roster
from paychannels.values.idnumbers import with_check_digit

TOWNS = ["察尔森镇", "科尔沁镇", "居力很镇", "ᠴᠠᠯᠠᠰᠤ"]
CREDITOR = (
    '[creditor]\nname = "科尔沁右翼前旗社会保险事业管理局"\naccount = "15050171001234567890"\n'
    'bank = "105191000011"\nmsg_prefix = "KYQ"\n'
)


def write_roster(path: Path, n: int) -> None:
    """n bank payers; ID numbers cycle by year, month and day (a roster by village: scattered)."""
    ids = (
        with_check_digit(f"150422{1950 + i % 60}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}")
        for i in range(n)
    )
    names = ["张三", "李𠀀四", "巴特尔", "乌云其木格"]
    write_bank_roster(path, ids, names=names, towns=TOWNS, encoding="gb18030")


def write_creditor(folder: Path) -> Path:
    """The creditor file ``batch build`` reads."""
    path = folder / "creditor.toml"
    path.write_text(CREDITOR, "utf-8")
    return path


def build_day(folder: Path, payers: int) -> str:
    """Roster, creditor and ``batch build --create`` into ``folder/exchange``; the journal URL."""
    roster = folder / "roster.csv"
    write_roster(roster, payers)
    db = f"sqlite:///{folder}/journal.db"
    build = ["batch", "build", "--create", "--format", "pain.008.001.08", "--db", db]
    build += ["--creditor", str(write_creditor(folder)), "--roster", str(roster)]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*build, "--out", str(folder / "exchange")]) == 0
    return db
