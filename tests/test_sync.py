"""Full and incremental syncs of the core streams against the sandbox."""

from __future__ import annotations

import datetime as dt

import pytest
from tapruns import next_second, page_requests, shaped, sync, tap_config, utc

from tap_oracle_wms.streams import CORE_ENTITIES

CORE = list(CORE_ENTITIES)


def by_id(rows: list[dict]) -> dict[int, dict]:
    return {row["id"]: row for row in rows}


@pytest.mark.parametrize("entity", CORE)
def test_full_sync_delivers_every_row_of_the_truth(sandbox, entity):
    """A first run (no state, no start_date) emits exactly the rows the API user can see."""
    out = sync(tap_config(sandbox, entity))
    schema = out.schema(entity)
    truth = {row["id"]: shaped(row, schema) for row in sandbox.truth(entity)}
    records = by_id(out.records(entity))
    # The truth is the full representation; fields returned only when named (item image_data)
    # are checked in test_fields_returned_only_on_request_are_delivered.
    assert {i: {k: r[k] for k in truth.get(i, r) if k in r} for i, r in records.items()} == truth


def test_fields_returned_only_on_request_are_delivered(sandbox):
    """item image_data is left out of full representations (docs/lgfapi.md 2.4): fields= names it."""
    out = sync(tap_config(sandbox, "item"))
    assert "image_data" in out.schema("item")["properties"]
    assert all(r.get("image_data") for r in out.records("item"))
    assert "image_data" in page_requests(sandbox, "item")[0].query["fields"].split(",")


def test_records_validate_against_their_schema(sandbox):
    """Every record is valid against the SCHEMA message the tap sent before it."""
    from jsonschema import Draft7Validator, FormatChecker

    out = sync(tap_config(sandbox, *CORE))
    for entity in CORE:
        validator = Draft7Validator(out.schema(entity), format_checker=FormatChecker())
        assert out.records(entity), f"no {entity} record to validate"
        for record in out.records(entity):
            validator.validate(
                {k: float(v) if type(v).__name__ == "Decimal" else v for k, v in record.items()}
            )


def test_final_state_bookmarks_the_greatest_mod_ts(sandbox):
    """The bookmark is the newest mod_ts delivered, in UTC."""
    out = sync(tap_config(sandbox, "order_hdr"))
    newest = max(utc(row["mod_ts"]) for row in sandbox.truth("order_hdr"))
    assert out.bookmark("order_hdr") == newest


def test_incremental_run_emits_changed_rows_and_not_the_rest(sandbox):
    """After activity, a run from the last state delivers the changed rows, not the whole table."""
    first = sync(tap_config(sandbox, "order_dtl"))
    changed = sandbox.activity(entity="order_dtl", inserts=3, updates=7, deletes=0)
    next_second()
    second = sync(tap_config(sandbox, "order_dtl", lookback_seconds=0), state=first.last_state)
    ids = {r["id"] for r in second.records("order_dtl")}
    assert set(changed["inserted_ids"]) | set(changed["updated_ids"]) <= ids
    assert len(ids) < len(first.records("order_dtl"))


def test_incremental_run_with_nothing_changed_makes_one_request_per_pass(sandbox):
    """No change since the bookmark: one page for mod_ts, one for backdated rows, whatever the table size."""
    first = sync(tap_config(sandbox, "inventory"))
    sandbox.clear_requests()
    sync(tap_config(sandbox, "inventory", lookback_seconds=0), state=first.last_state)
    passes = page_requests(sandbox, "inventory")
    assert len(passes) == 2
    assert "create_ts__gte" in passes[1].query


def test_incremental_run_without_the_backdated_pass_makes_one_request(sandbox):
    """backdated_rows=false: the bookmark's pass alone, one page when nothing changed."""
    first = sync(tap_config(sandbox, "inventory"))
    sandbox.clear_requests()
    sync(tap_config(sandbox, "inventory", lookback_seconds=0, backdated_rows=False), state=first.last_state)
    assert len(page_requests(sandbox, "inventory")) == 1


def test_bookmark_rows_are_read_again_so_ties_are_never_skipped(sandbox):
    """The lower bound is mod_ts__gte the bookmark: rows sharing the last mod_ts come again."""
    first = sync(tap_config(sandbox, "allocation"))
    sandbox.clear_requests()
    second = sync(tap_config(sandbox, "allocation", lookback_seconds=0), state=first.last_state)
    bookmark = first.bookmark("allocation")
    tied = {r["id"] for r in first.records("allocation") if r["mod_ts"] == bookmark}
    assert tied <= {r["id"] for r in second.records("allocation")}


def test_lower_bound_is_the_bookmark_minus_the_lookback_window(sandbox):
    """mod_ts__gte = bookmark - lookback_seconds, in whole seconds with an offset."""
    state = {
        "bookmarks": {
            "wave": {"replication_key": "mod_ts", "replication_key_value": "2026-01-10T12:00:30.500000+00:00"}
        }
    }
    sync(tap_config(sandbox, "wave", lookback_seconds=600), state=state)
    first_page = page_requests(sandbox, "wave")[0]
    assert first_page.query["mod_ts__gte"] == "2026-01-10T11:50:30+00:00"


def test_upper_bound_is_the_run_start(sandbox):
    """mod_ts__lt is the instant the run started, so rows changed during the sync wait for the next run."""
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    sync(tap_config(sandbox, "wave"))
    after = dt.datetime.now(dt.UTC)
    first_page = page_requests(sandbox, "wave")[0]
    upper = dt.datetime.fromisoformat(first_page.query["mod_ts__lt"])
    assert before <= upper <= after


def test_rows_changed_during_a_run_arrive_in_the_next_run(sandbox):
    """A row updated after the run started is not lost: the next incremental run delivers it."""
    first = sync(tap_config(sandbox, "item"))
    changed = sandbox.activity(entity="item", inserts=0, updates=5, deletes=0)
    next_second()
    second = sync(tap_config(sandbox, "item"), state=first.last_state)
    assert set(changed["updated_ids"]) <= {r["id"] for r in second.records("item")}


def test_start_date_limits_the_first_run(sandbox):
    """With no state, start_date is the lower bound."""
    rows = sandbox.truth("order_hdr")
    middle = sorted(utc(r["mod_ts"]) for r in rows)[len(rows) // 2]
    out = sync(tap_config(sandbox, "order_hdr", start_date=middle, lookback_seconds=0))
    start = dt.datetime.fromisoformat(middle).replace(microsecond=0)
    expected = {r["id"] for r in rows if dt.datetime.fromisoformat(r["mod_ts"]) >= start}
    assert {r["id"] for r in out.records("order_hdr")} == expected


def test_lookup_table_without_mod_ts_is_full_table(sandbox):
    """An entity without mod_ts has no replication key and no bookmark."""
    out = sync(tap_config(sandbox, "order_status"))
    assert len(out.records("order_status")) == len(sandbox.truth("order_status"))
    assert "replication_key_value" not in out.last_state["bookmarks"].get("order_status", {})


def test_incremental_run_of_several_streams_asks_each_page_once(sandbox):
    """Pages fetched ahead for later streams are used, never fetched again (one request per pass)."""
    entities = ("inventory", "order_hdr", "wave", "item")
    first = sync(tap_config(sandbox, *entities))
    sandbox.clear_requests()
    sync(tap_config(sandbox, *entities, lookback_seconds=0), state=first.last_state)
    for entity in entities:
        assert len(page_requests(sandbox, entity)) == 2, entity
