"""--config, --state and --catalog files, and the input state's bookmarks: each problem one line (exit 2).

A file that is missing, unreadable or not the JSON it should be; state of another tap or of unknown shape;
a bookmark that is no date-time or lies in the future; a catalog entry without a schema.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import pytest
from clirun import PREFIX, assert_one_line_failure, run_tap
from tapruns import instant, page_requests, sync, tap_config

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
    assert f"--state file '{path}': stream 'wave': {problem}" in run.stderr
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
