"""``paychannels-sim provider``: simulated WeChat Pay v3 and Alipay on 127.0.0.1.

Keys are generated at start (or loaded from ``--keys DIR`` when it holds earlier ones) and
written there with ready channel config files, so a backend opens its channels with::

    open_channel("wechatpay+http://127.0.0.1:8801?mchid=M&appid=A", config="DIR/wechatpay.toml")
    open_channel("alipay+http://127.0.0.1:8801/gateway.do?app_id=I", config="DIR/alipay.toml")

Payers behave per ``--payers`` (``pay=0.8,abandon=0.1,late=0.1``); callbacks go to each
order's ``notify_url`` on the providers' retry schedules, ``--time-scale`` times faster,
with ``--duplicate``/``--reorder``/``--forged``/``--probe``/``--stale``/``--lost`` faults.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from paychannels.simulators.provider import NotifyFaults, ProviderSimulator, Script, SimKeys
from paychannels.simulators.provider.bills import DEFAULT_FEE_RATE
from paychannels.simulators.provider.wechat_api import KEY_MODES
from paychannels.values.errors import ConfigurationError

__all__ = ["register"]


def register(sub: Any) -> None:
    """Add the ``provider`` simulator command."""
    p = sub.add_parser(
        "provider",
        help="WeChat Pay v3 and Alipay endpoints with payers and callbacks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, default=8801, help="port on 127.0.0.1 (0: any free one)")
    p.add_argument("--keys", type=Path, help="folder to load keys from or write new ones to")
    p.add_argument(
        "--notify-url",
        default="http://127.0.0.1:8000/callbacks/wechatpay",
        help="the WeChat Pay notify_url written into wechatpay.toml",
    )
    p.add_argument(
        "--alipay-notify-url",
        default="http://127.0.0.1:8000/callbacks/alipay",
        help="the Alipay notify_url written into alipay.toml",
    )
    p.add_argument(
        "--key-mode",
        choices=KEY_MODES,
        default="both",
        help="how WeChat Pay signs: platform certificate, public key, or both",
    )
    p.add_argument("--payers", default="pay", help="payer mix, e.g. pay=0.8,abandon=0.1,late=0.1")
    p.add_argument("--pay-delay", type=float, default=2.0, help="seconds before a payer pays")
    p.add_argument(
        "--time-scale",
        type=float,
        default=60.0,
        help="retry schedules run this many times faster (1 = real time)",
    )
    p.add_argument(
        "--notify-timeout",
        type=float,
        default=5.0,
        help="seconds a backend may take to answer a callback",
    )
    for name, text in (
        ("duplicate", "chance a callback is sent twice at once"),
        ("reorder", "seconds of random delay before a first delivery"),
        ("forged", "chance of an extra callback with a forged signature"),
        ("probe", "chance of an extra WECHATPAY/SIGNTEST/ probe"),
        ("stale", "chance of an extra replayed (old) callback"),
        ("lost", "chance a callback never arrives, whatever the retries (only a query finds it)"),
    ):
        p.add_argument(f"--{name}", type=float, default=0.0, help=text)
    p.add_argument(
        "--fee-rate", type=Decimal, default=DEFAULT_FEE_RATE,
        help="share of each trade the bills show as the provider's fee (default 0.006: 0.6%%)",
    )  # fmt: skip
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--json", action="store_true", help="machine-readable summary at the end")
    p.set_defaults(handler=_run)


def _keys(folder: Path | None) -> tuple[SimKeys, bool]:
    """Earlier keys from ``folder``, or new ones (True: to be written)."""
    if folder is not None and (folder / "ids.json").exists():
        return SimKeys.load(folder), False
    return SimKeys.generate(), True


def _run(args: argparse.Namespace) -> int:
    try:
        mix = Script.parse_mix(args.payers)
        for name in ("duplicate", "forged", "probe", "stale", "lost"):
            if not 0.0 <= getattr(args, name) <= 1.0:
                raise ConfigurationError(f"--{name} is a probability between 0 and 1")
        if args.time_scale <= 0:
            raise ConfigurationError("--time-scale must be positive")
        keys, new = _keys(args.keys)
        faults = NotifyFaults(
            duplicate=args.duplicate,
            reorder=args.reorder,
            forged=args.forged,
            probe=args.probe,
            stale=args.stale,
            lost=args.lost,
        )
        sim = ProviderSimulator(
            keys,
            port=args.port,
            key_mode=args.key_mode,
            script=Script(payer_mix=mix, pay_delay=args.pay_delay),
            time_scale=args.time_scale,
            notify_timeout=args.notify_timeout,
            faults=faults,
            fee_rate=args.fee_rate,
        ).start()
        folder = args.keys or Path(tempfile.mkdtemp(prefix="paychannels-provider-keys-"))
        if new:
            keys.write(
                folder,
                base_url=sim.url,
                notify_url=args.notify_url,
                alipay_notify_url=args.alipay_notify_url,
            )
    except (ConfigurationError, ValueError, OSError) as exc:
        print(f"paychannels-sim provider: {exc}", file=sys.stderr)
        return 2
    print(f"WeChat Pay v3: {sim.url}  (mchid {keys.mchid}, appid {keys.appid})", file=sys.stderr)
    print(f"Alipay:        {sim.alipay_gateway}  (app_id {keys.alipay_app_id})", file=sys.stderr)
    print(f"keys and channel configs: {folder}", file=sys.stderr)
    print("Ctrl-C to stop", file=sys.stderr)
    args.stopping.wait(args.duration)
    sim.stop()
    _summary(sim, args.json)
    return 0


def _summary(sim: ProviderSimulator, as_json: bool) -> None:
    orders = Counter(f"{o.provider}:{o.status.value}" for o in sim.book.orders())
    attempts = sim.notifier.attempts()
    outcome = Counter(f"{a.variant}:{'accepted' if a.accepted else 'refused'}" for a in attempts)
    summary = {"orders": dict(orders), "callbacks": dict(outcome)}
    if as_json:
        print(json.dumps(summary, sort_keys=True))
        return
    for name, count in sorted(orders.items()):
        print(f"orders {name}: {count}")
    for name, count in sorted(outcome.items()):
        print(f"callbacks {name}: {count}")
