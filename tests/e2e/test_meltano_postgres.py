"""End to end: real `meltano run` from the sandbox into a real PostgreSQL server.

Why: users meet the tap through Meltano, so this proves the whole path -- meltano.yml,
plugin install, state between runs, target-postgres typing, upserts and the weekly
full sync's hard deletes -- against the sandbox's ground truth, row for row.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from .conftest import MeltanoProject, PostgresServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

#: Core streams loaded by the test (others are left out to keep it quick).
STREAMS = ("inventory", "order_hdr", "order_dtl", "allocation", "location", "ib_shipment",
           "wave", "item")  # fmt: skip
#: Source activity between the full and the incremental run: (entity, inserts, updates, deletes).
ACTIVITY = (("inventory", 6, 8, 3), ("order_hdr", 3, 4, 2), ("item", 2, 3, 0))
SCHEMA = "tap_oracle_wms"
DATABASE = "wms_e2e"

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DECIMAL_STR = re.compile(r"^-?\d+(\.\d+)?$")
INTEGER_TYPES = {"bigint", "integer", "smallint"}
#: target-postgres 0.8 maps format date-time to TIMESTAMP without time zone (values are
#: converted to the session zone, UTC on our server); a timestamptz column is fine too.
TIMESTAMP_TYPES = {"timestamp with time zone", "timestamp without time zone"}
TEXT_TYPES = {"text", "character varying"}


# ------------------------------------------------------------------------- fixtures


@pytest.fixture
def e2e_sandbox() -> Iterator[Any]:
    """A sandbox of our own: the test mutates its data and must not disturb others."""
    from tap_oracle_wms_sandbox import Sandbox, SandboxConfig

    with Sandbox(SandboxConfig(scale=40, seed=11)) as sb:
        yield sb


@pytest.fixture
def warehouse(postgres_server: PostgresServer) -> Iterator[PostgresServer]:
    """A fresh database for this test on the session's server."""
    postgres_server.psql(f'DROP DATABASE IF EXISTS "{DATABASE}"')
    postgres_server.create_database(DATABASE)
    yield postgres_server
    postgres_server.psql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def _select_env(plugins: Sequence[str], streams: Sequence[str]) -> dict[str, str]:
    """``<PLUGIN>__SELECT`` variables limiting each extractor to ``streams``."""
    rules = json.dumps([f"{s}.*" for s in streams])
    return {re.sub(r"[^A-Z0-9]", "_", p.upper()) + "__SELECT": rules for p in plugins}


@pytest.fixture
def pipeline(meltano_project: MeltanoProject, e2e_sandbox: Any,
             warehouse: PostgresServer) -> MeltanoProject:  # fmt: skip
    """Meltano wired to the test's sandbox and database, through environment variables only."""
    meltano_project.env.update({
        "TAP_ORACLE_WMS_BASE_URL": e2e_sandbox.base_url,
        "TAP_ORACLE_WMS_AUTH_METHOD": "basic",
        "TAP_ORACLE_WMS_USERNAME": "admin",
        "TAP_ORACLE_WMS_PASSWORD": "admin-password",
        "TAP_ORACLE_WMS_ENTITIES_INCLUDE": json.dumps(list(STREAMS)),
        "TAP_ORACLE_WMS_PAGE_SIZE": "50",
        **_select_env(["tap-oracle-wms", "tap-oracle-wms--full-sync"], STREAMS),
        "TARGET_POSTGRES_HOST": warehouse.host,
        "TARGET_POSTGRES_PORT": str(warehouse.port),
        "TARGET_POSTGRES_USER": warehouse.user,
        "TARGET_POSTGRES_PASSWORD": warehouse.password,
        "TARGET_POSTGRES_DATABASE": DATABASE,
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": SCHEMA,
    })  # fmt: skip
    return meltano_project


# ------------------------------------------------------------------ comparing rows


def _as_datetime(value: str) -> dt.datetime | None:
    if not _DATETIME.match(value):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    # Naive on either side means UTC: the tenant zone of the sandbox and our server's zone.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, (float, str)):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    return None


def expected_columns(api_row: dict[str, Any]) -> dict[str, Any]:
    """The API row as the tap loads it: FK objects -> their id, self link and *_set links dropped."""
    out: dict[str, Any] = {}
    for name, value in api_row.items():
        if name == "url" or name.endswith("_set"):
            continue
        if isinstance(value, dict):  # an FK object -> its id; any other object -> its JSON text
            out[name] = value["id"] if "id" in value else json.dumps(value)
        else:
            out[name] = value
    return out


def same_value(expected: Any, actual: Any) -> bool:
    """Equal up to representation: numbers as decimals, date-times as instants."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected == actual
    if isinstance(expected, str) and isinstance(actual, str):
        if expected == actual:
            return True
        left, right = _as_datetime(expected), _as_datetime(actual)
        return left is not None and left == right
    left_num, right_num = _as_decimal(expected), _as_decimal(actual)
    if left_num is not None and right_num is not None:
        return left_num == right_num
    return bool(expected == actual)


def table_rows(db: PostgresServer, table: str, database: str = DATABASE) -> dict[int, dict[str, Any]]:
    rows = db.query_json(
        f'SELECT coalesce(json_agg(t ORDER BY t.id), \'[]\') FROM "{SCHEMA}"."{table}" t',  # noqa: S608 -- constant names
        database,
    )
    return {int(row["id"]): row for row in rows}


def column_types(db: PostgresServer, table: str) -> dict[str, str]:
    where = f"table_schema = '{SCHEMA}' AND table_name = '{table}'"
    sql = f"SELECT coalesce(json_object_agg(column_name, data_type), '{{}}') FROM information_schema.columns WHERE {where}"  # noqa: E501, S608
    rows = db.query_json(sql, DATABASE)
    return dict(rows)


def truth_by_id(sb: Any, entity: str) -> dict[int, dict[str, Any]]:
    return {int(row["id"]): expected_columns(row) for row in sb.truth(entity, user="admin")}


def assert_matches_truth(db: PostgresServer, sb: Any, streams: Iterable[str], *,
                         allowed_extra: dict[str, set[int]] | None = None) -> None:  # fmt: skip
    """Every source row is in Postgres with its latest values; extras only where allowed."""
    problems: list[str] = []
    for entity in streams:
        truth = truth_by_id(sb, entity)
        loaded = table_rows(db, entity)
        missing = sorted(set(truth) - set(loaded))
        extra = set(loaded) - set(truth)
        unexpected = sorted(extra - (allowed_extra or {}).get(entity, set()))
        if missing:
            problems.append(f"{entity}: {len(missing)} rows missing, e.g. ids {missing[:5]}")
        if unexpected:
            problems.append(f"{entity}: {len(unexpected)} rows not at source: {unexpected[:5]}")
        for row_id in sorted(set(truth) & set(loaded)):
            want, got = truth[row_id], loaded[row_id]
            absent = sorted(set(want) - set(got))
            if absent:
                problems.append(f"{entity}: columns missing in Postgres: {absent}")
                break
            diff = {k: (want[k], got[k]) for k in want if not same_value(want[k], got[k])}
            if diff:
                problems.append(f"{entity} id={row_id}: (source, postgres) differ: {diff}")
        if not truth:
            problems.append(f"{entity}: the sandbox has no rows, nothing was compared")
    assert not problems, "\n".join(problems[:40])


def _kind(values: list[Any]) -> str | None:
    """What a column's non-null source values say its SQL type must be."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    if all(isinstance(v, bool) for v in present):
        return "boolean"
    if all(isinstance(v, dict) and "id" in v for v in present):
        return "integer"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "integer-or-numeric"
    if all(isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) for v in present):
        return "numeric"
    if all(isinstance(v, str) for v in present):
        if all(_DECIMAL_STR.match(v) for v in present):
            return "numeric-string"  # the API's decimals ("41", "12.5"), or a digit-only code
        if all(_DATE.match(v) for v in present):
            return "date"
        if all(_as_datetime(v) for v in present):
            return "timestamp"
        return "text"
    return None


ALLOWED = {
    "boolean": {"boolean"},
    "integer": INTEGER_TYPES,
    "integer-or-numeric": INTEGER_TYPES | {"numeric"},
    "numeric": {"numeric"},
    "numeric-string": {"numeric"} | TEXT_TYPES,
    "date": {"date"} | TIMESTAMP_TYPES | TEXT_TYPES,
    "timestamp": TIMESTAMP_TYPES,
    "text": TEXT_TYPES,
}


def assert_column_types(db: PostgresServer, sb: Any, streams: Iterable[str]) -> set[str]:
    """Check each column's SQL type against its source values; return the kinds seen."""
    seen: set[str] = set()
    problems: list[str] = []
    for entity in streams:
        api_rows = sb.truth(entity, user="admin")
        types = column_types(db, entity)
        if types.get("id") not in INTEGER_TYPES:
            problems.append(f"{entity}.id is {types.get('id')}")
        for name in {k for row in api_rows for k in row if k != "url" and not k.endswith("_set")}:
            kind = _kind([row.get(name) for row in api_rows])
            if kind is None or name not in types:
                continue
            sql_type = types[name]
            if sql_type not in ALLOWED[kind]:
                problems.append(f"{entity}.{name}: {kind} values loaded as {sql_type}")
            seen.add(sql_type)
    assert not problems, "\n".join(problems)
    return seen


# ------------------------------------------------------------------------------ test


def test_meltano_full_incremental_and_full_refresh_into_postgres(
    pipeline: MeltanoProject, e2e_sandbox: Any, warehouse: PostgresServer
) -> None:
    sb = e2e_sandbox

    # 1. Full run (no state yet) through the incremental job of meltano.yml.
    pipeline("run", "--refresh-catalog", "wms-incremental")
    assert_matches_truth(warehouse, sb, STREAMS)
    kinds = assert_column_types(warehouse, sb, STREAMS)
    assert INTEGER_TYPES & kinds, kinds
    assert "numeric" in kinds, kinds
    assert TIMESTAMP_TYPES & kinds, kinds
    assert TEXT_TYPES & kinds, kinds
    state = pipeline("state", "get", "dev:tap-oracle-wms-to-target-postgres").stdout
    assert "mod_ts" in state, f"no mod_ts bookmark in the saved state: {state[:500]}"

    # 2. Source activity: inserts, updates (one new mod_ts per burst) and deletes.
    before = {entity: set(truth_by_id(sb, entity)) for entity, *_ in ACTIVITY}
    for entity, inserts, updates, deletes in ACTIVITY:
        sb.activity(entity=entity, inserts=inserts, updates=updates, deletes=deletes)
    deleted = {entity: before[entity] - set(truth_by_id(sb, entity)) for entity, *_ in ACTIVITY}
    assert all(deleted[e] for e, *_, deletes in ACTIVITY if deletes), f"too few deletes: {deleted}"

    # 3. Incremental run from the saved bookmark: latest version of every row, and the
    #    deleted rows still there (a mod_ts filter never sees deletes).
    sb.clear_requests()
    pipeline("run", "wms-incremental")
    inventory_queries = [
        r.query for r in sb.requests
        if "/entity/inventory" in r.path and "describe" not in r.path
    ]  # fmt: skip
    assert any(any(k.startswith("mod_ts") for k in q) for q in inventory_queries), (
        f"incremental run sent no mod_ts filter: {inventory_queries[:3]}"
    )
    assert_matches_truth(warehouse, sb, STREAMS, allowed_extra=deleted)

    # 4. The weekly full sync (FULL_TABLE + ACTIVATE_VERSION, target hard_delete): rows
    #    deleted at the source disappear from Postgres.
    pipeline("run", "--full-refresh", "wms-full-sync")
    assert_matches_truth(warehouse, sb, STREAMS)
    for entity, ids in deleted.items():
        left = set(table_rows(warehouse, entity)) & ids
        assert not left, f"{entity}: deleted rows survived the full sync: {sorted(left)}"


def count_rows(db: PostgresServer, table: str) -> int:
    sql = f'SELECT to_json(count(*)) FROM "{SCHEMA}"."{table}"'  # noqa: S608 -- constant names
    return int(db.query_json(sql, DATABASE))


def test_weekly_full_sync_never_empties_a_table(
    pipeline: MeltanoProject, e2e_sandbox: Any, warehouse: PostgresServer
) -> None:
    """hard_delete: the table keeps its rows during and after a failed full sync; a good one deletes."""
    sb, entity = e2e_sandbox, "inventory"
    pipeline("run", "--refresh-catalog", "wms-incremental")
    sb.activity(entity=entity, inserts=0, updates=0, deletes=4)
    deleted = set(table_rows(warehouse, entity)) - set(truth_by_id(sb, entity))
    assert len(deleted) == 4
    loaded = count_rows(warehouse, entity)

    # A full sync that fails part-way through inventory (a later page lost, no ordering to resume by).
    pipeline.env["TAP_ORACLE_WMS_PAGE_SIZE"] = "5"
    sb.configure(later_page_404="once", ordering_rejects=(f"{entity}:any",), latency_ms=20)
    counts_during: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            counts_during.append(count_rows(warehouse, entity))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        failed = pipeline("run", "--full-refresh", "wms-full-sync", check=False)
    finally:
        done.set()
        watcher.join()
    assert failed.returncode != 0
    assert counts_during, "the watcher saw no count"
    assert min(counts_during) >= loaded, f"the table lost rows during the failed sync: {min(counts_during)}"
    assert count_rows(warehouse, entity) == loaded  # nothing deleted: the version was never activated

    # The same full sync, succeeding: rows deleted at the source go away, the others stay.
    sb.configure(later_page_404="off", ordering_rejects=(), latency_ms=0)
    pipeline("run", "--full-refresh", "wms-full-sync")
    assert not set(table_rows(warehouse, entity)) & deleted
    assert count_rows(warehouse, entity) == loaded - len(deleted)


def readme_postgres_completeness_query() -> str:
    """README "Prove it"'s PostgreSQL query, as written there."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme[readme.index("-- PostgreSQL (target-postgres") :]
    return block[: block.index("\n\n")]


def test_readme_completeness_query_covers_every_entity_with_no_difference(
    pipeline: MeltanoProject, warehouse: PostgresServer
) -> None:
    """The README's PostgreSQL query runs as written after a load and shows every entity's buckets at 0."""
    pipeline.env.update(_select_env(["tap-oracle-wms"], [*STREAMS, "wms_row_counts"]))
    pipeline("run", "tap-oracle-wms", "target-postgres")
    out = warehouse.psql(readme_postgres_completeness_query(), DATABASE)
    rows = [line.split("|") for line in out.splitlines() if line.strip()]
    assert {entity for entity, *_ in rows} == set(STREAMS)
    assert {bucket for _, bucket, *_ in rows} > {"total"}  # the per-day buckets are compared too
    assert [(e, b, d) for e, b, _, _, d in rows if d != "0"] == []
