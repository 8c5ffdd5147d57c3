"""Money as people read it in reports: decimal text with thousands grouped (``4,451,100.00``)."""

from __future__ import annotations

from paychannels.reconcile.classify import yuan

__all__ = ["grouped"]


def grouped(minor: int, currency: str) -> str:
    """``minor`` units of ``currency`` as decimal text, thousands grouped (``-1,234.50``)."""
    text = yuan(minor, currency)
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, dot, frac = digits.partition(".")
    return f"{sign}{int(whole):,}{dot}{frac}"
