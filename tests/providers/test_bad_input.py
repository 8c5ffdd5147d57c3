"""Bad callbacks over real HTTP: a clear rejection, a log line without secrets, nothing changed.

Missing headers, an unknown serial, a signature that is not base64, a correctly signed body
whose ciphertext is truncated or that is not JSON, a form with a repeated key, an oversized
body: each gets a 4xx with the provider's failure body, and the journal is untouched.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from paychannels import Status
from paychannels.simulators.provider import SimKeys
from paychannels.simulators.provider.book import OrderStatus
from paychannels.simulators.provider.messages import wechat_signed
from tests.contract.harnesses.mobile import sim_keys
from tests.providers.support import Stack


@pytest.fixture(scope="module")
def keys() -> SimKeys:
    return sim_keys()


@pytest.fixture(scope="module")
def stack(keys: SimKeys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder: Path = tmp_path_factory.mktemp("bad")
    s = Stack.build(keys, f"sqlite:///{folder}/j.db")
    try:
        yield s
    finally:
        s.close()


def signed(keys: SimKeys, body: bytes, **change: str) -> dict[str, str]:
    headers = wechat_signed(body, keys, use_public_key=False, timestamp=int(time.time()))
    headers.update(change)
    return headers


def _unpay(stack: Stack, provider: str, number: str) -> None:
    """Take the payment back at the provider: the callback now claims what is not so.

    A refused callback makes us ask the provider; with nothing paid there, the answer
    changes nothing, which is what these tests check.
    """
    order = stack.sim.book.get(provider, number)
    assert order is not None
    order.status, order.charges, order.paid_at = OrderStatus.OPENED, 0, None


def _wechat_genuine(stack: Stack, key: str) -> tuple[str, bytes, dict[str, str]]:
    p = stack.order("wx", key)
    stack.sim.pay("wechatpay", p.id)
    body, headers = stack.sim.notification("wechatpay", p.id).render(0, "genuine")
    _unpay(stack, "wechatpay", p.id)
    return p.id, body, headers


def _truncated(keys: SimKeys, body: bytes) -> tuple[bytes, dict[str, str]]:
    event = json.loads(body)
    raw = base64.b64decode(event["resource"]["ciphertext"])
    event["resource"]["ciphertext"] = base64.b64encode(raw[:10]).decode()
    new = json.dumps(event, separators=(",", ":")).encode()
    return new, signed(keys, new)


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != name}


Case = Callable[[SimKeys, bytes, dict[str, str]], tuple[bytes, dict[str, str]]]
WECHAT_CASES: dict[str, tuple[Case, int]] = {
    "missing headers": (lambda k, b, h: (b, {"Content-Type": "application/json"}), 400),
    "missing nonce": (lambda k, b, h: (b, _without(h, "Wechatpay-Nonce")), 400),
    "wrong serial": (lambda k, b, h: (b, {**h, "Wechatpay-Serial": "ABCDEF0123"}), 401),
    "bad base64": (lambda k, b, h: (b, {**h, "Wechatpay-Signature": "%%%not-base64%%%"}), 400),
    "wrong algorithm": (lambda k, b, h: (b, {**h, "Wechatpay-Signature-Type": "HMAC-SHA256"}), 401),
    "timestamp not a number": (lambda k, b, h: (b, {**h, "Wechatpay-Timestamp": "soon"}), 400),
    "truncated ciphertext": (lambda k, b, h: _truncated(k, b), 400),
    "non-JSON body": (lambda k, b, h: (b"<xml>paid</xml>", signed(k, b"<xml>paid</xml>")), 400),
    "JSON array body": (lambda k, b, h: (b"[1,2]", signed(k, b"[1,2]")), 400),
    "oversized body": (lambda k, b, h: (b + b" " * 70_000, h), 413),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(WECHAT_CASES))
@pytest.mark.slow
def test_wechat_bad_input(
    stack: Stack, keys: SimKeys, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    payment_id, body, headers = _wechat_genuine(stack, "wx-bad-" + case.replace(" ", "-"))
    before = stack.collector.events(payment_id=payment_id)
    make, status = WECHAT_CASES[case]
    bad_body, bad_headers = make(keys, body, headers)
    response = httpx.post(stack.served.url("/callbacks/wx"), content=bad_body, headers=bad_headers)
    assert response.status_code == status
    assert response.json() == {"code": "FAIL", "message": "失败"}
    assert stack.collector.status(payment_id).status is Status.PENDING
    after = stack.collector.events(payment_id=payment_id)
    assert [e for e in after if e.to_status] == [e for e in before if e.to_status]
    lines = [r.getMessage() for r in caplog.records if "callback" in r.getMessage()]
    assert lines, "the refusal is logged"
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert keys.apiv3_key not in text and headers["Wechatpay-Signature"] not in text
    # the genuine callback still goes through afterwards
    stack.sim.pay("wechatpay", payment_id)
    ok = httpx.post(stack.served.url("/callbacks/wx"), content=body, headers=headers)
    assert ok.status_code == 204
    assert stack.collector.status(payment_id).status is Status.SUCCEEDED


def _alipay_genuine(stack: Stack, key: str) -> tuple[str, bytes]:
    p = stack.order("ali", key)
    stack.sim.pay("alipay", p.id)
    body, _ = stack.sim.notification("alipay", p.id).render(0, "genuine")
    _unpay(stack, "alipay", p.id)
    return p.id, body


ALIPAY_CASES: dict[str, tuple[Callable[[bytes], bytes], int]] = {
    "repeated key": (lambda b: b + b"&trade_status=TRADE_SUCCESS", 400),
    "not a form": (lambda b: b'{"trade_status":"TRADE_SUCCESS"}', 400),
    "empty body": (lambda b: b"", 400),
    "missing sign": (lambda b: b"&".join(p for p in b.split(b"&") if p[:5] != b"sign="), 400),
    "unknown charset": (lambda b: b.replace(b"charset=utf-8", b"charset=ebcdic"), 400),
    "bad percent-encoding": (lambda b: b.replace(b"subject=", b"subject=%FF%FE"), 400),
    "oversized body": (lambda b: b + b"&pad=" + b"x" * 70_000, 413),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(ALIPAY_CASES))
@pytest.mark.slow
def test_alipay_bad_input(stack: Stack, case: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    payment_id, body = _alipay_genuine(stack, "ali-bad-" + case.replace(" ", "-"))
    make, status = ALIPAY_CASES[case]
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = httpx.post(stack.served.url("/callbacks/ali"), content=make(body), headers=headers)
    assert (response.status_code, response.content) == (status, b"fail")
    assert stack.collector.status(payment_id).status is Status.PENDING
    assert any("callback" in r.getMessage() for r in caplog.records)
    stack.sim.pay("alipay", payment_id)
    ok = httpx.post(stack.served.url("/callbacks/ali"), content=body, headers=headers)
    assert (ok.status_code, ok.content) == (200, b"success")
    assert stack.collector.status(payment_id).status is Status.SUCCEEDED


@pytest.mark.slow
def test_journal_down_asks_the_provider_to_resend(stack: Stack) -> None:
    payment_id, body, headers = _wechat_genuine(stack, "wx-journal-down")
    journal = stack.collector.journal
    original, original_many = journal.modify, journal.modify_many

    def broken(*args: object, **kwargs: object) -> object:
        from paychannels.values.errors import JournalUnavailable

        raise JournalUnavailable("database is locked")

    # credits go through modify_many (grouped with concurrent ones), others through modify
    journal.modify = broken  # type: ignore[method-assign]
    journal.modify_many = broken  # type: ignore[method-assign]
    try:
        response = httpx.post(stack.served.url("/callbacks/wx"), content=body, headers=headers)
    finally:
        journal.modify = original  # type: ignore[method-assign]
        journal.modify_many = original_many  # type: ignore[method-assign]
    assert response.status_code == 500, "a 5xx makes WeChat Pay call again"
    retry = httpx.post(stack.served.url("/callbacks/wx"), content=body, headers=headers)
    assert retry.status_code == 204
    assert stack.collector.status(payment_id).status is Status.SUCCEEDED
