"""The parts ZVT and MIS-POS share apart from their protocol (``paychannels.drivers.terminal``).

The channels' own suites prove the flows end to end; these pin the shared rules on their own:
the send between the dispatch path's crash points, a refusal recorded as not booked, what
the book knows of the terminal's last number after an attempt, and the watchers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paychannels.channels.base import ChannelContext
from paychannels.collector import Collector
from paychannels.drivers.book import Attempt, BookState
from paychannels.drivers.terminal import Terminal, Watchers, check_options, send_booking
from paychannels.runtime import crashpoints
from paychannels.values.currencies import currency
from paychannels.values.errors import NotSentError, OutcomeUnknownError


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ChannelContext]:
    col = Collector.open(f"sqlite:///{tmp_path}/journal.db", create=True)
    col.add_channel("hall", "memory://")
    try:
        yield col.channel_context("hall")
    finally:
        col.close()


@pytest.fixture
def points() -> Iterator[list[str]]:
    seen: list[str] = []
    hook = crashpoints.install(lambda name: seen.append(name) if "channel." in name else None)
    try:
        yield seen
    finally:
        crashpoints.uninstall(hook)


def marker() -> Attempt:
    return BookState(synced=True, last_receipt=41).mark("p-1", 1, "payment", 500, "t")


def test_a_booking_is_sent_between_the_crash_points(ctx: ChannelContext, points: list[str]) -> None:
    said: list[str] = []
    answer = send_booking(
        ctx,
        marker(),
        lambda: said.append("run") or "answer",
        announce=lambda: said.append(f"announce after {points}"),
        refused=lambda done: said.append("refused"),
        read=lambda answer: said.append(f"read {answer} after {points}") or len(answer),
    )
    assert answer == len("answer")
    assert points == ["channel.before_send", "channel.after_send"]
    assert said == [
        "announce after ['channel.before_send']",
        "run",
        "read answer after ['channel.before_send', 'channel.after_send']",
    ]


def test_a_refused_booking_is_recorded_as_not_booked_and_raised(
    ctx: ChannelContext, points: list[str]
) -> None:
    done: list[Attempt] = []

    def nak() -> str:
        raise NotSentError("NAKed three times")

    with pytest.raises(NotSentError, match="NAKed"):
        send_booking(ctx, marker(), nak, announce=lambda: None, refused=done.append, read=len)
    assert points == ["channel.before_send"]
    [attempt] = done
    assert attempt.key() == ("p-1", 1, "payment") and attempt.before == 41
    assert attempt.result is not None and attempt.result.verdict == "not_booked"
    assert attempt.result.detail == "NAKed three times"


def test_once_the_booking_left_nothing_after_it_can_say_not_sent(
    ctx: ChannelContext, points: list[str]
) -> None:
    done: list[Attempt] = []

    def follow_up(answer: str) -> int:
        raise NotSentError("the repeat could not be sent")

    with pytest.raises(OutcomeUnknownError, match="after the payment left: the repeat could"):
        send_booking(
            ctx,
            marker(),
            lambda: "answer",
            announce=lambda: None,
            refused=done.append,
            read=follow_up,
        )
    assert points == ["channel.before_send", "channel.after_send"] and done == []


def test_the_marker_names_the_last_number_only_when_the_book_knows_it() -> None:
    assert marker().before == 41
    unsure = BookState(synced=False, last_receipt=41)
    attempt = unsure.mark("p-1", 1, "payment", 500, "t")
    assert attempt.before is None and unsure.pending == attempt


def test_the_last_number_after_an_attempt() -> None:
    state = BookState(synced=True, last_receipt=41)
    assert state.last_after(42, unsure=True) == (42, True)  # the answer named it
    assert state.last_after(None, unsure=False) == (41, True)  # nothing was taken
    assert state.last_after(None, unsure=True) == (41, False)  # maybe taken unseen: ask
    state.pending = marker()
    done = marker()
    state.finish(done, last_receipt=42, synced=True)
    assert state.pending is None and state.find(done.key()) == done
    assert (state.last_receipt, state.synced) == (42, True)


def test_another_currency_is_refused_before_anything_leaves() -> None:
    terminal = Terminal("zvt+tcp://127.0.0.1:1", currency=currency("CNY"), prefix="zvt")
    terminal.check_currency("CNY")
    with pytest.raises(NotSentError, match="takes CNY; a EUR amount was not sent"):
        terminal.check_currency("EUR")


def test_watchers_are_told_in_order_and_can_leave() -> None:
    watchers: Watchers[[str, int]] = Watchers()
    heard: list[tuple[str, str, int]] = []
    leave = watchers.add(lambda verb, n: heard.append(("a", verb, n)))
    watchers.add(lambda verb, n: heard.append(("b", verb, n)))
    watchers.tell("sale", 1)
    leave()
    leave()  # twice is harmless
    watchers.tell("void", 2)
    assert heard == [("a", "sale", 1), ("b", "sale", 1), ("b", "void", 2)]


def test_unknown_factory_options_are_a_type_error() -> None:
    check_options({"password"}, {"password", "transcript"}, "ZVT")
    with pytest.raises(TypeError, match=r"ZVT channel got unexpected options \['pin'\]"):
        check_options({"password", "pin"}, {"password", "transcript"}, "ZVT")
