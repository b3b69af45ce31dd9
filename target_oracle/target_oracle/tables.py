"""What the loader knows about its tables: columns, keys, and whether it just made them.

Why keep it in memory: a dry run has no database to ask, so the second batch must know
the first created the table; against a real database it saves a dictionary query per
batch. A table is read from the data dictionary once, on first use, then kept current
by the DDL the loader itself runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .naming import shorten
from .typemap import OracleType, from_dictionary

# The dictionary views are named SYS.: a stream named all_users makes a table ALL_USERS in the
# loader's schema, which an unqualified name would read before the public synonym.

#: Columns of one table, in the data dictionary's order.
COLUMNS_QUERY = sa.text(
    "SELECT COLUMN_NAME, DATA_TYPE, DATA_LENGTH, CHAR_LENGTH, CHAR_USED, DATA_PRECISION, DATA_SCALE\n"
    "FROM SYS.ALL_TAB_COLUMNS\n"
    "WHERE OWNER = COALESCE(:owner, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA')) AND TABLE_NAME = :table_name\n"
    "ORDER BY COLUMN_ID"
)
#: The primary key's columns of one table, in key order (no rows: the table has none).
PRIMARY_KEY_QUERY = sa.text(
    "SELECT cc.COLUMN_NAME\n"
    "FROM SYS.ALL_CONSTRAINTS c\n"
    "JOIN SYS.ALL_CONS_COLUMNS cc ON cc.OWNER = c.OWNER AND cc.CONSTRAINT_NAME = c.CONSTRAINT_NAME\n"
    "WHERE c.CONSTRAINT_TYPE = 'P' AND c.TABLE_NAME = :table_name\n"
    "AND c.OWNER = COALESCE(:owner, SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA'))\n"
    "ORDER BY cc.POSITION"
)
#: Whether a schema (an Oracle user) exists.
SCHEMA_QUERY = sa.text("SELECT COUNT(*) FROM SYS.ALL_USERS WHERE USERNAME = :owner")


#: Suffixes of the loader's own tables beside a stream's table; no stream's table may end so.
STAGING_SUFFIX = "$STG"
FRESH_SUFFIX = "$NEW"
RESERVED_SUFFIXES = (STAGING_SUFFIX, FRESH_SUFFIX)


@dataclass(frozen=True)
class TableRef:
    """A table by its conformed (unquoted) schema and name."""

    schema: str | None
    name: str

    def staging(self, max_bytes: int) -> TableRef:
        """The loader's global temporary table beside this one, for large batches."""
        return TableRef(self.schema, shorten(f"{self.name}{STAGING_SUFFIX}", max_bytes))

    def fresh(self, max_bytes: int) -> TableRef:
        """The loader's table for a run's rows under load_method overwrite."""
        return TableRef(self.schema, shorten(f"{self.name}{FRESH_SUFFIX}", max_bytes))


@dataclass
class KnownTable:
    """A table as the loader last saw or shaped it."""

    ref: TableRef
    columns: dict[str, OracleType]
    #: The primary key's columns (empty: none), or None until read from the data dictionary.
    keys: tuple[str, ...] | None = None


def columns_from_rows(rows: Sequence[Mapping[Any, Any]]) -> dict[str, OracleType]:
    """Column name -> type from the rows of :data:`COLUMNS_QUERY` (keys in lower case, as SQLAlchemy's)."""
    return {str(row["column_name"]): from_dictionary(dict(row)) for row in rows}


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

    def forget(self, ref: TableRef) -> None:
        """Record that a table was dropped."""
        with self._lock:
            self._tables[ref] = None
