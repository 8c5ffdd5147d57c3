"""What ``paychannels lookup`` does (imported when it runs)."""

from __future__ import annotations

import argparse
import json
import sys

from paychannels.console.interrupt import watched
from paychannels.documents.lookuptexts import LOOKUP_TEXTS
from paychannels.documents.payercheck import (
    InvalidIdNumber,
    PayerCheck,
    PayerIndex,
)
from paychannels.journal import open_journal
from paychannels.runtime.countytime import zone_named
from paychannels.security.payerkey import KEY_VARIABLE, PayerKey
from paychannels.values.errors import ConfigurationError

__all__ = ["lookup"]

EXIT_NOT_FOUND = 1


def lookup(args: argparse.Namespace) -> int:
    """Check one payer (exit 1 when nothing matches), or write the index."""
    if args.write_index is not None:
        return _write_index(args)
    index = _index(args)
    journal = open_journal(args.db or args.default_db())
    watched(args, journal)
    try:
        check = PayerCheck(index, journal, zone=zone_named(args.zone))
        number, name = _asked(LOOKUP_TEXTS["id"], "id"), _asked(LOOKUP_TEXTS["name"], "name")
        try:
            answer = check.check(number, name)
        except InvalidIdNumber as exc:  # the number masked: it may be on a shared screen
            raise ConfigurationError(
                f"{exc} — {' / '.join(LOOKUP_TEXTS['invalid_id_number'])}"
            ) from None
    finally:
        journal.close()
    if args.json:
        print(json.dumps(answer.as_json(), ensure_ascii=False, indent=2))
    else:
        print(answer.as_text())
    return 0 if answer.found else EXIT_NOT_FOUND


def _index(args: argparse.Namespace) -> PayerIndex:
    if args.index is not None:
        return PayerIndex.load(PayerKey.from_env(), args.index)
    # built for this one run: a key from the environment if there is one, else a fresh one
    try:
        key = PayerKey.from_env()
    except ConfigurationError:
        key = PayerKey.generate()
    return PayerIndex.from_roster(key, args.roster)


def _write_index(args: argparse.Namespace) -> int:
    if args.roster is None:
        raise ConfigurationError("--write-index needs --roster")
    index = PayerIndex.from_roster(PayerKey.from_env(), args.roster)
    index.save(args.write_index)
    print(
        f"{len(index):,} payers in {args.write_index} (key {index.key.fingerprint}; "
        f"the server needs the same {KEY_VARIABLE})"
    )
    return 0


def _asked(label: tuple[str, str], what: str) -> str:
    """One line of standard input (prompted on a terminal, the prompt on stderr)."""
    if sys.stdin.isatty():
        print(f"{label[0]} {label[1]}: ", end="", file=sys.stderr, flush=True)
    try:
        line = sys.stdin.readline()
    except (OSError, ValueError, UnicodeDecodeError):  # closed, not readable, not text
        line = ""
    if not line:
        raise ConfigurationError(f"no {what} on standard input (two lines: ID number, name)")
    return line.rstrip("\r\n")
