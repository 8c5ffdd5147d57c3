"""``paychannels.toml``: one file describes a deployment — journal, county, channels, secrets
by reference, the callback server and the janitor (docs/configuration.md).

``load_config(path)`` reads and checks it (every mistake a ``ConfigFileError`` naming file,
line and key); ``Collector.from_config(path)`` opens what it describes.
"""

from __future__ import annotations

from paychannels.config.errors import (
    ChannelOpenError,
    ConfigFileError,
    ConfigSyntaxError,
    ConfigValueError,
    SecretFileExposed,
    SecretUnavailable,
)
from paychannels.config.load import CONFIG_ENV, load_config, parse_config
from paychannels.config.model import (
    CallbackSettings,
    ChannelConfig,
    Deployment,
    Download,
    JanitorSettings,
    JournalSettings,
)
from paychannels.config.secrets import Secret

__all__ = [
    "CONFIG_ENV",
    "CallbackSettings",
    "ChannelConfig",
    "ChannelOpenError",
    "ConfigFileError",
    "ConfigSyntaxError",
    "ConfigValueError",
    "Deployment",
    "Download",
    "JanitorSettings",
    "JournalSettings",
    "Secret",
    "SecretFileExposed",
    "SecretUnavailable",
    "load_config",
    "parse_config",
]
