"""``paychannels-sim terminal``: one simulated payment terminal on ZVT (TCP, pty) and its cloud.

    paychannels-sim terminal --tcp 127.0.0.1:20007 --pty --control 127.0.0.1:8765
    paychannels-sim terminal --nexo 127.0.0.1:8443 --notify http://127.0.0.1:8080/nexo
    paychannels-sim terminal --mispos tlv-9f --mispos ./mybank.toml --control 127.0.0.1:8765

prints where it listens (the pty's slave path is what a serial client opens) and runs until
interrupted. ``--nexo`` serves the terminal's cloud (nexo ``/sync`` and ``/async``); its
API key and the notification secret are read from the environment
(``PAYCHANNELS_SIM_API_KEY``, ``PAYCHANNELS_SIM_NOTIFY_SECRET``) so they stay out of process
lists. Every front end drives the same terminal. Steer it through the control API
(``GET /help`` lists outcomes and faults).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from paychannels.drivers.mispos.profile_checks import load as load_profile
from paychannels.simulators.terminal import OUTCOMES, Script, TerminalSimulator
from paychannels.values.errors import PaychannelsError

__all__ = ["register"]


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:20007)")
    if host not in ("127.0.0.1", "localhost"):
        raise argparse.ArgumentTypeError("the simulator listens on 127.0.0.1 only")
    return host, int(port)


def register(sub: Any) -> None:
    """Add ``terminal`` to ``paychannels-sim``."""
    p = sub.add_parser("terminal", help="a ZVT payment terminal on TCP and/or a pseudo-terminal")
    p.add_argument("--tcp", type=_address, metavar="HOST:PORT", help="listen for ECRs on TCP")
    p.add_argument("--pty", action="store_true", help="speak serial ZVT on a new pty")
    p.add_argument("--baudrate", type=int, default=9600, help="the pty terminal's baud rate")
    p.add_argument("--stopbits", type=int, choices=[1, 2], default=2)
    p.add_argument("--nexo", type=_address, metavar="HOST:PORT", help="serve its cloud (nexo)")
    p.add_argument("--poi", default="P400Plus-275039202", help="the terminal's POIID (nexo)")
    p.add_argument("--notify", metavar="URL", help="where the cloud posts async results")
    p.add_argument("--cloud-timeout", type=float, default=150.0, help="seconds the cloud waits")
    p.add_argument(
        "--mispos",
        action="append",
        default=[],
        metavar="PROFILE",
        help="speak a MIS-POS profile (name or .toml file) on a new pty; repeatable",
    )
    p.add_argument("--control", type=_address, metavar="HOST:PORT", help="control API address")
    p.add_argument("--currency", default="CNY", help="ISO 4217 code (default CNY)")
    p.add_argument("--password", default="000000", help="the terminal's password (six digits)")
    p.add_argument("--terminal-id", type=int, default=29001234)
    p.add_argument("--charset", default="cp437", help="receipt text encoding (gb18030 for 中文)")
    p.add_argument("--journal", help="keep the terminal's journal in this JSON file")
    p.add_argument("--default", choices=sorted(OUTCOMES), default="approve")
    p.add_argument("--card-delay", type=float, default=0.0, help="seconds to present the card")
    p.add_argument("--pin-delay", type=float, default=0.0, help="seconds to enter the PIN")
    p.add_argument("--host-delay", type=float, default=0.0, help="seconds the bank takes")
    p.add_argument("--full-pan", action="store_true", help="send card numbers unmasked")
    p.add_argument("--json", action="store_true", help="print the addresses as one JSON line")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    if not (args.tcp or args.pty or args.nexo or args.mispos):
        print(
            "paychannels-sim: error: give --tcp HOST:PORT, --pty, --nexo HOST:PORT or --mispos",
            file=sys.stderr,
        )
        return 2
    try:
        profiles = [load_profile(name) for name in args.mispos]
    except PaychannelsError as exc:
        print(f"paychannels-sim: error: {exc}", file=sys.stderr)
        return 2
    if args.notify and not args.notify.startswith(("http://127.", "http://localhost")):
        print("paychannels-sim: error: --notify must be on 127.0.0.1", file=sys.stderr)
        return 2
    password = str(args.password)
    if not password.isdigit() or len(password) > 6:
        print("paychannels-sim: error: --password must be one to six digits", file=sys.stderr)
        return 2
    try:
        sim = TerminalSimulator(
            journal=args.journal,
            charset=args.charset,
            full_pan=args.full_pan,
            currency=args.currency,
            password=int(password),
            terminal_id=args.terminal_id,
        )
    except (PaychannelsError, LookupError) as exc:
        print(f"paychannels-sim: error: {exc}", file=sys.stderr)
        return 2
    sim.terminal.scripts.default = Script(
        outcome=args.default,
        card_delay=args.card_delay,
        pin_delay=args.pin_delay,
        host_delay=args.host_delay,
    )
    where: dict[str, str] = {}
    try:
        if args.tcp:
            host, port = sim.serve_tcp(*args.tcp)
            where["tcp"] = f"{host}:{port}"
        if args.pty:
            where["pty"] = sim.serve_pty(baudrate=args.baudrate, stopbits=args.stopbits)
        for profile in profiles:
            where[f"mispos:{profile.name}"] = sim.serve_mispos(profile)
        if args.nexo:
            where["nexo"] = sim.serve_nexo(
                *args.nexo,
                poiid=args.poi,
                api_key=os.environ.get("PAYCHANNELS_SIM_API_KEY") or None,
                notify_url=args.notify,
                notify_secret=os.environ.get("PAYCHANNELS_SIM_NOTIFY_SECRET") or None,
                cloud_timeout=args.cloud_timeout,
            )
        if args.control:
            where["control"] = sim.serve_control(*args.control)
    except OSError as exc:
        sim.close()
        print(f"paychannels-sim: error: cannot listen: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(where), flush=True)
    else:
        lines = {
            "tcp": "ZVT over TCP on {} (channel URL zvt+tcp://{})",
            "pty": "ZVT over a serial line on {} (channel URL zvt+serial://{}"
            f"?baudrate={args.baudrate}&stopbits={args.stopbits})",
            "nexo": "its cloud (nexo) on {} (channel URL nexo+{}/?poi=" + args.poi + ")",
            "control": "control API on {} (GET /help)",
        }
        for key, value in where.items():
            if key.startswith("mispos:"):
                name = key.split(":", 1)[1]
                print(
                    f"MIS-POS ({name}) on {value} (channel URL mispos+serial://{value}"
                    f"?profile={name})",
                    flush=True,
                )
                continue
            print(lines[key].format(value, value), flush=True)
    try:
        args.stopping.wait()
    finally:
        sim.close()
    return 0
