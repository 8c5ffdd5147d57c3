"""Secrets, card numbers, ID numbers and accounts never reach logs unmasked."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from paychannels.masking import mask_account, mask_id_number, mask_pan, scrub


def test_masks_keep_only_what_is_allowed() -> None:
    assert mask_pan("6222021234567890123") == "622202*********0123"
    assert mask_id_number("150422199001011234") == "150422********1234"
    assert mask_account("6217 0000 1000 1234 567") == "***************4567"


def test_scrub_free_text() -> None:
    text = (
        "payer 15042219900101123X paid with 6222 0212 3456 7890 123, "
        'account 6217000010001234567, {"api_key": "sk_live_abc"} password=hunter2 '
        "Authorization: WECHATPAY2-SHA256-RSA2048 mchid=1900 amount 38000"
    )
    out = scrub(text)
    for secret in (
        "15042219900101123X",
        "6222 0212 3456 7890 123",
        "6217000010001234567",
        "sk_live_abc",
        "hunter2",
        "mchid=1900",
    ):
        assert secret not in out, secret
    assert "150422********123X" in out
    assert "amount 38000" in out  # short numbers stay readable


@given(
    st.from_regex(
        r"[1-9][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9])[0-9]{3}[0-9X]",
        fullmatch=True,
    )
)
def test_any_resident_id_is_masked(id_number: str) -> None:
    assert id_number not in scrub(f"payer {id_number} paid")


@given(st.from_regex(r"[0-9]{13,19}", fullmatch=True))
def test_any_card_number_is_masked(pan: str) -> None:
    assert pan not in scrub(f"card={pan};")
