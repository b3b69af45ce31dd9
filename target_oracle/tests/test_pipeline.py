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


def discover(config: Path, tmp_path: Path, *, full_table: bool = False, row_counts: bool = False) -> Path:
    done = subprocess.run(
        [command("tap-oracle-wms"), "--config", str(config), "--discover"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    catalog = json.loads(done.stdout)
    for stream in catalog["streams"]:
        if row_counts and stream["tap_stream_id"] == "wms_row_counts":
            next(e for e in stream["metadata"] if e["breadcrumb"] == [])["metadata"]["selected"] = True
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


def readme_oracle_completeness_query() -> str:
    """The top README's "Prove it" Oracle query, as written there."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme[readme.index("-- Oracle (target-oracle") :]
    return block[: block.index("\n```")]


def test_readme_oracle_completeness_query_names_the_tables_and_columns_target_oracle_creates(
    tmp_path, sandbox_url
):
    """No Oracle runs here, so the query is held against the dry run: Oracle SQL, every core stream,
    and every table and column it reads made by target-oracle from the tap's output, with the types
    its comparisons need (TIMESTAMP WITH TIME ZONE on both sides of a window)."""
    script = tmp_path / "load.sql"
    config = tap_config(tmp_path, sandbox_url)
    pipe(config, discover(config, tmp_path, row_counts=True), {"dry_run_sql_path": str(script)}, tmp_path)
    created = {
        statement.this.this.name: {
            column.name: column.args["kind"].sql(dialect="oracle")
            for column in statement.this.expressions
            if isinstance(column, exp.ColumnDef)
        }
        for statement in parse_oracle(script.read_text())
        if isinstance(statement, exp.Create)
    }
    (query,) = parse_oracle(readme_oracle_completeness_query())
    union = query.find(exp.CTE)
    assert union is not None
    branches = list(union.find_all(exp.Select))
    read = {select.find(exp.Table).name: select for select in branches}
    assert set(read) == {stream.upper() for stream in STREAMS}
    named = {literal.this for literal in union.find_all(exp.Literal) if literal.is_string}
    assert named == set(STREAMS)
    for table, select in read.items():
        assert select.expressions[1].name == "MOD_TS", table
        assert created[table]["MOD_TS"] == "TIMESTAMP WITH TIME ZONE", table
    counts = created["WMS_ROW_COUNTS"]
    of_counts = {column.name for column in query.find_all(exp.Column) if column.table == "c"}
    assert of_counts == {"ENTITY", "BUCKET", "ROW_COUNT", "WINDOW_START", "WINDOW_END"}
    assert of_counts <= set(counts)
    assert counts["WINDOW_START"] == counts["WINDOW_END"] == "TIMESTAMP WITH TIME ZONE"
