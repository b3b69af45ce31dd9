"""TLS: always verified, a given CA bundle trusted (even over REQUESTS_CA_BUNDLE), http:// to loopback."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest
import requests
import trustme
from clirun import assert_one_line_failure, run_tap
from tapruns import assert_nothing_lost, discover, oauth_config, page_requests, sync, tap_config

from tap_oracle_wms.lgfapi.errors import RunFatalError
from tap_oracle_wms.settings_checks import rule_errors as settings_errors
from tap_oracle_wms.streams import EntityStream
from tap_oracle_wms.tap import TapOracleWMS
from tap_oracle_wms_sandbox import Sandbox

if TYPE_CHECKING:
    from pathlib import Path

HTTP_REFUSED = (
    "base_url must use https:// (http:// is allowed only for loopback hosts or with allow_insecure_http=true)"
)


def stream_of(config: dict) -> EntityStream:
    """A stream of a validated tap, as a sync would build it (no request is made)."""
    tap = TapOracleWMS(config=config, validate_config=True, setup_mapper=False)
    return EntityStream(tap, name="wave", schema={"properties": {}}, run=tap.run)


def tenant(**overrides) -> dict:
    return {
        "base_url": "https://xx.wms.ocs.oraclecloud.com/myenv",
        "username": "etl",
        "password": "etl-password",
        **overrides,
    }


# --- verification settings ------------------------------------------------------------------------


@pytest.mark.parametrize("ca_bundle", [None, ""])
def test_tls_verification_is_on_without_a_ca_bundle(ca_bundle):
    """No (or an empty) ca_bundle means verification against the default CAs, never off."""
    assert stream_of(tenant(ca_bundle=ca_bundle)).run.client.session.verify is True


def test_ca_bundle_becomes_the_sessions_verify_path(tmp_path):
    """A given ca_bundle is what requests verifies the tenant's certificate against."""
    bundle = tmp_path / "corporate-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))
    assert stream_of(tenant(ca_bundle=str(bundle))).run.client.session.verify == str(bundle)


def test_missing_ca_bundle_is_a_config_error(tmp_path, sandbox):
    """A ca_bundle path that is no readable file stops the run before any request."""
    missing = tmp_path / "nope.pem"
    run = run_tap(tmp_path, tap_config(sandbox, "wave", ca_bundle=str(missing)))
    assert_one_line_failure(
        run,
        f"configuration error: ca_bundle must be the path of a readable CA bundle "
        f"(PEM) file, got '{missing}' (no such readable file)",
        2,
    )
    assert sandbox.requests == []


# --- http:// --------------------------------------------------------------------------------------


def test_http_to_a_non_loopback_host_is_refused(tmp_path):
    """Credentials never travel in clear text to a remote host by default."""
    run = run_tap(tmp_path, tenant(base_url="http://xx.wms.ocs.oraclecloud.com/myenv"), "--discover")
    assert_one_line_failure(run, "configuration error: " + HTTP_REFUSED, 2)


def test_http_to_a_non_loopback_host_is_allowed_with_the_opt_in():
    """allow_insecure_http=true is the explicit opt-in for a remote http:// base_url."""
    config = tenant(base_url="http://wms.internal.example.com/env", allow_insecure_http=True)
    assert stream_of(config).run.client.url_base == "http://wms.internal.example.com/env/wms/lgfapi/v10/"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "[::1]"])
def test_http_to_a_loopback_host_is_allowed(host):
    """Loopback (the sandbox, an SSH tunnel) may use http:// without the opt-in."""
    assert settings_errors(tenant(base_url=f"http://{host}:8700/sandbox")) == []


WILDCARD = "0.0.0.0"  # noqa: S104 - an address to refuse, not one to bind


@pytest.mark.parametrize("host", ["localhost.example.com", "10.0.0.5", WILDCARD, "[::]"])
def test_http_to_look_alike_hosts_is_refused(host):
    """Only real loopback addresses count; look-alike names and wildcard addresses do not."""
    assert settings_errors(tenant(base_url=f"http://{host}/env")) == [HTTP_REFUSED]


def test_http_token_url_to_a_non_loopback_host_is_refused():
    """The client secret goes to oauth_token_url, so it needs https:// too."""
    config = {
        "base_url": "https://xx.wms.ocs.oraclecloud.com/myenv",
        "auth_method": "oauth2",
        "oauth_client_id": "c",
        "oauth_client_secret": "s",
        "oauth_token_url": "http://idcs.example.com/oauth2/v1/token",
    }
    assert settings_errors(config) == [
        "oauth_token_url must use https:// (http:// is allowed only for loopback hosts or with "
        "allow_insecure_http=true)"
    ]


# --- redirects --------------------------------------------------------------------------------


def test_redirect_to_another_host_is_refused_in_one_line(sandbox):
    """A 302 to another host would lose the Authorization header and look like the end: it fails."""
    config = tap_config(sandbox, "wave")
    catalog = discover(config)
    sandbox.configure(redirect_lists="other_host")
    with pytest.raises(
        RunFatalError, match=r"HTTP 302 .* redirects to http://localhost:\d+; the tap follows"
    ):
        sync(config, catalog=catalog)


def test_redirect_within_base_urls_origin_is_followed(sandbox):
    """A 302 to the same scheme, host and port is followed, with the credentials."""
    config = tap_config(sandbox, "wave")
    catalog = discover(config)
    sandbox.configure(redirect_lists="same_origin")
    out = sync(config, catalog=catalog)
    assert_nothing_lost(out.records("wave"), sandbox.truth("wave"), out.schema("wave"))
    assert any(r.query.get("redirected") == "1" for r in page_requests(sandbox, "wave"))


@pytest.fixture(scope="module")
def https_sandbox(tmp_path_factory):
    """The sandbox over https, its CA bundle beside it."""
    ca = trustme.CA()
    folder = tmp_path_factory.mktemp("tls")
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    server = Sandbox(scale=100, tls_certfile=str(folder / "cert.pem"), tls_keyfile=str(folder / "key.pem"))
    server.start()
    server.ca_bundle = str(folder / "ca.pem")
    yield server
    server.stop()


def test_redirect_from_https_to_plain_http_is_refused(https_sandbox):
    """An https listing redirected to http:// would send credentials in clear: it fails."""
    config = tap_config(https_sandbox, "wave", ca_bundle=https_sandbox.ca_bundle)
    catalog = discover(config)
    https_sandbox.configure(redirect_lists="plain_http")
    try:
        with pytest.raises(RunFatalError, match=r"redirects to http://127\.0\.0\.1"):
            sync(config, catalog=catalog)
    finally:
        https_sandbox.reset()


# --- a real TLS server ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A fresh self-signed certificate for 127.0.0.1: trusted by nobody unless given as ca_bundle."""
    openssl = shutil.which("openssl")
    assert openssl, "the TLS tests need the openssl command"
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_proxy(certificate, sandbox):
    """An https:// front for the sandbox with the self-signed certificate (like a tenant behind TLS)."""
    cert, key = certificate
    upstream = sandbox.base_url.rsplit("/", 1)[0]

    class Forward(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            answer = requests.get(
                upstream + self.path,
                timeout=30,
                headers={"Authorization": self.headers.get("Authorization", "")},
            )
            body = answer.content
            self.send_response(answer.status_code)
            self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_port}/sandbox"
    server.shutdown()
    server.server_close()


def test_untrusted_certificate_is_refused_with_one_line(tmp_path, sandbox, tls_proxy):
    """A certificate no trusted CA signed: the run fails, names TLS verification and ca_bundle."""
    config = tap_config(sandbox, "wave", base_url=tls_proxy, max_retries=0)
    run = run_tap(tmp_path, config, "--discover")
    host = tls_proxy.split("/")[2]
    assert_one_line_failure(
        run,
        f"sync failed: TLS certificate verification failed for {host}; if a proxy "
        "re-signs TLS traffic, set ca_bundle to its CA certificate file",
        1,
    )
    assert sandbox.requests == []


def test_ca_bundle_makes_the_certificate_trusted(tmp_path, sandbox, tls_proxy, certificate):
    """The same server, with its certificate given as ca_bundle: discovery succeeds over TLS."""
    config = tap_config(sandbox, "wave", base_url=tls_proxy, ca_bundle=str(certificate[0]))
    run = run_tap(tmp_path, config, "--discover")
    assert run.code == 0, run.stderr[-2000:]
    assert '"tap_stream_id":"wave"' in run.stdout.replace(" ", "")
    assert {r.user for r in sandbox.requests} == {"admin"}


# --- ca_bundle wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, for every request -------------------


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


def test_https_to_a_plain_http_server_says_so_not_certificate(tmp_path, sandbox):
    """base_url https:// on a server speaking HTTP: the line names the scheme, not a certificate (it
    used to say "TLS certificate verification failed... set ca_bundle", sending users after one)."""
    config = tap_config(sandbox, "wave")
    config["base_url"] = config["base_url"].replace("http://", "https://")
    run = run_tap(tmp_path, config, "--discover")
    host = config["base_url"].split("/")[2]
    assert_one_line_failure(
        run,
        f"sync failed: {host} answered in plain HTTP, not TLS: base_url says https:// "
        "but the server is http:// (http:// is allowed for loopback hosts, or with allow_insecure_http)",
        1,
    )
