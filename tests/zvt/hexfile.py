"""Reads the ``.hex`` fixtures: ``#`` comments, named sections, hex with any spacing."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "zvt"


def hex_sections(name: str) -> dict[str, bytes]:
    """Sections of a .hex fixture; a line ``# word`` alone starts a section, else ``main``."""
    sections: dict[str, str] = {}
    current = "main"
    for line in (FIXTURES / name).read_text().splitlines():
        text = line.strip()
        if text.startswith("#"):
            word = text[1:].strip()
            if word.isidentifier():
                current = word
            continue
        sections[current] = sections.get(current, "") + text.replace(" ", "")
    return {k: bytes.fromhex(v) for k, v in sections.items()}
