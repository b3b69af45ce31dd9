"""Odd values and odd paging never cost a row: split listings, empty pages, poison decimals, bad ids."""

from __future__ import annotations

import logging

import pytest
from clirun import PREFIX, run_tap
from keyset_server import ENTITY, Served, config, keyset_server, rows
from tapruns import assert_nothing_lost, discover, full_table, sync, tap_config

from tap_oracle_wms.engine import LinkLoopError
from tap_oracle_wms.lgfapi.paging import list_rows
from tap_oracle_wms.records import SchemaBreakError
from tap_oracle_wms.run import StreamsFailedError
from tap_oracle_wms.tap import TapOracleWMS


def ids_of(out) -> list:
    return [r["id"] for r in out.records(ENTITY)]


# --- 1. a split listing's first chain goes on past a row whose key cannot be read ---------------


def test_unparsable_mod_ts_in_a_split_listing_loses_no_row(caplog):
    """Row 150's mod_ts cannot be parsed: it is emitted (null, warned) and rows after it still come."""
    served = Served(rows(1000, **{"150": {"mod_ts": "2024-01-01T00:02:30 UTC"}}))
    with keyset_server(served) as base_url:
        settings = config(base_url, page_size=100)
        with caplog.at_level(logging.WARNING):
            out = sync(settings, catalog=discover(settings))
    assert sorted(set(ids_of(out))) == list(range(1, 1001))
    assert any("mod_ts" in r.getMessage() and "id=150" in r.getMessage() for r in caplog.records)
    assert any("mod_ts__lt" in q for q in served.requests)  # the listing was read in ranges


def test_string_id_in_a_split_full_table_listing_loses_no_row():
    """Row 150 sends its id as "150": it is coerced to 150, and rows after it still come."""
    served = Served(rows(1000, **{"150": {"id": "150"}}))
    with keyset_server(served) as base_url:
        settings = config(base_url, page_size=100, emit_activate_version_messages=True)
        out = sync(settings, catalog=full_table(discover(settings)))
    assert sorted(set(ids_of(out))) == list(range(1, 1001))
    assert any("id__lt" in q for q in served.requests)  # the listing was read in ranges


# --- 5. a record whose id is not an integer is skipped, each with a warning ----------------------


def warnings_about(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and text in r.getMessage()]


def test_records_whose_id_is_no_integer_are_skipped_each_with_a_warning(caplog):
    """ids "abc", 12.5 and true name no row: each record is skipped and named, the others come."""
    served = Served(rows(30, **{"5": {"id": "abc"}, "6": {"id": 12.5}, "7": {"id": True}}))
    with keyset_server(served) as base_url, caplog.at_level(logging.WARNING):
        settings = config(base_url)
        out = sync(settings, catalog=discover(settings))
    assert ids_of(out) == [i for i in range(1, 31) if i not in {5, 6, 7}]
    assert len(warnings_about(caplog, "it is skipped")) == 3
    assert any("'id' 'abc' (str)" in line for line in warnings_about(caplog, "it is skipped"))


def test_an_integer_id_sent_as_text_is_coerced():
    """id "8" is the integer 8: emitted as 8, not skipped."""
    served = Served(rows(30, **{"8": {"id": "8"}}))
    with keyset_server(served) as base_url:
        settings = config(base_url)
        out = sync(settings, catalog=discover(settings))
    assert ids_of(out) == list(range(1, 31))


def test_strict_schema_stops_at_a_record_whose_id_is_no_integer():
    """With strict_schema the first such record stops the stream, named."""
    served = Served(rows(30, **{"5": {"id": "abc"}}))
    with keyset_server(served) as base_url:
        settings = config(base_url, strict_schema=True)
        with pytest.raises(SchemaBreakError, match=r"'id' 'abc' \(str\).*strict_schema is on"):
            sync(settings, catalog=discover(settings))


# --- 8. NaN and infinities in a decimal field: null with a warning, never a crash ---------------


@pytest.mark.parametrize("poison", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_non_finite_decimal_is_emitted_as_null_with_a_warning(caplog, poison):
    """ "NaN" in a decimal column fits no target column: emitted as null, warned, the run goes on."""
    served = Served(rows(30, **{"9": {"amount": poison}}))
    with keyset_server(served) as base_url, caplog.at_level(logging.WARNING):
        settings = config(base_url)
        out = sync(settings, catalog=discover(settings))
    records = {r["id"]: r for r in out.records(ENTITY)}
    assert len(records) == 30
    assert records[9]["amount"] is None
    assert records[10]["amount"] is not None
    assert warnings_about(caplog, "not a finite number")


def test_strict_schema_stops_at_a_non_finite_decimal_with_one_line():
    """With strict_schema, "NaN" stops the sync with the schema line, not an unexpected error."""
    served = Served(rows(30, **{"9": {"amount": "NaN"}}))
    with keyset_server(served) as base_url:
        settings = config(base_url, strict_schema=True)
        with pytest.raises(
            SchemaBreakError, match=r"field 'amount' of record id=9 has 'NaN' \(not a finite number\)"
        ):
            sync(settings, catalog=discover(settings))


def test_a_huge_bad_value_is_cut_short_in_its_warning(caplog):
    """A 1 MB junk value in a number column makes a warning of a few hundred characters."""
    served = Served(rows(5, **{"2": {"amount": "x" * 1_000_000}}))
    with keyset_server(served) as base_url, caplog.at_level(logging.WARNING):
        settings = config(base_url)
        sync(settings, catalog=discover(settings))
    (line,) = warnings_about(caplog, "field 'amount'")
    assert len(line) < 600


# --- 2. only next_page decides whether more follows -----------------------------------------------


def blank_page_at(offset_wanted: int):
    """Paging where the page at `offset_wanted` comes back empty once, its next_page asking it again."""

    def paging(found, listing, offset, following):
        cursor = listing.get("_blank")
        if offset == offset_wanted and cursor is None:
            return [], {**listing, "_blank": "1", "cursor": str(offset)}
        rest = {k: v for k, v in listing.items() if k != "_blank"}
        return found, None if following is None else {**rest, "cursor": str(following)}

    return paging


def test_an_empty_page_with_a_next_page_does_not_end_the_listing():
    """Page 2 has no rows but links on: the listing goes on, all 30 rows come."""
    served = Served(rows(30), paging=blank_page_at(10))
    with keyset_server(served) as base_url:
        settings = config(base_url, page_size=10, emit_activate_version_messages=True)
        out = sync(settings, catalog=full_table(discover(settings)))
    assert ids_of(out) == list(range(1, 31))


# --- 7. next_page loops that never repeat a URL ---------------------------------------------------


def alternating_cursors(found, listing, offset, following):
    """Pages 1 and 2 link to each other for ever, each link with a fresh `r` parameter."""
    turn = int(listing.get("r", "0")) + 1
    return found, {**listing, "r": str(turn), "cursor": "10" if offset == 0 else "0"}


def fresh_cursors_same_rows(found, listing, offset, following):
    """Every page links to a new cursor that serves the first page's rows again."""
    turn = int(listing.get("r", "0")) + 1
    return found, {**listing, "r": str(turn), "cursor": f"0-{turn}"}


def empty_pages_for_ever(found, listing, offset, following):
    """After the first page, empty pages that always link to one more."""
    turn = int(listing.get("r", "0")) + 1
    return (found if turn == 1 else []), {**listing, "r": str(turn), "cursor": "99999"}


@pytest.mark.parametrize("paging", [alternating_cursors, fresh_cursors_same_rows, empty_pages_for_ever])
def test_next_page_links_that_loop_with_fresh_urls_fail_the_stream_clearly(paging):
    """Links that keep serving rows already read (or none) fail the stream instead of running for ever."""
    served = Served(rows(30), paging=paging)
    with keyset_server(served) as base_url:
        settings = config(base_url, page_size=10)
        with pytest.raises(
            StreamsFailedError, match="pages in a row brought no row that was not already read"
        ):
            sync(settings, catalog=full_table(discover(settings)))
    assert len(served.requests) < 20


# --- next_page links: relative ones continue the page, links elsewhere are refused ---------------


def relative_links(found, listing, offset, following):
    """next_page as a bare query (`?cursor=10&...`), relative to the page it came with."""
    if following is None:
        return found, None
    return found, "?" + "&".join(f"{k}={v}" for k, v in {**listing, "cursor": str(following)}.items())


def other_environment(found, listing, offset, following):
    """next_page into another environment on the same host."""
    return found, "/otherenv/wms/lgfapi/v10/entity/thing/?cursor=10"


def test_a_relative_next_page_continues_the_listing():
    """`?cursor=10` resolves against the page's URL: every row comes, none from the host root."""
    served = Served(rows(30), paging=relative_links)
    with keyset_server(served) as base_url:
        settings = config(base_url, page_size=10)
        out = sync(settings, catalog=full_table(discover(settings)))
    assert ids_of(out) == list(range(1, 31))
    assert all(q["path"].startswith("/env/") for q in served.requests)


def test_a_next_page_into_another_environment_is_refused():
    """A link to /otherenv/ on the same host fails the stream clearly; nothing is sent there."""
    served = Served(rows(30), paging=other_environment)
    with keyset_server(served) as base_url:
        settings = config(base_url, page_size=10)
        with pytest.raises(StreamsFailedError, match="next_page link leads outside base_url's entity API"):
            sync(settings, catalog=full_table(discover(settings)))
    assert all(q["path"].startswith("/env/") for q in served.requests)


def test_a_small_entity_listed_whole_fails_on_looping_links_too():
    """The listing of a small entity (facilities, companies for history partitions) cannot loop for ever."""
    served = Served(rows(30), paging=fresh_cursors_same_rows)
    with keyset_server(served) as base_url:
        tap = TapOracleWMS(config=config(base_url, page_size=10), validate_config=True)
        with pytest.raises(LinkLoopError, match="pages in a row brought no row"):
            list_rows(tap.run.client, ENTITY, "id", None)
    assert len(served.requests) < 10


# --- a lone UTF-16 surrogate escape is no poison row ------------------------------------------------


def test_a_lone_surrogate_escape_in_text_is_read_as_a_replacement_character(caplog):
    """Row 150's name holds "\\ud800" (half a UTF-16 pair): its page is read, the text gets U+FFFD."""
    served = Served(rows(300, **{"150": {"name": "thing \ud800 150"}}))
    with keyset_server(served) as base_url:
        settings = config(base_url, page_size=100)
        with caplog.at_level(logging.WARNING):
            out = sync(settings, catalog=discover(settings))
    assert sorted(set(ids_of(out))) == list(range(1, 301))
    (row,) = [r for r in out.records(ENTITY) if r["id"] == 150]
    assert row["name"] == "thing \ufffd 150"
    assert any("surrogate" in r.getMessage() for r in caplog.records)


# --- the same findings played by the sandbox (knobs odd_values and next_page_loop) ---------------

ODD = "order_dtl"


def expected_with_odd_values(sandbox, entity: str) -> tuple[list[dict], set[int]]:
    """What a correct tap emits of the entity's rows with odd_values on, as the README promises
    (the ground truth, with an unparsable date-time or a non-finite number null and an integer
    sent as text read as that integer), and the true ids of the rows skipped (an id that is no integer)."""
    truth = {row["id"]: dict(row) for row in sandbox.truth(entity)}
    skipped = set()
    for odd in sandbox.odd_values(entity):
        if odd["field"] != "id":
            truth[odd["id"]][odd["field"]] = None
        elif odd["sent"] != str(odd["id"]):
            skipped.add(odd["id"])
            del truth[odd["id"]]
    return list(truth.values()), skipped


def odd_sync(sandbox, caplog, method: str):
    """A split sync of ODD (page_size 10: the engine reads it in key ranges, the first range holding
    odd rows of every kind) with odd_values on."""
    settings = tap_config(sandbox, ODD, page_size=10, emit_activate_version_messages=True)
    catalog = discover(settings)
    if method == "FULL_TABLE":
        catalog = full_table(catalog)
    sandbox.configure(odd_values=(ODD,))
    with caplog.at_level(logging.INFO):
        return sync(settings, catalog=catalog)


@pytest.mark.parametrize("method", ["INCREMENTAL", "FULL_TABLE"])
def test_a_split_listing_with_odd_values_loses_no_row(sandbox, caplog, method):
    """Odd ids, an unparsable mod_ts and NaN/Infinity inside a listing read in key ranges: every
    other row arrives as the ground truth has it, the odd ones as the README promises."""
    out = odd_sync(sandbox, caplog, method)
    expected, skipped = expected_with_odd_values(sandbox, ODD)
    records = out.records(ODD)
    assert_nothing_lost(records, expected, out.schema(ODD))
    assert {r["id"] for r in records} == {row["id"] for row in expected}
    assert skipped
    key = "mod_ts" if method == "INCREMENTAL" else "id"
    assert any(f"{key} ranges" in r.getMessage() for r in caplog.records)  # the listing was split


def test_an_integer_id_sent_as_text_in_a_full_table_sync_is_that_integer(sandbox, caplog):
    """Rows sending "id": "<n>" are emitted once each with the integer id, before ACTIVATE_VERSION."""
    out = odd_sync(sandbox, caplog, "FULL_TABLE")
    as_text = [o["id"] for o in sandbox.odd_values(ODD) if o["sent"] == str(o["id"])]
    assert sorted(r["id"] for r in out.records(ODD) if r["id"] in as_text) == as_text
    assert all(type(r["id"]) is int for r in out.records(ODD))
    types = [m["type"] for m in out.messages]
    assert types.count("ACTIVATE_VERSION") == 1
    assert types.index("ACTIVATE_VERSION") > len(types) - 1 - types[::-1].index(
        "RECORD"
    )  # after every record


def test_each_record_whose_id_is_no_integer_is_skipped_with_its_own_warning(sandbox, caplog):
    """ids "abc", 12.5 and true: each such record skipped, with a warning of its own naming its value."""
    odd_sync(sandbox, caplog, "INCREMENTAL")
    _, skipped = expected_with_odd_values(sandbox, ODD)
    lines = warnings_about(caplog, "it is skipped")
    assert len(lines) == len(skipped) >= 3
    for shown in ("'abc' (str)", "'12.5' (Decimal)", "'True' (bool)"):
        assert any(shown in line for line in lines), shown


def test_an_unparsable_mod_ts_is_emitted_as_null_with_a_warning_naming_a_record(sandbox, caplog):
    """Rows whose mod_ts reads 'YYYY-MM-DDTHH:MM:SS UTC' arrive with mod_ts null; the warning names one."""
    out = odd_sync(sandbox, caplog, "INCREMENTAL")
    odd = {o["id"] for o in sandbox.odd_values(ODD) if o["field"] == "mod_ts"}
    assert [r["mod_ts"] for r in out.records(ODD) if r["id"] in odd] == [None] * len(odd)
    (line,) = warnings_about(caplog, "field 'mod_ts'")
    assert "unparsable date-time text" in line
    assert any(f"id={ident} " in line for ident in odd)
    assert out.bookmark(ODD) is not None


def test_nan_and_infinity_are_emitted_as_null_with_one_warning_for_the_field(sandbox, caplog):
    """ "NaN" and "Infinity" in ord_qty: those records arrive with ord_qty null; one warning for the field."""
    out = odd_sync(sandbox, caplog, "FULL_TABLE")
    poisoned = {o["id"] for o in sandbox.odd_values(ODD) if o["sent"] in ("NaN", "Infinity")}
    assert [r["ord_qty"] for r in out.records(ODD) if r["id"] in poisoned] == [None] * len(poisoned)
    (line,) = warnings_about(caplog, "field 'ord_qty'")
    assert "not a finite number" in line


@pytest.mark.parametrize(
    ("loop", "line"),
    [
        ("on", "points back to a page already read"),
        ("alternate", "pages in a row brought no row that was not already read"),
        ("fresh", "pages in a row brought no row that was not already read"),
    ],
)
def test_each_next_page_loop_of_the_sandbox_fails_the_stream_with_one_line(sandbox, tmp_path, loop, line):
    """A self link, pages 1 and 2 linking to each other with new URLs, and fresh URLs serving a
    page again: exit 1 within seconds, the last line naming the stream and the loop."""
    settings = tap_config(sandbox, "wave", page_size=2)
    sandbox.configure(next_page_loop=loop)
    run = run_tap(tmp_path, settings)
    assert run.code == 1
    assert "Traceback" not in run.output
    assert [x for x in run.stderr.splitlines() if x.startswith(PREFIX)] == [run.last_line]
    assert run.last_line.startswith(PREFIX + "sync failed: the only selected stream failed: wave: ")
    assert line in run.last_line
    assert len([r for r in sandbox.requests if "entity/wave" in r.path]) < 30


def emitted_once(records: list[dict], expected_ids: set[int]) -> None:
    """Every expected id emitted exactly once, and nothing else."""
    ids = [r["id"] for r in records]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    assert twice == []
    assert set(ids) == expected_ids


# At scale 400, page_size 7 and concurrency 1 put a row whose mod_ts cannot be read last in a
# key range whose bound lies before its true mod_ts: the next range (filtered by the server on
# the true value) holds it again.
@pytest.mark.parametrize("method", ["INCREMENTAL", "FULL_TABLE"])
@pytest.mark.parametrize("concurrency", [1, 2, 4])
@pytest.mark.parametrize("page_size", [7, 10, 100])
def test_a_split_listing_with_odd_values_emits_every_row_exactly_once(
    sandbox, caplog, method, concurrency, page_size
):
    """A row whose key cannot be read, at the end of a key range, is emitted by that range only;
    each row skipped for an id that is no integer is warned once."""
    sandbox.configure(scale=400)
    settings = tap_config(sandbox, ODD, page_size=page_size, concurrency=concurrency, drift_window_hours=0)
    catalog = discover(settings)
    sandbox.configure(odd_values=(ODD,))
    with caplog.at_level(logging.WARNING):
        out = sync(settings, catalog=full_table(catalog) if method == "FULL_TABLE" else catalog)
    expected, skipped = expected_with_odd_values(sandbox, ODD)
    emitted_once(out.records(ODD), {row["id"] for row in expected})
    assert len(warnings_about(caplog, "it is skipped")) == len(skipped)


@pytest.mark.parametrize("loop", ["on", "alternate", "fresh"])
def test_pages_served_again_by_a_looping_next_page_are_not_emitted_again(sandbox, loop):
    """Before the loop is called one, a page whose rows were read already emits none of them:
    the stream fails, and no row was written twice."""
    settings = tap_config(sandbox, "wave", page_size=2, concurrency=1)
    catalog = discover(settings)
    sandbox.configure(next_page_loop=loop)
    with pytest.raises(StreamsFailedError, match=r"wave: .*stopping instead of looping") as failed:
        sync(settings, catalog=catalog)
    ids = [r["id"] for r in failed.value.output.records("wave")]  # type: ignore[attr-defined]
    assert ids
    assert len(ids) == len(set(ids))


# --- 4. a mod_ts that is null or unparsable: the tap's named warning, not the SDK's unnamed one -----

SDK_NULL_WARNING = "New replication value is null"


def test_an_unparsable_mod_ts_brings_only_the_warning_that_names_its_record(sandbox, caplog):
    """The shaper's warning names stream, field and record; the SDK's unnamed one is not logged."""
    odd_sync(sandbox, caplog, "INCREMENTAL")
    assert warnings_about(caplog, "field 'mod_ts'")
    assert warnings_about(caplog, SDK_NULL_WARNING) == []


def test_records_sent_with_a_null_mod_ts_are_emitted_with_one_warning_naming_one(caplog):
    """mod_ts null on two rows: both emitted, one warning naming the stream and a record, and none
    of the SDK's (once per record, naming nothing)."""
    served = Served(rows(30, **{"5": {"mod_ts": None}, "6": {"mod_ts": None}}))
    with keyset_server(served) as base_url:
        settings = config(base_url)
        catalog = discover(settings)
        with caplog.at_level(logging.WARNING):
            out = sync(settings, catalog=catalog)
    assert sorted(ids_of(out)) == list(range(1, 31))
    (line,) = warnings_about(caplog, "null 'mod_ts'")
    assert f"Stream '{ENTITY}': record id=5 has a null 'mod_ts'" in line
    assert warnings_about(caplog, SDK_NULL_WARNING) == []


def test_the_ordering_probe_reads_an_id_sent_as_text(sandbox, caplog):
    """At scale 400 wave's two highest ids, which the ordering probe asks for, are 4 and "3": the
    probe reads "3" as 3 (it compared an int with a str and ended the run) and every row comes."""
    sandbox.configure(scale=400)
    settings = tap_config(sandbox, "wave")
    catalog = discover(settings)
    sandbox.configure(odd_values=("wave",))
    assert {"id": 3, "field": "id", "sent": "3"} in sandbox.odd_values("wave")
    with caplog.at_level(logging.INFO):
        out = sync(settings, catalog=catalog)
    assert sorted(r["id"] for r in out.records("wave")) == sorted(r["id"] for r in sandbox.truth("wave"))
    assert any("honour the requested ordering" in r.getMessage() for r in caplog.records)


# --- a page lost (404) among odd values, and lost again at the same second ----------------------


@pytest.mark.parametrize("entity", ["order_dtl", "inventory"])
def test_a_listing_resumed_after_a_lost_page_among_odd_values_emits_every_row_once(sandbox, entity):
    """The resumed listing holds rows whose id is text ("150") or no integer: they are compared as
    the integers they name (a str compared with an int ended the run), and rows read before the
    lost page, odd ones included, are not emitted again."""
    settings = tap_config(sandbox, entity, page_size=7, concurrency=1)
    catalog = discover(settings)
    sandbox.configure(later_page_404="once", odd_values=(entity,))
    out = sync(settings, catalog=catalog)
    expected, _ = expected_with_odd_values(sandbox, entity)
    emitted_once(out.records(entity), {row["id"] for row in expected})
    assert any(r.status == 404 for r in sandbox.requests)


def test_a_listing_resumed_twice_from_the_same_second_is_not_taken_for_a_loop(sandbox):
    """One page in five lost: a listing resumed again from a row of the same second asks the same
    query, so its links repeat the earlier resume's: no loop (it failed the stream), and every
    row comes once."""
    settings = tap_config(sandbox, ODD, page_size=7, concurrency=1)
    catalog = discover(settings)
    sandbox.configure(later_page_404="0.2")
    out = sync(settings, catalog=catalog)
    emitted_once(out.records(ODD), {row["id"] for row in sandbox.truth(ODD)})


def test_a_listing_lost_again_while_catching_up_resumes_after_its_last_new_row(sandbox):
    """A page lost while the resumed listing re-reads a long tie (seeded rows on one second): the
    next resume starts after the last row emitted, not after the last row re-read (it went back
    30 rows, whose re-reading was then taken for a loop and failed the stream)."""
    sandbox.configure(scale=400)
    settings = tap_config(sandbox, ODD, page_size=7, concurrency=1)
    catalog = discover(settings)
    sandbox.configure(later_page_404="0.2")
    out = sync(settings, catalog=catalog)
    emitted_once(out.records(ODD), {row["id"] for row in sandbox.truth(ODD)})
