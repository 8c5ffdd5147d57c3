"""Every fenced block of README.md and docs/ is run, or marked why not; shown output is checked.

Python blocks run in a fresh folder in a subprocess (``continues`` chains a block to the one
before it), shell blocks under bash with this environment's console scripts on PATH, TOML and
JSON are parsed, output blocks are compared with what the command really printed. The
markers and placeholders are described in docs/testing.md ("Docs that cannot lie").
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.docs.mdblocks import OUTPUT_LANGS, Block, all_blocks, mismatch
from tests.loopback import free_port

BLOCKS = all_blocks()
BY_ID = {b.id: b for b in BLOCKS}
SHELL = {"sh", "bash", "console"}
DEMO_WORKSPACE = "demo-workspace"
TERMINAL_SIM = "terminal-sim"
#: what builds the workspace a ``with demo-workspace`` block works in (one run per session)
DEMO_WORKSPACE_CMD = "paychannels demo --payers 300 --seed 7 --out"
TIMEOUT = 300.0


@dataclass(frozen=True)
class Ran:
    """What a command printed (stdout and stderr as one terminal shows them) and its status."""

    output: str
    status: int


class Runner:
    """Runs commands and blocks in fresh folders; each command once per session."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self.factory = factory
        self.cache: dict[str, Ran] = {}
        self.workspace: Path | None = None
        self.sim: tuple[Path, dict[str, str]] | None = None
        self.servers: list[subprocess.Popen[str]] = []

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAYCHANNELS_")}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONIOENCODING"] = "utf-8"
        env["COLUMNS"] = "100"
        return env

    def run(self, argv: list[str], cwd: Path | None = None) -> Ran:
        cwd = cwd or self.factory.mktemp("block")
        with self._popen(argv, cwd) as proc:
            try:
                out, _ = proc.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, _ = proc.communicate()
                pytest.fail(f"{' '.join(argv)[:200]} ran over {TIMEOUT:.0f} s:\n{out[-2000:]}")
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        return Ran(out, proc.returncode)

    def shell(self, text: str, cwd: Path | None = None) -> Ran:
        key = f"{cwd}\0{text}"
        if key not in self.cache:
            self.cache[key] = self.run(["bash", "-e", "-o", "pipefail", "-c", text], cwd)
        return self.cache[key]

    def terminal_sim(self) -> tuple[Path, dict[str, str]]:
        """A ZVT terminal simulator (TCP, a pty, its control API) and a field laptop's folder
        (``pw.txt``, a journal ``hall.db``); the real addresses for the docs' ones."""
        if self.sim is None:
            folder = self.factory.mktemp("field")
            (folder / "pw.txt").write_text("123456\n", "utf-8")
            (folder / "pw.txt").chmod(0o600)  # a secret's file; a config refuses it readable by all
            ran = self.run(
                ["paychannels", "journal", "migrate", "--db", "sqlite:///hall.db"], folder
            )
            assert ran.status == 0, ran.output
            tcp, control = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
            argv = ["paychannels-sim", "terminal", "--tcp", tcp, "--pty", "--control", control]
            proc = self.start([*argv, "--password", "123456"])
            said = _read_until(proc, "control API", 30.0)
            pty = re.search(r"serial line on (\S+)", said)
            assert pty, f"the terminal simulator said:\n{said}"
            self.sim = (
                folder,
                {
                    "tcp://10.1.2.3:20007": f"tcp://{tcp}",
                    "127.0.0.1:8765": control,
                    "serial:///dev/ttyUSB0": f"serial://{pty.group(1)}",
                },
            )
        return self.sim

    def start(self, argv: list[str], cwd: Path | None = None) -> subprocess.Popen[str]:
        """A server left running, its output on a pipe; ended with its group at ``close``."""
        proc = self._popen(argv, cwd)
        self.servers.append(proc)
        return proc

    def _popen(self, argv: list[str], cwd: Path | None) -> subprocess.Popen[str]:
        """``argv`` in a session of its own (a block that leaves a server behind is ended with
        it), stdout and stderr as one text pipe."""
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            start_new_session=True,
        )

    def close(self) -> None:
        for proc in self.servers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            if proc.stdout:
                proc.stdout.close()

    def demo_workspace(self) -> Path:
        if self.workspace is None:
            ws = self.factory.mktemp("demo") / "workspace"
            ran = self.shell(f"{DEMO_WORKSPACE_CMD} {ws}")
            assert ran.status == 0, ran.output[-3000:]
            (ws / "paychannels.db").symlink_to("journal.db")  # the name the docs' examples use
            self.workspace = ws
        return self.workspace


@pytest.fixture(scope="session")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    running = Runner(tmp_path_factory)
    yield running
    running.close()


def _read_until(proc: subprocess.Popen[str], text: str, timeout: float) -> str:
    """What a server printed up to the line holding ``text`` (bounded by ``timeout``)."""
    assert proc.stdout is not None
    lines: list[str] = []
    timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
    timer.start()
    try:
        for line in proc.stdout:
            lines.append(line)
            if text in line:
                break
    finally:
        timer.cancel()
    return "".join(lines)


def _withs(block: Block) -> list[str]:
    """What a block runs with: every ``with …`` marker (a fixture or a file of its page)."""
    return [m[len("with ") :].strip() for m in block.markers if m.startswith("with ")]


def _page_files(file: str) -> dict[str, Block]:
    """The blocks of a page marked ``file <name>``: files its ``with <name>`` blocks run beside."""
    return {name: b for b in BLOCKS if b.file == file and (name := b.marker("file"))}


def _place(block: Block, withs: list[str], runner: Runner) -> tuple[Path, dict[str, str]]:
    """The folder a block runs in and the docs' addresses to replace there: a kept demo
    workspace, the terminal simulator's field folder, or a fresh one; the page's files it
    names (``with paychannels.toml``) written into it, addresses replaced."""
    addresses: dict[str, str] = {}
    if DEMO_WORKSPACE in withs:
        folder = runner.demo_workspace()
        addresses = {"<workspace>": str(folder)}
    elif TERMINAL_SIM in withs:
        folder, addresses = runner.terminal_sim()
    else:
        folder = runner.factory.mktemp("block")
    files = _page_files(block.file)
    for name in withs:
        if name in (DEMO_WORKSPACE, TERMINAL_SIM):
            continue
        assert name in files, f"{block.id}: 'with {name}' but no block of its page is 'file {name}'"
        text = files[name].text
        for shown, real in addresses.items():
            text = text.replace(shown, real)
        (folder / name).write_text(text, "utf-8")
    return folder, addresses


def _output_source(block: Block) -> str | None:
    said = block.marker("output-of")
    if said is not None:
        return said
    before = block.follows
    runs = {"python", *SHELL}
    marked = [m for m in block.markers if m != "numbers vary"]  # anything else says otherwise
    if before is not None and before.lang in runs and before.marker("skip") is None and not marked:
        return "previous"
    return None


def _is_slow(block: Block) -> bool:
    """A block that starts a process (the demo above all) is slow; parsing and marks are not."""
    if block.marker("skip") is not None:
        return False
    return block.lang not in ("toml", "json") and (
        block.lang not in OUTPUT_LANGS or _output_source(block) is not None or bool(block.markers)
    )


def _params() -> list[object]:
    # under pytest -n the slow ones share a worker, so each command (the demo) runs once
    slow = [pytest.mark.slow, pytest.mark.xdist_group("docs-blocks")]
    return [pytest.param(b, id=b.id, marks=slow if _is_slow(b) else []) for b in BLOCKS]


@pytest.mark.parametrize("block", _params())
def test_block(block: Block, runner: Runner) -> None:
    """Run (or parse) the block, or compare it with the output it shows; unmarked others fail."""
    reason = block.marker("skip")
    if reason is not None:
        assert reason, f"{block.id}: 'docs-test: skip' needs a reason"
        pytest.skip(f"{block.id}: {reason}")
    if block.lang == "python":
        _python(block, runner)
    elif block.lang in SHELL:
        _shell(block, runner)
    elif block.lang == "toml":
        tomllib.loads(block.text)
        if block.marker("toml-of") is not None:
            _toml_of(block, runner)
    elif block.lang == "json":
        json.loads(block.text)
    elif block.marker("file") is not None:
        assert _page_files(block.file), f"{block.id}: a file no block of its page runs with"
    elif block.lang == "csv" and block.marker("roster") is not None:
        _roster(block, runner)
    elif block.lang in OUTPUT_LANGS and _output_source(block) is not None:
        _output(block, runner)
    elif block.lang in OUTPUT_LANGS and block.marker("tree-of") == DEMO_WORKSPACE:
        _tree(block, runner)
    else:
        pytest.fail(
            f"{block.id}: a ```{block.lang} block that is neither run nor marked: run it, or put "
            "'<!-- docs-test: skip <why> -->' (or 'output-of …') right before it"
        )


def _python(block: Block, runner: Runner) -> None:
    """Run it; a ``print(…)  # shown`` line's comment is what it prints, in that order."""
    ran = _run_chain(block, runner)
    assert ran.status == 0, f"{block.id} failed:\n{ran.output[-3000:]}"
    shown = re.findall(r"^\s*print\(.*\)\s*#\s*(.+?)\s*$", block.text, re.MULTILINE)
    if shown:
        why = mismatch("...\n" + "\n...\n".join(shown) + "\n...\n", ran.output)
        assert why is None, f"{block.id}: {why}\n--- it printed:\n{ran.output}"


def _shell(block: Block, runner: Runner) -> None:
    if block.marker("synopsis") is not None:
        _synopsis(block, runner)
        return
    serves = block.marker("serves") is not None
    ran = _serve(block, runner) if serves else _run_chain(block, runner)
    assert ran.status == 0, f"{block.id} exited {ran.status}:\n{ran.output[-3000:]}"
    lines = block.text.rstrip("\n").splitlines()
    shown: list[str] = []
    while lines and lines[-1].startswith("#"):  # comment lines after the commands: its output
        shown.insert(0, lines.pop()[2:])
    if shown and lines:
        output = ran.output
        if TERMINAL_SIM in _withs(block):  # the simulator stands in at the docs' addresses
            for doc, real in runner.terminal_sim()[1].items():
                output = output.replace(real, doc)
        vary = block.marker("numbers vary") is not None
        why = mismatch("\n".join(shown), output, numbers_vary=vary)
        assert why is None, f"{block.id}: {why}\n--- it printed:\n{ran.output}"


def _serve(block: Block, runner: Runner) -> Ran:
    """A server's command: started on free ports (for the docs' ``127.0.0.1:PORT``), its output
    read as far as the block shows it (bounded), then stopped."""
    command = block.text.split("\n#", 1)[0]
    for port in set(re.findall(r"127\.0\.0\.1:(\d+)", command)):
        command = command.replace(f"127.0.0.1:{port}", f"127.0.0.1:{free_port()}")
    shown = [ln for ln in block.text.splitlines() if ln.startswith("#")]
    folder, addresses = _place(block, _withs(block), runner)
    for shown_address, real in addresses.items():
        command = command.replace(shown_address, real)
    proc = runner.start(["bash", "-c", command], folder)
    assert proc.stdout is not None
    lines: list[str] = []
    timer = threading.Timer(30.0, lambda: os.killpg(proc.pid, signal.SIGKILL))
    timer.start()
    try:
        while len(lines) < len(shown) and (line := proc.stdout.readline()):
            lines.append(line)
    finally:
        timer.cancel()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    return Ran("".join(lines), 0)


def _chain(block: Block) -> list[Block]:
    """The block and those it builds on (``continues``), first to last."""
    chain = [block]
    while chain[0].marker("continues") is not None:
        first = chain[0]
        earlier = [b for b in BLOCKS if b.file == first.file and b.line < first.line]
        earlier = [b for b in earlier if b.lang in {"python", *SHELL}]
        assert earlier, f"{first.id}: 'continues' but no Python or shell block before it"
        chain.insert(0, earlier[-1])
    return chain


def _run_chain(block: Block, runner: Runner) -> Ran:
    """Run a block after those it builds on, in one folder (a kept demo workspace ``with
    demo-workspace``): Python blocks in a row share one process, shell blocks run under bash."""
    if block.id in runner.cache:
        return runner.cache[block.id]
    folder, addresses = _place(block, _withs(block), runner)
    scripts = runner.factory.mktemp("scripts")
    groups: list[list[Block]] = []
    for b in _chain(block):
        if groups and b.lang == "python" and groups[-1][-1].lang == "python":
            groups[-1].append(b)
        else:
            groups.append([b])
    ran = Ran("", 0)
    for n, group in enumerate(groups):
        if group[0].lang == "python":
            script = scripts / f"block{n}.py"
            script.write_text("".join(f"# --- {b.id}\n{b.text}" for b in group), "utf-8")
            ran = runner.run([sys.executable, str(script)], folder)
        else:
            text = group[0].text
            for shown, real in addresses.items():
                text = text.replace(shown, real)
            ran = runner.run(["bash", "-e", "-o", "pipefail", "-c", text], folder)
        assert ran.status == 0 or group[-1] is block, f"{group[-1].id} failed:\n{ran.output}"
    runner.cache[block.id] = ran
    return ran


def _toml_of(block: Block, runner: Runner) -> None:
    """A configuration example is read by the loader that reads such files (``module:function``)."""
    module, _, function = (block.marker("toml-of") or "").partition(":")
    path = runner.factory.mktemp("toml") / "example.toml"
    path.write_text(block.text, "utf-8")
    getattr(importlib.import_module(module), function)(str(path))


def _roster(block: Block, runner: Runner) -> None:
    """A roster example is a roster: every line is read without a problem."""
    from paychannels.documents.roster import load_roster

    path = runner.factory.mktemp("roster") / "roster.csv"
    path.write_text(block.text, "utf-8")
    assert len(load_roster(path)) == len(block.text.strip().splitlines()) - 1


def _synopsis(block: Block, runner: Runner) -> None:
    """Each command line's options are ones its ``--help`` names."""
    joined = re.sub(r"\\\n\s*", " ", block.text)
    checked = 0
    for line in joined.splitlines():
        words = line.split("#")[0].split()
        if not words or not words[0].startswith("paychannels"):
            continue
        path = [words[0]]
        for w in words[1:]:
            if not re.fullmatch(r"[a-z][a-z-]*", w):
                break
            path.append(w)
        helped = runner.shell(" ".join([*path, "--help"]))
        assert helped.status == 0, f"{block.id}: {' '.join(path)} --help: {helped.output[-500:]}"
        for option in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", line):
            assert re.search(rf"{re.escape(option)}\b", helped.output), (
                f"{block.id}: {' '.join(path)} has no {option} (its --help does not name it)"
            )
        checked += 1
    assert checked, f"{block.id}: 'synopsis' but no paychannels command in it"


def _output(block: Block, runner: Runner) -> None:
    said = _output_source(block) or ""
    command, _, options = said.partition(";")
    command, options = command.strip(), options.strip()
    opts = [o.strip() for o in options.split(";")]
    withs = [o[len("with ") :].strip() for o in opts if o.startswith("with ")]
    if command == "previous":
        assert block.follows is not None, f"{block.id}: 'output-of previous' follows no block"
        ran = _run_chain(block.follows, runner)
        sim = TERMINAL_SIM in _withs(block.follows)
    else:
        cwd, addresses = _place(block, withs, runner) if withs else (None, {})
        for shown_address, real in addresses.items():
            command = command.replace(shown_address, real)
        ran = runner.shell(command, cwd)
        sim = TERMINAL_SIM in withs
    status = re.search(r"exit (\d+)", options)
    assert ran.status == (int(status.group(1)) if status else 0), (
        f"{block.id}: {command!r} exited {ran.status}:\n{ran.output[-3000:]}"
    )
    output = ran.output
    if sim:  # the simulator stands in at the docs' addresses
        for doc, real in runner.terminal_sim()[1].items():
            output = output.replace(real, doc)
    vary = "numbers vary" in options or block.marker("numbers vary") is not None
    why = mismatch(block.text, output, numbers_vary=vary)
    assert why is None, f"{block.id}: {why}\n--- real output of {command!r}:\n{ran.output}"


def _tree(block: Block, runner: Runner) -> None:
    """A workspace listing: each name of its first column is in a kept demo workspace, and
    each file a folder's line names (``<…>`` for any part) is in that folder."""
    ws = runner.demo_workspace()
    for line in block.text.splitlines()[1:]:
        if not line.strip():
            continue
        name, _, said = line.strip().partition(" ")
        kept = sorted(p.name for p in ws.iterdir())
        assert (ws / name).exists(), f"{block.id}: {name} is not in a kept workspace {kept}"
        if not name.endswith("/"):
            continue
        for shown in re.findall(r"[\w<>.-]+\.(?:html|csv|json|xml)\b", said):
            pattern = re.sub(r"<[^>]*>", "*", shown)
            inside = sorted(p.name for p in (ws / name).iterdir())
            assert list((ws / name).glob(pattern)), f"{block.id}: no {shown} in {name}: {inside}"
