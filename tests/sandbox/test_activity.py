"""Activity bursts with backdated rows: create_ts now, mod_ts older (a mod_ts bookmark misses them)."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from sandbox_helpers import API, state_truth

from tap_oracle_wms_sandbox import activity


def test_backdated_rows_have_an_old_mod_ts_and_a_new_create_ts(state):
    """backdate_s=3600: inserted rows get create_ts = now and mod_ts exactly one hour older."""
    out = activity.burst(state, "inventory", inserts=3, updates=0, deletes=0, backdate_s=3600)
    assert out["backdated_ids"] == out["inserted_ids"]
    assert len(out["inserted_ids"]) == 3
    rows = {r["id"]: r for r in state_truth(state, "inventory")}
    for ident in out["backdated_ids"]:
        created = datetime.fromisoformat(rows[ident]["create_ts"])
        modified = datetime.fromisoformat(rows[ident]["mod_ts"])
        assert created - modified == timedelta(hours=1)
        assert abs(datetime.now(created.tzinfo) - created) < timedelta(minutes=1)


def test_backdated_rows_are_missed_by_a_mod_ts_bookmark(client, state):
    """A mod_ts bookmark taken just before the burst misses them; create_ts finds them."""
    bookmark = max(r["mod_ts"] for r in state_truth(state, "order_hdr"))
    bookmark = max(bookmark, datetime.now().astimezone().isoformat())
    out = activity.burst(state, "order_hdr", inserts=2, updates=0, deletes=0, backdate_s=3600)
    since = {"mod_ts__gt": bookmark, "fields": "id", "page_size": "1250"}
    assert client.get(API + "entity/order_hdr/", params=since).status_code == 404
    created = {"create_ts__gt": bookmark, "fields": "id", "page_size": "1250"}
    found = client.get(API + "entity/order_hdr/", params=created).json()["results"]
    assert sorted(r["id"] for r in found) == out["backdated_ids"]


def test_plain_burst_backdates_nothing(state):
    """Without backdate_s inserted rows keep create_ts = mod_ts and backdated_ids is empty."""
    out = activity.burst(state, "wave", inserts=1, updates=0, deletes=0)
    assert out["backdated_ids"] == []
    row = next(r for r in state_truth(state, "wave") if r["id"] == out["inserted_ids"][0])
    assert row["create_ts"] == row["mod_ts"]


def test_backdate_needs_an_entity_with_mod_ts(state):
    """backdate_s on an entity without mod_ts (inventory_history) is refused."""
    with pytest.raises(ValueError, match="backdate_s"):
        activity.burst(state, "inventory_history", inserts=1, backdate_s=60)


def test_admin_activity_route_backdates(sandbox):
    """POST /_admin/activity {"backdate_s": ...} and Sandbox.activity(backdate_s=...) name the rows."""
    body = {"entity": "wave", "inserts": 2, "updates": 0, "deletes": 0, "backdate_s": 3600}
    out = httpx.post(sandbox.root_url + "/_admin/activity", json=body, timeout=10).json()
    assert len(out["backdated_ids"]) == 2
    assert sandbox.activity("wave", inserts=1, updates=0, deletes=0, backdate_s=60)["backdated_ids"]
