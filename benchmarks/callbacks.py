"""WeChat Pay callbacks per second: verify + decrypt, and the whole durable path.

1. Verify + decrypt, one thread, the same N distinct signed callbacks for both:
   ours (signature on the raw bytes with the timestamp window, strict JSON, AES-GCM, strict
   JSON of the resource) next to wechatpayv3's own ``WeChatPay.callback()`` (baseline,
   measured in the same run). Also ours up to the ``Notice`` (ids and amount checked).
2. The durable path in one process: ``CallbackHandler.handle()`` (verify, decrypt, apply
   through the journal, reply) for N pending payments, several concurrent senders, on
   SQLite (WAL, ``synchronous=FULL``) and PostgreSQL (``--pg`` or ``$PAYCHANNELS_TEST_PG``).

    pip install -e '.[bench]'
    python benchmarks/callbacks.py --callbacks 3000 --payments 2000 --senders 8 [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from wechatpayv3 import WeChatPay, WeChatPayType

from paychannels import Collector, Money, PaymentRequest, Status, open_channel
from paychannels.callbacks import CallbackHandler
from paychannels.providers.wechatpay.signing import verify_signed
from paychannels.security.verification import Headers
from paychannels.simulators.provider import ProviderSimulator, SimKeys
from paychannels.simulators.provider.messages import wechat_notification, wechat_signed


def callbacks_for(
    keys: SimKeys, ids: list[str], total: int = 38000
) -> list[tuple[bytes, dict[str, str]]]:
    out = []
    for number in ids:
        resource = {
            "appid": keys.appid, "mchid": keys.mchid, "out_trade_no": number,
            "transaction_id": "4200" + number[-24:], "trade_type": "NATIVE",
            "trade_state": "SUCCESS", "trade_state_desc": "支付成功", "bank_type": "OTHERS",
            "attach": number, "success_time": "2026-01-05T17:30:00+08:00",
            "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
            "amount": {"total": total, "payer_total": total, "currency": "CNY",
                       "payer_currency": "CNY"},
        }  # fmt: skip
        body = wechat_notification(
            resource, event_type="TRANSACTION.SUCCESS", original_type="transaction", keys=keys
        )
        headers = wechat_signed(body, keys, use_public_key=True, timestamp=int(time.time()))
        out.append((body, headers))
    return out


def rate(
    work: Callable[[bytes, dict[str, str]], Any], items: list[tuple[bytes, dict[str, str]]]
) -> float:
    start = time.perf_counter()
    for body, headers in items:
        work(body, headers)
    return len(items) / (time.perf_counter() - start)


def verify_decrypt(keys: SimKeys, n: int, repeats: int) -> dict[str, float]:
    opts = keys.wechat_options()
    url = f"wechatpay+https://api.mch.weixin.qq.com?mchid={keys.mchid}&appid={keys.appid}"
    channel = open_channel(url, notify_url="https://example.org/n", **opts)
    codec = channel.codec  # type: ignore[attr-defined]
    sdk = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE, mchid=keys.mchid, private_key=opts["private_key"],
        cert_serial_no=keys.merchant_serial, appid=keys.appid, apiv3_key=keys.apiv3_key,
        public_key=opts["public_key"], public_key_id=keys.pubkey_id,
    )  # fmt: skip
    items = callbacks_for(keys, [f"pay_{i:026d}" for i in range(n)])

    def ours(body: bytes, headers: dict[str, str]) -> Any:
        verify_signed(Headers(headers), body, codec.config.keys, now=time.time)
        return codec.callbacks.open(body)

    def ours_notice(body: bytes, headers: dict[str, str]) -> Any:
        reading = codec.read_callback(Headers(headers), body)
        assert reading.error is None
        return reading.notices

    def theirs(body: bytes, headers: dict[str, str]) -> Any:
        result = sdk.callback(headers, body)
        assert result is not None
        return result

    runs: dict[str, list[float]] = {"ours": [], "ours_notice": [], "wechatpayv3": []}
    ratios: list[float] = []
    for _ in range(repeats):  # interleaved rounds, so load from other processes hits both
        runs["wechatpayv3"].append(rate(theirs, items))
        runs["ours"].append(rate(ours, items))
        runs["ours_notice"].append(rate(ours_notice, items))
        ratios.append(runs["ours"][-1] / runs["wechatpayv3"][-1])
    channel.close()
    result = {name: statistics.median(values) for name, values in runs.items()}
    result["ratio_median"] = statistics.median(ratios)
    return result


def durable(keys: SimKeys, sim: ProviderSimulator, url: str, n: int, senders: int) -> float:
    with Collector.open(url, create=True) as col:
        col.add_channel(
            "wx",
            open_channel(
                f"wechatpay+{sim.url}?mchid={keys.mchid}&appid={keys.appid}",
                notify_url="http://127.0.0.1:9/n",
                **keys.wechat_options(),
            ),
        )
        ids = []
        for i in range(n):
            p = col.collect(
                PaymentRequest(
                    payer_id=f"payer-{i}",
                    amount=Money("380.00", "CNY"),
                    reference="2026",
                    idempotency_key=f"bench-{i}",
                ),
                channel="wx",
            )
            assert p.status is Status.PENDING
            ids.append(p.id)
        items = callbacks_for(keys, ids)
        handler = CallbackHandler(col)

        def deliver(item: tuple[bytes, dict[str, str]]) -> int:
            return handler.handle("wx", item[1], item[0]).status_code

        start = time.perf_counter()
        with ThreadPoolExecutor(senders) as pool:
            codes = list(pool.map(deliver, items))
        elapsed = time.perf_counter() - start
        assert codes == [204] * n, set(codes)
        assert all(col.status(i).status is Status.SUCCEEDED for i in ids[:50])
        return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callbacks", type=int, default=1000)
    parser.add_argument("--payments", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--pg", default=os.environ.get("PAYCHANNELS_TEST_PG"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    keys = SimKeys.generate()
    result: dict[str, Any] = {"verify_decrypt": verify_decrypt(keys, args.callbacks, args.repeats)}
    vd = result["verify_decrypt"]
    result["ratio_ours_over_wechatpayv3"] = vd["ratio_median"]
    with ProviderSimulator(keys, auto_notify=False) as sim, tempfile.TemporaryDirectory() as tmp:
        result["durable_sqlite"] = durable(
            keys, sim, f"sqlite:///{tmp}/bench.db", args.payments, args.senders
        )
        if args.pg:
            import psycopg

            schema = f"bench_{os.getpid()}"
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
            sep = "&" if "?" in args.pg else "?"
            try:
                result["durable_postgres"] = durable(
                    keys, sim, f"{args.pg}{sep}options=-csearch_path%3D{schema}",
                    args.payments, args.senders,
                )  # fmt: skip
            finally:
                with psycopg.connect(args.pg, autocommit=True) as conn:
                    conn.execute(f"DROP SCHEMA {schema} CASCADE")
    result["senders"] = args.senders
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"verify+decrypt, {args.callbacks} callbacks, one thread, median of {args.repeats}:")
    print(f"  ours                       {vd['ours']:>9,.0f}/s")
    print(f"  ours up to the Notice      {vd['ours_notice']:>9,.0f}/s")
    print(f"  wechatpayv3 callback()     {vd['wechatpayv3']:>9,.0f}/s  (baseline)")
    print(f"  ratio ours / wechatpayv3   {result['ratio_ours_over_wechatpayv3']:>9.2f}x  (median)")
    print(f"durable path (verify, decrypt, journal, reply), {args.senders} senders:")
    print(f"  SQLite WAL synchronous=FULL {result['durable_sqlite']:>8,.0f} callbacks/s")
    if "durable_postgres" in result:
        print(f"  PostgreSQL                  {result['durable_postgres']:>8,.0f} callbacks/s")


if __name__ == "__main__":
    main()
