"""Odd values and odd paging never cost a row: split listings, empty pages, poison decimals, bad ids."""

from __future__ import annotations

import logging

import pytest
from keyset_server import ENTITY, Served, config, keyset_server, rows
from tapruns import discover, sync

from tap_oracle_wms.run import StreamsFailedError


def full_table(catalog: dict) -> dict:
    """The catalog forced to FULL_TABLE, as a weekly full sync has it."""
    for entry in catalog["streams"]:
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["forced-replication-method"] = "FULL_TABLE"
    return catalog


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
