"""The demo's decisions about one payer, drawn from the seed and the payer — never from a stream.

A shared ``random.Random`` answers in the order it is asked, and in a day where channels
run in threads and outcomes shape who is asked next, that order is the scheduler's: two runs
of one seed drift apart. A ``Dice`` throw is a hash of the seed and what it is about (a
payer, a channel, a purpose), so every decision is fixed before the day starts, whoever asks
first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Dice"]


@dataclass(frozen=True)
class Dice:
    """Seeded decisions keyed by what they are about."""

    seed: int | str

    def draw(self, *about: str) -> float:
        """A number in [0, 1), the same for the same seed and ``about``."""
        text = "|".join((str(self.seed), *about))
        digest = hashlib.sha256(text.encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def chance(self, share: float, *about: str) -> bool:
        """True for ``share`` of what there is to decide about."""
        return self.draw(*about) < share

    def pick(self, weights: Sequence[tuple[str, float]], default: str, *about: str) -> str:
        """One of ``weights``' names by its weight; ``default`` for the rest of the range."""
        draw, total = self.draw(*about), 0.0
        for name, weight in weights:
            total += weight
            if draw < total:
                return name
        return default
