"""TLS: the sandbox served over https with a test CA's certificate (knobs tls_certfile, tls_keyfile)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from tap_oracle_wms_sandbox import Sandbox

AUTH = ("admin", "admin-password")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throwaway certificate authority."""
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_sandbox(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A sandbox serving https with a certificate for 127.0.0.1 and localhost."""
    folder: Path = tmp_path_factory.mktemp("tls")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    sb = Sandbox(scale=100, tls_certfile=str(folder / "cert.pem"), tls_keyfile=str(folder / "key.pem"))
    sb.start()
    yield sb
    sb.stop()


@pytest.fixture
def trusting(ca: trustme.CA) -> Iterator[httpx.Client]:
    """An https client trusting the test CA."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    with httpx.Client(verify=context, auth=AUTH, timeout=10) as client:
        yield client


def test_tls_serves_https_with_the_certificate(tls_sandbox, trusting):
    """tls_certfile/tls_keyfile: https answers, and the addresses and links say https."""
    assert tls_sandbox.base_url.startswith("https://127.0.0.1:")
    assert tls_sandbox.token_url.startswith("https://")
    body = trusting.get(tls_sandbox.api_url + "entity/wave/?page_size=1").json()
    assert body["next_page"].startswith(tls_sandbox.api_url)


def test_tls_certificate_is_refused_without_its_ca(tls_sandbox):
    """A client with the default CA bundle refuses the sandbox certificate."""
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(tls_sandbox.api_url + "entity/", auth=AUTH, timeout=10)


def test_redirect_plain_http_sends_https_lists_to_http(tls_sandbox, trusting):
    """redirect_lists=plain_http: an https list request 302s to the same URL over http."""
    tls_sandbox.configure(redirect_lists="plain_http")
    try:
        url = tls_sandbox.api_url + "entity/wave/?page_size=2"
        r = trusting.get(url)
        assert r.status_code == 302
        assert r.headers["location"] == "http://" + url.removeprefix("https://")
        assert trusting.get(tls_sandbox.api_url + "entity/wave/1/").status_code == 200
    finally:
        tls_sandbox.reset()
