"""Safe, streaming XML reading for bank files: lxml iterparse, elements cleared as we go.

Entities are never resolved, the network is never used, no DTD is loaded, ``huge_tree`` stays
off, and a document type declaration is refused outright (no bank file has one; it is how
entity bombs and external-entity attacks arrive). Syntax errors become ``BankFileError``
with the file name and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree

from paychannels.bankfiles.errors import BankFileError

__all__ = [
    "Element",
    "amount_minor",
    "child_text",
    "events",
    "local",
    "namespace_of",
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


def amount_minor(path: Path, elem: Element, text: str | None, digits: int, field: str) -> int:
    """An ISO decimal amount as integer minor units; more decimals than the currency has, or
    anything that is not a plain decimal, is an error naming the line."""
    if text is None:
        raise BankFileError(path, f"{field} is missing", line=elem.sourceline or 0, where=field)
    whole, dot, frac = text.partition(".")
    if (
        whole.isdigit()
        and whole.isascii()
        and (not dot or (frac.isdigit() and frac.isascii() and len(frac) <= digits))
    ):
        scale: int = 10**digits
        return int(whole) * scale + (int(frac.ljust(digits, "0")) if digits else 0)
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0 or not text.replace(".", "", 1).isdigit():
        raise BankFileError(
            path, f"{field} {text!r} is not an amount", line=elem.sourceline or 0, where=field
        )
    minor = value.scaleb(digits)
    if minor != minor.to_integral_value():
        raise BankFileError(
            path,
            f"{field} {text} has more than {digits} decimals",
            line=elem.sourceline or 0,
            where=field,
        )
    return int(minor)
