"""``paychannels-sim terminal``: a simulated payment terminal speaking ZVT on TCP and/or a pty.

    paychannels-sim terminal --tcp 127.0.0.1:20007 --pty --control 127.0.0.1:8765

prints where it listens (the pty's slave path is what a serial client opens) and runs until
interrupted. Steer it through the control API (``GET /help`` lists outcomes and faults).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from paychannels.errors import PaychannelsError
from paychannels.simulators.terminal import OUTCOMES, Script, TerminalSimulator

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
    if not args.tcp and not args.pty:
        print("paychannels-sim: error: give --tcp HOST:PORT, --pty or both", file=sys.stderr)
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
            "pty": "ZVT over a serial line on {} (channel URL zvt+serial://{}?baudrate=9600)",
            "control": "control API on {} (GET /help)",
        }
        for key, value in where.items():
            print(lines[key].format(value, value), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()
    return 0
