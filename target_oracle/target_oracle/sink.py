"""Loading one stream: batches by executemany, upserts by MERGE, deletes at activation.

Every batch is written and committed inside ``process_batch``, which the SDK runs while
draining, before it emits the STATE covering those rows; so a STATE never names a row
the database does not have.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import jsonschema
from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks.core import BaseJSONSchemaValidator, JSONSchemaValidator
from singer_sdk.sql import SQLSink
from typing_extensions import override

from . import statements
from .binds import Converter, converter, timestamp_text
from .connector import OracleConnector
from .statements import LoadColumn
from .typemap import INTEGER_TYPE, TIMESTAMP_TZ, OracleType


class FieldNamingValidator(JSONSchemaValidator):
    """The SDK's record validator, with errors that name the stream and the field."""

    def __init__(self, stream: str, schema: dict[str, Any]) -> None:
        super().__init__(schema)
        self.stream = stream

    @override
    def validate(self, record: dict[str, Any]) -> None:
        try:
            super().validate(record)
        except InvalidRecord as exc:
            cause = exc.__cause__
            path = (
                "/".join(str(p) for p in cause.path) if isinstance(cause, jsonschema.ValidationError) else ""
            )
            msg = f"stream '{self.stream}' field '{path or '(record)'}': {exc.error_message}"
            raise InvalidRecord(msg, record) from cause


class OracleSink(SQLSink[OracleConnector]):
    """Writes one stream's batches to its Oracle table."""

    connector_class = OracleConnector

    @override
    def conform_name(self, name: str, object_type: str | None = None) -> str:
        return self.connector.conform(name)

    @property
    @override
    def schema_name(self) -> str | None:
        """default_target_schema (or the stream's prefix), conformed like every other name."""
        name = super().schema_name
        return self.conform_name(name, "schema") if name else None

    @override
    def get_validator(self) -> BaseJSONSchemaValidator | None:
        return FieldNamingValidator(self.stream_name, self.schema) if self.validate_schema else None

    @override
    def setup(self) -> None:
        super().setup()
        table = self.connector.known_table(self.full_table_name)
        if table is None:  # pragma: no cover - prepare_table just created or found it
            msg = f"table {self.full_table_name} is missing after preparing it"
            raise RuntimeError(msg)
        self._columns: list[tuple[str, LoadColumn, Converter]] = []
        for index, prop in enumerate(self.schema["properties"]):
            name = self.conform_name(prop)
            column = LoadColumn(name, table.columns[name], f"p{index}")
            convert = converter(
                str(self.full_table_name), name, column.type, self.connector.settings.string_limit
            )
            self._columns.append((prop, column, convert))
        self._versions_seen: set[int] = set()
        by_name = {column.name: column.bind for _, column, _ in self._columns}
        self._key_binds = [by_name[k] for k in self.key_properties if k in by_name]

    @property
    def upserts(self) -> bool:
        """Rows replace earlier rows with the same key (load_method upsert or overwrite)."""
        return bool(self._key_binds) and self.connector.settings.load_method != "append-only"

    def bind_rows(self, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Records -> bind sets; with keys, the last record per key wins."""
        rows = [
            {col.bind: convert(record.get(prop)) for prop, col, convert in self._columns}
            for record in records
        ]
        if not self.upserts:
            return rows
        latest: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in rows:
            key = tuple(row[b] for b in self._key_binds)
            latest.pop(key, None)  # re-inserted so the dict keeps the order of last occurrences
            latest[key] = row
        if len(latest) < len(rows):
            self.logger.info(
                "Merged %d duplicate key(s) in one batch; the last record of each won",
                len(rows) - len(latest),
            )
        return list(latest.values())

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        """Write the batch in one transaction and commit it (before the SDK emits STATE)."""
        records = context.get("records") or []
        if not records:
            return
        rows = self.bind_rows(records)
        table = self.connector.known_table(self.full_table_name)
        if table is None:  # pragma: no cover - setup created it
            msg = f"table {self.full_table_name} is missing"
            raise RuntimeError(msg)
        columns = [column for _, column, _ in self._columns]
        keys = [c.name for c in columns if c.bind in self._key_binds]
        staging_min = self.connector.settings.staging_min_rows
        staged = self.upserts and bool(staging_min) and len(rows) >= staging_min
        # The staging table's DDL (Oracle commits DDL by itself) runs before the batch's transaction.
        staging = self.connector.prepare_staging(table, [c.name for c in columns]) if staged else None
        with self.connector.session() as session:
            if not self.upserts:
                how = "INSERT"
                session.execute(statements.insert(table.ref, columns), rows)
            elif staging is not None:
                how = "staging table and one MERGE"
                session.execute(statements.insert(staging, columns), rows)
                session.execute(statements.merge(table.ref, columns, keys, staging=staging))
            else:
                how = "MERGE"
                session.execute(statements.merge(table.ref, columns, keys), rows)
            session.commit()
        self.logger.info("Committed %d row(s) to %s by %s", len(rows), self.full_table_name, how)

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        """Buffer the record, noting which table version it belongs to."""
        version = record.get(self.version_column_name)
        if version is not None:
            self._versions_seen.add(version)
        super().process_record(record, context)

    @override
    def activate_version(self, new_version: int) -> None:
        """Commit buffered rows, then delete (or stamp) older versions once the new one is loaded.

        Activation after the version's records (the end of a full sync) acts at once.
        Activation before them (the SDK announces a version when a FULL_TABLE stream starts)
        waits for the end of the input, so the table never empties while the sync runs, and
        a run that fails part-way deletes nothing.
        """
        # The SDK calls this straight from the ACTIVATE_VERSION message, with this stream's
        # records still buffered (see tests/test_sdk_contract.py). Deleting first would delete
        # the rows those records are about to refresh, so they are written here first, with
        # the same public steps the SDK's drain uses.
        if self.current_size:
            self.process_batch(self.start_drain())
            self.mark_drained()
        if not self.include_sdc_metadata_properties:
            self.logger.warning(
                "ACTIVATE_VERSION for '%s' ignored: add_record_metadata is off, so rows carry no version",
                self.stream_name,
            )
            return
        ref = self.connector.table_ref(self.full_table_name)
        if new_version in self._versions_seen:
            self.connector.defer(ref, None)
            self.delete_older_versions(new_version)
        else:
            self.logger.info(
                "Version %d of %s announced before its records: older rows go at the end of the input",
                new_version,
                self.full_table_name,
            )
            self.connector.defer(ref, lambda: self.delete_older_versions(new_version))

    def delete_older_versions(self, new_version: int) -> None:
        """Delete (hard_delete) or stamp _sdc_deleted_at on rows of versions older than ``new_version``."""
        version = self.conform_name(self.version_column_name)
        self.connector.ensure_column(self.full_table_name, version, INTEGER_TYPE)
        ref = self.connector.table_ref(self.full_table_name)
        if self.connector.settings.hard_delete:
            statement = statements.delete_old_versions(ref, version)
            binds: dict[str, Any] = {"version": new_version}
        else:
            deleted = self.conform_name(self.soft_delete_column_name)
            self.connector.ensure_column(self.full_table_name, deleted, OracleType(TIMESTAMP_TZ))
            statement = statements.soft_delete_old_versions(ref, version, deleted)
            binds = {"version": new_version, "deleted_at": timestamp_text(dt.datetime.now(dt.UTC))}
        with self.connector.session() as session:
            session.execute(statement, binds)
            session.commit()
        self.logger.info("Activated version %d of %s", new_version, self.full_table_name)
