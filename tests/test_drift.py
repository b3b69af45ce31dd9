"""Drift (issue 23): rows changed with a mod_ts in hours the last run already passed reach the next run.

Played by the sandbox: `activity(drift_s=N)` changes existing rows with a mod_ts N seconds in the
past and create_ts untouched. Every assertion is against the sandbox's ground truth.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import signal
import subprocess
from decimal import Decimal

import pytest
from clirun import start_tap, wait_until
from tapruns import assert_nothing_lost, discover, instant, settle, sync, tap_config

from tap_oracle_wms import drift
from tap_oracle_wms.inputs import StateError
from tap_oracle_wms.run import StreamsFailedError

ENTITY = "order_hdr"
HOUR = 3600


def drifted(sandbox, hours_ago: float, entity: str = ENTITY, updates: int = 25, ids=None) -> list[int]:
    """Existing rows changed with a mod_ts `hours_ago` in the past, create_ts untouched; their ids.

    Without `ids`, the first `updates` rows of the seed (created long before any run).
    """
    ids = ids or [row["id"] for row in sandbox.truth(entity)][:updates]
    burst = sandbox.activity(
        entity=entity, inserts=0, updates=updates, deletes=0, drift_s=hours_ago * HOUR, ids=ids
    )
    settle()
    return burst["updated_ids"]


def first_run(sandbox, config, entity: str = ENTITY):
    """A run whose bookmark is now (the seed's rows are a year old): one row was just inserted."""
    sandbox.activity(entity=entity, inserts=1, updates=0, deletes=0)
    settle()
    out = sync(config)
    assert instant(out.bookmark(entity)) > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    return out


def kept_counts(out, entity: str = ENTITY) -> dict[drift.Bucket, int]:
    return drift.decode(out.last_state["bookmarks"][entity][drift.KEY])


def by_id(records: list[dict]) -> dict[int, dict]:
    return {r["id"]: r for r in records}


def is_count(request) -> bool:
    return request.query.get("page_mode") == "paged" and request.query.get("page_size") == "1"


def is_mod_ts_listing(request) -> bool:
    """A page of the check's own listing (only id and mod_ts), or a later page of it (a cursor link)."""
    return request.query.get("fields") == "id,mod_ts"


# --- caught, with their new values --------------------------------------------------------------


@pytest.mark.parametrize("entity", ["order_hdr", "allocation", "inventory"])
def test_rows_changed_hours_behind_the_bookmark_arrive_with_their_new_values(sandbox, entity):
    """25 existing rows get a mod_ts 3 h before the bookmark: the next run delivers them as they are now."""
    config = tap_config(sandbox, entity)
    first = first_run(sandbox, config, entity)
    ids = drifted(sandbox, 3, entity)
    assert ids, "precondition: rows changed"
    second = sync(config, state=first.last_state)
    got = by_id(second.records(entity))
    truth = {row["id"]: row for row in sandbox.truth(entity)}
    assert set(ids) <= set(got)
    for i in ids:
        assert instant(got[i]["mod_ts"]) == instant(truth[i]["mod_ts"])


@pytest.mark.parametrize(
    ("window", "hours_ago"),
    [(0, 3), (24, 30)],
    ids=["check off (what it is for)", "further back than the window (README 'Not promised')"],
)
def test_rows_changed_where_the_check_does_not_look_are_not_delivered(sandbox, window, hours_ago):
    """With drift_window_hours=0, or a mod_ts 30 h back with a 24 h window, the next run misses the rows."""
    config = tap_config(sandbox, ENTITY, drift_window_hours=window)
    first = first_run(sandbox, config)
    ids = drifted(sandbox, hours_ago)
    second = sync(config, state=first.last_state)
    assert not set(ids) & {r["id"] for r in second.records(ENTITY)}


def test_a_row_moved_between_two_hours_of_the_window_is_caught(sandbox):
    """A row whose old and new mod_ts both lie in the window (a day's count would not change) arrives."""
    ids = drifted(sandbox, 10, updates=5)
    config = tap_config(sandbox, ENTITY)
    first = first_run(sandbox, config)
    assert drifted(sandbox, 3, ids=ids) == ids
    second = sync(config, state=first.last_state)
    assert set(ids) <= {r["id"] for r in second.records(ENTITY)}
    assert_nothing_lost(
        first.records(ENTITY) + second.records(ENTITY), sandbox.truth(ENTITY), second.schema(ENTITY)
    )


def test_hours_whose_counts_changed_are_named_in_the_summary_and_the_start_line(sandbox, capsys, caplog):
    """The run's summary names the hours read again and their rows; nothing else is re-read."""
    config = tap_config(sandbox, ENTITY)
    first = first_run(sandbox, config)
    ids = drifted(sandbox, 3)
    capsys.readouterr()
    caplog.set_level(logging.INFO)
    second = sync(config, state=first.last_state)
    summary = capsys.readouterr().err
    # The hour the rows were moved to, read from the sandbox (the clock may pass an hour during the run).
    moved_to = {instant(r["mod_ts"]) for r in sandbox.truth(ENTITY) if r["id"] in set(ids)}
    first_hour, last_hour = (
        t.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
        for t in (min(moved_to), max(moved_to))
    )
    label = drift.Bucket(first_hour, last_hour + dt.timedelta(hours=1)).label  # adjacent hours read as one
    assert f"re-read {label} (count changed)" in summary
    assert f"{len(ids)} rows re-read" in summary
    assert any(label in r.getMessage() and "reading" in r.getMessage() for r in caplog.records)
    assert len(second.records(ENTITY)) == len(ids) + 1  # the re-read hour, and the bookmark's own row


def test_rows_of_a_changed_hour_that_the_listing_reads_too_are_emitted_once(sandbox, caplog):
    """The bookmark's own hour changed (rows left it): read again only up to where the listing starts,
    so the rows still in it from there on arrive once, not from both queries."""
    config = tap_config(sandbox, ENTITY, lookback_seconds=0)  # the listing starts at the bookmark
    tie = sandbox.activity(entity=ENTITY, inserts=0, updates=10, deletes=0)["updated_ids"]
    settle()
    first = sync(config)
    sandbox.activity(entity=ENTITY, inserts=0, updates=5, deletes=0, ids=tie[:5])  # they leave the hour
    settle()
    caplog.set_level(logging.INFO)
    second = sync(config, state=first.last_state)
    assert any("hours whose counts changed" in r.getMessage() for r in caplog.records), "precondition"
    ids = [r["id"] for r in second.records(ENTITY)]
    assert sorted(ids) == sorted(set(ids))
    assert set(tie) <= set(ids)
    assert_nothing_lost(
        first.records(ENTITY) + second.records(ENTITY), sandbox.truth(ENTITY), second.schema(ENTITY)
    )


def test_a_backdated_row_in_an_hour_read_again_is_emitted_once(sandbox):
    """Rows created since the last run with a mod_ts 15 minutes older change their hour's count: the
    backdated pass and the hour read again both hold them, and they arrive once."""
    config = tap_config(sandbox, ENTITY)
    first = first_run(sandbox, config)
    burst = sandbox.activity(entity=ENTITY, inserts=6, updates=0, deletes=0, backdate_s=900)
    backdated = burst["backdated_ids"]
    settle()
    second = sync(config, state=first.last_state)
    ids = [r["id"] for r in second.records(ENTITY)]
    assert set(backdated) <= set(ids)
    assert sorted(ids) == sorted(set(ids))


# --- what it costs ----------------------------------------------------------------------------


def test_nothing_changed_costs_the_check_requests_and_nothing_else(sandbox):
    """With no change, the check adds its own requests (a count, then the hours' rows) and no other."""
    config = tap_config(sandbox, ENTITY)
    first = first_run(sandbox, config)
    sandbox.clear_requests()
    sync(config, state=first.last_state)
    with_check = [r for r in sandbox.requests if f"entity/{ENTITY}" in r.path]
    sandbox.clear_requests()
    sync(tap_config(sandbox, ENTITY, drift_window_hours=0), state=first.last_state)
    without = [r for r in sandbox.requests if f"entity/{ENTITY}" in r.path]
    check = [r for r in with_check if is_count(r) or is_mod_ts_listing(r)]
    assert len(check) == 2  # the span's count, one page of mod_ts
    assert len(with_check) - len(check) == len(without)
    assert not [r for r in without if is_count(r) or is_mod_ts_listing(r)]


def test_a_window_without_rows_costs_one_count_and_keeps_zero_per_hour(sandbox):
    """A first run over rows all older than the window: the span's count says none, no hour is asked."""
    sandbox.clear_requests()
    out = sync(tap_config(sandbox, ENTITY))
    mine = [r for r in sandbox.requests if f"entity/{ENTITY}" in r.path]
    assert (sum(map(is_count, mine)), sum(map(is_mod_ts_listing, mine))) == (1, 0)
    kept = kept_counts(out)
    assert len(kept) in (24, 25)
    assert set(kept.values()) == {0}


@pytest.mark.parametrize(
    ("entity", "page_size", "rows", "listed"),
    [("order_hdr", 1250, 7, True), ("order_dtl", 1, 40, False)],
    ids=["few rows: their mod_ts listed", "many rows: one count per hour"],
)
def test_hourly_counts_are_rows_of_wms_row_counts_equal_to_the_truth(
    sandbox, entity, page_size, rows, listed
):
    """Each counted hour is a wms_row_counts row (bucket YYYY-MM-DDTHH:00Z) equal to the source's rows.

    The check takes whichever is fewer requests: the rows' mod_ts in pages, or one count per hour.
    """
    ids = drifted(sandbox, 5, entity, updates=rows)
    config = tap_config(sandbox, entity, page_size=page_size, row_count_days=1)
    catalog = discover(config)
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] == "wms_row_counts":
            next(m for m in entry["metadata"] if m["breadcrumb"] == [])["metadata"]["selected"] = True
    sandbox.clear_requests()
    out = sync(config, catalog=catalog)
    hourly = [r for r in out.records("wms_row_counts") if "T" in r["bucket"]]
    kept = kept_counts(out, entity)
    assert len(hourly) == len(kept) in (24, 25)
    truth = [instant(row["mod_ts"]) for row in sandbox.truth(entity)]
    for row in hourly:
        start, end = instant(row["window_start"]), instant(row["window_end"])
        assert row["row_count"] == sum(1 for t in truth if start <= t < end)
        assert row["bucket"] == f"{start:%Y-%m-%dT%H}:00Z"
    assert sum(r["row_count"] for r in hourly) == len(ids)
    mine = [r for r in sandbox.requests if f"entity/{entity}" in r.path]
    listing = [r for r in mine if is_mod_ts_listing(r)]
    counts = [r for r in mine if is_count(r)]
    if listed:
        assert (len(listing), len(counts)) == (1, 1 + 2)  # the span; wms_row_counts: a day and the total
    else:
        assert (len(listing), len(counts)) == (0, 1 + len(kept) + 2)


# --- the bookmark, STATE, interruptions ---------------------------------------------------------


def test_the_bookmark_never_moves_back_when_only_rows_read_again_arrive(sandbox):
    """The rows at the bookmark itself are moved 3 h back: the run reads them again, the bookmark stays."""
    config = tap_config(sandbox, ENTITY)
    first = first_run(sandbox, config)
    newest = [r["id"] for r in first.records(ENTITY) if r["mod_ts"] == first.bookmark(ENTITY)]
    drifted(sandbox, 3, ids=newest)
    second = sync(config, state=first.last_state)
    assert set(newest) <= {r["id"] for r in second.records(ENTITY)}
    assert instant(second.bookmark(ENTITY)) == instant(first.bookmark(ENTITY))


def test_kept_counts_that_are_not_counts_stop_the_run_naming_the_stream(sandbox):
    """A hand-edited drift_counts is a state error (exit 2) naming the stream, not a silent re-read."""
    state = {
        "bookmarks": {
            ENTITY: {"replication_key": "mod_ts", "replication_key_value": "2026-01-01T00:00:00+00:00"}
        }
    }
    state["bookmarks"][ENTITY][drift.KEY] = {"yesterday": 3}
    with pytest.raises(StateError, match=f"stream '{ENTITY}': 'drift_counts' has key 'yesterday'"):
        sync(tap_config(sandbox, ENTITY), state=state)


def test_a_check_whose_counts_fail_fails_the_stream_and_the_next_run_catches_up(sandbox):
    """The server fails during the check: exit 1 naming the stream, STATE as it was, the next run delivers."""
    config = tap_config(sandbox, ENTITY, max_retries=0)
    catalog = discover(config)
    first = first_run(sandbox, config)
    ids = drifted(sandbox, 3)
    sandbox.configure(entity_faults=(f"{ENTITY}:500",))
    with pytest.raises(StreamsFailedError, match=f"{ENTITY}: HTTP 500") as failed:
        sync(config, state=first.last_state, catalog=catalog)
    assert "page_mode=paged&page_size=1" in failed.value.failures[ENTITY]  # a count, before any page
    assert failed.value.output.records(ENTITY) == []
    assert failed.value.output.last_state == first.last_state
    sandbox.configure(entity_faults=())
    third = sync(config, state=failed.value.output.last_state)
    assert set(ids) <= {r["id"] for r in third.records(ENTITY)}


def test_a_run_stopped_by_sigterm_during_the_check_repeats_it_and_loses_nothing(sandbox, tmp_path):
    """SIGTERM while the counts are taken: exit 143 with STATE as it was; the next run delivers every row."""
    config = tap_config(sandbox, ENTITY, concurrency=1, page_size=1)  # one count per hour, one at a time
    first = first_run(sandbox, config)
    ids = drifted(sandbox, 3)
    sandbox.configure(latency_ms=150)
    sandbox.clear_requests()
    proc = start_tap(tmp_path, config, state=first.last_state, stderr=subprocess.DEVNULL)
    wait_until(lambda: sum(1 for r in sandbox.requests if is_count(r)) >= 4, "four counts", seconds=60)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    messages = [json.loads(line, parse_float=Decimal) for line in out.splitlines()]
    assert not [m for m in messages if m["type"] == "RECORD"], "precondition: stopped during the check"
    state = [m["value"] for m in messages if m["type"] == "STATE"][-1]
    assert state == first.last_state
    sandbox.configure(latency_ms=0)
    after = sync(config, state=state)
    assert set(ids) <= {r["id"] for r in after.records(ENTITY)}


def test_a_run_killed_while_reading_changed_hours_again_reads_them_next_time(sandbox, tmp_path):
    """SIGKILL after the first row read again: the last STATE keeps the old counts; the next run re-reads."""
    config = tap_config(sandbox, ENTITY, page_size=5)
    first = first_run(sandbox, config)
    ids = drifted(sandbox, 3)
    proc = start_tap(tmp_path, config, state=first.last_state, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    got, state = [], first.last_state
    for line in proc.stdout:
        message = json.loads(line, parse_float=Decimal)
        if message["type"] == "STATE":
            state = message["value"]
        elif message["type"] == "RECORD" and message["record"]["id"] in ids:
            got.append(message["record"])
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert len(got) < len(ids), "precondition: killed before every changed row was out"
    after = sync(config, state=state)
    assert_nothing_lost(
        first.records(ENTITY) + got + after.records(ENTITY), sandbox.truth(ENTITY), after.schema(ENTITY)
    )


def test_the_bookmark_never_moves_back_when_only_backdated_rows_arrive(sandbox):
    """Only rows older than the bookmark arrive (through the create_ts query): the bookmark stays."""
    config = tap_config(sandbox, ENTITY, drift_window_hours=0)
    first = first_run(sandbox, config)
    newest = [r["id"] for r in first.records(ENTITY) if r["mod_ts"] == first.bookmark(ENTITY)]
    drifted(sandbox, 30, ids=newest)
    burst = sandbox.activity(entity=ENTITY, inserts=1, updates=0, deletes=0, backdate_s=3 * HOUR)
    settle()
    second = sync(config, state=first.last_state)
    rows = second.records(ENTITY)
    assert set(burst["backdated_ids"]) <= {r["id"] for r in rows}
    assert all(instant(r["mod_ts"]) < instant(first.bookmark(ENTITY)) for r in rows)  # only older rows
    assert instant(second.bookmark(ENTITY)) == instant(first.bookmark(ENTITY))


@pytest.mark.parametrize("loop", ["alternate", "fresh"])
def test_the_checks_listing_of_mod_ts_fails_on_looping_links_instead_of_running_for_ever(
    sandbox, tmp_path, loop
):
    """next_page links that loop without repeating a URL, met by the check's own listing of mod_ts
    (26 changed rows in pages of 10 cost fewer requests than 24 hourly counts): the stream fails
    naming the loop, as the sync's listings do, instead of counting the same rows for ever."""
    config = tap_config(sandbox, ENTITY, page_size=10)
    first = first_run(sandbox, config)
    drifted(sandbox, 3)
    sandbox.configure(next_page_loop=loop)
    sandbox.clear_requests()
    proc = start_tap(tmp_path, config, state=first.last_state)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("still running after 60 s")
    assert proc.returncode == 1
    last = err.decode().strip().splitlines()[-1]
    assert f"{ENTITY}: Stream '{ENTITY}': 3 pages in a row brought no row that was not already read" in last
    assert any(is_mod_ts_listing(r) for r in sandbox.requests)
