"""Header names as ``Headers`` looks them up: any case, WSGI keys, a bounded memory of names."""

from __future__ import annotations

import pytest

from paychannels.security import verification
from paychannels.security.verification import Headers, MalformedCallback


def test_names_any_case_and_wsgi_keys_are_one_header() -> None:
    for source in (
        {"Wechatpay-Serial": "S1"},
        {"WECHATPAY-SERIAL": "S1"},
        {"HTTP_WECHATPAY_SERIAL": "S1"},
        [("wechatpay-serial", "S1")],
    ):
        assert Headers(source).one("Wechatpay-Serial") == "S1"


def test_a_header_sent_twice_in_two_spellings_is_refused() -> None:
    # the second spelling must be recognised from the remembered first one, not missed
    for _ in range(2):
        headers = Headers([("Wechatpay-Serial", "S1"), ("HTTP_WECHATPAY_SERIAL", "S2")])
        with pytest.raises(MalformedCallback, match="more than once"):
            headers.one("wechatpay-serial")


def test_a_flood_of_invented_header_names_is_not_remembered_past_the_bound() -> None:
    for i in range(3 * verification._NAMES_MAX):
        name = f"X-Invented-{i}"
        assert Headers({name: "v"}).one(name.lower()) == "v"
    assert len(verification._NAMES) <= verification._NAMES_MAX
    assert Headers({"X-Invented-1499": "late"}).one("x-invented-1499") == "late"
