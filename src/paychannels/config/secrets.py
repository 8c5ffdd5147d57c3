"""Secrets by reference: ``{ env = "WX_API_V3_KEY" }`` or ``{ file = "/run/secrets/wx.pem" }``.

A config file names where a secret is, never needs to hold it: it can then be committed,
mailed and shown. A ``Secret`` knows where its value came from and says only that in
``repr``/``str``; the value leaves through ``reveal()`` alone, when a channel is opened. A file
that holds a secret must not be readable by everyone on the machine (mode ``o+r``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

__all__ = ["Secret", "SecretProblem", "exposed", "is_reference", "resolve"]

Source = Literal["env", "file", "inline"]


class SecretProblem(Exception):
    """Why a reference gives no secret; the loader turns it into a typed, located error.

    ``exposed`` tells "readable by everyone" from "cannot be read"."""

    def __init__(self, what: str, *, exposed: bool = False) -> None:
        super().__init__(what)
        self.exposed = exposed


class Secret:
    """A secret value and where it came from; ``repr``/``str`` show only where."""

    __slots__ = ("_value", "origin")

    def __init__(self, value: str, origin: str) -> None:
        self._value = value
        #: ``env WX_API_V3_KEY``, ``file /run/secrets/wx.pem`` or ``inline``
        self.origin = origin

    def reveal(self) -> str:
        """The value itself: only to hand to what needs it (a channel being opened)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.origin})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and (self.origin, self._value) == (
            other.origin,
            other.reveal(),
        )

    def __hash__(self) -> int:
        return hash(self.origin)


def is_reference(value: object) -> bool:
    """A TOML inline table that names a secret's place: exactly ``env`` or ``file``."""
    return isinstance(value, Mapping) and len(value) == 1 and set(value) <= {"env", "file"}


def resolve(reference: Mapping[str, object], base: Path, *, secret: bool = True) -> Secret:
    """The value a reference names; a relative file is relative to the config's folder.

    ``secret=False`` (a public key, a certificate) skips the world-readable check."""
    kind, target = next(iter(reference.items()))
    if not isinstance(target, str) or not target.strip():
        raise SecretProblem(f"{{ {kind} = … }} must name a {_noun(kind)} as text")
    if kind == "env":
        value = os.environ.get(target)
        if value is None:
            raise SecretProblem(f"environment variable {target} is not set")
        if not value.strip():
            raise SecretProblem(f"environment variable {target} is empty")
        return Secret(value, f"env {target}")
    path = Path(target).expanduser()
    path = path if path.is_absolute() else base / path
    return Secret(_read(path, secret), f"file {path}")


def _noun(kind: str) -> str:
    return "variable" if kind == "env" else "file"


def _read(path: Path, secret: bool) -> str:
    problem = exposed(path) if secret else None
    if problem:
        raise SecretProblem(problem, exposed=True)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SecretProblem(f"secret file {path} is not UTF-8 text") from None
    except OSError as exc:
        raise SecretProblem(f"cannot read secret file {path}: {exc.strerror}") from None
    value = text.rstrip("\r\n")
    if not value.strip():
        raise SecretProblem(f"secret file {path} is empty")
    return value


def exposed(path: Path) -> str | None:
    """Why ``path`` must not hold a secret (readable by everyone), or None."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None  # missing: reading it says why
    if mode & stat.S_IROTH:
        return (
            f"{path} is readable by everyone (mode {stat.S_IMODE(mode):04o}); "
            f"a file holding a secret must not be: chmod o-rwx {path}"
        )
    return None
