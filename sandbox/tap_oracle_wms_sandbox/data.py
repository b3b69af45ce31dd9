"""Deterministic synthetic warehouse generated inside SQLite (seeded, scale from 100 rows to millions).

Rows are produced by one `INSERT ... SELECT` per entity over a recursive counter, so generation runs
at SQLite's C speed. Pseudo-randomness is an integer hash of (row number, salt, seed): the same seed
and scale always give the same data. Seed timestamps are fixed (not wall clock).
"""

# ruff: noqa: S608 - SQL text is built only from the static entity declarations; every
# request value is a bound parameter.

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime

from tap_oracle_wms_sandbox.entities import ENTITIES, Entity, Field, fields_of
from tap_oracle_wms_sandbox.render import CACHED_TZ, text_column, ts_sql

T_END_S = int(datetime(2025, 6, 30, tzinfo=UTC).timestamp())
SPAN_S = 400 * 86400
T_START_S = T_END_S - SPAN_S
SQL_TYPES = {
    "pk": "INTEGER PRIMARY KEY",
    "fk": "INTEGER",
    "status": "INTEGER",
    "int": "INTEGER",
    "flg": "INTEGER",
    "ts": "INTEGER",
    "decimal": "TEXT",
    "string": "TEXT",
    "date": "TEXT",
    "json": "TEXT",
}

CTS = f"(({T_START_S} + (i * {SPAN_S}) / N_self) * 1000000 + H1 % 3600000000)"
# Bulk updates: every 4th group of G consecutive rows shares ONE mod_ts, later than all their
# create_ts, so ties straddle page boundaries (docs/lgfapi.md 2.9).
MTS = (
    f"(CASE ((i - 1) / G_self) % 4 WHEN 0 THEN min(({T_START_S} + (((i - 1) / G_self + 1)"
    f" * G_self * {SPAN_S}) / N_self) * 1000000, {T_END_S * 1000000})"
    " + 3600000000 + ((i - 1) / G_self) % 997 * 1000 + 123"
    " WHEN 1 THEN CTS ELSE CTS + H2 % 1728000000000 END)"
)


def row_count(entity: Entity, scale: int) -> int:
    """Seeded rows (upper bound of the row counter) of an entity at a scale."""
    if entity.table:
        return 0
    if entity.static:
        return max(row["id"] for row in entity.static)  # ids may have gaps (history_activity)
    return max(entity.min_rows, scale // entity.per)


def counts_for(scale: int) -> dict[str, int]:
    """Row-counter range per physical table."""
    return {e.name: row_count(e, scale) for e in ENTITIES if not e.table}


def group_size(n: int) -> int:
    """Rows sharing one bulk-update mod_ts: up to 1500 (> max page size 1250)."""
    return max(3, min(1500, n // 6))


def hash_sql(salt: int, seed: int) -> str:
    """SQL integer hash of the row number `i`, in 0..2**31-2 (salt mixed in before the square)."""
    x = f"(i + {salt * 1000003 + seed * 7777})"
    return f"((({x} % 1000003) * ({x} % 999983) * 7 + {x} * 2654435761) % 2147483647 * 48271 % 2147483647)"


def expand(sql: str, entity: Entity, counts: dict[str, int], seed: int) -> str:
    """Replace the generator tokens MTS, CTS, N_<table>, G_self and H<salt> by SQL."""
    n_self = counts[entity.name]
    sql = sql.replace("MTS", MTS).replace("CTS", CTS)
    sql = sql.replace("N_self", str(n_self)).replace("G_self", str(group_size(n_self)))
    sql = re.sub(r"\bN_(\w+)", lambda m: str(counts[m.group(1)]), sql)
    return re.sub(r"\bH(\d+)\b", lambda m: hash_sql(int(m.group(1)), seed), sql)


def stored_fields(entity: Entity) -> list[Field]:
    """Fields that are columns (sets are computed)."""
    return [f for f in fields_of(entity) if f.kind != "set"]


def create_schema(conn: sqlite3.Connection) -> None:
    """Create one table per physical entity plus the indexes listing and filtering need."""
    for e in ENTITIES:
        if e.table:
            continue
        cols = [f'"{f.name}" {SQL_TYPES[f.kind]}' for f in stored_fields(e)]
        cols += [f'"{c}" {t}' for c, t in e.hidden] + ["_ord INTEGER"]
        cols += [f'"{text_column(f.name)}" TEXT' for f in stored_fields(e) if f.kind == "ts"]
        conn.execute(f'CREATE TABLE "{e.name}" ({", ".join(cols)})')


def create_indexes(conn: sqlite3.Connection) -> None:
    """Indexes for default order, mod_ts keysets, scope and reverse sets (after bulk load)."""
    backs = {(f.target, f.back) for e in ENTITIES for f in e.fields if f.kind == "set"}
    for e in ENTITIES:
        if e.table:
            continue
        cols = {"_ord"} | {c for c in (e.facility_col, e.company_col) if c and c != "id"}
        cols |= {c for t, c in backs if t == e.name}
        cols |= {c for c in ("mod_ts", "create_ts") if c in e.by_name}
        if e.name == "container":
            cols.add("type")
        for c in sorted(cols):
            conn.execute(f'CREATE INDEX "ix_{e.name}_{c}" ON "{e.name}" ("{c}")')


def insert_rows(
    conn: sqlite3.Connection, entity: Entity, lo: int, hi: int, counts: dict[str, int], seed: int
) -> None:
    """Generate rows lo..hi (row number = id) of one entity, then run its post updates."""
    fields = stored_fields(entity)
    names = ", ".join(f'"{f.name}"' for f in fields)
    gens = ", ".join(expand(f.gen, entity, counts, seed) for f in fields)
    where = f"WHERE NOT ({expand(entity.skip, entity, counts, seed)})" if entity.skip else ""
    conn.execute(
        f'INSERT INTO "{entity.name}" ({names}, _ord) '
        f"WITH RECURSIVE seq(i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM seq WHERE i < {hi}) "
        f"SELECT {gens}, {hash_sql(99, seed)} FROM seq {where}"
    )
    for clause in entity.post:
        conn.execute(f'UPDATE "{entity.name}" SET {clause} WHERE id BETWEEN {lo} AND {hi}')
    refresh_ts_text(conn, entity, f"id BETWEEN {lo} AND {hi}")
    for row in entity.static:
        if lo <= row["id"] <= hi:
            sets = ", ".join(f'"{k}" = ?' for k in row if k != "id")
            if sets:
                conn.execute(
                    f'UPDATE "{entity.name}" SET {sets} WHERE id = ?',
                    [v for k, v in row.items() if k != "id"] + [row["id"]],
                )
    if entity.static:  # a fixed table holds exactly its declared rows
        ids = ",".join(str(row["id"]) for row in entity.static)
        conn.execute(f'DELETE FROM "{entity.name}" WHERE id BETWEEN {lo} AND {hi} AND id NOT IN ({ids})')


def refresh_ts_text(conn: sqlite3.Connection, entity: Entity, where: str) -> None:
    """Re-render the cached date-time text columns of the rows matching `where` (see render.py)."""
    sets = [
        f'"{text_column(f.name)}" = {ts_sql(f"{chr(34)}{f.name}{chr(34)}", CACHED_TZ)}'
        for f in stored_fields(entity)
        if f.kind == "ts"
    ]
    if sets:
        conn.execute(f'UPDATE "{entity.name}" SET {", ".join(sets)} WHERE {where}')


def build(seed: int, scale: int) -> sqlite3.Connection:
    """A fresh in-memory database holding the seeded warehouse."""
    conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -200000")
    counts = counts_for(scale)
    conn.execute("BEGIN")
    create_schema(conn)
    for e in ENTITIES:
        if not e.table:
            insert_rows(conn, e, 1, counts[e.name], counts, seed)
    create_indexes(conn)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    return conn


def copy_of(conn: sqlite3.Connection) -> sqlite3.Connection:
    """A fast page-level copy (used to reset to the pristine seed without regenerating)."""
    dest = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    conn.backup(dest)
    return dest
