"""``paychannels serve --config paychannels.toml [--workers N] [--listen HOST:PORT]``: the
callback server (docs/operations.md): the providers' callbacks under the configured prefix,
GET /healthz (200 while the journal answers, else 503) and GET /metrics (Prometheus text;
404 naming the extra without paychannels[otel]), in N uvicorn workers on one journal.
SIGTERM or Ctrl-C: stop accepting, finish the callbacks in hand (--drain), exit 0.
Needs the serve extra: pip install 'paychannels[serve]'.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

__all__ = ["register"]


def _listen(text: str) -> tuple[str, int]:
    from paychannels.config.load import LISTEN_FORM, parse_listen

    found = parse_listen(text)
    if found is None:
        raise argparse.ArgumentTypeError(f"must be {LISTEN_FORM}")
    return found


def _workers(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError("must be a whole number from 1 to 64")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be seconds from 0 to 3600")
    return value


def register(sub: Any, default_db: Callable[[], str]) -> None:
    """Add the ``serve`` command (its channels are the config file's)."""
    del default_db
    p = sub.add_parser(
        "serve",
        help="the callback server: provider callbacks, /healthz, /metrics (uvicorn workers)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--db", default=None, help="journal URL (default: [journal] url of --config)")
    p.add_argument(
        "--listen",
        type=_listen,
        metavar="HOST:PORT",
        help="where to listen (default: [callbacks] listen, else 127.0.0.1:8080)",
    )
    p.add_argument(
        "--workers",
        type=_workers,
        metavar="N",
        help="worker processes (default: [callbacks] workers, else 1)",
    )
    p.add_argument(
        "--drain",
        type=_seconds,
        default=20.0,
        metavar="SECONDS",
        help="after SIGTERM, how long callbacks in hand may take to finish (default 20)",
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from paychannels.cli.configured import DB_ENV
    from paychannels.console.interrupt import Stopping
    from paychannels.operations.serve import ServeOptions, Supervisor, require_uvicorn
    from paychannels.values.errors import ConfigurationError

    require_uvicorn()
    deployment = args.deployment
    if deployment is None:
        raise ConfigurationError(
            "serve needs the deployment's config file: --config PATH or PAYCHANNELS_CONFIG"
        )
    settings = deployment.callbacks
    host, port = args.listen or (settings.host, settings.port)
    options = ServeOptions(
        config=deployment.source,
        host=host,
        port=port,
        workers=args.workers or settings.workers,
        prefix=settings.prefix,
        db=args.db or os.environ.get(DB_ENV, "").strip() or None,
        drain=args.drain,
        log_level=args.log_level or ("debug" if args.debug else "warning"),
        log_format=args.log_format,
    )
    supervisor = Supervisor(options)
    supervisor.bind()
    stopping = args.stopping if isinstance(args.stopping, Stopping) else Stopping()
    stopping.draining = True  # a first signal drains the workers; a second one cuts it short
    return supervisor.run(stopping.wait)
