"""A server answer the sync cannot use ends the command with one line naming it (exit 1), no secret in it."""

from __future__ import annotations

import re
import socket
from http.server import BaseHTTPRequestHandler

import pytest
from clirun import PREFIX, api_requests, assert_one_line_failure, run_tap
from local_server import Answer, serving
from tapruns import discover, oauth_config, tap_config

# --- what the server answers (the CLI line; the classification: test_credentials.py, test_retries.py) ---

SYNC_FAILED = "sync failed: HTTP {status} from GET /sandbox/wms/lgfapi/v10/entity/"


def test_rejected_basic_credentials_exit_with_one_line(tmp_path, sandbox):
    """401 with HTTP Basic: the credentials were rejected; check username and password."""
    run = run_tap(tmp_path, tap_config(sandbox, "wave", password="wrong-password"), "--discover")
    assert_one_line_failure(
        run,
        SYNC_FAILED.format(status=401) + ": the API rejected the credentials; check username and password.",
        1,
    )
    assert "wrong-password" not in run.output


def test_rejected_oauth2_client_names_the_token_request(tmp_path, sandbox):
    """401 from the token endpoint: it was the token request, check the client id and secret."""
    run = run_tap(tmp_path, oauth_config(sandbox, "wave", oauth_client_secret="wrong-secret"), "--discover")
    assert_one_line_failure(
        run,
        "sync failed: OAuth2 token request to oauth_token_url was rejected "
        "(HTTP 401): check oauth_client_id and oauth_client_secret.",
        1,
    )
    assert api_requests(sandbox) == []


def test_rejected_oauth2_token_names_the_api_call(tmp_path, sandbox):
    """401 from the API with a freshly issued token: the token request worked, the API call did not."""
    sandbox.configure(token_ttl_s=0)  # every token is expired by the time it is used
    run = run_tap(tmp_path, oauth_config(sandbox, "wave"), "--discover")
    assert run.code == 1
    assert re.fullmatch(
        re.escape(PREFIX + SYNC_FAILED.format(status=401)) + r"\S*: the OAuth2 access token was rejected "
        r"by the API \(the token request itself succeeded\); check the client's WMS user mapping\.",
        run.last_line,
    )
    assert "Traceback" not in run.output


def test_missing_read_permission_names_lgfapi_read_access(tmp_path, sandbox):
    """403: the API user lacks lgfapi_read_access or facility/company eligibility."""
    config = tap_config(sandbox, "wave", username="noaccess", password="noaccess-password")
    run = run_tap(tmp_path, config, "--discover")
    assert run.code == 1
    assert "Traceback" not in run.output
    assert re.fullmatch(
        re.escape(PREFIX + SYNC_FAILED.format(status=403)) + r"\S*: the API user lacks lgfapi_read_access "
        r"or is not eligible for this entity's facility/company\..*",
        run.last_line,
    )


def test_bad_filter_shows_server_error_and_request_without_credentials(tmp_path, sandbox):
    """400: the server's code, message and details, the path and query; no password anywhere."""
    config = tap_config(sandbox, "wave", stream_filters={"wave": {"no_such_field": 1}})
    run = run_tap(tmp_path, config)
    assert run.code == 1
    assert "Traceback" not in run.output
    line = run.last_line
    failed = "sync failed: the only selected stream failed: wave: "
    assert line.startswith(PREFIX + failed + "HTTP 400 from GET /sandbox/wms/lgfapi/v10/entity/wave/?")
    assert "no_such_field=1" in line
    assert "VALIDATION_ERROR" in line
    assert "admin-password" not in run.output


class LoginPage(Answer):
    """What a captive proxy or SSO login page answers to any GET: 200 and HTML."""

    def reply(self) -> tuple[int, str, bytes]:
        return (
            200,
            "text/html; charset=utf-8",
            b"<!DOCTYPE html><html><body><form>Sign in</form></body></html>",
        )


@pytest.fixture
def login_page():
    with serving(LoginPage) as base_url:
        yield base_url


def test_html_answer_is_reported_as_a_proxy_or_login_page(tmp_path, login_page):
    """A 200 HTML page instead of JSON: say so and point at base_url, do not fail to decode."""
    config = {"base_url": login_page, "username": "admin", "password": "admin-password"}
    run = run_tap(tmp_path, config, "--discover")
    assert_one_line_failure(
        run,
        "sync failed: HTTP 200 from GET /env/wms/lgfapi/v10/entity/ answered "
        "HTML, not JSON: a proxy or login page? Check base_url.",
        1,
    )


# --- no answer at all ---------------------------------------------------------------------------


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return listener.getsockname()[1]


def test_unreachable_host_during_discovery_is_one_line_naming_it(tmp_path, sandbox):
    """No server at base_url: 'cannot reach' the host, what to check, not urllib3's text."""
    port = closed_port()
    config = tap_config(sandbox, "wave", base_url=f"http://127.0.0.1:{port}/sandbox", max_retries=0)
    run = run_tap(tmp_path, config, "--discover")
    assert_one_line_failure(
        run,
        f"sync failed: cannot reach 127.0.0.1:{port} (ConnectionError) after retrying; "
        "check base_url, oauth_token_url and the network",
        1,
    )


def test_unreachable_host_during_a_sync_names_it_for_each_stream(tmp_path, sandbox):
    """With a catalog (as Meltano runs it) each failed stream gives the same words, not urllib3's text."""
    catalog = discover(tap_config(sandbox, "wave", "location"))  # both selected: named exactly
    port = closed_port()
    config = tap_config(sandbox, base_url=f"http://127.0.0.1:{port}/sandbox", max_retries=0)
    run = run_tap(tmp_path, config, catalog=catalog)
    why = (
        f"cannot reach 127.0.0.1:{port} (ConnectionError) after retrying; "
        "check base_url, oauth_token_url and the network"
    )
    assert_one_line_failure(
        run, f"sync failed: all 2 selected streams failed, none is complete: location: {why}; wave: {why}", 1
    )
    assert f"Stream 'wave' failed and is left for the next run: {why}" in run.stderr


def test_a_retry_after_a_network_failure_says_why_in_the_same_words(tmp_path, sandbox):
    """Each "Backing off" line names the host and what failed, not urllib3's nested exception text."""
    port = closed_port()
    config = tap_config(sandbox, "wave", base_url=f"http://127.0.0.1:{port}/sandbox", max_retries=1)
    run = run_tap(tmp_path, config, "--discover")
    retries = [line for line in run.stderr.splitlines() if "Backing off" in line]
    assert len(retries) == 1
    assert retries[0].endswith(
        f"failing with cannot reach 127.0.0.1:{port} (ConnectionError); "
        "check base_url, oauth_token_url and the network"
    )


def test_a_host_name_that_does_not_resolve_is_named_so(tmp_path, sandbox):
    """A typo in base_url's host: the name does not resolve, which 'cannot reach' left to guess."""
    config = tap_config(sandbox, "wave", base_url="https://wms.invalid/prod", max_retries=0)
    run = run_tap(tmp_path, config, "--discover")
    assert_one_line_failure(
        run,
        "sync failed: the host name of wms.invalid does not resolve (NameResolutionError) after retrying; "
        "check base_url, oauth_token_url and the DNS",
        1,
    )


class ClosesWithoutAnswer(BaseHTTPRequestHandler):
    """Takes each request and closes the connection without a word (a proxy or balancer dropping it)."""

    def do_GET(self) -> None:
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


def test_a_server_closing_without_an_answer_is_not_called_unreachable(tmp_path, sandbox):
    """The host was reached and hung up: the line says so, not 'cannot reach ... check base_url'."""
    with serving(ClosesWithoutAnswer) as url:
        run = run_tap(tmp_path, tap_config(sandbox, "wave", base_url=url, max_retries=0), "--discover")
        host = url.split("/")[2]
    assert_one_line_failure(
        run,
        f"sync failed: {host} closed the connection without an answer (ConnectionError) after retrying; "
        "check the network and any proxy",
        1,
    )


def test_a_proxy_that_cannot_be_reached_is_named_without_its_credentials(tmp_path, sandbox):
    """HTTPS_PROXY with a password in it: the line names the proxy as the failure, never its URL."""
    config = tap_config(sandbox, "wave", base_url="https://wms.invalid/prod", max_retries=0)
    proxy = f"http://proxyuser:Pr0xyPassw0rd@127.0.0.1:{closed_port()}"
    env = {"HTTPS_PROXY": proxy, "TAP_ORACLE_WMS_LOGLEVEL": "debug"}
    run = run_tap(tmp_path, config, "--discover", env=env)
    assert run.stderr.rstrip().splitlines()[-1] == (
        f"{PREFIX}sync failed: cannot reach wms.invalid through the proxy (ProxyError) after retrying; "
        "check HTTPS_PROXY, HTTP_PROXY and NO_PROXY"
    )
    assert "Pr0xyPassw0rd" not in run.stderr + run.stdout


def test_debug_logging_keeps_the_traceback(tmp_path, sandbox):
    """With TAP_ORACLE_WMS_LOGLEVEL=debug the traceback is shown, still ending with the one line."""
    config = tap_config(sandbox, "wave", password="wrong-password")
    run = run_tap(tmp_path, config, "--discover", env={"TAP_ORACLE_WMS_LOGLEVEL": "debug"})
    assert run.code == 1
    assert "Traceback" in run.stderr
    assert run.last_line.startswith(PREFIX + SYNC_FAILED.format(status=401))
