"""What the simulated bank does with each debit: a scripted queue, then a weighted mix.

The mix is drawn per debit from a hash of the seed and the debit's reference, so the same
run gives the same answers (a failed test can be replayed). Outcomes and what they mean:

- ``ok``: taken in full; ``partial``: part taken (text layouts and camt.054 say so; pain.002
  has no word for it and reports it taken in full);
- ``insufficient_funds`` (AM04 / 余额不足), ``closed`` (AC04 / 账户已销户), ``no_agreement``
  (MD01 / 代理户不存在), ``decline`` (MS02 / 客户拒绝): refused, nothing taken;
- ``late_return``: taken now, given back later (camt.054 return, MD06 by default);
- ``unreported``: the bank never mentions it (it must stay PENDING on our side).
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field

__all__ = ["FAILURES", "OUTCOMES", "Mix"]

OUTCOMES = (
    "ok",
    "partial",
    "insufficient_funds",
    "closed",
    "no_agreement",
    "decline",
    "late_return",
    "unreported",
)
#: outcome -> (ISO reason code, Chinese bank text)
FAILURES = {
    "insufficient_funds": ("AM04", "账户余额不足"),
    "closed": ("AC04", "账户已销户"),
    "no_agreement": ("MD01", "代理户不存在"),
    "decline": ("MS02", "客户拒绝扣款"),
}


@dataclass
class Mix:
    """Weights per outcome (the rest is ``ok``), a scripted queue, a seed."""

    weights: dict[str, float] = field(default_factory=dict)
    seed: str = "paychannels"
    script: deque[str] = field(default_factory=deque)

    def __post_init__(self) -> None:
        unknown = set(self.weights) - set(OUTCOMES)
        if unknown:
            raise ValueError(f"unknown outcomes {sorted(unknown)}; known: {', '.join(OUTCOMES)}")
        if sum(self.weights.values()) > 1.0 + 1e-9 or any(w < 0 for w in self.weights.values()):
            raise ValueError("outcome weights are fractions that add up to at most 1")

    @classmethod
    def parse(cls, text: str, *, seed: str = "paychannels") -> Mix:
        """``insufficient_funds=0.05,closed=0.01,late_return=0.01``."""
        weights: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, value = part.partition("=")
            try:
                weights[name.strip()] = float(value)
            except ValueError:
                raise ValueError(f"{part!r}: expected outcome=fraction") from None
        return cls(weights, seed)

    def choose(self, ref: str) -> str:
        """The outcome for one debit."""
        if self.script:
            return self.script.popleft()
        digest = hashlib.sha256(f"{self.seed}|{ref}".encode()).digest()
        draw = int.from_bytes(digest[:8], "big") / 2**64
        total = 0.0
        for name in OUTCOMES:
            total += self.weights.get(name, 0.0)
            if draw < total:
                return name
        return "ok"
