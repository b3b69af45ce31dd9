"""Every mistake a user can make ends the real `tap-oracle-wms` command with one clear line.

Bad settings and input files: exit code 2, before any request. Failures while talking to the
API: exit code 1. Never a traceback unless debug logging is on.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from clirun import EXAMPLE_URL, PREFIX, api_requests, assert_one_line_failure, config_error, run_tap
from local_server import Answer, serving
from tapruns import oauth_config, tap_config

# --- settings ---------------------------------------------------------------------------------


def test_missing_base_url_is_named(tmp_path, sandbox):
    """No base_url: says it is required and shows what one looks like."""
    config_error(
        tmp_path,
        sandbox,
        f"base_url is required: the https URL of the WMS environment, e.g. {EXAMPLE_URL}",
        base_url=None,
    )


def test_base_url_that_is_not_a_url_is_named(tmp_path, sandbox):
    """A base_url without scheme and host: names it, shows the value and an example."""
    config_error(
        tmp_path,
        sandbox,
        f"base_url must be the https URL of the WMS environment, "
        f"e.g. {EXAMPLE_URL}, got 'wms.example.com/env'",
        base_url="wms.example.com/env",
    )


def test_base_url_with_embedded_credentials_is_refused_without_echoing_them(tmp_path, sandbox):
    """user:password@ in base_url is refused, and the password is not repeated in the message."""
    config_error(
        tmp_path,
        sandbox,
        "base_url must not contain credentials (user:password@); use the credential settings",
        base_url="https://admin:hunter22@wms.example.com/env",
    )


def test_base_url_including_the_api_path_is_refused(tmp_path, sandbox):
    """base_url ends before /wms/lgfapi; the tap adds the API path itself."""
    config_error(
        tmp_path,
        sandbox,
        f"base_url must stop before /wms/lgfapi, e.g. {EXAMPLE_URL}",
        base_url=sandbox.base_url + "/wms/lgfapi/v10",
    )


def test_missing_password_for_basic_auth_is_named(tmp_path, sandbox):
    """auth_method=basic (the default) needs username and password."""
    config_error(tmp_path, sandbox, "password is required when auth_method=basic", password=None)


def test_missing_oauth2_settings_are_each_named(tmp_path, sandbox):
    """auth_method=oauth2 needs the client id, the client secret and the token URL."""
    config_error(
        tmp_path,
        sandbox,
        "oauth_client_id is required when auth_method=oauth2; oauth_client_secret is required when "
        "auth_method=oauth2; oauth_token_url is required when auth_method=oauth2",
        auth_method="oauth2",
        username=None,
        password=None,
    )


def test_unknown_auth_method_lists_the_choices(tmp_path, sandbox):
    """auth_method is basic or oauth2."""
    config_error(tmp_path, sandbox, "auth_method must be basic or oauth2, got 'token'", auth_method="token")


@pytest.mark.parametrize("page_size", [0, 1251, -5, "abc"])
def test_page_size_outside_1_to_1250_is_named(tmp_path, sandbox, page_size):
    """page_size is an integer from 1 to 1250 (the API's maximum)."""
    config_error(
        tmp_path,
        sandbox,
        f"page_size must be an integer from 1 to 1250, got {page_size!r}",
        page_size=page_size,
    )


@pytest.mark.parametrize("start_date", ["yesterday", "2024-13-01", "01/02/2024"])
def test_bad_start_date_is_named(tmp_path, sandbox, start_date):
    """start_date is an ISO-8601 date or date-time."""
    config_error(
        tmp_path,
        sandbox,
        "start_date must be an ISO-8601 date or date-time, e.g. 2024-01-31 "
        f"or 2024-01-31T00:00:00Z, got {start_date!r}",
        start_date=start_date,
    )


def test_oauth_settings_without_basic_credentials_say_to_switch_auth_method(tmp_path, sandbox):
    """OAuth2 client settings, auth_method=basic and no username/password: say which setting to change."""
    config_error(
        tmp_path,
        sandbox,
        "username is required when auth_method=basic; password is required when auth_method=basic; "
        "oauth_client_id, oauth_client_secret are set: set auth_method=oauth2 to use them",
        username=None,
        password=None,
        oauth_client_id="sandbox-client",
        oauth_client_secret="sandbox-secret",
    )


def test_several_errors_share_one_line(tmp_path, sandbox):
    """Every broken rule is reported at once, on one line, in a stable order."""
    config_error(
        tmp_path,
        sandbox,
        "page_size must be an integer from 1 to 1250, got 0; "
        "tenant_timezone must be an IANA time zone such as America/New_York, got 'Mars/Base'",
        page_size=0,
        tenant_timezone="Mars/Base",
    )


def test_discover_checks_settings_before_any_request(tmp_path, sandbox):
    """--discover validates too (the SDK would not), so a bad setting never reaches the tenant."""
    config_error(
        tmp_path, sandbox, "page_size must be an integer from 1 to 1250, got 0", "--discover", page_size=0
    )


def test_bad_integer_in_an_environment_variable_is_named(tmp_path, sandbox):
    """--config ENV: a non-integer TAP_ORACLE_WMS_PAGE_SIZE names the variable and the setting."""
    env = {
        "TAP_ORACLE_WMS_BASE_URL": sandbox.base_url,
        "TAP_ORACLE_WMS_USERNAME": "admin",
        "TAP_ORACLE_WMS_PASSWORD": "admin-password",
        "TAP_ORACLE_WMS_PAGE_SIZE": "lots",
    }
    run = run_tap(tmp_path, None, "--config", "ENV", env=env)
    assert_one_line_failure(
        run,
        "configuration error: page_size (env TAP_ORACLE_WMS_PAGE_SIZE) must be "
        "an integer from 1 to 1250, got 'lots'",
        2,
    )
    assert sandbox.requests == []


# --- entity selection (checked against the tenant's catalog, before any describe or data) --------


def test_unknown_entity_in_entities_include_is_named_with_a_suggestion(tmp_path, sandbox):
    """A plain name that is no entity of the tenant fails discovery, before describe or data calls."""
    config = tap_config(sandbox, "order_hdr", "wavee")
    run = run_tap(tmp_path, config, "--discover")
    assert_one_line_failure(
        run,
        "configuration error: entities_include names 'wavee', which is not an entity of this tenant "
        "(did you mean 'wave'?); use an exact entity name or a glob pattern such as 'order_*'",
        2,
    )
    assert [r.path.rsplit("/v10/", 1)[1] for r in api_requests(sandbox)] == ["entity/"]


def test_unknown_entity_in_entities_exclude_is_named(tmp_path, sandbox):
    """A misspelt exclusion would silently extract the entity meant to be left out: an error."""
    config = tap_config(sandbox, "wave", "user", entities_exclude=["usr"])
    run = run_tap(tmp_path, config, "--discover")
    assert_one_line_failure(
        run,
        "configuration error: entities_exclude names 'usr', which is not an entity of this tenant "
        "(did you mean 'user'?); use an exact entity name or a glob pattern such as 'order_*'",
        2,
    )


def test_glob_pattern_matching_nothing_is_not_an_error(tmp_path, sandbox):
    """A glob pattern may match nothing: the other patterns still select their entities."""
    run = run_tap(tmp_path, tap_config(sandbox, "wave", "nothing_like_this_*"), "--discover")
    assert run.code == 0, run.stderr
    assert [s["tap_stream_id"] for s in json.loads(run.stdout)["streams"]] == ["wave", "wms_row_counts"]


def test_selection_keeping_no_entity_is_an_error(tmp_path, sandbox):
    """Include and exclude patterns that leave nothing to extract fail instead of syncing nothing."""
    run = run_tap(tmp_path, tap_config(sandbox, "wave*", entities_exclude=["w*"]), "--discover")
    assert_one_line_failure(
        run,
        "configuration error: entities_include and entities_exclude select no "
        "entity of this tenant; widen entities_include or narrow entities_exclude",
        2,
    )


# --- --config, --state and --catalog files --------------------------------------------------------

FILE_CASES = {
    "missing": (None, "does not exist"),
    "directory": ("<dir>", "is a directory, not a JSON file"),
    "malformed": ('{"bookmarks": ', "is not valid JSON: Expecting value at line 1 column 15"),
    "not an object": ("[1, 2]", "must hold a JSON object, not a list"),
    "empty": ("", "is not valid JSON: Expecting value at line 1 column 1"),
}


def input_file(tmp_path: Path, content: str | None) -> Path:
    path = tmp_path / "input.json"
    if content == "<dir>":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    return path


@pytest.mark.parametrize("option", ["--state", "--catalog", "--config"])
@pytest.mark.parametrize("case", FILE_CASES)
def test_unusable_input_file_is_named(tmp_path, sandbox, option, case):
    """A missing, unreadable or malformed file given to --config/--state/--catalog: one line naming it."""
    content, problem = FILE_CASES[case]
    path = input_file(tmp_path, content)
    run = run_tap(tmp_path, tap_config(sandbox, "wave"), option, str(path))
    assert_one_line_failure(run, f"{option} file '{path}' {problem}", 2)
    assert sandbox.requests == []


def test_unreadable_state_file_is_named(tmp_path, sandbox):
    """A state file without read permission says so."""
    if os.geteuid() == 0:
        path = tmp_path
        message = f"--state file '{path}' is a directory, not a JSON file"  # root reads any file
    else:
        path = input_file(tmp_path, "{}")
        path.chmod(0)
        message = f"--state file '{path}' cannot be read: permission denied"
    run = run_tap(tmp_path, tap_config(sandbox, "wave"), "--state", str(path))
    assert_one_line_failure(run, message, 2)


def test_state_whose_bookmarks_are_not_objects_is_refused(tmp_path, sandbox):
    """Singer state maps stream names to bookmark objects."""
    path = input_file(tmp_path, json.dumps({"bookmarks": {"wave": "2024-01-01"}}))
    run = run_tap(tmp_path, tap_config(sandbox, "wave"), "--state", str(path))
    assert_one_line_failure(
        run, f"--state file '{path}' is not Singer state: 'bookmarks' must map stream names to objects", 2
    )


@pytest.mark.parametrize(
    ("catalog", "problem"),
    [
        ({"entries": []}, "it needs a 'streams' list (write one with --discover)"),
        ({"streams": [{"schema": {}}]}, "streams[0] has no 'tap_stream_id'"),
        (
            {"streams": [{"tap_stream_id": "wave", "schema": []}]},
            "streams[0] ('wave') has a malformed schema or metadata",
        ),
    ],
)
def test_json_that_is_not_a_catalog_is_refused(tmp_path, sandbox, catalog, problem):
    """--catalog must be a Singer catalog: a streams list of entries with id and schema."""
    path = input_file(tmp_path, json.dumps(catalog))
    run = run_tap(tmp_path, tap_config(sandbox, "wave"), "--catalog", str(path))
    assert_one_line_failure(run, f"--catalog file '{path}' is not a Singer catalog: {problem}", 2)
    assert sandbox.requests == []


# --- what the server answers (the CLI line; the classification is tested in test_http.py) --------

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
    failed = "sync failed: 1 stream failed, the others are complete: wave: "
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


def test_debug_logging_keeps_the_traceback(tmp_path, sandbox):
    """With TAP_ORACLE_WMS_LOGLEVEL=debug the traceback is shown, still ending with the one line."""
    config = tap_config(sandbox, "wave", password="wrong-password")
    run = run_tap(tmp_path, config, "--discover", env={"TAP_ORACLE_WMS_LOGLEVEL": "debug"})
    assert run.code == 1
    assert "Traceback" in run.stderr
    assert run.last_line.startswith(PREFIX + SYNC_FAILED.format(status=401))
