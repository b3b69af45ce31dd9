"""No row lost (issue 6): what the tap emits, deduplicated on id keeping the latest mod_ts,
holds every row of the sandbox's ground truth, in its latest version, whatever happens.

Interrupted (SIGKILLed) runs are in tests/test_interrupted.py.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tapruns import (
    assert_nothing_lost,
    changed_ids,
    discover,
    full_table,
    instant,
    page_requests,
    settle,
    sync,
    tap_config,
)

from tap_oracle_wms.lgfapi.client import Client
from tap_oracle_wms.records import SchemaBreakError
from tap_oracle_wms.run import StreamsFailedError

ENTITY = "order_dtl"  # the largest core entity of the seed, with seeded mod_ts ties
NEW_YORK = "America/New_York"  # the admin user's default facility zone in the sandbox
SANDBOX_ONCE = settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def short_waits(monkeypatch):
    """Retries wait milliseconds, not seconds (the backoff shape is tested in test_retries.py)."""
    monkeypatch.setattr(Client, "backoff_base_seconds", 0.001)


def union(*outputs):
    return [record for out in outputs for record in out.records(ENTITY)]


def tie_straddles(truth, page_size):
    """Page boundaries (in mod_ts,id order) where the rows either side share one mod_ts."""
    order = sorted(truth, key=lambda r: (instant(r["mod_ts"]), r["id"]))
    return [
        k
        for k in range(page_size, len(order), page_size)
        if instant(order[k - 1]["mod_ts"]) == instant(order[k]["mod_ts"])
    ]


def run_start(sandbox):
    """The upper bound (mod_ts__lt) the last run sent: its start, to the second."""
    return dt.datetime.fromisoformat(page_requests(sandbox, ENTITY)[-1].query["mod_ts__lt"])


# --- 1. mod_ts ties across page boundaries ---------------------------------------------------


@pytest.mark.parametrize("page_size", [1, 7, 50, 1250])
def test_mod_ts_ties_straddling_page_boundaries_lose_no_row(sandbox, page_size):
    """Rows sharing one mod_ts on both sides of a page boundary are all delivered."""
    # One burst gives its inserted rows one mod_ts, and its updated rows another.
    sandbox.activity(entity=ENTITY, inserts=page_size + 60, updates=25, deletes=0)
    truth = sandbox.truth(ENTITY)
    assert tie_straddles(truth, page_size), "precondition: a tie straddles a page boundary"
    settle()
    out = sync(tap_config(sandbox, ENTITY, page_size=page_size))
    assert_nothing_lost(out.records(ENTITY), truth, out.schema(ENTITY))


@SANDBOX_ONCE
@given(page_size=st.integers(1, 40), tie=st.integers(2, 40), cut=st.floats(0, 1))
def test_resuming_from_any_record_inside_a_tie_loses_no_row(sandbox, page_size, tie, cut):
    """A run resumed from the bookmark of any record (even mid-tie) completes the first run."""
    sandbox.reset()
    sandbox.activity(entity=ENTITY, inserts=tie, updates=tie, deletes=0)
    settle()
    config = tap_config(
        sandbox, ENTITY, page_size=page_size, lookback_seconds=0, sequenced_ordering="honoured"
    )
    full = sync(config)
    records = full.records(ENTITY)
    kept = records[: int(cut * len(records))]
    state = (
        {"bookmarks": {ENTITY: {"replication_key": "mod_ts", "replication_key_value": kept[-1]["mod_ts"]}}}
        if kept
        else None
    )
    resumed = sync(config, state=state)
    assert_nothing_lost(kept + resumed.records(ENTITY), sandbox.truth(ENTITY), full.schema(ENTITY))


# --- 2. rows changing while a sync runs ------------------------------------------------------


@pytest.mark.parametrize("ordering", ["honour", "ignore"])
@pytest.mark.parametrize("lookback", [0, 300])
def test_rows_changed_during_a_sync_arrive_by_the_next_run(sandbox, ordering, lookback):
    """Inserts and updates during a run: unchanged rows now, the changed ones by the next run."""
    sandbox.configure(latency_ms=40, sequenced_ordering=ordering)
    config = tap_config(sandbox, ENTITY, page_size=5, lookback_seconds=lookback)
    sandbox.start_activity(interval_s=0.02, entities=[ENTITY], inserts=2, updates=4, deletes=0)
    try:
        first = sync(config)
    finally:
        totals = sandbox.stop_activity()
    assert totals["bursts"] >= 5, "precondition: the activity overlapped the sync"
    started = run_start(sandbox)
    settle()
    second = sync(config, state=first.last_state)
    truth = sandbox.truth(ENTITY)
    schema = first.schema(ENTITY)
    untouched = [r for r in truth if instant(r["mod_ts"]) < started]
    assert_nothing_lost(first.records(ENTITY), untouched, schema)
    assert_nothing_lost(union(first, second), truth, schema)


@SANDBOX_ONCE
@given(
    page_size=st.integers(3, 30),
    inserts=st.integers(0, 4),
    updates=st.integers(1, 12),
    interval=st.sampled_from([0.005, 0.02, 0.05]),
)
def test_any_activity_burst_pattern_is_caught_up_by_the_next_run(
    sandbox, page_size, inserts, updates, interval
):
    """Random page sizes x random activity bursts: two runs hold the whole truth."""
    sandbox.reset()
    sandbox.configure(latency_ms=5)
    config = tap_config(sandbox, ENTITY, page_size=page_size, lookback_seconds=0)
    sandbox.start_activity(
        interval_s=interval, entities=[ENTITY], inserts=inserts, updates=updates, deletes=0
    )
    try:
        first = sync(config)
    finally:
        sandbox.stop_activity()
    settle()
    second = sync(config, state=first.last_state)
    assert_nothing_lost(union(first, second), sandbox.truth(ENTITY), first.schema(ENTITY))


# --- 4. a flaky API --------------------------------------------------------------------------

FLAKY = ["500", "503", "429", "drop", "truncate"]


@pytest.mark.parametrize("fault", FLAKY)
def test_sync_through_one_fault_kind_at_fifteen_percent_delivers_every_row(sandbox, short_waits, fault):
    """15% of requests fail one way (5xx, 429 + Retry-After, dropped, truncated): every row arrives."""
    sandbox.configure(fault_rate=0.15, faults=[fault], retry_after_s=0.01)
    out = sync(tap_config(sandbox, ENTITY, page_size=6, max_retries=8))
    assert [r.status for r in sandbox.requests if r.status not in (200, 404)], "precondition: faults"
    assert_nothing_lost(out.records(ENTITY), sandbox.truth(ENTITY), out.schema(ENTITY))


@SANDBOX_ONCE
@given(
    rate=st.floats(0.1, 0.2),
    faults=st.sets(st.sampled_from(FLAKY), min_size=1),
    seed=st.integers(1, 10_000),
    page_size=st.integers(2, 30),
)
def test_any_mix_of_faults_at_ten_to_twenty_percent_delivers_every_row(
    sandbox, short_waits, rate, faults, seed, page_size
):
    """Random fault mixes, rates, draws and page sizes: the sync completes with every row."""
    sandbox.reset()
    sandbox.configure(seed=seed, fault_rate=rate, faults=sorted(faults), retry_after_s=0.01)
    out = sync(tap_config(sandbox, ENTITY, page_size=page_size, max_retries=10))
    assert_nothing_lost(out.records(ENTITY), sandbox.truth(ENTITY), out.schema(ENTITY))


def fail_first_requests(monkeypatch, sandbox, count, fault="503"):
    """Make the next `count` API requests fail (a test-side wrap of the sandbox's fault draw)."""
    left = [count]

    def pick() -> str:
        if left[0] > 0:
            left[0] -= 1
            return fault
        return ""

    monkeypatch.setattr(sandbox.state, "pick_fault", pick)


@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_fault_lasting_exactly_max_retries_is_survived(sandbox, monkeypatch, short_waits, max_retries):
    """A request failing max_retries times in a row still succeeds on its last attempt."""
    config = tap_config(
        sandbox, "wave", max_retries=max_retries, sequenced_ordering="honoured", drift_window_hours=0
    )
    catalog = discover(config)
    sandbox.configure(retry_after_s=0.01)
    fail_first_requests(monkeypatch, sandbox, max_retries)
    out = sync(config, catalog=catalog)
    assert_nothing_lost(out.records("wave"), sandbox.truth("wave"), out.schema("wave"))


@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_fault_outlasting_max_retries_fails_with_the_status_and_the_request(
    sandbox, monkeypatch, short_waits, max_retries
):
    """One failure more than max_retries: the stream fails with one clear line after max_retries + 1 tries."""
    config = tap_config(
        sandbox, "wave", max_retries=max_retries, sequenced_ordering="honoured", drift_window_hours=0
    )
    catalog = discover(config)
    sandbox.configure(retry_after_s=0.01)
    sandbox.clear_requests()
    fail_first_requests(monkeypatch, sandbox, max_retries + 1)
    with pytest.raises(
        StreamsFailedError, match=r"wave: HTTP 503 from GET /sandbox/wms/lgfapi/v10/entity/wave/"
    ):
        sync(config, catalog=catalog)
    attempts = [r.status for r in sandbox.requests if r.path.rstrip("/").endswith("entity/wave")]
    assert attempts == [503] * (max_retries + 1)


# --- 5. both realities of the spec's GAPs ------------------------------------------------------


@pytest.mark.parametrize("lookback", [0, 300])
@pytest.mark.parametrize("datetimes", ["offset", "naive"])
@pytest.mark.parametrize("ordering", ["honour", "ignore"])
def test_full_then_incremental_run_hold_the_truth_in_every_gap_reality(
    sandbox, ordering, datetimes, lookback
):
    """Ordering honoured or ignored x naive or offset date-times x look-back 0 or 300 s."""
    sandbox.configure(sequenced_ordering=ordering, datetime_output=datetimes)
    config = tap_config(sandbox, ENTITY, page_size=9, lookback_seconds=lookback, tenant_timezone=NEW_YORK)
    first = sync(config)
    schema = first.schema(ENTITY)
    assert_nothing_lost(first.records(ENTITY), sandbox.truth(ENTITY), schema, NEW_YORK)
    burst = sandbox.activity(entity=ENTITY, inserts=4, updates=12, deletes=0)
    settle()
    second = sync(config, state=first.last_state)
    changed = set(changed_ids(burst, "inserted")) | set(changed_ids(burst, "updated"))
    assert changed <= {r["id"] for r in second.records(ENTITY)}
    assert_nothing_lost(union(first, second), sandbox.truth(ENTITY), schema, NEW_YORK)


@pytest.mark.parametrize("datetimes", ["offset", "naive"])
def test_bookmark_is_the_same_utc_instant_whether_date_times_are_naive_or_not(sandbox, datetimes):
    """With tenant_timezone set to the user's zone, naive output bookmarks the true UTC instant."""
    sandbox.configure(datetime_output=datetimes)
    out = sync(tap_config(sandbox, ENTITY, tenant_timezone=NEW_YORK))
    sandbox.configure(datetime_output="offset")
    newest = max(instant(r["mod_ts"]) for r in sandbox.truth(ENTITY))
    assert instant(out.bookmark(ENTITY)) == newest


def test_lookback_window_catches_a_row_committed_late_with_an_older_mod_ts(sandbox):
    """A row whose mod_ts is older than the bookmark (a late commit) arrives thanks to the look-back."""
    first = sync(tap_config(sandbox, ENTITY, lookback_seconds=0))
    bookmark = instant(first.bookmark(ENTITY))
    burst = sandbox.activity(entity=ENTITY, inserts=1, updates=0, deletes=0)
    late = changed_ids(burst, "inserted")
    backdate(sandbox, ENTITY, late, bookmark - dt.timedelta(seconds=30))
    settle()
    with_window = sync(tap_config(sandbox, ENTITY, lookback_seconds=60), state=first.last_state)
    assert set(late) <= {r["id"] for r in with_window.records(ENTITY)}
    without = sync(
        tap_config(sandbox, ENTITY, lookback_seconds=0, backdated_rows=False), state=first.last_state
    )
    assert not set(late) & {r["id"] for r in without.records(ENTITY)}


def backdate(sandbox, entity, ids, when):
    """Give rows an older mod_ts, as a transaction that committed late would (test-only SQL)."""
    from tap_oracle_wms_sandbox import data
    from tap_oracle_wms_sandbox.entities import BY_NAME

    micros = int(when.timestamp() * 1_000_000)
    marks = ",".join(str(int(i)) for i in ids)
    with sandbox.state.lock:
        sandbox.state.conn.execute(
            f'UPDATE "{entity}" SET mod_ts = ? WHERE id IN ({marks})',  # noqa: S608
            (micros,),
        )
        data.refresh_ts_text(sandbox.state.conn, BY_NAME[entity], f"id IN ({marks})")


# --- 6. deleted rows: FULL_TABLE with ACTIVATE_VERSION ---------------------------------------


def full_table_catalog(config, entity):
    """The catalog with `entity` selected and forced to FULL_TABLE, as a weekly full sync has it."""
    catalog = full_table(discover(config))
    for entry in catalog["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["selected"] = entry["tap_stream_id"] == entity
    return catalog


def activate_versions(out, entity):
    return [m["version"] for m in out.messages if m["type"] == "ACTIVATE_VERSION" and m["stream"] == entity]


def test_full_table_sync_activates_a_version_without_the_deleted_rows(sandbox):
    """A forced FULL_TABLE sync activates one version holding every current row and no deleted one."""
    config = tap_config(sandbox, ENTITY, emit_activate_version_messages=True)
    catalog = full_table_catalog(config, ENTITY)
    burst = sandbox.activity(entity=ENTITY, inserts=0, updates=0, deletes=4)
    deleted = changed_ids(burst, "deleted")
    assert deleted, "precondition: rows were deleted at the source"
    out = sync(config, catalog=catalog, state=None)
    versions = activate_versions(out, ENTITY)
    assert len(versions) >= 1
    assert {m.get("version") for m in out.messages if m["type"] == "RECORD"} == {versions[0]}
    emitted = {r["id"] for r in out.records(ENTITY)}
    assert not emitted & set(deleted)
    assert emitted == {r["id"] for r in sandbox.truth(ENTITY)}


def test_each_full_table_sync_has_a_newer_version(sandbox):
    """A full sync a second or more later activates a greater version (the SDK's versions are seconds)."""
    config = tap_config(sandbox, ENTITY, emit_activate_version_messages=True)
    catalog = full_table_catalog(config, ENTITY)
    first = activate_versions(sync(config, catalog=catalog), ENTITY)
    settle()
    second = activate_versions(sync(config, catalog=catalog), ENTITY)
    assert min(second) > max(first)


def test_full_table_sync_has_no_mod_ts_bounds_even_with_a_bookmark(sandbox):
    """FULL_TABLE reads by id with neither mod_ts__lt nor mod_ts__gte, so no current row is left out."""
    config = tap_config(sandbox, ENTITY, emit_activate_version_messages=True, page_size=20)
    catalog = full_table_catalog(config, ENTITY)
    state = {
        "bookmarks": {
            ENTITY: {"replication_key": "mod_ts", "replication_key_value": "2030-01-01T00:00:00+00:00"}
        }
    }
    sandbox.clear_requests()
    sync(config, catalog=catalog, state=state)
    pages = page_requests(sandbox, ENTITY)
    assert pages
    assert not [p.query for p in pages if "mod_ts__lt" in p.query or "mod_ts__gte" in p.query]


def test_rows_updated_during_a_full_table_sync_are_not_left_out(sandbox):
    """Updates during a full sync move rows past no bound: every row stays in the activated version."""
    sandbox.configure(latency_ms=10)
    config = tap_config(sandbox, ENTITY, emit_activate_version_messages=True, page_size=5)
    catalog = full_table_catalog(config, ENTITY)
    sandbox.start_activity(interval_s=0.02, entities=[ENTITY], inserts=0, updates=6, deletes=0)
    try:
        out = sync(config, catalog=catalog)
    finally:
        totals = sandbox.stop_activity()
    assert totals["updated"], "precondition: rows were updated during the sync"
    assert {r["id"] for r in out.records(ENTITY)} == {r["id"] for r in sandbox.truth(ENTITY)}


# --- 7. records that break the schema --------------------------------------------------------
# The sandbox cannot serve a malformed row, so these tests append a few to the first page the
# real sandbox answers (a wrap of the client's page_rows): everything else is the ordinary sync path.


@pytest.fixture
def inject(monkeypatch):
    """Call with (id, changes) pairs: copies of a real row with those changes join the first page."""

    def install(*bad: tuple[int, dict]) -> None:
        original = Client.page_rows
        done: list[bool] = []

        def parse(self, response, entity):
            rows = list(original(self, response, entity))
            if rows and not done and "ordering=-id" not in response.url:  # not the ordering probe
                done.append(True)
                rows += [{**copy.deepcopy(rows[0]), "id": ident, **changes} for ident, changes in bad]
            return rows

        monkeypatch.setattr(Client, "page_rows", parse)

    return install


def warnings_of(caplog):
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def real_records(out):
    return [r for r in out.records(ENTITY) if r["id"] is not None and r["id"] < 90000]


def test_unknown_field_is_dropped_with_one_warning_naming_it(sandbox, inject, caplog):
    """A field the catalog lacks is not emitted; one warning names it, however many rows carry it."""
    inject((90001, {"surprise_col": 1}), (90002, {"surprise_col": 2}))
    out = sync(tap_config(sandbox, ENTITY))
    assert all("surprise_col" not in r for r in out.records(ENTITY))
    assert len([m for m in warnings_of(caplog) if "'surprise_col'" in m]) == 1
    assert_nothing_lost(real_records(out), sandbox.truth(ENTITY), out.schema(ENTITY))


def test_wrong_type_is_coerced_when_lossless_and_nulled_otherwise_with_one_warning_per_field(
    sandbox, inject, caplog
):
    """ "7" in an integer column becomes 7; "abc" in a number column, or a bad date-time, becomes null."""
    inject(
        (90001, {"seq_nbr": "7", "cost": "abc", "create_ts": "yesterday", "mod_user": 12345}),
        (90002, {"cost": "xyz"}),
    )
    out = sync(tap_config(sandbox, ENTITY))
    bad = {r["id"]: r for r in out.records(ENTITY) if r["id"] in (90001, 90002)}
    assert bad[90001]["seq_nbr"] == 7
    assert bad[90001]["cost"] is None
    assert bad[90001]["create_ts"] is None
    assert bad[90001]["mod_user"] == "12345"
    assert bad[90002]["cost"] is None
    for field in ("seq_nbr", "cost", "create_ts", "mod_user"):
        assert len([m for m in warnings_of(caplog) if f"field '{field}'" in m]) == 1, field
    assert_nothing_lost(real_records(out), sandbox.truth(ENTITY), out.schema(ENTITY))


def test_unparsable_mod_ts_never_becomes_the_bookmark(sandbox, inject):
    """A garbage mod_ts is emitted as null, so the bookmark stays a real date-time."""
    inject((90001, {"mod_ts": "not-a-time"}))
    out = sync(tap_config(sandbox, ENTITY, sequenced_ordering="ignored"))
    assert instant(out.bookmark(ENTITY)) == max(instant(r["mod_ts"]) for r in sandbox.truth(ENTITY))


def test_record_with_null_id_is_skipped_with_a_warning(sandbox, inject, caplog):
    """A row without id cannot be upserted: it is skipped, with a warning; every other row arrives."""
    inject((None, {}))
    out = sync(tap_config(sandbox, ENTITY))
    assert all(r["id"] is not None for r in out.records(ENTITY))
    assert [m for m in warnings_of(caplog) if "null 'id'" in m and "skipped" in m]
    assert_nothing_lost(real_records(out), sandbox.truth(ENTITY), out.schema(ENTITY))


@pytest.mark.parametrize("bad", [(90001, {"cost": "abc"}), (None, {})])
def test_strict_schema_stops_the_sync_on_a_schema_break(sandbox, inject, bad):
    """strict_schema: a wrong type or a null id stops the run with an error naming stream and field."""
    inject(bad)
    with pytest.raises(SchemaBreakError, match=rf"Stream '{ENTITY}'.*strict_schema"):
        sync(tap_config(sandbox, ENTITY, strict_schema=True))
