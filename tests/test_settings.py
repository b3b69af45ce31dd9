"""Every settings mistake stops the run before any request with one line naming the setting (exit 2).

Missing, malformed and conflicting settings, values read from the environment, limits of the schema,
stream_filters that would override the tap's own query, entity selection against the tenant's catalog;
unknown settings are warned about.
"""

from __future__ import annotations

import json

import pytest
from clirun import EXAMPLE_URL, PREFIX, api_requests, assert_one_line_failure, config_error, run_tap
from tapruns import tap_config

EXAMPLE_FILTERS = 'e.g. {"order_hdr": {"status_id": 10}}'


def env_config(sandbox, **variables: str) -> dict[str, str]:
    """TAP_ORACLE_WMS_* variables for the sandbox's admin user, plus `variables` (NAME=value)."""
    env = {
        "TAP_ORACLE_WMS_BASE_URL": sandbox.base_url,
        "TAP_ORACLE_WMS_USERNAME": "admin",
        "TAP_ORACLE_WMS_PASSWORD": "admin-password",
        "TAP_ORACLE_WMS_ENTITIES_INCLUDE": '["wave"]',
    }
    env.update({f"TAP_ORACLE_WMS_{name.upper()}": value for name, value in variables.items()})
    return env


def env_error(tmp_path, sandbox, message: str, **variables: str) -> None:
    """--config ENV with a bad variable: the exact line, exit 2, and no request."""
    run = run_tap(tmp_path, None, "--config", "ENV", "--discover", env=env_config(sandbox, **variables))
    assert_one_line_failure(run, "configuration error: " + message, 2)
    assert sandbox.requests == []


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


@pytest.mark.parametrize(
    ("base_url", "shown"),
    [
        ("admin:hunter22@wms.example.com/env", "***@wms.example.com/env"),  # no scheme
        ("https://admin:hunter22@[wms.example.com/env", "https://***@[wms.example.com/env"),  # bad IPv6
        ("https://admin:hunt/er22@/env", "https://***@/env"),  # a '/' in the password, no host
    ],
)
def test_a_malformed_base_url_with_credentials_is_shown_without_them(tmp_path, sandbox, base_url, shown):
    """Without '//' the userinfo was not recognised and the password was echoed; '[' crashed the check."""
    config_error(
        tmp_path,
        sandbox,
        f"base_url must be the https URL of the WMS environment, e.g. {EXAMPLE_URL}, got '{shown}'",
        base_url=base_url,
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


@pytest.mark.parametrize("page_size", [0, 1251, -5, "abc", 1.5])
def test_page_size_outside_1_to_1250_is_named(tmp_path, sandbox, page_size):
    """page_size is an integer from 1 to 1250 (the API's maximum); a fraction is shown as written."""
    config_error(
        tmp_path,
        sandbox,
        f"page_size must be an integer from 1 to 1250, got {page_size!r}",
        page_size=page_size,
    )


@pytest.mark.parametrize(("value", "shown"), [(True, "true"), (False, "false"), ([None], "[null]")])
def test_a_json_literal_in_a_setting_error_is_shown_as_json(tmp_path, sandbox, value, shown):
    """The file says true, false and null: the line said True, False and None, words it does not hold."""
    line = f"page_size must be an integer from 1 to 1250, got {shown}"
    config_error(tmp_path, sandbox, line, page_size=value)


def test_a_lookback_beyond_a_year_is_refused(tmp_path, sandbox):
    """lookback_seconds 1e14 passed the check and ended the sync in an OverflowError (year before 1)."""
    config_error(
        tmp_path,
        sandbox,
        "lookback_seconds must be a whole number of seconds from 0 to 31622400, got 99999999999999",
        lookback_seconds=99999999999999,
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


# --- unknown settings --------------------------------------------------------------------------


def test_misspelt_setting_is_warned_about_with_the_closest_known_name(tmp_path, sandbox):
    """An unknown setting gets one warning naming it and the setting it most likely meant."""
    run = run_tap(tmp_path, tap_config(sandbox, "wave", pagesize=10), "--discover")
    assert run.code == 0, run.stderr[-2000:]
    warnings = [line for line in run.stderr.splitlines() if "pagesize" in line]
    assert warnings == ["Unknown setting 'pagesize' is ignored (did you mean 'page_size'?)"]


def test_each_unknown_setting_gets_its_own_warning(tmp_path, sandbox):
    """Two unknown settings: two warning lines, one without a suggestion when nothing is close."""
    run = run_tap(tmp_path, tap_config(sandbox, "wave", strat_date="2024-01-01", zzz=1), "--discover")
    assert run.code == 0, run.stderr[-2000:]
    assert [line for line in run.stderr.splitlines() if line.startswith("Unknown setting")] == [
        "Unknown setting 'strat_date' is ignored (did you mean 'start_date'?)",
        "Unknown setting 'zzz' is ignored",
    ]


def test_settings_the_sdk_adds_are_not_unknown(tmp_path, sandbox):
    """stream_maps, flattening and batch settings are the SDK's own: no warning for them."""
    config = tap_config(sandbox, "wave", stream_maps={}, flattening_enabled=False, batch_config=None)
    run = run_tap(tmp_path, {k: v for k, v in config.items() if v is not None}, "--discover")
    assert run.code == 0, run.stderr[-2000:]
    assert "Unknown setting" not in run.stderr


# --- environment values (--config ENV) ----------------------------------------------------------


def test_boolean_environment_value_that_is_no_boolean_is_named(tmp_path, sandbox):
    """TAP_ORACLE_WMS_INCLUDE_FK_KEYS=maybe would silently be false: an error naming the variable."""
    env_error(
        tmp_path,
        sandbox,
        "include_fk_keys (env TAP_ORACLE_WMS_INCLUDE_FK_KEYS) must be true or false, got 'maybe'",
        include_fk_keys="maybe",
    )


@pytest.mark.parametrize("value", ["TRUE", "false", "1", "0", "Yes", "no", "on", "OFF"])
def test_boolean_environment_values_the_sdk_understands_are_accepted(tmp_path, sandbox, value):
    """true/false, 1/0, yes/no and on/off, in any case, are booleans."""
    run = run_tap(
        tmp_path, None, "--config", "ENV", "--discover", env=env_config(sandbox, include_fk_keys=value)
    )
    assert run.code == 0, run.stderr[-2000:]


def test_malformed_json_object_in_an_environment_variable_is_named(tmp_path, sandbox):
    """TAP_ORACLE_WMS_STREAM_FILTERS='{bad' names the variable instead of an unexpected error."""
    env_error(
        tmp_path,
        sandbox,
        "stream_filters (env TAP_ORACLE_WMS_STREAM_FILTERS) must be JSON: an object mapping stream "
        f"names to filter objects, {EXAMPLE_FILTERS}, got '{{bad'",
        stream_filters="{bad",
    )


def test_comma_list_for_an_integer_list_variable_is_named(tmp_path, sandbox):
    """An integer list in the environment is JSON ([10, 90]); '10,90' is named, not a crash."""
    env_error(
        tmp_path,
        sandbox,
        "inventory_history_status_ids (env TAP_ORACLE_WMS_INVENTORY_HISTORY_STATUS_IDS) must be JSON: "
        "a list of integers, got '10,90'",
        inventory_history_status_ids="10,90",
    )


def test_dotenv_of_the_working_directory_is_read_with_config_env(tmp_path, sandbox):
    """--config ENV reads ./.env of the current directory, as the README promises."""
    lines = [f"{k}={v}" for k, v in env_config(sandbox).items()]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n")
    run = run_tap(tmp_path, None, "--config", "ENV", "--discover")
    assert run.code == 0, run.stderr[-2000:]
    assert [s["tap_stream_id"] for s in json.loads(run.stdout)["streams"]] == ["wave", "wms_row_counts"]
    assert {r.user for r in sandbox.requests} == {"admin"}


def test_environment_wins_over_dotenv(tmp_path, sandbox):
    """A variable set in the environment is not replaced by the one in ./.env."""
    lines = [f"{k}={v}" for k, v in env_config(sandbox).items()]
    (tmp_path / ".env").write_text("\n".join([*lines, "TAP_ORACLE_WMS_PAGE_SIZE=lots"]) + "\n")
    run = run_tap(tmp_path, None, "--config", "ENV", "--discover", env={"TAP_ORACLE_WMS_PAGE_SIZE": "10"})
    assert run.code == 0, run.stderr[-2000:]


# --- limits the schema sets --------------------------------------------------------------------


def test_concurrency_above_its_limit_is_one_line(tmp_path, sandbox):
    """concurrency is bounded (threads and sockets per run): 100000 is refused in one line."""
    config_error(
        tmp_path, sandbox, "concurrency must be an integer from 1 to 32, got 100000", concurrency=100000
    )


def test_status_ids_given_as_strings_ask_for_integers(tmp_path, sandbox):
    """inventory_history_status_ids: ["10"] is told a list of integers is expected."""
    config_error(
        tmp_path,
        sandbox,
        "inventory_history_status_ids must be a list of integers, got ['10']",
        inventory_history_status_ids=["10"],
    )


def test_cache_dir_that_is_a_file_is_named(tmp_path, sandbox):
    """discovery_cache_dir pointing at a file: one line naming the setting, before any request."""
    path = tmp_path / "cache.json"
    path.write_text("{}")
    config_error(
        tmp_path,
        sandbox,
        f"discovery_cache_dir must be a directory (created if missing), got '{path}' (a file)",
        "--discover",
        discovery_cache_dir=str(path),
        discovery_cache_ttl=60,
    )


# --- stream_filters that would override the tap's own query -------------------------------------


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("ordering", "the tap orders and pages the listing itself"),
        ("page_mode", "the tap orders and pages the listing itself"),
        ("cursor", "the tap orders and pages the listing itself"),
        ("page_size", "set the page_size setting instead"),
        ("fields", "select columns in the catalog instead"),
        ("mod_ts__gte", "the bounds come from start_date and the bookmark"),
        ("mod_ts__lt", "the bounds come from start_date and the bookmark"),
    ],
)
def test_stream_filter_overriding_the_tap_is_refused(tmp_path, sandbox, key, why):
    """A reserved query key in stream_filters: one line naming the stream and the key, exit 2."""
    config_error(
        tmp_path,
        sandbox,
        f"stream_filters for stream 'wave' may not set '{key}': {why}",
        stream_filters={"wave": {"status_id": 10, key: "x"}},
    )


def test_inventory_history_filters_set_by_the_tap_are_refused(tmp_path, sandbox):
    """inventory_history's create_ts bounds and partition filters belong to the tap."""
    config_error(
        tmp_path,
        sandbox,
        "stream_filters for stream 'inventory_history' may not set 'create_ts__gte': the bounds come "
        "from start_date and the bookmark; stream_filters for stream 'inventory_history' may not set "
        "'status_id': set inventory_history_status_ids instead",
        stream_filters={"inventory_history": {"create_ts__gte": "2024-01-01", "status_id": 10}},
    )


def test_ordinary_stream_filter_is_accepted(tmp_path, sandbox):
    """Filters on the entity's own fields stay allowed."""
    run = run_tap(tmp_path, tap_config(sandbox, "wave", stream_filters={"wave": {"status_id__lt": 90}}))
    assert run.code == 0, run.stderr[-2000:]
    assert not [line for line in run.stderr.splitlines() if line.startswith(PREFIX)]
