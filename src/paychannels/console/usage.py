"""What every command line of the library shares about usage: plain help text, argument
types that make a mistake a usage error (exit 2), and a reader that went away (``| head``).

Light on purpose (argparse and codecs only): it loads on every start, ``--help`` included.
"""

from __future__ import annotations

import argparse
import codecs
import os
import re
import sys

__all__ = [
    "EXIT_READER_GONE",
    "Parser",
    "encoding_name",
    "plain",
    "reader_gone",
    "zone_name",
]

#: 128 + SIGPIPE: what a command killed by a closed pipe reports in a shell
EXIT_READER_GONE = 141

_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)


def plain(text: str) -> str:
    """Docstring markup (````literal````) as people read it on a terminal: the bare words."""
    return _LITERAL.sub(r"\1", text)


class Parser(argparse.ArgumentParser):
    """An argparse parser whose help shows no doc markup; its sub-commands are ``Parser``\\ s too
    (argparse makes sub-parsers of the parent's type), so one choice at the root covers all."""

    def format_help(self) -> str:
        return plain(super().format_help())

    def format_usage(self) -> str:
        return plain(super().format_usage())


def encoding_name(value: str) -> str:
    """``--encoding``: a codec Python knows, or ``auto``; anything else is a usage error."""
    if value == "auto":
        return value
    try:
        return codecs.lookup(value).name
    except LookupError:
        raise argparse.ArgumentTypeError(
            f"unknown encoding {value!r} (e.g. utf-8, gb18030, or auto)"
        ) from None


def zone_name(value: str) -> str:
    """``--zone``: an IANA time zone (``Asia/Shanghai``); anything else is a usage error."""
    from paychannels.runtime.countytime import zone_named  # zoneinfo: only when given
    from paychannels.values.errors import ConfigurationError

    try:
        zone_named(value)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def reader_gone() -> int:
    """The reader of stdout closed it (``paychannels … | head``): not an error of ours.

    Points stdout at the null device so that the interpreter's last flush cannot fail again,
    and gives the exit status a shell expects of a command cut off by its pipe.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout without a file descriptor (captured): nothing to do
        pass
    return EXIT_READER_GONE
