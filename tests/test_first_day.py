"""A data engineer's first day: sensible default selection, progress they can watch, a quiet --test."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from tapruns import discover, tap_config

from tap_oracle_wms.streams import CORE_ENTITIES

ROOT = Path(__file__).resolve().parent.parent
TAP = str(Path(sys.executable).with_name("tap-oracle-wms"))


def run_tap(tmp_path: Path, config: dict, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_ORACLE_WMS_")}
    return subprocess.run(
        [TAP, "--config", str(path), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def selected(catalog: dict) -> set[str]:
    return {
        entry["tap_stream_id"]
        for entry in catalog["streams"]
        if next(m for m in entry["metadata"] if m["breadcrumb"] == [])["metadata"].get("selected")
    }


# --- default selection ------------------------------------------------------------------------


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


def test_meltano_selects_the_core_entities_by_default():
    """meltano.yml and the plugin definition select the core entities (Meltano's default is all)."""
    rules = [f"{entity}.*" for entity in CORE_ENTITIES]
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    extractor = next(p for p in project["plugins"]["extractors"] if p["name"] == "tap-oracle-wms")
    assert extractor["select"] == rules
    plugin = yaml.safe_load((ROOT / "plugin" / "tap-oracle-wms.meltano.yml").read_text())
    assert plugin["select"] == rules


# --- progress ---------------------------------------------------------------------------------


def test_each_stream_has_one_start_line_and_one_end_line(tmp_path, sandbox):
    """A start line says what will be read, an end line gives the totals, once per stream."""
    run = run_tap(tmp_path, tap_config(sandbox, "wave", "location"))
    assert run.returncode == 0, run.stderr
    for stream in ("wave", "location"):
        assert len(re.findall(rf"Stream '{stream}': reading rows with mod_ts", run.stderr)) == 1
        assert len(re.findall(rf"Stream '{stream}': done, \d+ rows in \d+ pages", run.stderr)) == 1


def test_run_ends_with_a_summary_table_of_every_stream(tmp_path, sandbox):
    """The last lines on stderr are a table: stream, rows, pages, requests, retries, seconds, notes."""
    run = run_tap(tmp_path, tap_config(sandbox, "wave", "location"))
    table = run.stderr[run.stderr.index("tap-oracle-wms run summary:") :].splitlines()
    assert table[1].split() == ["stream", "rows", "pages", "requests", "retries", "seconds", "notes"]
    rows = {line.split()[0]: line.split() for line in table[2:]}
    records = [json.loads(line) for line in run.stdout.splitlines()]
    for stream in ("wave", "location"):
        emitted = sum(1 for m in records if m["type"] == "RECORD" and m["stream"] == stream)
        assert rows[stream][1] == f"{emitted:,}"


def test_summary_names_what_was_special(tmp_path, sandbox):
    """A fallback or a failure shows in the summary's notes column."""
    config = tap_config(sandbox, "wave", "location", max_retries=0)
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(discover(config)))
    sandbox.configure(ordering_rejects=("wave:non_id",), entity_faults=("location:500",))
    run = run_tap(tmp_path, config, "--catalog", str(catalog))
    assert run.returncode == 1
    table = run.stderr[run.stderr.index("tap-oracle-wms run summary:") :]
    assert re.search(r"\n  wave .*ordering=mod_ts,id refused, read by id", table)
    assert re.search(r"\n  location .*failed", table)
    assert run.stderr.strip().splitlines()[-1].startswith("tap-oracle-wms: sync failed: 1 stream failed")


def test_describe_metrics_name_their_entity(tmp_path, sandbox):
    """Discovery's request metrics (metrics_log_level INFO) are tagged with the entity described."""
    run = run_tap(tmp_path, tap_config(sandbox, "wave", metrics_log_level="INFO"), "--discover")
    assert '"stream":"wave","endpoint":"entity/wave/describe/"' in run.stderr
    assert "entity/entity/" not in run.stderr


def test_partitioned_stream_says_starting_once(tmp_path, sandbox):
    """inventory_history's partitions do not repeat the start line once per partition."""
    config = tap_config(sandbox, "inventory_history", inventory_history_status_ids=[10, 90])
    run = run_tap(tmp_path, config)
    assert run.returncode == 0, run.stderr
    assert len(re.findall(r"Starting incremental sync of 'inventory_history'", run.stderr)) <= 1
    assert len(re.findall(r"Stream 'inventory_history': reading", run.stderr)) == 1


# --- --test -----------------------------------------------------------------------------------


def test_connection_test_prints_no_error_when_nothing_is_wrong(tmp_path, sandbox):
    """--test reads one record per stream and exits 0 without an ERROR line."""
    run = run_tap(tmp_path, tap_config(sandbox, "wave", "location"), "--test")
    assert run.returncode == 0, run.stderr
    assert "ERROR" not in run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines() if '"RECORD"' in line]
    assert {m["stream"] for m in records} == {"wave", "location", "wms_row_counts"}


def test_connection_test_fails_when_a_stream_cannot_be_read(tmp_path, sandbox):
    """--test exits non-zero naming a stream that cannot be read."""
    config = tap_config(sandbox, "wave", "location", max_retries=0, request_timeout=1)
    sandbox.configure(slow_page_rows=1, slow_page_delay_s=3, slow_page_entities=("location",))
    run = run_tap(tmp_path, config, "--test")
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1].startswith("tap-oracle-wms: sync failed: 1 stream failed")
