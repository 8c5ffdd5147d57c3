"""Simulated WeChat Pay v3 and Alipay: real signing, payers, and a notifier with retries."""

from __future__ import annotations

from paychannels.simulators.provider.keys import SimKeys
from paychannels.simulators.provider.notifier import NotifyFaults
from paychannels.simulators.provider.script import Script
from paychannels.simulators.provider.sim import ProviderSimulator

__all__ = ["NotifyFaults", "ProviderSimulator", "Script", "SimKeys"]
