"""The channel speaks HTTPS to a cloud whose certificate a private CA signed.

A TLS front on 127.0.0.1 (a CA and a server certificate made for the test) stands before the
simulated cloud. With ``ca_bundle`` naming that CA the payment goes through; without it the
certificate is refused with a typed error naming the problem, and the payment is NOT_SENT:
the handshake failed before any byte of the request left, so nothing reached the terminal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from paychannels import Status
from paychannels.drivers.nexo.build import Identity, diagnosis_request
from paychannels.drivers.nexo.cloud import Cloud
from paychannels.links.http import CertificateRejected
from paychannels.values.errors import ConfigurationError, NotSentError
from tests.nexo.conftest import API_KEY, POIID, Hall, open_hall
from tests.nexo.tlsfront import TlsFront, make_certificates


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[tuple[Hall, TlsFront, Path]]:
    hall = open_hall(tmp_path)
    ca, cert, key = make_certificates(tmp_path)
    assert hall.sim.nexo is not None
    front = TlsFront(hall.sim.nexo.port, cert, key)
    try:
        yield hall, front, ca
    finally:
        front.close()
        hall.close()


def _url(front: TlsFront, extra: str = "") -> str:
    return f"nexo+https://127.0.0.1:{front.port}/?poi={POIID}&status_wait=0&timeout=5{extra}"


def test_https_with_the_ca_bundle_pays(tls: tuple[Hall, TlsFront, Path]) -> None:
    hall, front, ca = tls
    hall.col.add_channel("tls", _url(front, f"&ca_bundle={ca}"), api_key=API_KEY, backoff=0.01)
    p = hall.col.collect(hall.request(), channel="tls")
    assert p.status is Status.SUCCEEDED, p.reason_detail
    assert hall.charges(p) == 1
    assert front.handshakes_failed == 0


def test_https_without_the_ca_is_refused_and_not_sent(tls: tuple[Hall, TlsFront, Path]) -> None:
    hall, front, _ = tls
    hall.col.add_channel("tls", _url(front), api_key=API_KEY, backoff=0.01)
    p = hall.col.collect(hall.request(), channel="tls")
    assert p.status is Status.NOT_SENT
    detail = p.reason_detail or ""
    assert "certificate" in detail and "unable to get local issuer certificate" in detail, detail
    assert "ca_bundle" in detail, detail
    assert hall.sim.terminal.journal.txns == []
    assert front.handshakes_failed == 1  # a certificate is not retried: it fails the same way


def test_the_certificate_error_is_typed(tls: tuple[Hall, TlsFront, Path], tmp_path: Path) -> None:
    _, front, _ = tls
    other = tmp_path / "other"
    other.mkdir()
    stranger, _, _ = make_certificates(other)  # a CA that did not sign the front's certificate
    cloud = Cloud(f"https://127.0.0.1:{front.port}", "", api_key=API_KEY, ca_bundle=str(stranger))
    try:
        with pytest.raises(CertificateRejected) as caught:
            cloud.sync(diagnosis_request(Identity("paychannels", POIID), "d1"))
    finally:
        cloud.close()
    assert isinstance(caught.value, NotSentError)
    assert "unable to get local issuer certificate" in caught.value.problem
    assert str(stranger) in str(caught.value)


def test_ca_bundle_is_checked_when_the_channel_opens(
    tls: tuple[Hall, TlsFront, Path], tmp_path: Path
) -> None:
    hall, front, ca = tls
    missing = tmp_path / "nope.pem"
    with pytest.raises(ConfigurationError, match=r"nope\.pem"):
        hall.col.add_channel("a", _url(front, f"&ca_bundle={missing}"), api_key=API_KEY)
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match=r"junk\.pem"):
        hall.col.add_channel("b", _url(front), api_key=API_KEY, ca_bundle=str(junk))
    plain = f"nexo+{hall.base}/?poi={POIID}&ca_bundle={ca}"
    with pytest.raises(ConfigurationError, match="ca_bundle is for nexo\\+https only"):
        hall.col.add_channel("c", plain, api_key=API_KEY)
