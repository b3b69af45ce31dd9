"""The SQL the loader runs: DDL through SQLAlchemy constructs, DML as Oracle text.

SQLAlchemy has no MERGE construct, so MERGE (and the INSERT, DELETE and UPDATE beside it)
are written here once, with every identifier quoted and every value a bind parameter.
Bind names are ``p0``, ``p1``...: column names may be reserved words, which Oracle
rejects as bind names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.sql import quoted_name
from sqlalchemy.sql.elements import TextClause

from .binds import BIND_TYPES, TIMESTAMP_FORMAT, TIMESTAMP_TZ_FORMAT
from .tables import TableRef
from .typemap import TIMESTAMP, TIMESTAMP_TZ, OracleType


def ident(name: str) -> str:
    """A quoted identifier, safe inside ``sa.text`` (a ``:`` would start a bind).

    Raises:
        ValueError: for a name holding ``"`` or NUL, which no Oracle identifier may.

    """
    if '"' in name or "\x00" in name:
        msg = f"{name!r} cannot be an Oracle identifier"
        raise ValueError(msg)
    return '"' + name.replace(":", r"\:") + '"'


def qualified(ref: TableRef) -> str:
    """``"SCHEMA"."TABLE"``, or ``"TABLE"`` in the session's current schema."""
    return f"{ident(ref.schema)}.{ident(ref.name)}" if ref.schema else ident(ref.name)


@dataclass(frozen=True)
class LoadColumn:
    """A column a batch writes, with its bind parameter name."""

    name: str
    type: OracleType
    bind: str

    @property
    def value_sql(self) -> str:
        """The bind, converted in SQL where the driver cannot keep the value whole."""
        if self.type.name == TIMESTAMP_TZ:
            # python-oracledb binds datetimes without their offset; text keeps it.
            return f"TO_TIMESTAMP_TZ(:{self.bind}, '{TIMESTAMP_TZ_FORMAT}')"
        if self.type.name == TIMESTAMP:
            return f"TO_TIMESTAMP(:{self.bind}, '{TIMESTAMP_FORMAT}')"
        return f":{self.bind}"

    @property
    def bind_type(self) -> str | None:
        """The python-oracledb type declared for the bind (setinputsizes), if any."""
        return BIND_TYPES.get(self.type.name)


def create_table(
    ref: TableRef, columns: dict[str, OracleType], keys: Sequence[str], *, staging: bool = False
) -> sa.schema.CreateTable:
    """CREATE TABLE with a primary key on ``keys`` (NOT NULL), or the staging GTT."""
    table = sa.Table(
        quoted_name(ref.name, quote=True),
        sa.MetaData(),
        *(
            sa.Column(quoted_name(name, quote=True), oracle_type.to_sqlalchemy(), nullable=name not in keys)
            for name, oracle_type in columns.items()
        ),
        schema=quoted_name(ref.schema, quote=True) if ref.schema else None,
        # A global temporary table: each session sees only its rows, gone at COMMIT.
        prefixes=["GLOBAL TEMPORARY"] if staging else [],
        oracle_on_commit="DELETE ROWS" if staging else None,
    )
    if keys:
        table.append_constraint(sa.PrimaryKeyConstraint(*(quoted_name(k, quote=True) for k in keys)))
    return sa.schema.CreateTable(table)


def add_columns(ref: TableRef, columns: dict[str, str]) -> TextClause:
    """ALTER TABLE ... ADD (one or more columns, given as name -> compiled type)."""
    parts = ", ".join(f"{ident(name)} {sql_type}" for name, sql_type in columns.items())
    return sa.text(f"ALTER TABLE {qualified(ref)} ADD ({parts})")


def modify_column(ref: TableRef, column: str, sql_type: str) -> TextClause:
    """ALTER TABLE ... MODIFY: widen one column in place."""
    return sa.text(f"ALTER TABLE {qualified(ref)} MODIFY ({ident(column)} {sql_type})")


def copy_column(ref: TableRef, source: str, target: str) -> TextClause:
    """UPDATE every row: ``target`` takes ``source``'s value (VARCHAR2 into CLOB)."""
    return sa.text(f"UPDATE {qualified(ref)} SET {ident(target)} = {ident(source)}")


def drop_column(ref: TableRef, column: str) -> TextClause:
    """ALTER TABLE ... DROP COLUMN: only ever a column whose values were just copied."""
    return sa.text(f"ALTER TABLE {qualified(ref)} DROP COLUMN {ident(column)}")


def rename_column(ref: TableRef, old: str, new: str) -> TextClause:
    """ALTER TABLE ... RENAME COLUMN."""
    return sa.text(f"ALTER TABLE {qualified(ref)} RENAME COLUMN {ident(old)} TO {ident(new)}")


def drop_table(ref: TableRef) -> TextClause:
    """DROP TABLE ... PURGE: only ever the loader's own ``$NEW`` table."""
    return sa.text(f"DROP TABLE {qualified(ref)} PURGE")


def delete_all(ref: TableRef) -> TextClause:
    """DELETE every row (not TRUNCATE, which commits at once and cannot be rolled back)."""
    return sa.text(f"DELETE FROM {qualified(ref)}")


def insert_select(ref: TableRef, source: TableRef, columns: Sequence[str]) -> TextClause:
    """Copy ``columns`` of every row of ``source`` into ``ref``."""
    names = ", ".join(ident(c) for c in columns)
    return sa.text(f"INSERT INTO {qualified(ref)} ({names})\nSELECT {names} FROM {qualified(source)}")


def insert(ref: TableRef, columns: Sequence[LoadColumn]) -> TextClause:
    """A plain INSERT of one row per bind set (append-only, or into the staging table)."""
    names = ", ".join(ident(c.name) for c in columns)
    values = ", ".join(c.value_sql for c in columns)
    return sa.text(f"INSERT INTO {qualified(ref)} ({names})\nVALUES ({values})")


def merge(
    ref: TableRef,
    columns: Sequence[LoadColumn],
    keys: Sequence[str],
    staging: TableRef | None = None,
    version_column: str | None = None,
) -> TextClause:
    """MERGE by ``keys`` (update the other columns, or insert) from the binds or a staging table.

    Without ``staging`` it runs once per bind set (executemany); with it, once per batch.
    ``version_column`` never goes down or to NULL: an incremental row (no version) keeps the
    version a full sync gave it, or the next activation would delete it.
    """
    if staging is None:
        # SYS.DUAL, not DUAL: a stream named dual makes a table DUAL in the loader's schema, which an
        # unqualified name would read instead (DUAL_NAME in oracle_rules.py): no row, nothing merged.
        source = ", ".join(f"{c.value_sql} AS {ident(c.name)}" for c in columns) + " FROM SYS.DUAL"
    else:
        source = ", ".join(ident(c.name) for c in columns) + f" FROM {qualified(staging)}"
    on = " AND ".join(f"t.{ident(k)} = s.{ident(k)}" for k in keys)
    names = ", ".join(ident(c.name) for c in columns)
    values = ", ".join(f"s.{ident(c.name)}" for c in columns)
    lines = [f"MERGE INTO {qualified(ref)} t", f"USING (SELECT {source}) s", f"ON ({on})"]
    updates = ", ".join(_update(c.name, version_column) for c in columns if c.name not in keys)
    if updates:
        lines.append(f"WHEN MATCHED THEN UPDATE SET {updates}")
    lines.append(f"WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({values})")
    return sa.text("\n".join(lines))


def _update(column: str, version_column: str | None) -> str:
    t, s = f"t.{ident(column)}", f"s.{ident(column)}"
    if column == version_column:
        return f"{t} = CASE WHEN {s} IS NULL OR {s} < {t} THEN {t} ELSE {s} END"
    return f"{t} = {s}"


def _older(version_column: str, batched_column: str) -> str:
    """Rows of older versions or of none, unless written while this run loaded.

    A row written while this full sync ran is live whatever its version says: a concurrent
    incremental run wrote it after the sync had read past that point (an upsert keeps the
    row's older version), or it came from a BATCH file of this sync, which carries none.
    """
    col, batched = ident(version_column), ident(batched_column)
    started = f"TO_TIMESTAMP_TZ(:run_started, '{TIMESTAMP_TZ_FORMAT}')"
    return f"({col} < :version OR {col} IS NULL) AND ({batched} IS NULL OR {batched} < {started})"


def delete_old_versions(ref: TableRef, version_column: str, batched_column: str) -> TextClause:
    """Hard delete: the rows :func:`_older` selects."""
    return sa.text(f"DELETE FROM {qualified(ref)}\nWHERE {_older(version_column, batched_column)}")


def soft_delete_old_versions(
    ref: TableRef, version_column: str, batched_column: str, deleted_column: str
) -> TextClause:
    """Soft delete: stamp ``deleted_column`` on the rows a hard delete would remove."""
    deleted = ident(deleted_column)
    return sa.text(
        f"UPDATE {qualified(ref)}\n"
        f"SET {deleted} = TO_TIMESTAMP_TZ(:deleted_at, '{TIMESTAMP_TZ_FORMAT}')\n"
        f"WHERE ({_older(version_column, batched_column)}) AND {deleted} IS NULL"
    )
