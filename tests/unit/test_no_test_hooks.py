"""Production code carries no test hooks: fault injection lives in the simulators and the test
kit (a faulty link), crash points are installed by whoever runs them (issue 14, item 3).

Walks the syntax tree of every module under src/ and drivers/ (the library; simulators may
misbehave, that is their job) and fails naming file and line of: a ``Tamper`` or a ``tamper=``
parameter, an ``os.kill`` that sends a signal (``os.kill(pid, 0)`` only asks whether a lock
owner lives), or any mention of a ``PAYCHANNELS_CRASH*`` variable. The demo's ``--tamper``
option is a user-facing scenario (it spoils the demo day's journal or terminal on purpose, to
show reconciliation catching it), not a hook in a transport, so its modules may say ``tamper``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = [ROOT / "src" / "paychannels", ROOT / "drivers"]
#: modules where the word ``tamper`` names the demo's scenario option (see the docstring)
DEMO_SCENARIO = {"src/paychannels/cli/demo_cmd.py", "src/paychannels/demo/run.py"}


def _modules() -> list[Path]:
    return sorted(p for base in PRODUCTION for p in base.rglob("*.py"))


def _signals(node: ast.AST) -> bool:
    """Whether a call ``os.kill(pid, sig)`` sends a signal (sig 0 only probes)."""
    return not (
        isinstance(node, ast.Call)
        and len(node.args) == 2
        and isinstance(node.args[1], ast.Constant)
        and node.args[1].value == 0
    )


def _hooks(tree: ast.AST, *, scenario: bool = False) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.ClassDef) and "Tamper" in node.name:
            found.append((line, f"class {node.name}"))
        elif isinstance(node, ast.Name) and "Tamper" in node.id:
            found.append((line, f"name {node.id}"))
        elif isinstance(node, ast.alias) and "Tamper" in node.name:
            found.append((line, f"import {node.name}"))
        elif isinstance(node, ast.arg) and node.arg == "tamper" and not scenario:
            found.append((line, "parameter tamper"))
        elif isinstance(node, ast.keyword) and node.arg == "tamper" and not scenario:
            found.append((line, "argument tamper="))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("kill", "killpg")
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "os"
            and _signals(node)
        ):
            found.append((line, f"os.{node.func.attr}"))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "PAYCHANNELS_CRASH" in node.value
        ):
            found.append((line, f"crash variable {node.value[:40]!r}"))
    return found


@pytest.mark.slow
def test_production_code_has_no_fault_injection_or_crash_killer() -> None:
    modules = _modules()
    assert len(modules) > 100, "the walk found too few modules: wrong root?"
    offences = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in modules
        for line, what in _hooks(
            ast.parse(path.read_text("utf-8"), str(path)),
            scenario=str(path.relative_to(ROOT)) in DEMO_SCENARIO,
        )
    ]
    assert offences == [], "test hooks in production code:\n" + "\n".join(offences)


@pytest.mark.parametrize(
    "source",
    [
        "from x import Tamper",
        "def f(link, *, tamper=None): pass",
        "T(link, tamper=t)",
        "import os\nos.kill(1, 9)",
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
        "import os\nos.environ.get('PAYCHANNELS_CRASH_AT')",
    ],
)
def test_the_walk_sees_each_kind_of_hook(source: str) -> None:
    assert _hooks(ast.parse(source)), source


def test_a_liveness_probe_is_no_hook() -> None:
    assert _hooks(ast.parse("import os\nos.kill(1234, 0)")) == []
