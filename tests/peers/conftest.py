"""Fixtures for the SDK peer tests: a provider simulator on 127.0.0.1 and its keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from paychannels.simulators.provider import ProviderSimulator, SimKeys
from tests.contract.harnesses.mobile import sim_keys


@pytest.fixture(scope="module")
def keys() -> SimKeys:
    return sim_keys()


@pytest.fixture(params=["certificate", "public_key"])
def sim(request: pytest.FixtureRequest, keys: SimKeys) -> Iterator[ProviderSimulator]:
    """A simulator signing with one WeChat key mode (Alipay is the same in both)."""
    s = ProviderSimulator(keys, key_mode=request.param, auto_notify=False).start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def cert_dir(tmp_path: Path, keys: SimKeys) -> Path:
    """A wechatpayv3 ``cert_dir`` holding the simulator's platform certificate."""
    folder = tmp_path / "certs"
    folder.mkdir()
    pem = keys.platform_cert.public_bytes(Encoding.PEM)
    (folder / f"{keys.platform_serial}.pem").write_bytes(pem)
    return folder
