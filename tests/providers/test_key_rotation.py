"""WeChat Pay key modes side by side, and platform certificates learned while running.

A merchant migrating to the public key receives callbacks signed with either key; with
both configured, ``Wechatpay-Serial`` picks. A new platform certificate (rotation) is
downloaded from ``/v3/certificates`` the first time a callback names it, decrypted with the
APIv3 key, and then trusted; the public key id cannot be learned that way.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paychannels import Collector, Money, PaymentRequest, Status, open_channel
from paychannels.callbacks import handle
from paychannels.simulators.provider import ProviderSimulator, SimKeys
from tests.contract.harnesses.mobile import sim_keys


@pytest.fixture(scope="module")
def keys() -> SimKeys:
    return sim_keys()


@pytest.fixture
def sim(keys: SimKeys) -> Iterator[ProviderSimulator]:
    s = ProviderSimulator(keys, key_mode="certificate", auto_notify=False).start()
    try:
        yield s
    finally:
        s.stop()


def collector_with(sim: ProviderSimulator, tmp_path: Path, **key_options: object) -> Collector:
    k = sim.keys
    options = {
        "merchant_serial": k.merchant_serial,
        "private_key": k.wechat_options()["private_key"],
        "apiv3_key": k.apiv3_key,
        "notify_url": "http://127.0.0.1:9/n",
        **key_options,
    }
    col = Collector.open(f"sqlite:///{tmp_path}/j.db", create=True)
    col.add_channel(
        "wx", open_channel(f"wechatpay+{sim.url}?mchid={k.mchid}&appid={k.appid}", **options)
    )
    return col


def paid(col: Collector, sim: ProviderSimulator) -> str:
    p = col.collect(
        PaymentRequest(
            payer_id="p", amount=Money("1.00", "CNY"), reference="r", idempotency_key="k"
        ),
        channel="wx",
    )
    sim.pay("wechatpay", p.id)
    return p.id


def test_platform_certificate_is_downloaded_on_first_sight(
    sim: ProviderSimulator, keys: SimKeys, tmp_path: Path
) -> None:
    opts = keys.wechat_options()
    col = collector_with(sim, tmp_path, public_key=opts["public_key"], public_key_id=keys.pubkey_id)
    payment_id = paid(col, sim)
    body, headers = sim.notification("wechatpay", payment_id).render(0, "genuine")
    assert headers["Wechatpay-Serial"] == keys.platform_serial  # not configured here
    reply = handle(col, "wx", headers, body)
    assert reply.status_code == 204
    assert col.status(payment_id).status is Status.SUCCEEDED
    col.close()


def test_public_key_callbacks_need_the_public_key_configured(
    sim: ProviderSimulator, keys: SimKeys, tmp_path: Path
) -> None:
    opts = keys.wechat_options()
    col = collector_with(sim, tmp_path, platform_certificates=opts["platform_certificates"])
    payment_id = paid(col, sim)
    sim.key_mode = "public_key"
    body, headers = sim.notification("wechatpay", payment_id).render(0, "genuine")
    assert headers["Wechatpay-Serial"] == keys.pubkey_id
    assert handle(col, "wx", headers, body).status_code == 401
    # the refused callback was a hint: the query (signed per our Wechatpay-Serial) tells
    assert col.status(payment_id).status is Status.SUCCEEDED
    col.close()
