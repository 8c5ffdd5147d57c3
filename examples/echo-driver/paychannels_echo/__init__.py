"""An example outside driver: an echo terminal in this process, opened as ``echo://<name>``."""

from __future__ import annotations

from paychannels_echo.channel import EchoChannel, from_url
from paychannels_echo.device import EchoDevice

__all__ = ["EchoChannel", "EchoDevice", "from_url"]
