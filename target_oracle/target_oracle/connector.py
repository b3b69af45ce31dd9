"""Connection, sessions and DDL: the only module that decides what a table looks like.

The SDK's generic SQLConnector reflects through SQLAlchemy's inspector on every call and
builds DDL that Oracle rejects (``ADD COLUMN``); here tables are read from the data
dictionary once (see tables.py), DDL is Oracle's own, and in a dry run every statement
goes to the script and nothing connects at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any, Protocol

import oracledb
import sqlalchemy as sa
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.sql import SQLConnector
from singer_sdk.sql.connector import FullyQualifiedName
from sqlalchemy.dialects import oracle
from sqlalchemy.engine import Dialect
from typing_extensions import override

from . import statements
from .dryrun import BindTypes, DryRunScript, Rows, render
from .naming import Identifier, conform, shorten
from .oracle_rules import RESERVED_COLUMN_NAMES, Limits, check_table
from .settings import Settings, check_release
from .tables import (
    COLUMNS_QUERY,
    PRIMARY_KEY_QUERY,
    RESERVED_SUFFIXES,
    SCHEMA_QUERY,
    KnownTable,
    KnownTables,
    TableRef,
    columns_from_rows,
)
from .typemap import CLOB, OracleType, TypeOptions, for_schema, reconcile, table_types
from .versions import VersionLedger

logger = logging.getLogger("target_oracle")


class Session(Protocol):
    """One transaction: statements, then an explicit commit (nothing commits by itself)."""

    def execute(self, statement: sa.Executable, rows: Rows = None, bind_types: BindTypes = None) -> None:
        """Run one statement, once or once per row (executemany), binds typed as ``bind_types`` say."""

    def commit(self) -> None:
        """Make the transaction's work permanent."""


class _ConnectionSession:
    """A Session on one pooled SQLAlchemy connection, in one transaction."""

    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        connection.begin()

    def execute(self, statement: sa.Executable, rows: Rows = None, bind_types: BindTypes = None) -> None:
        if not bind_types:
            self.connection.execute(
                statement, rows if isinstance(rows, Mapping) else list(rows or ()) or None
            )
            return
        # SQLAlchemy declares no type for text() binds; the driver's cursor of the same
        # connection (and transaction) takes them from setinputsizes.
        sql = render(statement, self.connection.dialect)
        cursor = self.connection.connection.cursor()
        try:
            cursor.setinputsizes(**{name: getattr(oracledb, kind) for name, kind in bind_types.items()})
            if rows is None or isinstance(rows, Mapping):
                cursor.execute(sql, dict(rows or {}))
            else:
                cursor.executemany(sql, [dict(row) for row in rows])
        finally:
            cursor.close()

    def commit(self) -> None:
        self.connection.commit()


def qualified_name(ref: TableRef) -> str:
    """A table as messages name it: ``"SCHEMA"."TABLE"``."""
    return statements.qualified(ref).replace(r"\:", ":")


def _no_connection() -> Any:
    msg = "dry run: target-oracle does not connect to a database"
    raise RuntimeError(msg)


class TableRuleError(ValueError):
    """A table Oracle would refuse (a documented limit); the message names the table and the rule."""


class OracleName(FullyQualifiedName):
    """A table name whose parts are always quoted: names keep their case exactly."""

    @override
    def prepare_part(self, part: str) -> str:
        return statements.ident(part).replace(r"\:", ":")


class OracleConnector(SQLConnector):
    """Oracle connection (python-oracledb thin mode), or a dry-run script, plus DDL."""

    def __init__(self, config: dict[str, Any] | None = None, *, settings: Settings | None = None) -> None:
        super().__init__(config)
        self.settings = settings or Settings.from_config(dict(self.config))
        self.tables = KnownTables(self._read_columns)
        self._warned: set[str] = set()
        #: The stream that loads each table in this run (sink.py: one table per stream).
        self.table_streams: dict[TableRef, str] = {}
        self._prepared: set[TableRef] = set()
        self._deferred: dict[Hashable, Callable[[], None]] = {}
        self._lock = threading.RLock()  # DDL helpers call each other with it held
        self.versions = VersionLedger()
        #: When this run started: rows batched since, without a version, are no full sync's to delete.
        self.started = dt.datetime.now(dt.UTC)

    # ------------------------------------------------------------------ connection

    @cached_property
    def engine(self) -> sa.Engine:
        """The engine: pooled oracledb connections, or one that refuses to connect (dry run)."""
        conn = self.settings.connection
        ident_limit = {"max_identifier_length": self.settings.max_identifier_length}
        if self.settings.dry_run or conn is None:
            return sa.create_engine("oracle+oracledb://", creator=_no_connection, **ident_limit)
        # hide_parameters: record values never appear in error messages or logs.
        return sa.create_engine(
            conn.url or "oracle+oracledb://",
            connect_args=conn.connect_args,
            pool_pre_ping=True,
            hide_parameters=True,
            **ident_limit,
        )

    @override
    def create_engine(self) -> sa.Engine:
        return self.engine

    @cached_property
    def dialect(self) -> Dialect:
        """The Oracle dialect statements are compiled with."""
        if self.settings.dry_run:
            return oracle.dialect(max_identifier_length=self.identifier_limit)  # type: ignore[no-untyped-call]
        return self.engine.dialect

    @cached_property
    def script(self) -> DryRunScript | None:
        """The dry-run script, opened on first use."""
        path = self.settings.dry_run_sql_path
        if path is None:
            return None
        s = self.settings
        limits = {"database_version": s.database_version, "string_limit": s.string_limit}
        assumptions = [
            f"Oracle Database {s.database_version} (database_version), "
            f"identifier limit {self.identifier_limit} bytes, VARCHAR2 limit {s.string_limit} bytes",
            f"booleans as {'BOOLEAN' if s.native_boolean else 'NUMBER(1)'}, "
            f"JSON as {'JSON' if s.native_json else 'CLOB'}, load_method {s.load_method}",
        ]
        limits["identifier_limit"] = self.identifier_limit
        return DryRunScript(path, oracle.dialect(), assumptions, limits)  # type: ignore[no-untyped-call]

    @cached_property
    def identifier_limit(self) -> int:
        """Name byte limit: the setting, else the server's (dry run: 30 for 12, maybe 12.1, else 128)."""
        if self.settings.max_identifier_length:
            return self.settings.max_identifier_length
        if self.settings.dry_run:
            return 30 if self.settings.database_version == 12 else 128
        with self.engine.connect() as connection:  # the dialect reads the limit on first connect
            return int(connection.dialect.max_identifier_length)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction; leaving it without ``commit()`` rolls it back."""
        if self.script is not None:
            with self.script.session() as dry:
                yield dry
            return
        with self.engine.connect() as connection:
            yield _ConnectionSession(connection)

    def defer(self, key: Hashable, action: Callable[[], None]) -> None:
        """Keep ``action`` for the end of the input; a later one for the same key replaces it."""
        with self._lock:
            self._deferred[key] = action

    def run_deferred(self) -> None:
        """Run the kept actions, in the order they were kept."""
        with self._lock:
            actions, self._deferred = list(self._deferred.values()), {}
        for action in actions:
            action()

    def close(self) -> None:
        """Release pooled connections."""
        if "engine" in self.__dict__:
            self.engine.dispose()

    # ------------------------------------------------------------------ names and types

    def conform(self, name: str, object_type: str | None = None) -> str:
        """An Oracle identifier for a Singer name, warning once when it had to be changed.

        Besides case and length: a column cannot be named ROWID, even quoted, and a table
        name may not end like the loader's own tables beside it ($STG, $NEW).
        """
        result: Identifier = conform(name, self.settings.identifier_case, self.identifier_limit)
        if result.shortened_from:
            self.warn_once(
                result.shortened_from,
                f"Name {result.shortened_from!r} is longer than the database's {self.identifier_limit}-byte "
                f"limit; it is written as {result.name!r}",
            )
        final = result.name
        if object_type == "table" and final.upper().endswith(RESERVED_SUFFIXES):
            final = shorten(
                f"{final}_{hashlib.sha256(final.encode()).hexdigest()[:8]}", self.identifier_limit
            )
            self.warn_once(
                result.name,
                f"Table name {result.name!r} ends like target-oracle's own tables ($STG, $NEW); "
                f"it is written as {final!r}",
            )
        elif object_type not in {"table", "schema"} and final in RESERVED_COLUMN_NAMES:  # upper case only
            final = f"{final}_"
            self.warn_once(
                result.name,
                f"Oracle refuses a column named {result.name!r}, even quoted; it is written as {final!r}",
            )
        return final

    def warn_once(self, key: str, message: str) -> None:
        """Log ``message`` as a warning the first time ``key`` is seen in this run."""
        if key not in self._warned:
            self._warned.add(key)
            logger.warning("%s", message)

    @property
    def type_options(self) -> TypeOptions:
        """The settings that shape the JSON Schema -> Oracle mapping."""
        s = self.settings
        return TypeOptions(
            string_limit=s.string_limit, native_boolean=s.native_boolean, native_json=s.native_json
        )

    def oracle_type(self, jsonschema_type: dict[str, Any]) -> OracleType:
        """The Oracle column type for one property schema."""
        return for_schema(jsonschema_type, self.type_options)

    @override
    def to_sql_type(self, jsonschema_type: dict[str, Any]) -> sa.types.TypeEngine[Any]:
        return self.oracle_type(jsonschema_type).to_sqlalchemy()

    @override
    def get_fully_qualified_name(
        self,
        table_name: str = "",
        schema_name: str | None = None,
        db_name: str | None = None,
        delimiter: str = ".",
    ) -> FullyQualifiedName:
        return OracleName(table=table_name, schema=schema_name, database=db_name, delimiter=delimiter)

    # ------------------------------------------------------------------ the data dictionary

    def _read_columns(self, ref: TableRef) -> dict[str, OracleType] | None:
        """A table's columns from ALL_TAB_COLUMNS; a dry run knows only what it created."""
        if self.settings.dry_run:
            return None
        with self.engine.connect() as connection:
            result = connection.execute(COLUMNS_QUERY, {"owner": ref.schema, "table_name": ref.name})
            rows = result.mappings().all()
        return columns_from_rows(rows) or None

    def _read_key(self, ref: TableRef) -> tuple[str, ...] | None:
        """A table's primary key columns from the data dictionary; a dry run knows only what it created."""
        if self.settings.dry_run:
            return None
        with self.engine.connect() as connection:
            result = connection.execute(PRIMARY_KEY_QUERY, {"owner": ref.schema, "table_name": ref.name})
            return tuple(str(name) for name in result.scalars())

    def primary_key(self, table: KnownTable) -> tuple[str, ...] | None:
        """The table's primary key columns (empty: none), read once; None when it cannot be known."""
        with self._lock:
            if table.keys is None:
                table.keys = self._read_key(table.ref)
            return table.keys

    def known_table(self, full_table_name: str | FullyQualifiedName) -> KnownTable | None:
        """The table as last seen, or None when it does not exist."""
        return self.tables.get(self.table_ref(full_table_name))

    def table_ref(self, full_table_name: str | FullyQualifiedName) -> TableRef:
        """The key of a table name among the known tables."""
        _, schema, table = self.parse_full_table_name(full_table_name)
        return TableRef(schema, table)

    @override
    def table_exists(self, full_table_name: str | FullyQualifiedName) -> bool:
        return self.known_table(full_table_name) is not None

    @override
    def column_exists(self, full_table_name: str | FullyQualifiedName, column_name: str) -> bool:
        table = self.known_table(full_table_name)
        return table is not None and column_name in table.columns

    @override
    def schema_exists(self, schema_name: str) -> bool:
        if self.settings.dry_run:
            return True
        with self.engine.connect() as connection:
            return bool(connection.execute(SCHEMA_QUERY, {"owner": schema_name}).scalar())

    @override
    def prepare_schema(self, schema_name: str) -> None:
        """Check the schema exists: in Oracle a schema is a user, which is the DBA's to create."""
        if not self.schema_exists(schema_name):
            msg = (
                f"setting 'default_target_schema': schema {schema_name} does not exist "
                "(in Oracle a schema is a user: ask a DBA to create it)"
            )
            raise RuntimeError(msg)

    # ------------------------------------------------------------------ DDL

    def _run_ddl(self, *ddl: sa.Executable) -> None:
        with self.session() as session:
            for statement in ddl:
                session.execute(statement)
            session.commit()  # Oracle commits DDL by itself; the dry-run script needs the mark

    @override
    def prepare_table(
        self,
        full_table_name: str | FullyQualifiedName,
        schema: dict[str, Any],
        primary_keys: Sequence[str],
        partition_keys: list[str] | None = None,
        as_temp_table: bool = False,
    ) -> None:
        """Create the table, or add and widen columns; never drop, never narrow."""
        ref = self.table_ref(full_table_name)
        # append-only writes every record, so a primary key would reject repeats.
        keys = [] if self.settings.load_method == "append-only" else list(primary_keys)
        wanted = table_types(schema["properties"], keys, self.type_options)
        with self._lock:
            table = self.tables.get(ref)
            if table is None:
                self.check(ref, wanted, keys)
                self._run_ddl(statements.create_table(ref, wanted, keys))
                table = KnownTable(ref, dict(wanted), keys=tuple(keys))
                self.tables.remember(table)
            else:
                self._evolve(table, wanted)
            if self.settings.load_method == "overwrite":
                self._prepare_fresh(table, keys, str(full_table_name))
            self._prepared.add(ref)

    def _prepare_fresh(self, table: KnownTable, keys: Sequence[str], ledger_key: str) -> None:
        """overwrite: the run's rows go to ``<TABLE>$NEW``, which replaces the rows at the end.

        A TRUNCATE at the start would commit at once and leave the table empty if the run
        then failed; here the old rows stay until every batch of the input is committed.
        """
        fresh = table.ref.fresh(self.identifier_limit)
        if table.ref not in self._prepared:
            if self.tables.get(fresh) is not None:  # left by a run that failed
                self._run_ddl(statements.drop_table(fresh))
                self.tables.forget(fresh)
            self._run_ddl(statements.create_table(fresh, dict(table.columns), keys))
            self.tables.remember(KnownTable(fresh, dict(table.columns)))
            self.defer((table.ref, "overwrite"), lambda: self._replace_rows(table.ref, fresh, ledger_key))
        else:
            known = self.tables.get(fresh)
            assert known is not None  # created on first preparation
            self._evolve(known, dict(table.columns))

    def _replace_rows(self, ref: TableRef, fresh: TableRef, ledger_key: str) -> None:
        """Replace the table's rows by the run's in one transaction, then drop the run's table.

        Not when the records carried a version no ACTIVATE_VERSION named: that tap activates
        what it finished, so it died mid-stream, and its input still ended normally (Meltano
        closes the target's input when the tap fails).
        """
        known = self.tables.get(fresh)
        assert known is not None
        if unfinished := self.versions.never_activated(ledger_key):
            self._run_ddl(statements.drop_table(fresh))
            self.tables.forget(fresh)
            logger.warning(
                "%s: version %s of its records was never activated, so the tap did not finish the "
                "stream: its rows are kept and this run's dropped (load_method overwrite)",
                qualified_name(ref),
                ", ".join(map(str, unfinished)),
            )
            return
        with self.session() as session:
            session.execute(statements.delete_all(ref))
            session.execute(statements.insert_select(ref, fresh, list(known.columns)))
            session.commit()
        self._run_ddl(statements.drop_table(fresh))
        self.tables.forget(fresh)
        done = "dry run: would replace" if self.settings.dry_run else "Replaced"
        logger.info("%s the rows of %s by this run's (load_method overwrite)", done, qualified_name(ref))

    def load_table(self, full_table_name: str | FullyQualifiedName) -> KnownTable:
        """The table a stream's batches go to: its own, or ``<TABLE>$NEW`` under overwrite."""
        ref = self.table_ref(full_table_name)
        if self.settings.load_method == "overwrite":
            ref = ref.fresh(self.identifier_limit)
        table = self.tables.get(ref)
        if table is None:  # pragma: no cover - prepare_table made it
            msg = f"table {qualified_name(ref)} is missing after preparing it"
            raise RuntimeError(msg)
        return table

    def prepare_staging(self, table: KnownTable, columns: Sequence[str]) -> TableRef:
        """The staging GTT for ``table``, created or widened to match ``columns``."""
        ref = table.ref.staging(self.identifier_limit)
        wanted = {name: table.columns[name] for name in columns}
        with self._lock:
            staging = self.tables.get(ref)
            if staging is None:
                self._run_ddl(statements.create_table(ref, wanted, [], staging=True))
                self.tables.remember(KnownTable(ref, dict(wanted)))
            else:
                self._evolve(staging, wanted)
        return ref

    @cached_property
    def limits(self) -> Limits:
        """What the database allows: the settings, or the server's release (19 assumed in a dry run)."""
        version = self.settings.database_version
        if version is None:
            with self.engine.connect() as connection:
                info = connection.dialect.server_version_info
            version = int(info[0]) if info else 19
            try:
                check_release(self.settings, version)
            except ConfigValidationError as exc:  # found mid-run: one line like the other input errors
                raise TableRuleError(str(exc)) from None
        return Limits(version, self.settings.string_limit, self.identifier_limit)

    def check(self, ref: TableRef, columns: dict[str, OracleType], keys: Sequence[str]) -> None:
        """Refuse, in one line, a table Oracle would refuse (oracle_rules.py)."""
        sql = {name: t.sql for name, t in columns.items()}
        if problems := check_table(qualified_name(ref), sql, keys, self.limits):
            raise TableRuleError(problems[0])

    def _evolve(self, table: KnownTable, wanted: dict[str, OracleType]) -> None:
        """ADD missing columns in one statement, widen the ones that must (VARCHAR2 to CLOB by a copy)."""
        name = qualified_name(table.ref)
        self._finish_clob_copies(table, wanted)
        missing = {col: t for col, t in wanted.items() if col not in table.columns}
        widen = {}
        for col, new_type in wanted.items():
            if col in table.columns and (target := reconcile(name, col, table.columns[col], new_type)):
                widen[col] = target
        to_clob = [col for col, t in widen.items() if t.name == CLOB]
        for col in to_clob:
            del widen[col]
        if missing:
            self.check(table.ref, {**table.columns, **missing}, [])
        ddl: list[sa.Executable] = []
        if missing:
            compiled = {col: self._type_sql(t) for col, t in missing.items()}
            ddl.append(statements.add_columns(table.ref, compiled))
        ddl += [statements.modify_column(table.ref, col, self._type_sql(t)) for col, t in widen.items()]
        if ddl:
            self._run_ddl(*ddl)
            for col, t in widen.items():
                logger.info("Widened %s column %s from %s to %s", name, col, table.columns[col].sql, t.sql)
            table.columns.update(missing)
            table.columns.update(widen)
        for col in to_clob:
            self._copy_into_clob(table, col)

    def _clob_copy_name(self, column: str) -> str:
        return shorten(f"{column}$CLOB", self.identifier_limit)

    def _copy_into_clob(self, table: KnownTable, column: str) -> None:
        """Make a VARCHAR2 column a CLOB: ADD a CLOB, copy, DROP the old, RENAME the new.

        Oracle cannot MODIFY VARCHAR2 to CLOB. Each step commits; stopped anywhere, the
        values are in one column or both, and the next run finishes the steps.
        """
        copy = self._clob_copy_name(column)
        if copy not in table.columns:
            self._run_ddl(statements.add_columns(table.ref, {copy: "CLOB"}))
            table.columns[copy] = OracleType(CLOB)
        with self.session() as session:
            session.execute(statements.copy_column(table.ref, column, copy))
            session.commit()
        self._run_ddl(statements.drop_column(table.ref, column))
        del table.columns[column]
        self._rename_clob_copy(table, column)

    def _rename_clob_copy(self, table: KnownTable, column: str) -> None:
        copy = self._clob_copy_name(column)
        self._run_ddl(statements.rename_column(table.ref, copy, column))
        table.columns[column] = table.columns.pop(copy)
        logger.warning(
            "Column %s of %s is now a CLOB, so longer text fits (its values were copied in place)",
            column,
            qualified_name(table.ref),
        )

    def _finish_clob_copies(self, table: KnownTable, wanted: dict[str, OracleType]) -> None:
        """Finish a VARCHAR2-to-CLOB copy an earlier run began and did not end."""
        for column in wanted:
            copy = self._clob_copy_name(column)
            if copy in wanted or copy not in table.columns:
                continue
            if column in table.columns:
                self._copy_into_clob(table, column)
            else:
                self._rename_clob_copy(table, column)

    def _type_sql(self, oracle_type: OracleType) -> str:
        return str(oracle_type.to_sqlalchemy().compile(dialect=self.dialect))

    def ensure_column(
        self, full_table_name: str | FullyQualifiedName, column: str, oracle_type: OracleType
    ) -> None:
        """Add ``column`` with ``oracle_type`` when the table lacks it."""
        table = self.known_table(full_table_name)
        if table is not None and column not in table.columns:
            with self._lock:
                self._evolve(table, {column: oracle_type})
