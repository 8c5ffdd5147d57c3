"""The payer's own check as a library call: masked answers in the county's time, the same
``NOT_FOUND`` for a wrong name and an unknown number, typed errors that never quote the
number, and an index that names nobody without the key (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
import os
import statistics
import time
from pathlib import Path

import pytest

from paychannels.documents.payercheck import (
    NOT_FOUND,
    InvalidIdNumber,
    InvalidName,
    PayerCheck,
    PayerIndex,
)
from paychannels.security.payerkey import PayerKey
from paychannels.values.errors import ConfigurationError, PaychannelsError
from paychannels.values.idnumbers import with_check_digit
from paychannels.values.models import Event, Record
from tests.lookup.day import KEY, PAYERS, check_of, lookup_day, payer


class CountingJournal:
    """The journal, counting what the check reads of it (and for which payer id)."""

    def __init__(self, inner: PayerCheck) -> None:
        self.inner = inner.journal
        self.asked: list[str | None] = []

    def find(self, *, payer_id: str | None = None, limit: int = 100) -> list[Record]:
        self.asked.append(payer_id)
        return self.inner.find(payer_id=payer_id, limit=limit)

    def events(
        self, *, after: int = 0, record_id: str | None = None, limit: int = 1000
    ) -> list[Event]:
        return self.inner.events(after=after, record_id=record_id, limit=limit)


def test_found_shows_each_obligation_masked_with_when_and_how(
    tmp_path: Path, journal_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    check = check_of(lookup_day(tmp_path, journal_url))
    answer = check.check(payer(1), "张小三")
    body = answer.as_json()
    assert body["found"] is True
    assert body["id_number"] == payer(1)[:6] + "********" + payer(1)[-4:]
    assert body["name"] == "张*三"
    pension, medical = body["obligations"]  # type: ignore[misc]
    assert pension == {
        "reference": "2026:城乡居民基本养老保险",
        "period": "2026",
        "insurance": "城乡居民基本养老保险",
        "grade": "一档",
        "owed": "300.00",
        "currency": "CNY",
        "state": "paid",
        "state_text": {"zh": "已缴费", "mn": "ᠲᠥᠯᠥᠭᠰᠡᠨ"},
        "paid": "300.00",
        "paid_at": "2026-03-02T09:01:00+08:00",
        "channel": "wx",
        "channel_text": {"zh": "微信支付", "mn": "ᠸᠢᠴᠠᠲ ᠲᠥᠯᠥᠪᠦᠷᠢ"},
    }
    assert (medical["insurance"], medical["owed"], medical["state"], medical["paid_at"]) == (
        "城乡居民基本医疗保险",
        "400.00",
        "unpaid",
        None,
    )
    text = answer.as_text()
    assert "已缴费 / ᠲᠥᠯᠥᠭᠰᠡᠨ" in text and "2026-03-02 09:01:00 +0800" in text
    shown = f"{body} {text} {answer!r} {check!r} {check.index!r} {caplog.text}"
    assert payer(1) not in shown and "张小三" not in shown


def test_every_state_an_obligation_can_be_in(tmp_path: Path, journal_url: str) -> None:
    check = check_of(lookup_day(tmp_path, journal_url))
    states = {
        n: [o.state for o in check.check(payer(n), name).obligations]
        for n, (name, _masked) in PAYERS.items()
    }
    assert states == {
        1: ["paid", "unpaid"],
        2: ["in_progress"],
        3: ["refunded"],
        4: ["unpaid"],
    }
    assert check.check(payer(2), "ᠪᠠᠲᠤ").name == "ᠪ**ᠤ"


def test_a_wrong_name_is_an_unknown_number(tmp_path: Path) -> None:
    day = lookup_day(tmp_path, f"sqlite:///{tmp_path}/j.db")
    check = check_of(day)
    counting = CountingJournal(check)
    check = PayerCheck(check.index, counting)
    wrong_name = check.check(payer(1), "张小四")
    unknown = check.check(payer(99), "张小三")
    assert wrong_name is NOT_FOUND and unknown is NOT_FOUND
    assert wrong_name.as_json() == unknown.as_json() == NOT_FOUND.as_json()
    assert counting.asked == []  # neither read the journal: the same steps, the same time
    assert check.check(payer(1), "张小三").found and counting.asked == [payer(1)]


def test_names_match_however_they_are_typed(tmp_path: Path) -> None:
    check = check_of(lookup_day(tmp_path, f"sqlite:///{tmp_path}/j.db"))
    for typed in ("张 小三", " 张小三 ", "张·小三"):
        assert check.check(payer(1), typed).found, typed
    # a free variation selector is how a Mongolian keyboard may write the same name
    assert check.check(payer(2), "ᠪ\u180bᠠᠲᠤ").found
    # the number with spaces around is the same number
    assert check.check(f" {payer(1)} ", "张小三").found
    assert not check.check(payer(1), "张小").found


BAD = {
    "length": payer(1)[:17],
    "characters": payer(1)[:16] + "A" + payer(1)[17],
    "region": with_check_digit("99222119800101001"),
    "birth_date": with_check_digit("15222119801301001"),
    "check_digit": payer(1)[:17] + ("0" if payer(1)[17] != "0" else "1"),
}


@pytest.mark.parametrize("reason", sorted(BAD))
def test_a_number_that_cannot_be_one_is_typed_and_never_quoted(tmp_path: Path, reason: str) -> None:
    check = check_of(lookup_day(tmp_path, f"sqlite:///{tmp_path}/j.db"))
    number = BAD[reason]
    with pytest.raises(InvalidIdNumber) as caught:
        check.check(number, "张小三")
    exc = caught.value
    assert isinstance(exc, PaychannelsError) and exc.reason == reason
    assert number not in f"{exc} {exc!r} {exc.errors} {exc.shown}"
    assert number[6:14] not in str(exc) or reason == "length"  # the birth date stays hidden


def test_a_name_that_cannot_be_one(tmp_path: Path) -> None:
    check = check_of(lookup_day(tmp_path, f"sqlite:///{tmp_path}/j.db"))
    for name, reason in (("", "empty"), (" · ", "empty"), ("张" * 101, "length")):
        with pytest.raises(InvalidName) as caught:
            check.check(payer(1), name)
        assert caught.value.reason == reason and "张张" not in str(caught.value)


def test_the_index_names_nobody_and_needs_its_key(tmp_path: Path) -> None:
    day = lookup_day(tmp_path, f"sqlite:///{tmp_path}/j.db")
    index = PayerIndex.from_roster(KEY, day.roster)
    saved = index.save(tmp_path / "lookup.idx")
    text = saved.read_text("utf-8")
    assert os.stat(saved).st_mode & 0o777 == 0o600
    for n, (name, masked) in PAYERS.items():
        assert payer(n) not in text and payer(n)[6:14] not in text and name not in text
        assert masked in text
    loaded = PayerIndex.load(KEY, saved)
    again = PayerCheck(loaded, day.journal).check(payer(1), "张小三")
    assert again == PayerCheck(index, day.journal).check(payer(1), "张小三")
    with pytest.raises(ConfigurationError, match="made with the key"):
        PayerIndex.load(PayerKey(bytes(32)), saved)
    assert "fingerprint" in repr(KEY) and bytes(range(32)).hex() not in repr(KEY)


def test_a_journal_of_keyed_payer_ids_is_asked_by_the_digest(tmp_path: Path) -> None:
    check = check_of(lookup_day(tmp_path, f"sqlite:///{tmp_path}/j.db"))
    counting = CountingJournal(check)
    keyed = PayerCheck(check.index, counting, journal_payer_id=KEY.id_digest)
    answer = keyed.check(payer(1), "张小三")
    assert counting.asked == [KEY.id_digest(payer(1))]
    assert [o.state for o in answer.obligations] == ["unpaid", "unpaid"]  # none under it


def test_a_wrong_name_takes_as_long_as_an_unknown_number(tmp_path: Path) -> None:
    """Interleaved, many times: the medians of the two misses differ by less than half."""
    check = check_of(lookup_day(tmp_path, f"sqlite:///{tmp_path}/j.db"))
    wrong, unknown = [], []
    for _ in range(1500):
        for number, name, into in ((payer(1), "张小四", wrong), (payer(99), "张小三", unknown)):
            start = time.perf_counter_ns()
            check.check(number, name)
            into.append(time.perf_counter_ns() - start)
    a, b = statistics.median(wrong), statistics.median(unknown)
    assert 2 / 3 < a / b < 3 / 2, (a, b)
