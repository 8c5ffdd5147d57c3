"""``paychannels --version`` and ``--help`` load only the command line: no collector, journal,
driver, simulator, demo, pydantic, lxml, httpx or cryptography (the timing is in
benchmarks/startup.py; a test counts modules, which does not depend on the machine's load).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any, ClassVar

import pytest

import paychannels.cli
from paychannels.cli import demo_cmd, notice_cmd
from paychannels.cli.main import default_db
from paychannels.console.commands import Deferred, command_modules

# Run in a fresh interpreter: main() with the given arguments, then the loaded module names.
_PROBE = """
import json, sys
from paychannels.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""

_HEAVY = (
    "pydantic",
    "lxml",
    "httpx",
    "cryptography",
    "serial",
    "sqlite3",
    "psycopg",
    "paychannels.simulators",
    "paychannels.demo",
    "paychannels.drivers",
    "paychannels.providers",
    "paychannels.channels",
    "paychannels.collector",
    "paychannels.journal",
    "paychannels.values.models",
    "paychannels.reconcile",
    "paychannels.documents.notices",
)
# the argument declarations and what they share; never a command's *_actions module
_LIGHT = {
    "paychannels",
    "paychannels._version",
    "paychannels.cli",
    "paychannels.cli.configured",
    "paychannels.cli.main",
    "paychannels.cli.reconcile_inputs",
    "paychannels.console",
    "paychannels.console.commands",
    "paychannels.console.interrupt",
    "paychannels.console.progress",
    "paychannels.console.usage",
    "paychannels.values",
    "paychannels.values.errors",
    "paychannels.values.status",
}


def _loaded(*args: str) -> tuple[int, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=60
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], report["modules"]


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["batch", "--help"]])
def test_start_up_loads_only_the_command_line(args: list[str]) -> None:
    code, modules = _loaded(*args)
    assert code == 0
    heavy = [m for m in modules if m.startswith(_HEAVY)]
    assert heavy == []
    ours = {m for m in modules if m.startswith("paychannels")}
    assert ours - {m for m in ours if m.endswith("_cmd")} <= _LIGHT
    assert len(modules) < 250  # 3.11.7: --version 169, --help 120 (669 before lazy loading)


@pytest.mark.slow
def test_a_command_loads_its_work_when_it_runs() -> None:
    code, modules = _loaded("journal", "list", "--db", "sqlite:///no/such/folder/journal.db")
    assert code == 2  # the journal is not there: a one-line error, not a crash
    assert "paychannels.cli.journal_actions" in modules
    assert "paychannels.cli.batch_actions" not in modules
    assert not [m for m in modules if m.startswith(("paychannels.demo", "paychannels.simulators"))]


@pytest.mark.slow
def test_choices_spelled_out_for_help_match_their_source() -> None:
    from paychannels.demo.tamper import TAMPERING
    from paychannels.documents.notices import Level

    assert demo_cmd.TAMPERING == TAMPERING
    assert tuple(lv.value for lv in Level) == notice_cmd.LEVELS


class _Recording(argparse.ArgumentParser):
    """A parser (and, through argparse, its subparsers) that keeps every handler it is given."""

    handlers: ClassVar[list[Any]] = []

    def set_defaults(self, **kwargs: Any) -> None:
        if "handler" in kwargs:
            _Recording.handlers.append(kwargs["handler"])
        super().set_defaults(**kwargs)


def test_every_deferred_handler_names_a_function_that_exists() -> None:
    """A misspelt module or name would only show when a user runs that command."""
    _Recording.handlers.clear()
    sub = _Recording(prog="paychannels").add_subparsers()
    for module in command_modules(paychannels.cli):
        module.register(sub, default_db)
    deferred = [h for h in _Recording.handlers if isinstance(h, Deferred)]
    assert len(deferred) == 18  # batch 4, journal 7, terminal 3, lookup 1, feed 1, scan 1, config 1
    for handler in deferred:
        assert callable(handler.resolve()), handler


@pytest.mark.slow
def test_demo_help_names_every_kind_of_channel_of_the_day() -> None:
    """``demo --help`` is written out by hand (it must not load the demo): it names each channel."""
    from paychannels.demo.channels import CHANNELS

    described = " ".join((demo_cmd.__doc__ or "").split())
    missing = {c.name: c.kind for c in CHANNELS if c.kind.split(" (")[0] not in described}
    assert not missing, f"demo --help omits {missing}"
