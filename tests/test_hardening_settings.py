"""Settings the tap used to ignore or misread: each is now named in one line, or warned about.

Unknown settings, environment values the SDK would read wrongly, a ./.env beside the command,
stream_filters that would override the tap's own query, and a cache directory that is a file.
"""

from __future__ import annotations

import json

import pytest
from clirun import PREFIX, assert_one_line_failure, config_error, run_tap
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
