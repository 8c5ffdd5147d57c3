"""The shipped contract kit (``paychannels.testing``) works from outside and can fail.

A suite that passes every channel proves nothing: here it runs, in a separate pytest process
exactly as a driver author would run it, against two deliberately broken devices and an honest
one, and must fail the broken ones on the tests that guard what they break.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BROKEN_DRIVER = textwrap.dedent(
    '''
    """Two broken channels and the honest one, each behind a harness of the shipped kit."""

    from __future__ import annotations

    from typing import ClassVar

    from paychannels import (
        Channel, MemoryChannel, Money, Outcome, OutcomeUnknownError, ProtocolError, Reason,
        Record,
    )
    from paychannels.testing import Harness, harness_fixture
    from paychannels.testing.suite import *  # noqa: F403


    class LostAnswerIsDecline(MemoryChannel):
        """Calls a payment whose answer was lost DECLINED, though the device took the money."""

        def start(self, payment, ctx):
            try:
                return super().start(payment, ctx)
            except (OutcomeUnknownError, ProtocolError):
                return Outcome.declined(Reason.CARD_DECLINED, "no answer")


    class SucceedsWithoutCharging(MemoryChannel):
        """Reports SUCCEEDED without the device ever taking the money."""

        def start(self, payment, ctx):
            return Outcome.succeeded(channel_ref="made-up")


    class MemoryHarness(Harness):
        name = "honest"
        kind: ClassVar[type[MemoryChannel]] = MemoryChannel

        def open(self) -> Channel:
            self.channel = self.kind()
            return self.channel

        def script(self, behaviour: str) -> None:
            self.channel.script(behaviour)

        def charges(self, record: Record) -> int:
            return self.channel.charges(record.id)

        def refunded(self, record: Record) -> Money:
            entry = self.channel.ledger.get(record.id)
            return Money.of_minor(entry.refunded_minor if entry else 0, record.amount.currency)

        def finish_pending(self, collector, record, *, paid):
            collector.handle_notice(record.channel, self.channel.settle(record.id, paid=paid))


    class LostAnswerHarness(MemoryHarness):
        name = "lost-answer-is-decline"
        kind = LostAnswerIsDecline


    class NoChargeHarness(MemoryHarness):
        name = "succeeds-without-charging"
        kind = SucceedsWithoutCharging


    harness = harness_fixture([MemoryHarness, LostAnswerHarness, NoChargeHarness])
    '''
)


def run_suite(tmp_path: Path) -> tuple[dict[str, set[str]], str]:
    """Run the shipped suite against the broken driver; failed and passed tests per harness."""
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    (tmp_path / "test_broken_driver.py").write_text(BROKEN_DRIVER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "test_broken_driver.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    results: dict[str, set[str]] = {}
    for verdict, test, kind in re.findall(
        r"^(PASSED|FAILED|ERROR) test_broken_driver\.py::(\w+)\[([\w-]+)\]", done.stdout, re.M
    ):
        results.setdefault(f"{kind} {verdict}", set()).add(test)
    return results, done.stdout[-3000:]


@pytest.mark.slow
def test_shipped_suite_fails_broken_devices_and_passes_an_honest_one(tmp_path: Path) -> None:
    results, out = run_suite(tmp_path)
    assert "honest FAILED" not in results and "honest ERROR" not in results, out
    assert len(results.get("honest PASSED", ())) >= 15, out
    assert {
        "test_unknown_outcome_then_inquire",
        "test_garbled_reply_is_unknown",
        "test_lost_request_resolves_to_not_sent_and_retries",
        "test_second_attempt_blocked_while_in_doubt",
    } <= results.get("lost-answer-is-decline FAILED", set()), out
    assert {"test_successful_payment", "test_idempotent_retry"} <= results.get(
        "succeeds-without-charging FAILED", set()
    ), out


def test_importing_paychannels_does_not_import_pytest() -> None:
    code = "import sys, paychannels, paychannels.channels; print('pytest' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"


def test_kit_without_pytest_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['pytest'] = None\n"
        "try:\n    import paychannels.testing\n"
        "except ImportError as e:\n    print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "pip install 'paychannels[testing]'" in done.stdout
