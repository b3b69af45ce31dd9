"""tap -> target-postgres (MeltanoLabs 0.8.1, embedded PostgreSQL): BATCH output against RECORD output.

Why: issue 24 asks that BATCH give the same tables as RECORD. The same sandbox sync is loaded
twice, each into a fresh database, with the settings meltano.yml gives target-postgres, and every
table is compared row for row. Where target-postgres 0.8.1 loads BATCH files otherwise, the
difference is pinned by name (README "BATCH output"), so these tests fail the day upstream fixes it.

The cause, upstream: the SDK target hands a BATCH file's rows (raw JSON, `Sink.process_batch_files`)
straight to `PostgresSink.process_batch`; only RECORD messages go through
`Target._process_record_message`, which adds the `_sdc_*` columns (the table version among them) and
parses date-time strings into aware datetimes. So rows from files have no table version, and their
date-time strings reach `timestamp without time zone` columns, where PostgreSQL drops any offset.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from clirun import run_tap
from tapruns import discover, full_table, tap_config
from test_meltano_postgres import same_value, table_rows

if TYPE_CHECKING:
    from .conftest import PostgresServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]

STREAMS = ("inventory", "order_hdr", "order_dtl", "allocation", "location", "ib_shipment",
           "wave", "item")  # fmt: skip
#: Full syncs load fewer tables: target-postgres spends most of a load's 2 s per process and table.
FULL_SYNC_STREAMS = ("inventory", "order_hdr", "order_dtl", "wave")
#: About 2,500 rows over the eight streams.
SCALE = 1000
#: What the SDK target adds to a RECORD's row (add_record_metadata); none of it comes from the source.
SDC = ("_sdc_extracted_at", "_sdc_received_at", "_sdc_batched_at", "_sdc_deleted_at", "_sdc_sequence",
       "_sdc_table_version", "_sdc_sync_started_at")  # fmt: skip

Load = Callable[..., str]


# ------------------------------------------------------------------------- fixtures


@pytest.fixture
def pg_sandbox() -> Iterator[Any]:
    """A sandbox of our own, larger than the Meltano tests' (and mutated by one test)."""
    from tap_oracle_wms_sandbox import Sandbox, SandboxConfig

    with Sandbox(SandboxConfig(scale=SCALE, seed=11)) as sb:
        yield sb


def meltano_yml_settings() -> dict[str, Any]:
    """The settings meltano.yml gives target-postgres (add_record_metadata, activate_version, hard_delete)."""
    loaders = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text())["plugins"]["loaders"]
    plugin = next(p for p in loaders if p["name"] == "target-postgres")
    return {s["name"]: s["value"] for s in plugin["settings"] if "value" in s}


@pytest.fixture
def load(
    meltano_installed: Path,
    postgres_server: PostgresServer,
    clean_env: Callable[..., dict[str, str]],
    tmp_path: Path,
) -> Iterator[Load]:
    """Pipe a tap's output into target-postgres (the one Meltano installs) and a database of the test.

    The database is made new the first time the test names it. Settings are meltano.yml's, with
    `overrides`; returns the database's name.
    """
    executable = REPO_ROOT / ".meltano" / "loaders" / "target-postgres" / "venv" / "bin" / "target-postgres"
    made: list[str] = []

    def run(messages: str, database: str, **overrides: Any) -> str:
        if database not in made:
            postgres_server.psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            made.append(postgres_server.create_database(database))
        settings = {
            **meltano_yml_settings(),
            "host": postgres_server.host,
            "port": postgres_server.port,
            "user": postgres_server.user,
            "password": postgres_server.password,
            "database": database,
            **overrides,
        }
        config = tmp_path / f"target-{database}.json"
        config.write_text(json.dumps(settings))
        done = subprocess.run(
            [str(executable), "--config", str(config)],
            input=messages,
            env=clean_env({}),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"target-postgres failed:\n{done.stderr[-3000:]}"
        return database

    yield run
    for database in made:
        postgres_server.psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def batch_config(tmp_path: Path) -> dict[str, Any]:
    """jsonl.gz files in a local folder, as the README's example has them (smaller files)."""
    root = tmp_path / "batches"
    root.mkdir(exist_ok=True)
    return {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": root.as_uri(), "prefix": "wms-"},
        "batch_size": 500,
    }


def tap_output(tmp_path: Path, name: str, config: dict[str, Any], catalog: dict | None = None) -> str:
    """The tap command's stdout for one run (config files in their own folder)."""
    folder = tmp_path / name
    folder.mkdir()
    done = run_tap(folder, config, catalog=catalog)
    assert done.code == 0, done.stderr[-3000:]
    return done.stdout


def emitted(messages: str) -> dict[str, dict[int, dict[str, Any]]]:
    """The RECORD output's rows by stream and id, the values as the tap wrote them."""
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for line in messages.splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            out.setdefault(message["stream"], {})[message["record"]["id"]] = message["record"]
    return out


# ------------------------------------------------------------------ comparing rows


def wall_clock(value: str) -> dt.datetime:
    """The date-time as written, its offset dropped (what PostgreSQL keeps of it in a `timestamp`)."""
    return dt.datetime.fromisoformat(value).replace(tzinfo=None)


def utc_wall_clock(value: str) -> dt.datetime:
    """The same instant in UTC, naive (what a RECORD's aware datetime becomes in a UTC session)."""
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC).replace(tzinfo=None)


def has_offset(value: Any) -> bool:
    """A date-time string with an offset other than UTC (the tenant's zone: create_ts and the like)."""
    if not isinstance(value, str) or len(value) < 20 or value[10] != "T":
        return False
    try:
        offset = dt.datetime.fromisoformat(value).utcoffset()
    except ValueError:
        return False
    return bool(offset)


def compare(
    source: dict[int, dict[str, Any]], record: dict[int, dict[str, Any]], batch: dict[int, dict[str, Any]]
) -> tuple[list[str], int]:
    """Differences between the RECORD and the BATCH table, but for the pinned one; and how often it held.

    Date-times compare as instants (`same_value`): both tables are `timestamp without time zone`
    in a UTC session. The pinned difference: a source date-time with a non-UTC offset is, from
    BATCH, its wall-clock time with the offset dropped, and from RECORD the instant in UTC.
    """
    problems: list[str] = []
    shifted = 0
    if set(record) != set(batch):
        problems.append(f"ids only in RECORD {sorted(set(record) - set(batch))[:5]}, "
                        f"only in BATCH {sorted(set(batch) - set(record))[:5]}")  # fmt: skip
    for row_id in sorted(set(record) & set(batch)):
        left, right = record[row_id], batch[row_id]
        if set(left) != set(right):
            problems.append(f"id={row_id}: columns differ: {sorted(set(left) ^ set(right))}")
            continue
        for column in sorted(set(left) - set(SDC)):
            value = source[row_id].get(column)
            if has_offset(value):
                got = (dt.datetime.fromisoformat(left[column]), dt.datetime.fromisoformat(right[column]))
                if got != (utc_wall_clock(value), wall_clock(value)):
                    problems.append(f"id={row_id} {column}: source {value}, (RECORD, BATCH) {got}")
                shifted += 1
            elif not same_value(left[column], right[column]):
                problems.append(f"id={row_id} {column}: (RECORD, BATCH) {(left[column], right[column])}")
    return problems, shifted


def sdc_counts(db: PostgresServer, database: str, stream: str) -> dict[str, int]:
    """A table's row count ("rows") and, per _sdc_ column, how many rows have it set."""
    counts = ", ".join(f'count("{c}") AS "{c}"' for c in SDC)
    table = f'"tap_oracle_wms"."{stream}"'  # meltano.yml's default_target_schema
    sql = f"SELECT row_to_json(t) FROM (SELECT count(*) AS rows, {counts} FROM {table}) t"  # noqa: S608
    return dict(db.query_json(sql, database))


def versions(db: PostgresServer, database: str, stream: str) -> tuple[int, int, int]:
    """(rows, rows with a table version, rows marked deleted) of a table."""
    counts = sdc_counts(db, database, stream)
    return counts["rows"], counts["_sdc_table_version"], counts["_sdc_deleted_at"]


# ------------------------------------------------------------------------------ tests


def test_an_incremental_sync_through_batch_loads_the_record_tables_but_shifts_offset_date_times(
    pg_sandbox: Any, load: Load, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """The 2-hourly job's sync (no ACTIVATE_VERSION), meltano.yml's settings: every row, every value
    equal, but for two differences pinned here (target-postgres 0.8.1):
    - a date-time with a non-UTC offset (`create_ts` and the like, in the tenant's zone) is stored
      from BATCH as its wall-clock time, off by the offset; `mod_ts` (UTC) is right;
    - rows from BATCH files have every `_sdc_` column NULL (no load metadata, no table version).
    """
    config = tap_config(pg_sandbox, *STREAMS, page_size=250)
    messages = tap_output(tmp_path, "record", config)
    batched = tap_output(tmp_path, "batch", {**config, "batch_config": batch_config(tmp_path)})
    record, batch = load(messages, "pg_record"), load(batched, "pg_batch")
    source = emitted(messages)
    problems: list[str] = []
    shifted = 0
    for stream in STREAMS:
        left = table_rows(postgres_server, stream, record)
        right = table_rows(postgres_server, stream, batch)
        assert len(left) == len(source[stream]) > 0, stream
        found, count = compare(source[stream], left, right)
        problems += [f"{stream} {p}" for p in found]
        shifted += count
        assert sdc_counts(postgres_server, record, stream)["_sdc_received_at"] == len(left)
        assert sdc_counts(postgres_server, batch, stream) == {"rows": len(right)} | dict.fromkeys(SDC, 0)
    assert not problems, "\n".join(problems[:40])
    assert shifted >= sum(len(rows) for rows in source.values())  # every row has its create_ts shifted


def test_the_weekly_full_sync_through_batch_leaves_every_table_empty_under_hard_delete(
    pg_sandbox: Any, load: Load, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """FULL_TABLE with ACTIVATE_VERSION (tap-oracle-wms--full-sync), meltano.yml's hard_delete: RECORD
    keeps every row; from BATCH files none is left (pinned, target-postgres 0.8.1): its
    ACTIVATE_VERSION deletes rows whose `_sdc_table_version` is NULL or older, and rows from files
    have none. With hard_delete off, the same rows are all marked deleted instead."""
    config = tap_config(pg_sandbox, *FULL_SYNC_STREAMS, page_size=250, emit_activate_version_messages=True)
    catalog = full_table(discover(config))
    messages = tap_output(tmp_path, "record", config, catalog)
    batched = tap_output(tmp_path, "batch", {**config, "batch_config": batch_config(tmp_path)}, catalog)
    record = load(messages, "pg_record")
    hard = load(batched, "pg_batch_hard_delete")
    soft = load(batched, "pg_batch_soft_delete", hard_delete=False)
    source = emitted(messages)
    for stream in FULL_SYNC_STREAMS:
        rows = len(source[stream])
        assert rows > 0
        assert versions(postgres_server, record, stream) == (rows, rows, 0)
        assert versions(postgres_server, hard, stream) == (0, 0, 0)
        assert versions(postgres_server, soft, stream) == (rows, 0, rows)


def test_with_activate_version_off_batch_loads_the_rows_but_keeps_rows_deleted_at_the_source(
    pg_sandbox: Any, load: Load, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """`activate_version: false` is the one target-postgres 0.8.1 setting under which a full sync's
    BATCH files stay loaded: the same rows and values as RECORD (date-times shifted as in the first
    test), but a row deleted at the source stays after the next full sync (pinned), where RECORD
    with hard_delete loads exactly the source's rows."""
    entity = "inventory"
    config = tap_config(pg_sandbox, *FULL_SYNC_STREAMS, page_size=250, emit_activate_version_messages=True)
    files = {**config, "batch_config": batch_config(tmp_path)}
    catalog = full_table(discover(config))
    last_week = set(emitted(tap_output(tmp_path, "record-1", config, catalog))[entity])
    batch = load(tap_output(tmp_path, "batch-1", files, catalog), "pg_batch", activate_version=False)
    pg_sandbox.activity(entity=entity, inserts=0, updates=0, deletes=5)
    messages = tap_output(tmp_path, "record-2", config, catalog)
    record = load(messages, "pg_record")
    load(tap_output(tmp_path, "batch-2", files, catalog), batch, activate_version=False)
    source = emitted(messages)
    deleted = last_week - set(source[entity])
    assert len(deleted) == 5

    problems: list[str] = []
    for stream in FULL_SYNC_STREAMS:
        left = table_rows(postgres_server, stream, record)
        right = table_rows(postgres_server, stream, batch)
        assert set(left) == set(source[stream]), stream  # RECORD: exactly the source's rows
        if stream == entity:
            assert set(right) - set(left) == deleted  # BATCH: the deleted rows are still there
            right = {k: v for k, v in right.items() if k not in deleted}
        found, _ = compare(source[stream], left, right)
        problems += [f"{stream} {p}" for p in found]
    assert not problems, "\n".join(problems[:40])
