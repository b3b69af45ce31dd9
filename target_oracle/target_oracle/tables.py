"""What the loader knows about its tables: columns, keys, and whether it just made them.

Why keep it in memory: a dry run has no database to ask, so the second batch must know
the first created the table; against a real database it saves a dictionary query per
batch. A table is read from the data dictionary once, on first use, then kept current
by the DDL the loader itself runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .naming import shorten
from .typemap import OracleType, from_dictionary

#: Columns of one table, in the data dictionary's order.
COLUMNS_QUERY = sa.text(
    "SELECT COLUMN_NAME, DATA_TYPE, CHAR_LENGTH, DATA_PRECISION, DATA_SCALE\n"
    "FROM ALL_TAB_COLUMNS\n"
    "WHERE OWNER = COALESCE(:owner, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) AND TABLE_NAME = :table_name\n"
    "ORDER BY COLUMN_ID"
)
#: Whether a schema (an Oracle user) exists.
SCHEMA_QUERY = sa.text("SELECT COUNT(*) FROM ALL_USERS WHERE USERNAME = :owner")


@dataclass(frozen=True)
class TableRef:
    """A table by its conformed (unquoted) schema and name."""

    schema: str | None
    name: str

    def staging(self, max_bytes: int) -> TableRef:
        """The loader's global temporary table beside this one, for large batches."""
        return TableRef(self.schema, shorten(f"{self.name}$STG", max_bytes))


@dataclass
class KnownTable:
    """A table as the loader last saw or shaped it."""

    ref: TableRef
    columns: dict[str, OracleType]


def columns_from_rows(rows: Sequence[Sequence[Any]]) -> dict[str, OracleType]:
    """Column name -> type from the rows of :data:`COLUMNS_QUERY`."""
    return {row[0]: from_dictionary(row[1], row[2], row[3], row[4]) for row in rows}


class KnownTables:
    """Known tables, filled on demand by ``lookup`` (None: the table does not exist)."""

    def __init__(self, lookup: Callable[[TableRef], dict[str, OracleType] | None]) -> None:
        self._lookup = lookup
        self._tables: dict[TableRef, KnownTable | None] = {}
        self._lock = threading.RLock()

    def get(self, ref: TableRef) -> KnownTable | None:
        """The table, asking the database the first time only."""
        with self._lock:
            if ref not in self._tables:
                columns = self._lookup(ref)
                self._tables[ref] = None if columns is None else KnownTable(ref, columns)
            return self._tables[ref]

    def remember(self, table: KnownTable) -> None:
        """Record a table the loader created or changed."""
        with self._lock:
            self._tables[table.ref] = table
