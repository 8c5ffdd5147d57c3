"""WeChat Pay callbacks per second: up to the ``Notice``, and the durable path to the journal.

1. **Up to the Notice**, one thread, the same N distinct signed callbacks for both sides, each
   side in its own process, interleaved rounds (order alternating), medians: ours is what
   every real callback goes through — raw bytes, header checks, SHA256withRSA on the raw
   bytes with the timestamp window, strict JSON, AES-256-GCM, JSON of the resource, the
   ``Notice`` (ids and amount checked) — next to wechatpayv3's own ``WeChatPay.callback()``
   (verify, decrypt, parse; no window, no strictness, no notice). Wall and CPU time.
2. **Durable path**: ``CallbackHandler.handle()`` (verify, decrypt, credit through the
   journal with its event, reply) for N PENDING payments, several concurrent senders, on
   SQLite (WAL, ``synchronous=FULL``).
3. **Receiver processes on one PostgreSQL** (``--pg`` or ``$PAYCHANNELS_TEST_PG``): the same
   path in P processes at once (each its own Collector and senders), P = 1, 2, 4.

    pip install -e '.[bench]'
    python benchmarks/callbacks.py [--callbacks 2000] [--rounds 9] [--payments 3000]
        [--senders 8] [--processes 1,2,4] [--parts notice,sqlite,postgres] [--json]
        [--against /path/to/another/checkout]

``--against`` runs a third side in the same rounds of part 1: our path from another
checkout's ``src`` (main, say), so a change is measured against its own before.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import schema_url

from paychannels import Collector, Money, PaymentRequest, Status, open_channel
from paychannels.callbacks import CallbackHandler
from paychannels.simulators.provider import ProviderSimulator, SimKeys
from paychannels.simulators.provider.messages import wechat_notification, wechat_signed

SIDES = ("ours_notice", "wechatpayv3")


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


# -- 1. up to the Notice, each side in its own process -------------------------------------


def write_inputs(keys: SimKeys, n: int, folder: Path) -> Path:
    """The keys and the N signed callbacks, the same file for every process."""
    path = folder / "inputs.json"
    items = callbacks_for(keys, [f"pay_{i:026d}" for i in range(n)])
    data = {
        "mchid": keys.mchid, "appid": keys.appid, "pubkey_id": keys.pubkey_id,
        "merchant_serial": keys.merchant_serial, "apiv3_key": keys.apiv3_key,
        "options": keys.wechat_options(),
        "callbacks": [[body.decode(), headers] for body, headers in items],
    }  # fmt: skip
    path.write_text(json.dumps(data, ensure_ascii=False))
    return path


def side(name: str, inputs: dict[str, Any]) -> Callable[[bytes, dict[str, str]], Any]:
    """One side's work for one callback, everything built beforehand as a receiver would."""
    opts = inputs["options"]
    if name == "wechatpayv3":
        from wechatpayv3 import WeChatPay, WeChatPayType

        sdk = WeChatPay(
            wechatpay_type=WeChatPayType.NATIVE, mchid=inputs["mchid"],
            private_key=opts["private_key"], cert_serial_no=inputs["merchant_serial"],
            appid=inputs["appid"], apiv3_key=inputs["apiv3_key"],
            public_key=opts["public_key"], public_key_id=inputs["pubkey_id"],
        )  # fmt: skip

        def theirs(body: bytes, headers: dict[str, str]) -> Any:
            result = sdk.callback(headers, body)
            assert result is not None
            return result

        return theirs
    from paychannels.security.verification import Headers

    url = f"wechatpay+https://api.mch.weixin.qq.com?mchid={inputs['mchid']}&appid={inputs['appid']}"
    codec = open_channel(url, notify_url="https://example.org/n", **opts).codec  # type: ignore[attr-defined]

    def ours(body: bytes, headers: dict[str, str]) -> Any:
        reading = codec.read_callback(Headers(headers), body)
        assert reading.error is None, reading.error
        return reading.notices[0]

    return ours


def child(name: str, path: Path) -> dict[str, float]:
    """Run in a fresh process: one warm-up pass, then one timed pass over every callback."""
    inputs = json.loads(path.read_text())
    items = [(body.encode(), headers) for body, headers in inputs["callbacks"]]
    work = side(name, inputs)
    for body, headers in items[: len(items) // 4]:
        work(body, headers)
    wall, cpu = time.perf_counter(), time.process_time()
    for body, headers in items:
        work(body, headers)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"wall": len(items) / wall, "cpu": len(items) / cpu}


def notice_rounds(keys: SimKeys, n: int, rounds: int, against: Path | None) -> dict[str, Any]:
    sides = (*SIDES, "against") if against else SIDES
    runs: dict[str, list[dict[str, float]]] = {s: [] for s in sides}
    with tempfile.TemporaryDirectory() as tmp:
        path = write_inputs(keys, n, Path(tmp))
        for r in range(rounds):
            for name in sides if r % 2 == 0 else sides[::-1]:
                env = dict(os.environ)
                if name == "against":  # our side, from the other checkout's sources
                    env["PYTHONPATH"] = os.pathsep.join([str(against / "src"), str(against)])
                out = subprocess.run(
                    [sys.executable, __file__, "--child", name.replace("against", "ours_notice"),
                     "--inputs", str(path)],
                    check=True, capture_output=True, text=True, timeout=600, env=env,
                )  # fmt: skip
                runs[name].append(json.loads(out.stdout))
    result: dict[str, Any] = {"callbacks": n, "rounds": rounds}
    for clock in ("wall", "cpu"):
        theirs = [x[clock] for x in runs["wechatpayv3"]]
        result[clock] = {"wechatpayv3": statistics.median(theirs)}
        for name in sides[::2]:  # ours_notice, and the other checkout's
            ours = [x[clock] for x in runs[name]]
            ratios = [o / t for o, t in zip(ours, theirs, strict=True)]
            result[clock][name] = statistics.median(ours)
            result[clock][f"{name}_ratio"] = [statistics.median(ratios), min(ratios), max(ratios)]
    return result


# -- 2. and 3. the durable path --------------------------------------------------------------


def pending(keys: SimKeys, sim: ProviderSimulator, url: str, n: int, tag: str) -> list[str]:
    """N PENDING WeChat Pay payments in the journal at ``url`` (orders made at the simulator)."""
    with Collector.open(url, create=True) as col:
        col.add_channel("wx", wx_channel(keys, sim.url))
        ids = []
        for i in range(n):
            request = PaymentRequest(
                payer_id=f"payer-{tag}-{i}", amount=Money("380.00", "CNY"),
                reference="2026", idempotency_key=f"bench-{tag}-{i}",
            )  # fmt: skip
            payment = col.collect(request, channel="wx")
            assert payment.status is Status.PENDING
            ids.append(payment.id)
    return ids


def wx_channel(keys: SimKeys | dict[str, Any], sim_url: str) -> Any:
    mchid, appid, options = (
        (keys.mchid, keys.appid, keys.wechat_options())
        if isinstance(keys, SimKeys)
        else (keys["mchid"], keys["appid"], keys["options"])
    )
    return open_channel(
        f"wechatpay+{sim_url}?mchid={mchid}&appid={appid}",
        notify_url="http://127.0.0.1:9/n",
        **options,
    )


def deliver_all(
    url: str, keys: SimKeys | dict[str, Any], items: list[tuple[bytes, dict[str, str]]],
    senders: int, start_at: float | None = None,
) -> dict[str, float]:  # fmt: skip
    """Every callback through ``CallbackHandler.handle`` from ``senders`` threads."""
    with Collector.open(url) as col:
        col.add_channel("wx", wx_channel(keys, "http://127.0.0.1:9"))
        handler = CallbackHandler(col)
        if start_at is not None:
            time.sleep(max(0.0, start_at - time.time()))
        usage, cpu = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
        start = time.time()
        with ThreadPoolExecutor(senders) as pool:
            codes = list(pool.map(lambda it: handler.handle("wx", it[1], it[0]).status_code, items))
        end = time.time()
        cpu, after = time.process_time() - cpu, resource.getrusage(resource.RUSAGE_SELF)
        assert codes == [204] * len(items), set(codes)
    switches = after.ru_nvcsw + after.ru_nivcsw - usage.ru_nvcsw - usage.ru_nivcsw
    # CPU of every thread (kernel included) and context switches, per credit
    return {"start": start, "end": end, "n": len(items),
            "cpu_us": cpu / len(items) * 1e6, "switches": switches / len(items)}  # fmt: skip


def receiver_child(path: Path) -> dict[str, float]:
    job = json.loads(path.read_text())
    items = [(body.encode(), headers) for body, headers in job["callbacks"]]
    return deliver_all(job["url"], job["keys"], items, job["senders"], job["start_at"])


def durable_sqlite(keys: SimKeys, sim: ProviderSimulator, n: int, senders: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        ids = pending(keys, sim, url, n, "sqlite")
        out = deliver_all(url, keys, callbacks_for(keys, ids), senders)
        with Collector.open(url) as col:
            assert all(col.status(i).status is Status.SUCCEEDED for i in ids)
    return {"rate": n / (out["end"] - out["start"]), "cpu_us": out["cpu_us"],
            "switches": out["switches"]}  # fmt: skip


def postgres_curve(
    keys: SimKeys, sim: ProviderSimulator, pg: str, n: int, senders: int, processes: list[int]
) -> dict[int, float]:
    """Credits per second with P receiver processes sharing one PostgreSQL journal."""
    import psycopg

    schema = f"bench_{os.getpid()}"
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    url = schema_url(pg, schema)
    keyinfo = {"mchid": keys.mchid, "appid": keys.appid, "options": keys.wechat_options()}
    curve: dict[int, float] = {}
    try:
        for p in processes:
            ids = pending(keys, sim, url, n, f"pg{p}")
            items = callbacks_for(keys, ids)
            start_at = time.time() + 3.0  # every process loaded and connected first
            with tempfile.TemporaryDirectory() as tmp:
                procs = []
                for k in range(p):
                    job = Path(tmp) / f"job{k}.json"
                    job.write_text(json.dumps({
                        "url": url, "keys": keyinfo, "senders": senders, "start_at": start_at,
                        "callbacks": [[b.decode(), h] for b, h in items[k::p]],
                    }, ensure_ascii=False))  # fmt: skip
                    procs.append(subprocess.Popen(
                        [sys.executable, __file__, "--receiver", str(job)],
                        stdout=subprocess.PIPE, text=True,
                    ))  # fmt: skip
                outs = [json.loads(proc.communicate(timeout=900)[0]) for proc in procs]
            assert all(proc.returncode == 0 for proc in procs)
            span = max(o["end"] for o in outs) - min(o["start"] for o in outs)
            curve[p] = n / span
    finally:
        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callbacks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--payments", type=int, default=3000)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--parts", default="notice,sqlite,postgres")
    parser.add_argument("--pg", default=os.environ.get("PAYCHANNELS_TEST_PG"))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--against", type=Path, help="another checkout, run in the same rounds")
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--receiver", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.inputs)))
        return
    if args.receiver:
        print(json.dumps(receiver_child(args.receiver)))
        return
    parts = set(args.parts.split(","))
    keys = SimKeys.generate()
    result: dict[str, Any] = {"load_average_before": os.getloadavg()}
    if "notice" in parts:
        result["notice"] = notice_rounds(keys, args.callbacks, args.rounds, args.against)
    with ProviderSimulator(keys, auto_notify=False) as sim:
        if "sqlite" in parts:
            result["durable_sqlite"] = durable_sqlite(keys, sim, args.payments, args.senders)
        if "postgres" in parts and args.pg:
            processes = [int(p) for p in args.processes.split(",")]
            result["durable_postgres"] = postgres_curve(
                keys, sim, args.pg, args.payments, args.senders, processes
            )
    result["senders"] = args.senders
    result["load_average_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    report(result, args)


def report(result: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"load average before {result['load_average_before'][0]:.2f}, "
          f"after {result['load_average_after'][0]:.2f}")  # fmt: skip
    if "notice" in result:
        nt = result["notice"]
        print(f"up to the Notice, {nt['callbacks']} callbacks, one thread, each side in its own "
              f"process, median of {nt['rounds']} interleaved rounds:")  # fmt: skip
        for clock in ("wall", "cpu"):
            r = nt[clock]
            mid, lo, hi = r["ours_notice_ratio"]
            print(f"  {clock:4s}  ours {r['ours_notice']:>8,.0f}/s   wechatpayv3 callback() "
                  f"{r['wechatpayv3']:>8,.0f}/s   ratio {mid:.2f}x "
                  f"({lo:.2f}-{hi:.2f})")  # fmt: skip
            if "against" in r:
                mid, lo, hi = r["against_ratio"]
                print(f"        {args.against}: {r['against']:>8,.0f}/s   "
                      f"ratio {mid:.2f}x ({lo:.2f}-{hi:.2f})")  # fmt: skip
    if "durable_sqlite" in result:
        print(f"durable path (verify, decrypt, credit in the journal, reply), "
              f"{args.senders} senders:")  # fmt: skip
        sq = result["durable_sqlite"]
        print(f"  SQLite WAL synchronous=FULL  {sq['rate']:>8,.0f} callbacks/s  "
              f"({sq['cpu_us']:,.0f} us CPU and {sq['switches']:.1f} context switches "
              "a credit, all threads)")  # fmt: skip
    for p, rate in result.get("durable_postgres", {}).items():
        print(f"  PostgreSQL, {p} receiver process(es)  {rate:>8,.0f} callbacks/s")


if __name__ == "__main__":
    main()
