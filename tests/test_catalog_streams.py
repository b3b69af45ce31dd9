"""A catalog stream the tenant does not have fails, named; an empty list stays an empty stream."""

from __future__ import annotations

import copy
import json

import pytest
from clirun import assert_one_line_failure, run_tap
from tapruns import discover, sync, tap_config

from tap_oracle_wms.run import StreamsFailedError


def renamed(catalog: dict, old: str, new: str) -> dict:
    """The catalog with `old`'s entry copied under the name `new` (a hand-edited catalog)."""
    out = copy.deepcopy(catalog)
    entry = copy.deepcopy(next(e for e in out["streams"] if e["tap_stream_id"] == old))
    entry["tap_stream_id"] = entry["stream"] = new
    out["streams"].append(entry)
    return out


def test_a_catalog_stream_whose_entity_the_tenant_lacks_fails_named(sandbox):
    """order_hdrr answers 404 "Unknown entity": the stream fails (exit 1) naming it; order_hdr is read."""
    config = tap_config(sandbox, "order_hdr")
    catalog = renamed(discover(config), "order_hdr", "order_hdrr")
    with pytest.raises(
        StreamsFailedError, match=r"order_hdrr: .*entity 'order_hdrr' is not in the tenant"
    ) as failed:
        sync(config, catalog=catalog)
    assert "order_hdr:" not in str(failed.value).replace("order_hdrr:", "")
    assert len(failed.value.output.records("order_hdr")) == len(sandbox.truth("order_hdr"))


def test_an_entity_whose_list_matches_nothing_is_an_empty_stream(sandbox):
    """A filter matching no row answers 404 "No records found.": zero rows, exit 0."""
    config = tap_config(sandbox, "wave", stream_filters={"wave": {"status_id": 12345}})
    out = sync(config, catalog=discover(config))
    assert out.records("wave") == []


@pytest.mark.parametrize("name", ["../order_hdr", "order_hdr/../../x", "a b", "wave?x=1"])
def test_a_catalog_stream_name_that_is_no_entity_name_is_refused(tmp_path, sandbox, name):
    """A stream name becomes a URL path segment: `..`, `/` or other characters stop the run, exit 2."""
    config = tap_config(sandbox, "wave")
    catalog = renamed(discover(config), "wave", name)
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    sandbox.clear_requests()
    run = run_tap(tmp_path, config, "--catalog", str(path))
    assert_one_line_failure(
        run,
        f"--catalog file '{path}': stream {name!r} is not an entity name "
        "(a letter, then letters, digits or _)",
        2,
    )
    assert sandbox.requests == []
