"""The configured ca_bundle wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, for every request.

requests lets those variables replace a session's CA bundle unless `verify` is given per request;
the OAuth2 token request must trust the same CAs as the API calls: the configured ones.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
import trustme
from clirun import run_tap
from tapruns import oauth_config, tap_config

from tap_oracle_wms_sandbox import Sandbox

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sandbox's certificate and key from one test CA; another CA's certificate as a decoy."""
    folder = tmp_path_factory.mktemp("tls")
    ca, decoy = trustme.CA(), trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    files = {name: folder / f"{name}.pem" for name in ("cert", "key", "ca", "decoy")}
    cert.cert_chain_pems[0].write_to_path(str(files["cert"]))
    cert.private_key_pem.write_to_path(str(files["key"]))
    ca.cert_pem.write_to_path(str(files["ca"]))
    decoy.cert_pem.write_to_path(str(files["decoy"]))
    return files


@pytest.fixture(scope="module")
def tls_sandbox(tls_files: dict[str, Path]) -> Iterator[Sandbox]:
    """A sandbox serving https (API and token endpoint) with the test CA's certificate."""
    sandbox = Sandbox(scale=100, tls_certfile=str(tls_files["cert"]), tls_keyfile=str(tls_files["key"]))
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_ca_bundle_beats_the_environment_for_the_token_request(tmp_path, tls_sandbox, tls_files, variable):
    """With a decoy CA bundle in the environment, OAuth2 discovery over TLS still trusts ca_bundle."""
    config = oauth_config(tls_sandbox, "wave", ca_bundle=str(tls_files["ca"]))
    run = run_tap(tmp_path, config, "--discover", env={variable: str(tls_files["decoy"])})
    assert run.code == 0, run.stderr[-2000:]
    assert [s["tap_stream_id"] for s in json.loads(run.stdout)["streams"]] == ["wave", "wms_row_counts"]


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_ca_bundle_beats_the_environment_for_api_requests(tmp_path, tls_sandbox, tls_files, variable):
    """The same with HTTP Basic: every API request trusts ca_bundle, not the environment's bundle."""
    config = tap_config(tls_sandbox, "wave", ca_bundle=str(tls_files["ca"]))
    run = run_tap(tmp_path, config, env={variable: str(tls_files["decoy"])})
    assert run.code == 0, run.stderr[-2000:]
    assert '"type":"RECORD"' in run.stdout.replace(" ", "")
