"""What is owed: the roster read into compact columns (300,000 payers in tens of MB).

The roster is read with ``paychannels.documents.roster`` — the one format, every check, every
problem with its file, line and column — and kept as parallel lists, not objects. A big
roster is read in a second process while this one streams the journal (a county's roster
takes about as long to read as everything else together); lists of strings travel between
processes cheaply.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from paychannels.documents.roster import (
    RosterEntry,
    RosterError,
    RosterOptions,
    RosterProblem,
    iter_roster,
)
from paychannels.reconcile.quiet_gc import quiet_gc

__all__ = ["Owed", "Reading", "child_answer", "read_owed", "spawn_module", "start_reading"]

log = logging.getLogger("paychannels.reconcile")

T = TypeVar("T")

#: rosters at least this big (bytes) are read in a second process
PARALLEL_FROM = 4 << 20


@dataclass
class Owed:
    """Every obligation of the roster, one index per line, in file order."""

    file: str
    payer_id: list[str] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    township: list[str] = field(default_factory=list)
    village: list[str] = field(default_factory=list)
    period: list[str] = field(default_factory=list)
    reference: list[str] = field(default_factory=list)
    grade: list[str] = field(default_factory=list)
    owed: array[int] = field(default_factory=lambda: array("q"))  # minor units
    currency: list[str] = field(default_factory=list)
    line: array[int] = field(default_factory=lambda: array("q"))
    problems: list[RosterProblem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.payer_id)

    def index(self) -> dict[tuple[str, str], int]:
        """(payer id, reference) -> position: the obligation a payment answers."""
        return {key: i for i, key in enumerate(zip(self.payer_id, self.reference, strict=True))}

    def checked(self) -> Owed:
        """Itself, or ``RosterError`` listing every problem of the file."""
        if self.problems:
            raise RosterError(self.problems)
        return self


def read_owed(
    path: str | Path, *, encoding: str = "auto", options: RosterOptions | None = None
) -> Owed:
    """Read a roster into columns; problems are kept (``checked()`` raises them)."""
    o = Owed(Path(path).name)
    shared: dict[str, str] = {}  # one string object per distinct reference
    payer, name, township = o.payer_id.append, o.name.append, o.township.append
    village, period, grade = o.village.append, o.period.append, o.grade.append
    line, reference, owed, currency = (
        o.line.append,
        o.reference.append,
        o.owed.append,
        o.currency.append,
    )
    with quiet_gc():
        for e in iter_roster(path, encoding=encoding, options=options):
            if not isinstance(e, RosterEntry):
                o.problems.append(e)
                continue
            payer(e.payer_id)
            name(e.name)
            township(e.township)
            village(e.village)
            period(e.period)
            grade(e.grade)
            line(e.line)
            ref = e.reference
            reference(shared.setdefault(ref, ref))
            owed(e.amount.minor)
            currency(e.amount.currency.code)
    return o


class Reading:
    """A roster being read, here or by a child process; ``result()`` waits for it."""

    def __init__(
        self, path: Path, encoding: str, options: RosterOptions | None, *, parallel: bool
    ) -> None:
        self._args = (str(path), encoding, options)
        self._owed: Owed | None = None
        self._child: subprocess.Popen[bytes] | None = None
        if parallel:
            try:
                self._child = spawn_module("paychannels.reconcile.owed", self._args)
            except OSError as exc:  # no second process: read it here instead
                log.warning("could not start a process to read the roster (%s)", exc)
        if self._child is None:
            self._owed = read_owed(path, encoding=encoding, options=options)

    def result(self) -> Owed:
        """The roster's columns (read here if the child process failed)."""
        if self._owed is None:
            assert self._child is not None
            path, encoding, options = self._args
            self._owed = child_answer(
                self._child,
                Owed,
                ("reader", "reading"),
                lambda: read_owed(path, encoding=encoding, options=options),
            )
        return self._owed


def child_answer(
    child: subprocess.Popen[bytes],
    kind: type[T],
    doing: tuple[str, str],
    here: Callable[[], T],
) -> T:
    """What a roster process answered (a pickled ``kind``), once it ends; ``here()`` when it
    failed, with a warning naming it (``doing``: the process and the work, as in
    "the roster reader process failed; reading here")."""
    data, err = child.communicate()
    if child.returncode == 0:
        with quiet_gc():
            found = pickle.loads(data)  # noqa: S301 - our own child process's answer
        assert isinstance(found, kind)
        return found
    log.warning(
        "the roster %s process failed (%s); %s here",
        doing[0],
        err.decode("utf-8", "replace").strip().splitlines()[-1:] or "no message",
        doing[1],
    )
    return here()


#: the modules a reconciliation runs as a second process (a roster read beside the journal)
_CHILDREN = frozenset({"paychannels.reconcile.owed", "paychannels.reconcile.indb"})


def spawn_module(module: str, args: object) -> subprocess.Popen[bytes]:
    """A fresh interpreter running ``module`` with ``args`` pickled on its stdin (independent
    of the caller's main module: a library must not re-run the program that imported it, as
    multiprocessing's spawn does)."""
    if module not in _CHILDREN:
        raise ValueError(f"not a reconciliation child module: {module!r}")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    child = subprocess.Popen(  # noqa: S603 - our interpreter, one of _CHILDREN
        [sys.executable, "-m", module],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert child.stdin is not None
    child.stdin.write(pickle.dumps(args))
    child.stdin.close()
    child.stdin = None  # sent: communicate() must not touch it again
    return child


def start_reading(
    path: str | Path, *, encoding: str = "auto", options: RosterOptions | None = None
) -> Reading:
    """Start reading a roster: in a second process when it is big, else right here."""
    size = Path(path).stat().st_size if Path(path).is_file() else 0
    return Reading(Path(path), encoding, options, parallel=size >= PARALLEL_FROM)


def _child_main() -> None:
    """``python -m paychannels.reconcile.owed``: read the roster named on stdin, answer on
    stdout (pickled columns)."""
    # run as __main__: read through the module under its own name, so that what is pickled
    # is paychannels.reconcile.owed.Owed, which the parent can load
    from paychannels.reconcile import owed as module

    path, encoding, options = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 - our parent
    owed = module.read_owed(path, encoding=encoding, options=options)
    pickle.dump(owed, sys.stdout.buffer, protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    _child_main()
