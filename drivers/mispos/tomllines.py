"""Where a key sits in a TOML file: line numbers for profile errors.

``tomllib`` reads values but forgets where they were. A field engineer fixing a profile
needs "tlv-9f.toml:42: unknown tag 9F99", so this scans the text once: table headers
(``[verbs.sale]``, ``[[x]]``), ``key = value`` lines (dotted keys too) and the keys inside
inline tables (``amount = { tag = "9F02", size = 12 }``). A path that was not found
exactly falls back to the first key inside it, else to its longest known prefix, so every
error names some line.
"""

from __future__ import annotations

import re

__all__ = ["KeyLines"]

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)
_INLINE_KEY = re.compile(r"""(?:[{,]\s*)([A-Za-z0-9_-]+|"[^"]*")\s*=""")


def _parts(dotted: str) -> tuple[str, ...]:
    out = []
    for part in re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", dotted):
        out.append(part[1:-1] if part[:1] in "\"'" else part)
    return tuple(out)


class KeyLines:
    """Line numbers (1-based) of the keys and tables of one TOML text."""

    def __init__(self, text: str) -> None:
        self._lines: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                table = _parts(header.group(1))
                self._lines.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if not key:
                continue
            path = (*table, *_parts(key.group(1)))
            self._lines.setdefault(path, number)
            rest = line[key.end() :]
            if "{" in rest:
                for inner in _INLINE_KEY.finditer(rest):
                    self._lines.setdefault((*path, *_parts(inner.group(1))), number)

    def line(self, *path: str | int) -> int | None:
        """The line of ``path`` (or of its longest known prefix); None for an empty file."""
        keys = tuple(str(p) for p in path)
        while keys:
            if keys in self._lines:
                return self._lines[keys]
            inside = [n for k, n in self._lines.items() if k[: len(keys)] == keys]
            if inside:  # a table only written as [a.b] sub-tables: its first one
                return min(inside)
            keys = keys[:-1]
        return min(self._lines.values(), default=None)
