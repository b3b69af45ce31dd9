"""State, catalog and server answers that used to end in an unclear failure: each is one clear line.

A bookmark that is not a date-time or lies in the future, a STATE message or another tap's state
given as --state, a catalog entry without a schema, a strict_schema stop, and a token endpoint
that does not answer JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re

import pytest
from clirun import PREFIX, api_requests, assert_one_line_failure, run_tap
from tapruns import instant, oauth_config, page_requests, sync, tap_config

from tap_oracle_wms.inputs import StateError

BOOKMARK = "2024-03-01T10:00:00+00:00"


def state_file(tmp_path, state: object) -> str:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))
    return str(path)


def wave_state(value: object, key: str = "mod_ts") -> dict:
    return {"bookmarks": {"wave": {"replication_key": key, "replication_key_value": value}}}


def state_error(tmp_path, sandbox, state: object, problem: str) -> None:
    """A refused --state file: `--state file '<path>'` and the problem, exit 2, no request."""
    path = state_file(tmp_path, state)
    run = run_tap(tmp_path, tap_config(sandbox, "wave"), "--state", path)
    assert_one_line_failure(run, f"--state file '{path}'{problem}", 2)
    assert sandbox.requests == []


# --- bookmarks ---------------------------------------------------------------------------------


def test_bookmark_that_is_not_a_date_time_is_named(tmp_path, sandbox):
    """A bookmark such as 'yesterday' names the stream and the value, not a parser error."""
    state_error(
        tmp_path,
        sandbox,
        wave_state("yesterday"),
        ": stream 'wave' has bookmark 'yesterday', which is not an ISO-8601 date-time; fix or remove it",
    )


def test_bookmark_in_the_future_is_refused(tmp_path, sandbox):
    """A bookmark in 2099 would stall the stream forever, silently: an error naming stream and value."""
    state_error(
        tmp_path,
        sandbox,
        wave_state("2099-01-01"),
        ": stream 'wave' has bookmark '2099-01-01', more than a day after the run's start: "
        "no row would ever be read; fix or remove it",
    )


def test_partition_bookmark_in_the_future_is_refused(tmp_path, sandbox):
    """Partitioned streams (inventory_history) have their bookmarks checked too."""
    partition = {
        "context": {"status_id": 10},
        "replication_key": "create_ts",
        "replication_key_value": "2099-01-01",
    }
    state_error(
        tmp_path,
        sandbox,
        {"bookmarks": {"inventory_history": {"partitions": [partition]}}},
        ": stream 'inventory_history' has bookmark '2099-01-01', more than a day after the run's "
        "start: no row would ever be read; fix or remove it",
    )


@pytest.mark.parametrize(
    ("counts", "problem"),
    [
        ([3], "'drift_counts' is not an object of counts"),
        ({"yesterday": 3}, "'drift_counts' has key 'yesterday', not '<start>/<end>' in ISO 8601"),
        ({"2026-12-01T10:00:00Z/2026-12-01T11:00:00Z": -1}, "'drift_counts' holds -1 for"),
    ],
    ids=["not an object", "bad key", "negative count"],
)
def test_drift_counts_that_are_not_counts_are_named(tmp_path, sandbox, counts, problem):
    """Hand-edited drift counts name the stream and what is wrong, before any request (exit 2)."""
    state = wave_state(BOOKMARK)
    state["bookmarks"]["wave"]["drift_counts"] = counts
    path = state_file(tmp_path, state)
    run = run_tap(tmp_path, tap_config(sandbox, "wave"), "--state", path)
    assert run.code == 2
    assert f"--state file '{path}': stream 'wave' has {problem}" in run.stderr
    assert sandbox.requests == []


def test_future_bookmark_stops_an_in_process_run_before_any_listing(sandbox):
    """The starting bound itself refuses a future bookmark, whatever checked the state before."""
    with pytest.raises(StateError, match=r"stream 'wave' has bookmark '2099-01-01', more than a day after"):
        sync(tap_config(sandbox, "wave"), state=wave_state("2099-01-01"))
    assert page_requests(sandbox, "wave") == []


def test_bookmark_a_few_hours_ahead_is_accepted(sandbox):
    """Clock skew between the tenant and this machine is no error: the stream is read from that bookmark."""
    ahead = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=3)
    lower = ahead - dt.timedelta(seconds=300)  # the default lookback_seconds
    out = sync(tap_config(sandbox, "wave"), state=wave_state(ahead.isoformat()))
    assert page_requests(sandbox, "wave")[0].query["mod_ts__gte"] == lower.isoformat()
    expected = [row["id"] for row in sandbox.truth("wave") if instant(row["mod_ts"]) >= lower]
    assert [record["id"] for record in out.records("wave")] == expected
    assert instant(out.bookmark("wave")) == ahead


# --- the shape of --state ----------------------------------------------------------------------


def test_whole_state_message_is_accepted_as_state(tmp_path, sandbox):
    """A --state file holding a STATE message (as a target or a log shows it) is unwrapped and used."""
    path = state_file(tmp_path, {"type": "STATE", "value": wave_state(BOOKMARK)})
    config = tap_config(sandbox, "wave", lookback_seconds=0)
    run = run_tap(tmp_path, config, "--state", path)
    assert run.code == 0, run.stderr[-2000:]
    assert page_requests(sandbox, "wave")[0].query["mod_ts__gte"] == BOOKMARK


def test_state_of_another_tap_is_refused(tmp_path, sandbox):
    """Bookmarks on a key this tap never uses belong to another tap: refused, naming the file."""
    state_error(
        tmp_path,
        sandbox,
        {"bookmarks": {"orders": {"replication_key": "updated_at", "replication_key_value": 5}}},
        " is not this tap's state: stream 'orders' is bookmarked on 'updated_at', not mod_ts or create_ts",
    )


def test_state_of_unknown_shape_is_refused(tmp_path, sandbox):
    """An object with other top-level keys is not Singer state; it is refused, not silently ignored."""
    state_error(
        tmp_path,
        sandbox,
        {"singer_state": wave_state(BOOKMARK)},
        " is not Singer state: unexpected key 'singer_state' "
        "(expected 'bookmarks', or a whole STATE message)",
    )


def test_state_message_without_an_object_value_is_refused(tmp_path, sandbox):
    """A STATE message whose value is not an object says so."""
    state_error(
        tmp_path,
        sandbox,
        {"type": "STATE", "value": [1]},
        " holds a STATE message whose 'value' is not an object",
    )


# --- catalog and strict_schema -----------------------------------------------------------------


def test_catalog_entry_without_a_schema_is_named(tmp_path, sandbox):
    """A catalog entry with no schema names the entry, before any request."""
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"streams": [{"tap_stream_id": "wave", "metadata": []}]}))
    run = run_tap(tmp_path, tap_config(sandbox, "wave"), "--catalog", str(path))
    assert_one_line_failure(
        run, f"--catalog file '{path}' is not a Singer catalog: streams[0] ('wave') has no 'schema'", 2
    )
    assert sandbox.requests == []


def test_strict_schema_stop_is_one_line_naming_stream_and_field(tmp_path, sandbox):
    """strict_schema stops the sync with 'sync failed:', the stream, the field and strict_schema, exit 1."""
    config = tap_config(sandbox, "wave", strict_schema=True)
    discovered = run_tap(tmp_path, config, "--discover")
    catalog = json.loads(discovered.stdout)
    catalog["streams"][0]["schema"]["properties"]["wave_nbr"]["type"] = ["integer", "null"]
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    run = run_tap(tmp_path, config, "--catalog", str(path))
    assert "Traceback" not in run.output
    assert run.code == 1
    assert re.fullmatch(
        re.escape(PREFIX + "sync failed: Stream 'wave': field 'wave_nbr' of record id=")
        + r"\d+ has .*, which its catalog type does not allow; strict_schema is on, so the sync stops\.",
        run.last_line,
    )


# --- the OAuth2 token endpoint -----------------------------------------------------------------


@pytest.mark.parametrize(("mode", "answer"), [("html", "HTML, not JSON"), ("invalid_json", "invalid JSON")])
def test_token_endpoint_answering_no_json_names_oauth_token_url(tmp_path, sandbox, mode, answer):
    """A token endpoint answering an HTML page or broken JSON: one line naming oauth_token_url."""
    sandbox.configure(token_endpoint=mode)
    run = run_tap(tmp_path, oauth_config(sandbox, "wave"), "--discover")
    assert_one_line_failure(
        run,
        f"sync failed: OAuth2 token request to oauth_token_url answered {answer} (HTTP 200): "
        "check oauth_token_url.",
        1,
    )
    assert api_requests(sandbox) == []


def test_token_endpoint_redirect_is_not_followed(tmp_path, sandbox):
    """A token endpoint redirecting elsewhere: one line naming where, and no request sent there."""
    sandbox.configure(token_endpoint="redirect")
    run = run_tap(tmp_path, oauth_config(sandbox, "wave"), "--discover")
    assert_one_line_failure(
        run,
        f"sync failed: OAuth2 token request to oauth_token_url redirects to http://localhost:{sandbox.port} "
        "(HTTP 307): set it to the token endpoint itself.",
        1,
    )
    assert [r.path for r in sandbox.requests if r.path.endswith("/token")] == ["/oauth2/v1/token"]
    assert api_requests(sandbox) == []


def test_token_without_expires_in_is_used(sandbox):
    """A token answer without expires_in is fine: the token is used (and renewed after an hour)."""
    sandbox.configure(token_endpoint="no_expires_in")
    out = sync(oauth_config(sandbox, "wave"))
    assert out.records("wave")


# --- input files that never end -----------------------------------------------------------------


def test_a_state_file_that_never_ends_is_refused_in_one_line(tmp_path, sandbox):
    """--state /dev/zero would be read for ever: one line naming --state, exit 2, no request."""
    run = run_tap(tmp_path, tap_config(sandbox, "wave"), "--state", "/dev/zero")
    assert_one_line_failure(
        run, "--state file '/dev/zero' is not a regular file (a device, pipe or socket)", 2
    )
    assert sandbox.requests == []


def test_a_state_named_pipe_is_refused_without_blocking(tmp_path, sandbox):
    """A named pipe nobody writes to would block for ever: one line naming --state, exit 2."""
    pipe = tmp_path / "state.fifo"
    os.mkfifo(pipe)
    run = run_tap(tmp_path, tap_config(sandbox, "wave"), "--state", str(pipe))
    assert_one_line_failure(run, f"--state file '{pipe}' is not a regular file (a device, pipe or socket)", 2)
