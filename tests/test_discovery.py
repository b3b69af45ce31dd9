"""Dynamic discovery: every entity the tenant exposes becomes a typed stream."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from tapruns import discover, next_second, page_requests, shaped, sync, tap_config

from tap_oracle_wms.lgfapi.throttle import Throttle
from tap_oracle_wms.run import StreamsFailedError
from tap_oracle_wms.streams import CORE_ENTITIES


def streams_of(catalog: dict) -> dict[str, dict]:
    """The entity streams of a catalog (wms_row_counts, the tap's own stream, left out)."""
    return {e["tap_stream_id"]: e for e in catalog["streams"] if e["tap_stream_id"] != "wms_row_counts"}


def describe_requests(sandbox) -> list:
    return [r for r in sandbox.requests if r.path.rstrip("/").endswith("/describe")]


def catalog_names(sandbox) -> list[str]:
    import requests

    payload = requests.get(sandbox.api_url + "entity/", auth=("admin", "admin-password"), timeout=10).json()
    return sorted(payload)


def selected(catalog: dict) -> set[str]:
    return {
        entry["tap_stream_id"]
        for entry in catalog["streams"]
        if next(m for m in entry["metadata"] if m["breadcrumb"] == [])["metadata"].get("selected")
    }


def test_discover_cli_prints_every_sandbox_entity(sandbox, tmp_path):
    """`tap-oracle-wms --discover` lists every entity of the tenant's catalog, core ones included."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config(sandbox)))
    result = subprocess.run(
        [sys.executable, "-m", "tap_oracle_wms", "--config", str(config), "--discover"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    catalog = json.loads(result.stdout)
    names = set(streams_of(catalog))
    assert names == set(catalog_names(sandbox))
    assert set(CORE_ENTITIES) <= names


def test_every_stream_has_id_key_and_mod_ts_bookmark_where_the_entity_has_it(sandbox):
    """Primary key id everywhere; replication key mod_ts exactly where describe lists mod_ts."""
    for name, entry in streams_of(discover(tap_config(sandbox))).items():
        top = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
        assert top["table-key-properties"] == ["id"], name
        has_mod_ts = "mod_ts" in entry["schema"]["properties"]
        if name == "inventory_history":
            assert top.get("valid-replication-keys") == ["create_ts"]
        elif has_mod_ts:
            assert top.get("valid-replication-keys") == ["mod_ts"], name
        else:
            assert not top.get("valid-replication-keys"), name


def test_lookup_table_without_mod_ts_is_full_table(sandbox):
    """order_status has no mod_ts: FULL_TABLE, no replication key."""
    entry = streams_of(discover(tap_config(sandbox, "order_status")))["order_status"]
    top = next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])
    assert top["forced-replication-method"] == "FULL_TABLE"


@pytest.mark.parametrize("dialect", ["lgf", "django"])
def test_both_describe_dialects_give_the_same_schemas(sandbox, dialect):
    """Whatever the describe type vocabulary (docs/lgfapi.md 1.5 GAP), the columns are typed alike."""
    baseline = streams_of(discover(tap_config(sandbox)))
    sandbox.configure(describe_dialect=dialect)
    other = streams_of(discover(tap_config(sandbox)))
    assert without_descriptions(other) == without_descriptions(baseline)


def without_descriptions(streams: dict[str, dict]) -> dict[str, dict]:
    """Schemas minus descriptions (they quote the describe type name, which differs by dialect)."""
    return {
        name: {
            p: {k: v for k, v in prop.items() if k != "description"}
            for p, prop in entry["schema"]["properties"].items()
        }
        for name, entry in streams.items()
    }


def test_catalog_as_a_list_is_understood(sandbox):
    """The entity catalog may be a JSON list instead of an object (docs/lgfapi.md 1.4 GAP)."""
    sandbox.configure(catalog_shape="list")
    assert set(streams_of(discover(tap_config(sandbox)))) == set(catalog_names(sandbox))


def test_unreadable_entity_is_skipped_with_one_warning(sandbox, caplog):
    """A 403 on describe skips that entity with one warning naming it; discovery goes on."""
    config = tap_config(sandbox, username="limited", password="limited-password")
    with caplog.at_level(logging.WARNING):
        names = set(streams_of(discover(config)))
    assert "user" not in names
    assert "inventory" in names
    warnings = [r.getMessage() for r in caplog.records if "cannot read" in r.getMessage()]
    assert len(warnings) == 1
    assert "user" in warnings[0]


def test_include_and_exclude_globs(sandbox):
    """entities_include / entities_exclude are glob patterns over entity names."""
    config = tap_config(sandbox, "order_*", "purchase_order_*", entities_exclude=["*_dtl"])
    assert set(streams_of(discover(config))) == {
        "order_hdr",
        "order_status",
        "order_type",
        "purchase_order_hdr",
    }


def test_discovery_selects_only_the_core_entities_by_default(sandbox):
    """All entities are discovered; only the eight core ones come selected."""
    catalog = discover(tap_config(sandbox))
    assert len(catalog["streams"]) > len(CORE_ENTITIES)
    assert selected(catalog) == set(CORE_ENTITIES)


def test_entity_named_in_entities_include_is_selected_too(sandbox):
    """An entity named exactly in entities_include is selected; a glob match is only discovered."""
    catalog = discover(tap_config(sandbox, "wave", "order_status", "purchase_order_*"))
    names = {e["tap_stream_id"] for e in catalog["streams"]}
    assert {"purchase_order_hdr", "purchase_order_dtl"} <= names
    assert selected(catalog) == {"wave", "order_status"}


def test_only_included_entities_are_described(sandbox):
    """A short discovery describes only what it includes."""
    discover(tap_config(sandbox, "wave"))
    assert [r.path.split("/")[-3] for r in describe_requests(sandbox)] == ["wave"]


def test_describe_cache_skips_describe_calls_within_its_ttl(sandbox, tmp_path):
    """With discovery_cache_ttl, a second discovery reuses the cached describe results."""
    config = tap_config(sandbox, "wave", "item", discovery_cache_ttl=3600, discovery_cache_dir=str(tmp_path))
    first = discover(config)
    sandbox.clear_requests()
    second = discover(config)
    assert describe_requests(sandbox) == []
    assert second == first


def test_expired_cache_describes_again(sandbox, tmp_path):
    """Once the TTL is over, describe is called again."""
    config = tap_config(sandbox, "wave", discovery_cache_ttl=3600, discovery_cache_dir=str(tmp_path))
    discover(config)
    cache_file = next(tmp_path.iterdir())
    data = json.loads(cache_file.read_text())
    for entry in data["entries"].values():
        entry["at"] -= 7200
    cache_file.write_text(json.dumps(data))
    sandbox.clear_requests()
    discover(config)
    assert len(describe_requests(sandbox)) == 1


def test_sync_with_a_catalog_makes_no_describe_calls(sandbox):
    """With --catalog the streams come from the catalog: a scheduled run costs no describe."""
    config = tap_config(sandbox, "wave", "item")
    catalog = discover(config)
    sandbox.clear_requests()
    sync(config, catalog=catalog)
    assert describe_requests(sandbox) == []


def test_non_core_entity_syncs_in_full_and_incrementally(sandbox):
    """purchase_order_hdr (not a core stream) syncs like any other: full, then only changes."""
    config = tap_config(sandbox, "purchase_order_hdr", lookback_seconds=0)
    first = sync(config)
    schema = first.schema("purchase_order_hdr")
    truth = {r["id"]: shaped(r, schema) for r in sandbox.truth("purchase_order_hdr")}
    assert {r["id"]: r for r in first.records("purchase_order_hdr")} == truth
    changed = sandbox.activity(entity="purchase_order_hdr", inserts=2, updates=3, deletes=0)
    next_second()
    second = sync(config, state=first.last_state)
    ids = {r["id"] for r in second.records("purchase_order_hdr")}
    assert set(changed["inserted_ids"]) | set(changed["updated_ids"]) <= ids
    assert len(ids) < len(truth)


def test_inventory_history_syncs_every_row_through_its_filter_combination(sandbox):
    """inventory_history: one partition per facility, company, history activity and status id."""
    config = tap_config(sandbox, "inventory_history", inventory_history_status_ids=[10, 90])
    out = sync(config)
    assert {r["id"] for r in out.records("inventory_history")} == {
        r["id"] for r in sandbox.truth("inventory_history")
    }
    assert all(r.status in {200, 404} for r in page_requests(sandbox, "inventory_history"))


def test_inventory_history_without_status_ids_fails_the_run_without_a_request(sandbox):
    """Selected without inventory_history_status_ids it cannot be listed: exit 1 naming the setting."""
    with pytest.raises(StreamsFailedError) as failed:
        sync(tap_config(sandbox, "inventory_history"))
    assert "inventory_history" in failed.value.failures
    assert "set inventory_history_status_ids" in failed.value.failures["inventory_history"]
    assert failed.value.output.records("inventory_history") == []  # type: ignore[attr-defined]
    assert page_requests(sandbox, "inventory_history") == []


def refused_describes(sandbox, config: dict) -> int:
    sandbox.clear_requests()
    discover(config)
    return sum(1 for r in describe_requests(sandbox) if r.status == 429)


def test_describes_slow_down_when_the_tenant_throttles(sandbox, monkeypatch):
    """describe_concurrency 8 against a tenant that answers 429 above 2 in flight: discovery completes,
    and the describes in flight are halved on 429, so far fewer are refused than at a fixed 8."""
    sandbox.configure(extra_entities=40, max_concurrency=2, latency_ms=20, retry_after_s=0)
    config = tap_config(sandbox, describe_concurrency=8, max_retries=200)
    adaptive = refused_describes(sandbox, config)
    monkeypatch.setattr(Throttle, "lower", lambda self, epoch: None)
    fixed = refused_describes(sandbox, config)
    assert adaptive * 5 <= fixed, (adaptive, fixed)  # measured: 5-9 vs 255-541 (2 busy cores)
