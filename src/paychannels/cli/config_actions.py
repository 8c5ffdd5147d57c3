"""What ``paychannels config check`` does (``config_cmd`` declares the arguments)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from paychannels.collector import Collector
from paychannels.config import Deployment, Secret
from paychannels.security.masking import redact_url
from paychannels.values.errors import ConfigurationError

__all__ = ["check"]


def check(args: argparse.Namespace) -> int:
    """Show the deployment; with ``--open``, open what it names and close it again."""
    deployment: Deployment | None = getattr(args, "deployment", None)
    if deployment is None:
        raise ConfigurationError("no config file: pass --config PATH or set PAYCHANNELS_CONFIG")
    if args.open:
        Collector.from_config(deployment, migrate=False, create=False).close()
    summary = _summary(deployment, opened=args.open)
    print(json.dumps(summary, ensure_ascii=False, indent=2) if args.json else _text(summary))
    return 0


def _summary(d: Deployment, *, opened: bool) -> dict[str, Any]:
    journal = None
    if d.journal is not None:
        url = d.journal.url
        journal = {"url": _shown(url), "create": d.journal.create}
    return {
        "file": d.source,
        "opened": opened,
        "journal": journal,
        "zone": d.zone,
        "channels": {
            name: {
                "url": redact_url(c.url),
                "options": {k: _shown(v) for k, v in sorted(c.options.items())},
                "downloads": [f"{x.kind} {x.at:%H:%M}" for x in c.downloads],
            }
            for name, c in d.channels.items()
        },
        "callbacks": {
            "listen": d.callbacks.listen,
            "prefix": d.callbacks.prefix,
            "workers": d.callbacks.workers,
        },
        "janitor": {"interval_seconds": d.janitor.interval.total_seconds()},
    }


def _shown(value: object) -> Any:
    """An option as the summary shows it: a secret as its origin, never its value."""
    if isinstance(value, Secret):
        return "<secret written in the file>" if value.origin == "inline" else f"<{value.origin}>"
    if isinstance(value, list):
        return [_shown(v) for v in value]
    if isinstance(value, str) and "://" in value:
        return redact_url(value)
    return value


def _text(s: dict[str, Any]) -> str:
    journal = s["journal"]
    lines = [
        f"{s['file']}: sound" + (" (journal and channels opened)" if s["opened"] else ""),
        "journal: "
        + (f"{journal['url']}" + (" (create)" if journal["create"] else "") if journal else "none"),
        f"county zone: {s['zone']}",
    ]
    for name, c in s["channels"].items():
        lines.append(f"channel {name}: {c['url']}")
        lines.extend(f"  {k} = {_literal(v)}" for k, v in c["options"].items())
        lines.extend(f"  download {x}" for x in c["downloads"])
    cb = s["callbacks"]
    lines.append(f"callbacks: {cb['listen']}{cb['prefix']}, workers: {cb['workers']}")
    lines.append(f"janitor: every {s['janitor']['interval_seconds']:g} s")
    return "\n".join(lines)


def _literal(value: Any) -> str:
    """An option as it would be written in the file (``false``, ``"text"``); references bare."""
    if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
        return value
    return json.dumps(value, ensure_ascii=False)
