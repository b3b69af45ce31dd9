"""The sandbox's eight core streams through the real tap into target-oracle, in dry-run mode.

Only the installed commands are used (tap-oracle-wms, tap-oracle-wms-sandbox, target-oracle),
never the tap's Python modules, which move while the tap is refactored.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from oracle_checks import check_script
from sqlglot import exp
from target_helpers import STREAMS, command, parse_oracle

pytestmark = pytest.mark.slow


def tap_config(tmp_path: Path, base_url: str, **extra: object) -> Path:
    config = {
        "base_url": base_url,
        "username": "admin",
        "password": "admin-password",
        "entities_include": list(STREAMS),
        **extra,
    }
    path = tmp_path / "tap.json"
    path.write_text(json.dumps(config))
    return path


def discover(config: Path, tmp_path: Path, *, full_table: bool = False) -> Path:
    done = subprocess.run(
        [command("tap-oracle-wms"), "--config", str(config), "--discover"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    catalog = json.loads(done.stdout)
    if full_table:  # what meltano.yml's tap-oracle-wms--full-sync sets through metadata
        for stream in catalog["streams"]:
            stream["replication_method"] = "FULL_TABLE"
            for entry in stream["metadata"]:
                if entry["breadcrumb"] == []:
                    entry["metadata"]["forced-replication-method"] = "FULL_TABLE"
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


def pipe(tap_config_path: Path, catalog: Path, target_config: dict, tmp_path: Path) -> str:
    """tap --catalog | target-oracle; returns the target's stdout (its STATE lines)."""
    target_path = tmp_path / "target.json"
    target_path.write_text(json.dumps(target_config))
    with (tmp_path / "tap.err").open("w") as tap_err:
        tap = subprocess.Popen(
            [command("tap-oracle-wms"), "--config", str(tap_config_path), "--catalog", str(catalog)],
            stdout=subprocess.PIPE,
            stderr=tap_err,
        )
        target = subprocess.run(
            [command("target-oracle"), "--config", str(target_path)],
            stdin=tap.stdout,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert tap.stdout is not None
        tap.stdout.close()
        assert tap.wait(timeout=60) == 0, (tmp_path / "tap.err").read_text()[-3000:]
    assert target.returncode == 0, target.stderr[-3000:]
    return target.stdout


def test_every_core_stream_gets_a_create_table_and_a_merge(tmp_path, sandbox_url):
    """An incremental run: per stream one CREATE TABLE and a MERGE, all valid Oracle SQL, and no STATE."""
    script = tmp_path / "load.sql"
    config = tap_config(tmp_path, sandbox_url)
    state = pipe(config, discover(config, tmp_path), {"dry_run_sql_path": str(script)}, tmp_path)
    statements = parse_oracle(script.read_text())
    assert check_script(script.read_text()) == []  # Oracle's documented limits, on the real tap's output
    for stream in STREAMS:
        table = f'"{stream.upper()}"'
        sql = [s.sql(dialect="oracle", comments=False) for s in statements]
        assert len([s for s in sql if s.startswith(f"CREATE TABLE {table} (")]) == 1, stream
        assert [s for s in sql if s.startswith(f"MERGE INTO {table} t USING")], stream
    assert not [s for s in statements if isinstance(s, exp.Command)]
    assert state == ""  # a dry run moves no bookmark


def test_weekly_full_sync_deletes_older_versions_after_loading(tmp_path, sandbox_url):
    """FULL_TABLE with ACTIVATE_VERSION and hard_delete: each table's DELETE comes after its rows."""
    script = tmp_path / "full.sql"
    config = tap_config(tmp_path, sandbox_url, emit_activate_version_messages=True)
    target_config = {"dry_run_sql_path": str(script), "hard_delete": True, "default_target_schema": "wms"}
    pipe(config, discover(config, tmp_path, full_table=True), target_config, tmp_path)
    text = script.read_text()
    parse_oracle(text)
    assert check_script(text) == []
    for stream in STREAMS:
        table = f'"WMS"."{stream.upper()}"'
        assert text.index(f"MERGE INTO {table}") < text.index(f"DELETE FROM {table}"), stream
