"""The random-kill figures of each test, kept apart from the harness so the summary plugin
loads them without the harness (pytest-xdist's controller runs no test and imports no rig)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Tally:
    """Figures of a test (or of the whole session)."""

    trials: int = 0
    kills: int = 0
    payments: int = 0
    refunds: int = 0
    lost: int = 0
    doubled: int = 0
    phantom: int = 0
    in_doubt: int = 0
    moved: int = 0  # payments and refunds the device really did (a trial without any proves little)
    problems: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("trials", "kills", "payments", "refunds", "lost", "doubled", "phantom"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.in_doubt += other.in_doubt
        self.moved += other.moved
        self.problems.extend(other.problems)

    def as_dict(self) -> dict[str, object]:
        """Plain values, as a pytest-xdist worker sends them to the controller."""
        return asdict(self)

    def line(self) -> str:
        return (
            f"{self.trials:,} trials, {self.kills:,} kills, {self.payments:,} payments and "
            f"{self.refunds:,} refunds compared: {self.lost} lost, {self.doubled} doubled, "
            f"{self.phantom} phantom, {self.in_doubt} left in doubt"
        )


#: per test id, filled by ``Trials`` (tests.adversarial.harness); tests.adversarial.summary
#: prints them and their sum
REPORTS: dict[str, Tally] = {}
