"""Safe, streaming XML reading for bank files: lxml iterparse, elements cleared as we go.

Entities are never resolved, the network is never used, no DTD is loaded, ``huge_tree`` stays
off, and a document type declaration is refused outright (no bank file has one; it is how
entity bombs and external-entity attacks arrive). Syntax errors become ``BankFileError``
with the file name and line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from paychannels.bankfiles.errors import BankFileError

__all__ = [
    "Element",
    "amount_minor",
    "child_text",
    "count_text",
    "decimal_text",
    "events",
    "local",
    "namespace_of",
    "plain_minor",
    "release",
    "safe_iterparse",
]

Element = Any  # lxml.etree._Element (no public type)


def local(tag: str) -> str:
    """``{urn:...}Tag`` -> ``Tag``."""
    return tag.rpartition("}")[2]


_HEAD = 65536
_ROOT = re.compile(rb"<[^?!]")


def _refuse_doctype(path: Path) -> None:
    """A DOCTYPE must come before the root element: look for one in the file's head."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD)
    except OSError as exc:
        raise BankFileError(path, f"cannot read: {exc.strerror or exc}") from None
    except ValueError:  # open() refuses a path with a NUL in it
        raise BankFileError(path, "cannot read: the file name holds a NUL character") from None
    at = head.find(b"<!DOCTYPE")
    root = _ROOT.search(head)
    if at >= 0 and (root is None or at < root.start()):
        line = head.count(b"\n", 0, at) + 1
        raise BankFileError(
            path, "a document type declaration (DOCTYPE) is not allowed in a bank file", line=line
        )


def events(
    path: Path, tags: tuple[str, ...] | None = None, kinds: tuple[str, ...] = ("start", "end")
) -> Iterator[tuple[str, Element]]:
    """``(event, element)`` pairs of a bank file (only ``tags`` if given), refusing DOCTYPEs."""
    _refuse_doctype(path)
    try:
        first = True
        parser = safe_iterparse(path, events=kinds, tags=tags)
        for event, elem in parser:
            if first:
                first = False
                if elem.getroottree().docinfo.doctype:
                    raise BankFileError(
                        path, "a document type declaration (DOCTYPE) is not allowed", line=1
                    )
            yield event, elem
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 0
        text = str(exc.msg if hasattr(exc, "msg") else exc)
        raise BankFileError(path, f"not well-formed XML: {text}", line=line) from None
    except OSError as exc:
        raise BankFileError(path, f"cannot read: {exc.strerror or exc}") from None


def safe_iterparse(
    path: Path,
    *,
    events: tuple[str, ...] = ("end",),
    tags: tuple[str, ...] | None = None,
    schema: Any = None,
) -> Any:
    """lxml's iterparse with everything dangerous off (entities, network, DTDs, huge trees)."""
    return etree.iterparse(
        str(path),
        events=events,
        tag=tags,
        schema=schema,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        recover=False,
    )


def release(elem: Element, *, same_only: bool = False) -> None:
    """Free a processed element and the siblings before it (constant memory); with
    ``same_only`` only earlier siblings of the same tag go (a batch keeps its header)."""
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is None:
        return
    while (prev := elem.getprevious()) is not None:
        if same_only and prev.tag != elem.tag:
            break
        parent.remove(prev)


def namespace_of(path: Path) -> str:
    """The namespace of the root element (which message and version a file is)."""
    for _event, elem in events(path):
        return str(elem.tag).partition("}")[0].lstrip("{")
    raise BankFileError(path, "the file holds no XML element")


def child_text(elem: Element, *names: str) -> str | None:
    """The text of a descendant reached by local names, or None (namespace-agnostic)."""
    node = elem
    for name in names:
        for child in node:
            if isinstance(child.tag, str) and local(child.tag) == name:
                node = child
                break
        else:
            return None
    text = node.text
    return None if text is None else text.strip()


_DECIMAL = re.compile(r"\+?([0-9]*)(?:\.([0-9]*))?")  # [0-9]: ASCII only, never '４' or '٤'
_COUNT = re.compile(r"[0-9]{1,15}")  # ISO Max15NumericText
_MAX_DIGITS = 18  # ISO 20022 amounts: totalDigits 18


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"{text[:30]!r}…({len(text)} characters)"


def decimal_text(path: Path, elem: Element, text: str | None, field: str) -> Decimal:
    """An ISO 20022 decimal (amount or control sum): ASCII digits, an optional '.', at most 18
    digits; anything else (full-width digits, exponents, signs, NaN) names the line."""
    line = elem.sourceline or 0 if elem is not None else 0
    if text is None or not text.strip():
        raise BankFileError(path, f"{field} is missing", line=line, where=field)
    match = _DECIMAL.fullmatch(text.strip())
    whole, frac = (match.group(1), match.group(2) or "") if match else ("", "")
    if match is None or not (whole or frac):
        raise BankFileError(
            path, f"{field} {_shown(text)} is not an amount", line=line, where=field
        )
    if len(whole.lstrip("0")) + len(frac.rstrip("0")) > _MAX_DIGITS:
        raise BankFileError(
            path,
            f"{field} {_shown(text)} has more than {_MAX_DIGITS} digits",
            line=line,
            where=field,
        )
    return Decimal(f"{whole or '0'}.{frac or '0'}")


def amount_minor(path: Path, elem: Element, text: str | None, digits: int, field: str) -> int:
    """An ISO decimal amount as integer minor units; more decimals than the currency has, or
    anything that is not a plain ASCII decimal, is an error naming the line."""
    value = decimal_text(path, elem, text, field)
    minor = value.scaleb(digits)
    if minor != minor.to_integral_value():
        raise BankFileError(
            path,
            f"{field} {text} has more than {digits} decimals",
            line=elem.sourceline or 0,
            where=field,
        )
    return int(minor)


@cache
def _plain_amount(digits: int) -> Callable[[str], re.Match[str] | None]:
    if digits == 0:
        return re.compile(f"([0-9]{{1,{_MAX_DIGITS}}})()").fullmatch
    return re.compile(f"([0-9]{{1,{_MAX_DIGITS - digits}}})\\.([0-9]{{{digits}}})").fullmatch


def plain_minor(text: str, digits: int) -> int | None:
    """``amount_minor`` of the form we write (``380.00``: ASCII digits, exactly the
    currency's decimals) in one regex call, else None (the full reading decides)."""
    match = _plain_amount(digits)(text)
    return None if match is None else int(match.group(1) + match.group(2))


def count_text(path: Path, elem: Element, text: str | None, field: str) -> int | None:
    """An ISO ``Max15NumericText`` count (ASCII digits), None when absent."""
    if text is None:
        return None
    if not _COUNT.fullmatch(text.strip()):
        raise BankFileError(
            path, f"{field} {_shown(text)} is not a count", line=elem.sourceline or 0, where=field
        )
    return int(text.strip())
