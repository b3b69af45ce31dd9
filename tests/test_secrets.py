"""No password, client secret, access token or Authorization header ever reaches the output.

Each run goes through the real `tap-oracle-wms` command at the most verbose log level there is
(the tap's, the SDK's LOGLEVEL, and a logging config that turns on urllib3/requests debug
logging), and every byte of stdout and stderr is searched for every secret of the run.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from clirun import PREFIX, TapRun, run_tap
from local_server import Answer, serving
from tapruns import tap_config

from tap_oracle_wms.lgfapi.secrets import redact, register_secret, register_secrets
from tap_oracle_wms.tap import TapOracleWMS
from tap_oracle_wms_sandbox.echo import echoed

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "admin-password"
CLIENT_SECRET = "sandbox-secret"
LOG_CONFIG = """\
version: 1
disable_existing_loggers: false
formatters:
  plain: {format: "%(asctime)s %(levelname)s %(name)s %(message)s"}
handlers:
  stderr: {class: logging.StreamHandler, formatter: plain, stream: "ext://sys.stderr"}
root: {level: DEBUG, handlers: [stderr]}
loggers:
  urllib3: {level: DEBUG}
  requests: {level: DEBUG}
  singer_sdk: {level: DEBUG}
"""


def basic(user: str, secret: str) -> str:
    return base64.b64encode(f"{user}:{secret}".encode()).decode()


def debug_run(tmp_path: Path, config: dict, *args: str) -> TapRun:
    """One run with every kind of debug logging on."""
    log_config = tmp_path / "logging.yml"
    log_config.write_text(LOG_CONFIG)
    env = {
        "TAP_ORACLE_WMS_LOGLEVEL": "debug",
        "TAP_ORACLE_WMS_LOG_LEVEL": "debug",
        "LOGLEVEL": "DEBUG",
        "SINGER_SDK_LOG_CONFIG": str(log_config),
    }
    return run_tap(tmp_path, {k: v for k, v in config.items() if v is not None}, *args, env=env)


def assert_no_secret(run: TapRun, secrets: list[str]) -> None:
    """None of the secrets, in any of its forms, anywhere in the output."""
    assert run.raw, "the run printed nothing: the search would prove nothing"
    assert b"DEBUG" in run.raw, "debug logging was not on"
    for secret in secrets:
        assert secret.encode() not in run.raw, f"secret {secret[:3]}... leaked"


def oauth2(sandbox, *entities, **overrides) -> dict:
    settings = {
        "auth_method": "oauth2",
        "username": None,
        "password": None,
        "oauth_client_id": "sandbox-client",
        "oauth_client_secret": CLIENT_SECRET,
        "oauth_token_url": sandbox.token_url,
        **overrides,
    }
    return tap_config(sandbox, *entities, **settings)


def issued_tokens(sandbox) -> list[str]:
    """The access tokens the sandbox handed out during the run."""
    with sandbox.state.lock:
        return list(sandbox.state.tokens)


BASIC_SECRETS = [PASSWORD, basic("admin", PASSWORD)]
OAUTH_SECRETS = [CLIENT_SECRET, basic("sandbox-client", CLIENT_SECRET)]


# --- HTTP Basic -------------------------------------------------------------------------------


def test_successful_basic_sync_leaks_nothing(tmp_path, sandbox):
    """A full sync with Basic auth at debug level: no password, no Basic credential."""
    run = debug_run(tmp_path, tap_config(sandbox, "wave", page_size=10))
    assert run.code == 0, run.stderr[-2000:]
    assert {r.user for r in sandbox.requests} == {"admin"}
    assert_no_secret(run, BASIC_SECRETS)


def test_failing_basic_sync_leaks_nothing(tmp_path, sandbox):
    """A sync that fails on a 400 (with its traceback, at debug level) still shows no credential."""
    run = debug_run(tmp_path, tap_config(sandbox, "wave", stream_filters={"wave": {"no_such_field": 1}}))
    assert run.code == 1
    assert "Traceback" in run.stderr
    assert_no_secret(run, BASIC_SECRETS)


def test_rejected_password_is_not_echoed(tmp_path, sandbox):
    """A wrong password is a secret too: the 401 message names the settings, not their values."""
    run = debug_run(tmp_path, tap_config(sandbox, "wave", password="Wr0ng-pa55word"), "--discover")
    assert run.code == 1
    assert_no_secret(run, ["Wr0ng-pa55word", basic("admin", "Wr0ng-pa55word")])


def test_secret_of_the_wrong_type_is_not_echoed(tmp_path, sandbox):
    """A schema error on a secret setting says what is expected without showing the value."""
    run = run_tap(tmp_path, tap_config(sandbox, "wave", password=73519264))
    assert run.code == 2
    assert run.last_line == PREFIX + "configuration error: password must be a string, got a hidden value"
    assert b"73519264" not in run.raw


# --- OAuth2 -----------------------------------------------------------------------------------


def test_successful_oauth2_sync_leaks_nothing(tmp_path, sandbox):
    """A full OAuth2 sync at debug level: no client secret, no Basic credential, no access token."""
    run = debug_run(tmp_path, oauth2(sandbox, "wave", page_size=10))
    assert run.code == 0, run.stderr[-2000:]
    tokens = issued_tokens(sandbox)
    assert tokens
    assert_no_secret(run, OAUTH_SECRETS + tokens)


def test_failing_oauth2_sync_leaks_no_token(tmp_path, sandbox):
    """Tokens the API rejects (401 after a successful token request) do not show up either."""
    sandbox.configure(token_ttl_s=0)
    run = debug_run(tmp_path, oauth2(sandbox, "wave"), "--discover")
    assert run.code == 1
    tokens = issued_tokens(sandbox)
    assert len(tokens) >= 2  # the first one, and the one fetched again after the 401
    assert_no_secret(run, OAUTH_SECRETS + tokens)


def test_rejected_client_secret_is_not_echoed(tmp_path, sandbox):
    """A token request rejected with 401: the message names the settings, not the secret."""
    run = debug_run(tmp_path, oauth2(sandbox, "wave", oauth_client_secret="n0t-the-5ecret"), "--discover")
    assert run.code == 1
    assert_no_secret(run, ["n0t-the-5ecret", basic("sandbox-client", "n0t-the-5ecret")])


# --- --about and Meltano ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "about", [["--about"], ["--about", "--format", "json"], ["--about", "--format", "markdown"]]
)
def test_about_shows_no_configured_secret(tmp_path, sandbox, about):
    """--about describes the settings; it never prints configured values."""
    config = tap_config(sandbox, "wave", password="ab0ut-pa55word")
    run = run_tap(tmp_path, config, *about)
    assert run.code == 0
    assert "password" in run.stdout
    assert b"ab0ut-pa55word" not in run.raw


def test_meltano_config_listing_redacts_secrets():
    """`meltano config list` and `config print` show the secret settings redacted."""
    meltano = os.environ.get("MELTANO_BIN") or str(ROOT / ".meltano-venv" / "bin" / "meltano")
    env = {**os.environ, "TAP_ORACLE_WMS_OAUTH_CLIENT_SECRET": "env-5ecret-value"}
    outputs = []
    for command in (["config", "list", "tap-oracle-wms"], ["config", "print", "tap-oracle-wms"]):
        done = subprocess.run(
            [meltano, "--environment=sandbox", *command],
            capture_output=True,
            env=env,
            cwd=ROOT,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        outputs.append(done.stdout + done.stderr)
    listing, printed = outputs
    assert b"password" in listing
    assert b"(redacted)" in listing
    assert json.loads(printed[printed.index(b"{") : printed.rindex(b"}") + 1])["password"] == "*****"
    for output in outputs:
        assert PASSWORD.encode() not in output
        assert b"env-5ecret-value" not in output


# --- the redaction the tap installs -------------------------------------------------------------


def test_log_records_of_any_logger_are_redacted(caplog):
    """Known secret values, Basic/Bearer credentials and token fields are masked in every log record."""
    TapOracleWMS(
        config={"base_url": "https://wms.example.com/env", "username": "etl", "password": "L0g-pa55word"},
        validate_config=True,
        setup_mapper=False,
    )
    credential = basic("etl", "L0g-pa55word")
    with caplog.at_level(logging.DEBUG):
        headers = {"Authorization": f"Basic {credential}"}
        logging.getLogger("urllib3.connectionpool").debug("headers %s", headers)
        logging.getLogger("some.library").debug("login with %s", "L0g-pa55word")
        logging.getLogger("some.library").debug('{"access_token": "eyJhbGciOi.x-9_Z", "expires_in": 3600}')
        logging.getLogger("some.library").debug("sent Authorization: Bearer 9f8e7d6c5b4a3f2e1d0c")
    text = caplog.text
    assert "L0g-pa55word" not in text
    assert credential not in text
    assert "eyJhbGciOi.x-9_Z" not in text
    assert "9f8e7d6c5b4a3f2e1d0c" not in text
    assert "Bearer ***" in text
    assert '"expires_in": 3600' in text


def test_redaction_leaves_ordinary_text_alone():
    """Words around auth (Basic auth, bearer tokens, password settings) are not mistaken for secrets."""
    register_secrets({"password": "x"})  # too short to redact by value: it would blank out letters
    text = (
        "Basic authentication failed; check username and password. The Bearer token expired. "
        "oauth_token_url https://idcs.example.com/oauth2/v1/token"
    )
    assert redact(text) == text


# --- secrets a hostile server echoes ------------------------------------------------------------


def test_access_token_echoed_in_an_error_body_is_masked(tmp_path, sandbox):
    """An API error body that repeats the Bearer token (as `token: ...`) never shows the token."""
    sandbox.configure(echo_credentials="on")
    config = oauth2(sandbox, "wave", stream_filters={"wave": {"no_such_field": 1}})
    run = debug_run(tmp_path, config)
    assert run.code == 1
    assert "VALIDATION_ERROR" in run.stderr
    tokens = issued_tokens(sandbox)
    assert tokens
    assert_no_secret(run, OAUTH_SECRETS + tokens)


class EchoingServer(Answer):
    """Answers every GET with a 400 whose body echoes the credentials, like the sandbox's knob."""

    def reply(self) -> tuple[int, str, bytes]:
        error = b'{"code": "VALIDATION_ERROR", "message": "Invalid input."}'
        return 400, "application/json", echoed(error, self.headers.get("Authorization", ""))


@pytest.fixture
def echoing_server():
    """A server that accepts any password and echoes it in every error body."""
    with serving(EchoingServer) as base_url:
        yield base_url


SPECIAL_PASSWORD = 'p"a\\s\nw0rd'  # a quote, a backslash and a newline: every escape changes it


def test_password_echoed_in_escaped_forms_is_masked(tmp_path, echoing_server):
    """A password echoed raw in `message` and escaped in `details` is masked in both forms."""
    config = {"base_url": echoing_server, "username": "etl", "password": SPECIAL_PASSWORD}
    run = debug_run(tmp_path, config, "--discover")
    assert run.code == 1
    assert "VALIDATION_ERROR" in run.stderr
    assert b"w0rd" not in run.raw
    assert_no_secret(run, [SPECIAL_PASSWORD, basic("etl", SPECIAL_PASSWORD)])


def test_short_password_echoed_by_the_server_is_masked(tmp_path, echoing_server):
    """A three-character password is masked, whole, where the server echoes it as a value."""
    config = {"base_url": echoing_server, "username": "etl", "password": 'Q"7'}
    run = debug_run(tmp_path, config, "--discover")
    assert run.code == 1
    assert "(Authorization: Basic ***; password: ***)" in run.last_line
    assert "'password': '***'" in run.last_line
    assert_no_secret(run, ['Q"7', "Q%227", basic("etl", 'Q"7')])


# --- redact, unit by unit -----------------------------------------------------------------------


def every_form(secret: str) -> list[str]:
    """The forms an output can carry a secret in: raw, JSON, Python repr, URL-encoded, one line."""
    return [
        secret,
        json.dumps(secret),
        json.dumps(secret, ensure_ascii=False),
        repr(secret),
        quote(secret, safe=""),
        quote_plus(secret),
        secret.replace("\n", " "),
    ]


@pytest.mark.parametrize("secret", [SPECIAL_PASSWORD, "Zk'9\\\"\t€x", "ok&=/+ %"])
def test_every_form_of_a_secret_is_masked(secret):
    """Raw, JSON-escaped, repr-escaped, URL-encoded and Basic-encoded forms are all masked."""
    register_secrets({"username": "etl", "password": secret})
    for form in [*every_form(secret), basic("etl", secret)]:
        text = f"before {form} after; password={form}&x=1"
        assert redact(text).count("***") >= 1, form
        assert form not in redact(text), form


@pytest.mark.parametrize("secret", ["Q#7", 'a"b', "é", "a\nb", "x'\\"])
def test_short_secret_is_masked_whole_where_it_stands_as_a_value(secret):
    """A short secret is masked as a keyed or quoted value, in every form, whatever its length."""
    register_secrets({"oauth_client_secret": secret})
    templates = (
        "password: {})",
        '{{"client_secret": "{}", "n": 1}}',
        "{{'password': '{}'}}",
        "?client_secret={}&scope=x",
    )
    for form in every_form(secret):
        bare = form[1:-1] if form[:1] in "\"'" and form[-1:] == form[:1] and len(form) > 1 else form
        for template in templates:
            assert redact(template.format(bare)) == template.format("***"), (template, bare)


def test_access_token_is_masked_once_obtained():
    """A token registered by the authenticator is masked in any text, e.g. `token: ...`."""
    register_secret("tok-3f9a8b7c6d5e4f3a2b1c")
    assert redact("(token: tok-3f9a8b7c6d5e4f3a2b1c)") == "(token: ***)"


def test_short_secret_does_not_blank_ordinary_words():
    """A short password that is an ordinary word is not masked inside sentences."""
    register_secrets({"password": "and"})
    text = "check username and password, and retry; 'sandbox' and \"android\" stay"
    assert redact(text) == text
