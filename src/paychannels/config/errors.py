"""What can be wrong with ``paychannels.toml``: one type per kind, each naming file, line, key.

All are ``ConfigurationError``\\ s, so a caller that catches those (the CLI: one line, exit 2)
catches these. The message reads ``paychannels.toml line 12, channels.hall-1.url: …`` and
never quotes a value written at a key (it may be a key or a password).
"""

from __future__ import annotations

from paychannels.values.errors import ConfigurationError

__all__ = [
    "ChannelOpenError",
    "ConfigFileError",
    "ConfigSyntaxError",
    "ConfigValueError",
    "SecretFileExposed",
    "SecretUnavailable",
]


class ConfigFileError(ConfigurationError):
    """A mistake in a config file; ``file``, ``line`` (None: the file as a whole) and ``key``."""

    def __init__(self, file: str, line: int | None, key: str, what: str) -> None:
        where = f"{file} line {line}" if line is not None else file
        super().__init__(f"{where}, {key}: {what}" if key else f"{where}: {what}")
        self.file = file
        self.line = line
        self.key = key
        self.what = what


class ConfigSyntaxError(ConfigFileError):
    """The file cannot be read, or is not TOML."""


class ConfigValueError(ConfigFileError):
    """A key is unknown, missing, of the wrong type or out of range."""


class SecretUnavailable(ConfigFileError):
    """A secret's environment variable is unset or empty, or its file cannot be read."""


class SecretFileExposed(ConfigFileError):
    """A file holding a secret (a secret file, or the config file with an inline secret) is
    readable by everyone on the machine."""


class ChannelOpenError(ConfigFileError):
    """A configured channel failed to open; the message names its table and why."""
