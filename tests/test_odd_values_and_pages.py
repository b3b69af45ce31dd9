"""Odd values and odd paging never cost a row: split listings, empty pages, poison decimals, bad ids."""

from __future__ import annotations

import logging

import pytest
from keyset_server import ENTITY, Served, config, keyset_server, rows
from tapruns import discover, full_table, sync

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
