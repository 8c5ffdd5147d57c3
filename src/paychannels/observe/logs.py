"""Log records as people and machines read them: text lines, or one JSON object per line.

The verb lines (``paychannels.collector.verbs``) carry their fields on the record
(``record.paychannels``); the JSON form puts them beside the message, so a log shipper can
filter by channel, status or payment id without parsing text.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO, Any

__all__ = ["FORMATS", "LEVELS", "JsonFormatter", "configure"]

#: what ``--log-level`` accepts
LEVELS = ("debug", "info", "warning", "error")
#: what ``--log-format`` accepts
FORMATS = ("text", "json")

#: the text line: what ``paychannels`` always printed (the time is the log collector's)
TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time (UTC), level, logger, message, fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "paychannels", None)
        if isinstance(fields, dict):
            out.update({k: v for k, v in fields.items() if k not in out})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(level: str = "warning", fmt: str = "text", stream: IO[str] | None = None) -> None:
    """Send ``paychannels`` records at ``level`` and above (others from WARNING, all at
    ``debug``) to ``stream`` (stderr), as ``text`` or ``json`` lines.

    Like ``logging.basicConfig``, it leaves alone a process whose logging someone else
    set up (an application embedding the CLI, pytest): their handlers stay and decide.
    """
    if level not in LEVELS or fmt not in FORMATS:
        raise ValueError(
            f"log level one of {', '.join(LEVELS)}; format one of {', '.join(FORMATS)}"
        )
    root = logging.getLogger()
    theirs = [h for h in root.handlers if not getattr(h, "paychannels", False)]
    if theirs:
        return
    for ours in list(root.handlers):
        root.removeHandler(ours)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.paychannels = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    wanted = getattr(logging, level.upper())
    root.setLevel(wanted if level == "debug" else max(wanted, logging.WARNING))
    logging.getLogger("paychannels").setLevel(wanted)
