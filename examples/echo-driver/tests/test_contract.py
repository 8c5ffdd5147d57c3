"""The echo driver proves itself: the contract suite shipped with paychannels, run against it."""

from __future__ import annotations

import uuid
from typing import ClassVar

from paychannels import Channel, Money, Record, open_channel
from paychannels.testing import Harness, harness_fixture
from paychannels.testing.suite import *  # noqa: F403
from paychannels_echo import EchoChannel, EchoDevice
from paychannels_echo.device import BEHAVIOURS, CARD


class EchoHarness(Harness):
    """A fresh echo device per test, opened by URL through the entry point like a user would."""

    name = "echo"
    supports: ClassVar[frozenset[str]] = BEHAVIOURS

    def open(self) -> Channel:
        self.device_name = f"contract-{uuid.uuid4().hex[:12]}"
        channel = open_channel(f"echo://{self.device_name}")
        assert isinstance(channel, EchoChannel)
        self.channel = channel
        self.device = channel.device
        return channel

    def script(self, behaviour: str) -> None:
        self.device.script(behaviour)

    def charges(self, record: Record) -> int:
        return self.device.charges(record.id)

    def refunded(self, record: Record) -> Money:
        return Money.of_minor(self.device.refunded_minor(record.id), record.amount.currency)

    def transcript(self) -> str:
        return "\n".join(self.channel.transcript)

    def secrets(self) -> list[str]:
        return [CARD]

    def close(self) -> None:
        EchoDevice.forget(self.device_name)


harness = harness_fixture([EchoHarness])
