"""A PostgreSQL URL handed to libpq's programs (pg_dump, pg_restore) through their environment.

Every user of the machine reads a process's argv (``ps``, ``/proc/<pid>/cmdline``), and only
its owner reads its environment: host, port, user, database, options and password go in
``PGHOST``, ``PGPORT``... (the names libpq itself lists), so argv names no connection. The few
settings libpq reads from no variable (``keepalives``, ``sslpassword``...) go in a service file
of a private folder (mode 0700, the file 0600) that ``PGSERVICEFILE`` names, removed after.
Our own query options (``outcome_sync``) are not libpq's and are left out.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from paychannels.security.masking import redact_url
from paychannels.values.errors import InvalidURL, JournalUnavailable

__all__ = ["libpq_environment"]

_SERVICE = "paychannels"


@contextmanager
def libpq_environment(url: str, base: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
    """``base`` (the process's environment) plus the whole connection of ``url``."""
    known = _keywords()
    env = dict(os.environ if base is None else base)
    settings = _settings(url, known)
    loose = {k: v for k, v in settings.items() if known[k] is None}
    env.update({known[k] or k: v for k, v in settings.items() if known[k] is not None})
    if not loose:
        yield env
        return
    if "service" in settings:
        raise InvalidURL(
            f"{redact_url(url)} names a service and sets {', '.join(sorted(loose))}, which "
            "libpq reads from no environment variable: put them in that service instead"
        )
    folder = tempfile.mkdtemp(prefix="paychannels-pg-")  # mode 0700
    try:
        path = os.path.join(folder, "pg_service.conf")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(_service_text(loose, url))
        env.update(PGSERVICEFILE=path, PGSERVICE=_SERVICE)
        yield env
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _keywords() -> dict[str, str | None]:
    """libpq's connection keywords and the variable each is read from (None: none)."""
    try:
        from psycopg import pq
    except ImportError as exc:
        raise JournalUnavailable(
            "PostgreSQL journals need psycopg 3: pip install 'paychannels[postgres]'"
        ) from exc
    return {
        o.keyword.decode(): o.envvar.decode() if o.envvar else None
        for o in pq.Conninfo.get_defaults()
    }


def _settings(url: str, known: Mapping[str, str | None]) -> dict[str, str]:
    """The URL's connection settings as libpq parses them, without our own options."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    query = urlencode([(k, v) for k, v in pairs if k in known], quote_via=quote)
    before = url.split("?", 1)[0]  # as written: urlunsplit drops an empty host ("///")
    try:
        parsed = conninfo_to_dict(f"{before}?{query}" if query else before)
    except ProgrammingError as exc:
        raise InvalidURL(f"{redact_url(url)} is not a PostgreSQL URL libpq reads") from exc
    return {k: str(v) for k, v in parsed.items() if v is not None}


def _service_text(settings: Mapping[str, str], url: str) -> str:
    for key, value in settings.items():
        if "\n" in value or "\r" in value:
            raise InvalidURL(f"{redact_url(url)}: {key} holds a line break")
    lines = [f"[{_SERVICE}]", *(f"{k}={v}" for k, v in sorted(settings.items()))]
    return "\n".join(lines) + "\n"
