"""What real tenants do that our sandbox plays on request (issue 12): each handled with no row lost."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from tapruns import (
    assert_nothing_lost,
    changed_ids,
    discover,
    full_table,
    instant,
    latest_by_id,
    page_requests,
    settle,
    sync,
    tap_config,
)

from tap_oracle_wms.lgfapi.errors import PageMissingError, RunFatalError
from tap_oracle_wms.run import StreamsFailedError

ENTITY = "inventory"  # ~50 rows at the test sandbox's scale, with create_ts


def api_hosts(sandbox) -> set[str]:
    return {r.path.split("/")[1] for r in sandbox.requests if "/wms/lgfapi/" in r.path}


# --- 1. links naming another host -----------------------------------------------------------


@pytest.mark.parametrize("origin", ["alias", "port443", "https"])
def test_links_naming_another_origin_are_read_from_base_url(sandbox, origin):
    """next_page naming another host, port form or scheme: its path and query go to base_url."""
    sandbox.configure(link_origin=origin)
    out = sync(tap_config(sandbox, ENTITY, page_size=7))
    assert len(page_requests(sandbox, ENTITY)) > 3  # pages were followed
    assert_nothing_lost(out.records(ENTITY), sandbox.truth(ENTITY), out.schema(ENTITY))


# --- 2. entities that reject an ordering ------------------------------------------------------


def test_entity_refusing_orderings_but_id_is_read_by_id(sandbox, caplog):
    """A 400 naming ordering on mod_ts,id: the entity is read with ordering=id, every row delivered."""
    sandbox.configure(ordering_rejects=(f"{ENTITY}:non_id",))
    with caplog.at_level(logging.WARNING):
        out = sync(tap_config(sandbox, ENTITY, page_size=9))
    assert_nothing_lost(out.records(ENTITY), sandbox.truth(ENTITY), out.schema(ENTITY))
    assert {r.query.get("ordering") for r in page_requests(sandbox, ENTITY) if r.status == 200} == {"id"}
    assert f"Entity '{ENTITY}' refuses ordering=mod_ts,id" in caplog.text


def test_entity_refusing_every_ordering_is_read_unordered_and_bookmarked_at_the_end(sandbox):
    """No ordering accepted: the listing is read without one; the bookmark is the greatest mod_ts."""
    sandbox.configure(ordering_rejects=(f"{ENTITY}:any",))
    out = sync(tap_config(sandbox, ENTITY, page_size=9))
    assert_nothing_lost(out.records(ENTITY), sandbox.truth(ENTITY), out.schema(ENTITY))
    assert out.bookmark(ENTITY) == max(r["mod_ts"] for r in out.records(ENTITY))


def test_ordering_probe_survives_an_entity_refusing_descending_order(sandbox):
    """The probe asks ordering=-id; a 400 to it leaves the run unsorted, never failed."""
    sandbox.configure(ordering_rejects=("*:desc",))
    out = sync(tap_config(sandbox, ENTITY, "wave", page_size=9))
    for entity in (ENTITY, "wave"):
        assert_nothing_lost(out.records(entity), sandbox.truth(entity), out.schema(entity))


def test_refused_ordering_is_remembered_for_the_run(sandbox):
    """The refused ordering is asked once per run, not once per page or per pass."""
    sandbox.configure(ordering_rejects=(f"{ENTITY}:non_id",))
    sync(tap_config(sandbox, ENTITY, page_size=9))
    refused = [r for r in page_requests(sandbox, ENTITY) if r.status == 400]
    assert len(refused) == 1


# --- 3. pages that time out -----------------------------------------------------------------------


def test_pages_that_time_out_are_asked_again_smaller_and_stay_smaller(sandbox):
    """A timeout halves the page size at the same position (down to 25), kept for the stream."""
    sandbox.configure(slow_page_rows=30, slow_page_delay_s=3, slow_page_entities=(ENTITY,))
    out = sync(tap_config(sandbox, ENTITY, page_size=100, request_timeout=1, max_retries=0))
    assert_nothing_lost(out.records(ENTITY), sandbox.truth(ENTITY), out.schema(ENTITY))
    sizes = [int(r.query["page_size"]) for r in page_requests(sandbox, ENTITY)]
    assert sizes[:3] == [100, 50, 25]
    assert set(sizes[3:]) <= {25}


# --- 4. backdated rows ------------------------------------------------------------------------------


def run_after_backdated_rows(sandbox):
    """A full run, then 3 rows created with a mod_ts an hour before its bookmark, then the next run."""
    first = sync(tap_config(sandbox, ENTITY))
    settle()
    backdate = (dt.datetime.now(dt.UTC) - instant(first.bookmark(ENTITY))).total_seconds() + 3600
    burst = sandbox.activity(entity=ENTITY, inserts=3, updates=0, deletes=0, backdate_s=backdate)
    settle()
    return first, burst, sync(tap_config(sandbox, ENTITY), state=first.last_state)


def test_rows_created_after_the_bookmark_with_an_older_mod_ts_arrive(sandbox):
    """A second pass on create_ts catches rows whose mod_ts is older than the bookmark."""
    _, burst, second = run_after_backdated_rows(sandbox)
    assert set(burst["backdated_ids"]) <= {r["id"] for r in second.records(ENTITY)}


def test_backdated_rows_never_move_the_bookmark(sandbox):
    """Only the mod_ts pass moves the bookmark: backdated rows leave it where the run found it."""
    first, _, second = run_after_backdated_rows(sandbox)
    assert instant(second.bookmark(ENTITY)) == instant(first.bookmark(ENTITY))


def test_backdated_pass_reads_no_row_twice(sandbox):
    """A row the mod_ts pass read is not read again by the create_ts pass."""
    first = sync(tap_config(sandbox, ENTITY))
    settle()
    burst = sandbox.activity(entity=ENTITY, inserts=2, updates=3, deletes=0)
    settle()
    second = sync(tap_config(sandbox, ENTITY, lookback_seconds=0), state=first.last_state)
    ids = [r["id"] for r in second.records(ENTITY)]
    assert len(ids) == len(set(ids))
    assert set(changed_ids(burst, "inserted")) <= set(ids)


# --- 5. one failing entity --------------------------------------------------------------------------


def test_one_failing_entity_does_not_stop_the_others(sandbox):
    """A stream that fails for good is named at the end; the others are complete, with their STATE."""
    config = tap_config(sandbox, "order_dtl", "wave", max_retries=0)
    catalog = discover(config)
    sandbox.configure(entity_faults=("order_dtl:500",))
    with pytest.raises(StreamsFailedError, match="order_dtl: HTTP 500") as failed:
        sync(config, catalog=catalog)
    assert set(failed.value.failures) == {"order_dtl"}
    out = failed.value.output
    assert_nothing_lost(out.records("wave"), sandbox.truth("wave"), out.schema("wave"))
    assert "wave" in out.last_state["bookmarks"]


def test_failing_unsorted_stream_keeps_its_bookmark(sandbox):
    """A stream that fails mid-listing, read unsorted, leaves its bookmark where the run found it."""
    config = tap_config(sandbox, ENTITY, page_size=9, sequenced_ordering="ignored", max_retries=0)
    first = sync(config)
    settle()
    sandbox.activity(entity=ENTITY, inserts=0, updates=30, deletes=0)
    settle()
    sandbox.configure(later_page_404="once", ordering_rejects=(f"{ENTITY}:any",))
    with pytest.raises(StreamsFailedError, match="cannot be resumed") as failed:
        sync(config, state=first.last_state)
    kept, found = failed.value.output.last_state["bookmarks"][ENTITY], first.last_state["bookmarks"][ENTITY]
    assert kept["replication_key_value"] == found["replication_key_value"]
    assert "progress_markers" not in kept


# --- 6. 404 after the first page ----------------------------------------------------------------------


@pytest.mark.parametrize("incremental", [True, False], ids=["incremental", "full table"])
def test_404_on_a_later_page_resumes_from_the_last_row(sandbox, incremental):
    """A lost later page is re-read with the tap's own keyset query: every row, exit 0."""
    sandbox.configure(later_page_404="once")
    config = tap_config(sandbox, ENTITY, page_size=7)
    catalog = discover(config) if incremental else full_table(discover(config))
    out = sync(config, catalog=catalog)
    assert_nothing_lost(out.records(ENTITY), sandbox.truth(ENTITY), out.schema(ENTITY))
    assert any(r.status == 404 for r in page_requests(sandbox, ENTITY))
    assert len(latest_by_id(out.records(ENTITY))) == len(out.records(ENTITY))


def test_404_on_a_later_page_of_an_unordered_listing_fails_clearly(sandbox):
    """Without an ordering there is no keyset to resume from: the stream fails, saying so."""
    sandbox.configure(later_page_404="once", ordering_rejects=(f"{ENTITY}:any",))
    with pytest.raises(PageMissingError, match="a page after the first answered 404"):
        sync(tap_config(sandbox, ENTITY, page_size=7, max_retries=0), raise_first_failure=True)


# --- 7. a wrong base_url is not an empty tenant -------------------------------------------------------


def test_wrong_environment_with_a_catalog_fails_naming_base_url(sandbox):
    """With --catalog (no discovery), a base_url that serves no entity API stops the run in one line."""
    config = tap_config(sandbox, "wave")
    catalog = discover(config)
    wrong = {**config, "base_url": sandbox.base_url + "-typo"}
    with pytest.raises(RunFatalError, match="base_url does not serve the lgfapi entity API"):
        sync(wrong, catalog=catalog)


# --- 8. the weekly full sync never empties a table ---------------------------------------------------


def full_table_catalog(sandbox, *entities):
    return full_table(discover(tap_config(sandbox, *entities)))


def test_activate_version_follows_the_streams_records(sandbox):
    """ACTIVATE_VERSION comes after the last RECORD of its stream, never before the first."""
    catalog = full_table_catalog(sandbox, "wave")
    out = sync(tap_config(sandbox, "wave", emit_activate_version_messages=True), catalog=catalog)
    kinds = [m["type"] for m in out.messages if m.get("stream") == "wave"]
    assert kinds.count("ACTIVATE_VERSION") == 1
    assert kinds.index("ACTIVATE_VERSION") > max(i for i, k in enumerate(kinds) if k == "RECORD")


def test_failed_full_sync_sends_no_activate_version(sandbox):
    """A stream that fails never activates its version, so a hard_delete target deletes nothing."""
    catalog = full_table_catalog(sandbox, ENTITY)
    sandbox.configure(later_page_404="once", ordering_rejects=(f"{ENTITY}:any",))
    config = tap_config(sandbox, ENTITY, page_size=7, emit_activate_version_messages=True, max_retries=0)
    with pytest.raises(StreamsFailedError) as failed:
        sync(config, catalog=catalog)
    assert not [m for m in failed.value.output.messages if m["type"] == "ACTIVATE_VERSION"]


# --- 11. pages with no rows before the end ---------------------------------------------------------


@pytest.mark.parametrize("incremental", [True, False], ids=["incremental", "full table"])
def test_a_page_with_no_rows_but_a_next_page_does_not_end_the_listing(sandbox, incremental):
    """Every later page first answers no rows and a next_page: only next_page decides, every row read."""
    sandbox.configure(empty_pages="on")
    config = tap_config(sandbox, ENTITY, page_size=7)
    catalog = discover(config) if incremental else full_table(discover(config))
    out = sync(config, catalog=catalog)
    assert any(r.query.get("emptied") == "1" for r in page_requests(sandbox, ENTITY))
    assert_nothing_lost(out.records(ENTITY), sandbox.truth(ENTITY), out.schema(ENTITY))
