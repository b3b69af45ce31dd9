"""Listing pages: sequenced mode, page size, links followed verbatim, empty lists, fields= as selected."""

from __future__ import annotations

import pytest
from tapruns import discover, page_requests, sync, tap_config

from tap_oracle_wms.lgfapi.errors import FatalError
from tap_oracle_wms.run import StreamsFailedError

# A fatal failure, whichever side reports it: the client (the run stops) or the run (streams failed).
FATAL = (FatalError, StreamsFailedError)


def list_requests(sandbox, entity: str):
    return page_requests(sandbox, entity)


# --- paging ---------------------------------------------------------------------------------


def test_first_page_asks_for_sequenced_mode_page_size_and_ordering(sandbox):
    """The first request sets page_mode=sequenced, page_size and ordering=mod_ts,id."""
    sync(tap_config(sandbox, "location", page_size=40))
    first = list_requests(sandbox, "location")[0]
    assert first.query["page_mode"] == "sequenced"
    assert first.query["page_size"] == "40"
    assert first.query["ordering"] == "mod_ts,id"


def test_next_page_link_followed_verbatim(sandbox):
    """Every later request is exactly the server's next_page link: its cursor, nothing rebuilt."""
    out = sync(tap_config(sandbox, "location", page_size=6))
    pages = list_requests(sandbox, "location")
    assert len(pages) >= 3
    assert all("cursor" in page.query for page in pages[1:])
    assert all(page.query.get("page_size") == "6" for page in pages)
    assert len(out.records("location")) == len(sandbox.truth("location"))


def test_empty_list_404_yields_no_rows(sandbox):
    """A list that matches nothing is a 404 with the error body: zero rows, not a failure."""
    config = tap_config(sandbox, "wave", stream_filters={"wave": {"id__lt": 0}})
    out = sync(config)
    assert out.records("wave") == []
    assert list_requests(sandbox, "wave")[0].status == 404


def test_other_404_is_fatal_and_names_base_url(sandbox):
    """A 404 that is not an empty list (wrong environment in base_url) stops the run."""
    config = tap_config(sandbox, "wave", base_url=sandbox.base_url + "-nope")
    with pytest.raises(FATAL, match="base_url"):
        sync(config)


def test_selected_subset_is_pushed_down_as_fields(sandbox):
    """Deselecting properties sends fields= with the selected ones (plus id and mod_ts)."""

    config = tap_config(sandbox, "item")
    catalog = discover(config)
    entry = catalog["streams"][0]
    keep = {"id", "mod_ts", "company_id"}
    for md in entry["metadata"]:
        crumb = md["breadcrumb"]
        if crumb == []:
            md["metadata"]["selected"] = True
        elif crumb[-1] not in keep:
            md["metadata"]["selected"] = False
    sandbox.clear_requests()
    out = sync(config, catalog=catalog)
    first = list_requests(sandbox, "item")[0]
    assert set(first.query["fields"].split(",")) == keep
    assert all(set(r) == keep for r in out.records("item"))
