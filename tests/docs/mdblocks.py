"""Fenced blocks of the docs, the markers before them, and shown output matched to real output.

A marker is an HTML comment on the line right before a fence (blank lines may sit between):
``<!-- docs-test: skip why -->``, ``<!-- docs-test: output-of previous -->``,
``<!-- docs-test: output-of paychannels demo; numbers vary -->``, ``<!-- docs-test: continues -->``,
``<!-- docs-test: synopsis -->``, ``<!-- docs-test: with demo-workspace -->``,
``<!-- docs-test: tree-of demo-workspace -->``. docs/testing.md describes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+)(?P<lang>[^\s`]*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<body>.*?)\s*-->\s*$")
RUN_LANGS = {"python", "sh", "bash", "console", "toml", "json"}
OUTPUT_LANGS = {"", "text"}


@dataclass
class Block:
    """One fenced block: where it is, its language, its text and its markers."""

    file: str
    line: int
    lang: str
    text: str
    markers: list[str] = field(default_factory=list)
    #: the block right before it in the same file (only blank lines between), if any
    follows: Block | None = None

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}"

    def marker(self, verb: str) -> str | None:
        """The rest of the first marker starting with ``verb``, or None."""
        for m in self.markers:
            if m == verb or m.startswith(verb + " "):
                return m[len(verb) :].strip()
        return None


def doc_files() -> list[Path]:
    """README.md and every page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def parse(path: Path) -> list[Block]:
    """Every fenced block of one Markdown file, with its markers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    blocks: list[Block] = []
    pending: list[str] = []
    last_end = -10
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m is None:
            mk = MARKER.match(lines[i])
            if mk:
                pending.append(mk.group("body"))
            elif lines[i].strip():
                pending = []
            i += 1
            continue
        indent, fence = m.group("indent"), m.group("fence")
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            j += 1
        body = [ln[len(indent) :] if ln.startswith(indent) else ln for ln in lines[i + 1 : j]]
        adjacent = blocks and all(not ln.strip() for ln in lines[last_end + 1 : i])
        blocks.append(
            Block(
                rel,
                i + 1,
                m.group("lang").lower(),
                "\n".join(body) + "\n",
                pending,
                blocks[-1] if adjacent else None,
            )
        )
        pending, last_end, i = [], j, j + 1
    return blocks


def all_blocks() -> list[Block]:
    return [b for f in doc_files() for b in parse(f)]


# --- shown output against real output -------------------------------------------------

NUMBER = r"\d[\d,]*(?:\.\d+)?"
PLACEHOLDERS = {"<n>": NUMBER, "<any>": ".*?"}


def _line_pattern(shown: str, numbers_vary: bool) -> re.Pattern[str]:
    """A shown line as a regex: placeholders, a trailing ``…`` (rest omitted), numbers."""
    rest_omitted = shown.endswith("…")
    if rest_omitted:
        shown = shown[:-1]
    parts = re.split(r"(<n>|<any>)", shown)
    out = []
    for part in parts:
        if part in PLACEHOLDERS:
            out.append(PLACEHOLDERS[part])
        elif numbers_vary:  # numbers, and so the spaces that align them in columns
            for w in re.split(r"( +)", part):
                out.append(
                    " +" if w.startswith(" ") else NUMBER.join(map(re.escape, re.split(NUMBER, w)))
                )
        else:
            out.append(re.escape(part))
    return re.compile("".join(out) + (".*" if rest_omitted else ""))


def mismatch(shown: str, actual: str, *, numbers_vary: bool = False) -> str | None:
    """Why ``actual`` does not show as ``shown`` (None when it does).

    ``...`` on a line of its own stands for any number of lines; elsewhere lines follow each
    other exactly as shown (trailing spaces aside).
    """
    want = [ln.rstrip() for ln in shown.strip("\n").splitlines()]
    got = [ln.rstrip() for ln in actual.strip("\n").splitlines()]
    runs: list[list[str]] = [[]]
    for ln in want:
        if ln.strip() == "...":
            runs.append([])
        else:
            runs[-1].append(ln)
    anchored_start, anchored_end = bool(runs[0]), bool(runs[-1])
    pos = 0
    for n, run in enumerate(runs):
        if not run:
            continue
        pats = [_line_pattern(ln, numbers_vary) for ln in run]
        last = n == len(runs) - 1 and anchored_end
        starts = [pos] if (n == 0 and anchored_start) else range(pos, len(got) - len(run) + 1)
        if last:
            starts = [s for s in starts if s + len(run) == len(got)]
        found = next(
            (s for s in starts if all(p.fullmatch(got[s + k]) for k, p in enumerate(pats))),
            None,
        )
        if found is None:
            return _nearest(run, pats, got, pos)
        pos = found + len(run)
    return None


def _nearest(run: list[str], pats: list[re.Pattern[str]], got: list[str], pos: int) -> str:
    """Name the first shown line that fails where the shown run fits the output best."""

    def fits(s: int, k: int) -> bool:
        return s + k < len(got) and pats[k].fullmatch(got[s + k]) is not None

    starts = range(pos, max(pos + 1, len(got)))
    best = max(starts, key=lambda s: sum(fits(s, k) for k in range(len(run))))
    bad = next((k for k in range(len(run)) if not fits(best, k)), 0)
    seen = got[best + bad] if best + bad < len(got) else "<end of output>"
    return f"shown line {run[bad]!r} is not in the output (nearest: {seen!r})"
