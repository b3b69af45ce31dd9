"""Loading one stream: batches by executemany, upserts by MERGE, deletes at activation.

Every batch is written and committed inside ``process_batch``, which the SDK runs while
draining, before it emits the STATE covering those rows; so a STATE never names a row
the database does not have.
"""

from __future__ import annotations

import datetime as dt
import math
import time
import zlib
from collections.abc import Iterator, Sequence
from decimal import Decimal
from fractions import Fraction
from functools import cached_property, partial
from itertools import repeat
from operator import call, itemgetter
from typing import TYPE_CHECKING, Any

import fastjsonschema
import jsonschema
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from singer_sdk.exceptions import (
    ConformedNameClashException,
    InvalidJSONSchema,
    InvalidRecord,
    MissingKeyPropertiesError,
)
from singer_sdk.singerlib.json import serialize_json
from singer_sdk.sinks.core import BaseJSONSchemaValidator
from singer_sdk.sql import SQLSink
from singer_sdk.target_base import Target
from typing_extensions import override

from . import statements
from .binds import (
    DATELIKE_PARSERS,
    BadValueError,
    ColumnConverter,
    Converter,
    column_converter,
    converter,
    timestamp_text,
)
from .connector import OracleConnector, TableRuleError, qualified_name
from .oracle_rules import LOB_COMPARE, LOB_TYPES, MAX_PRECISION, UNIQUE_KEY
from .statements import LoadColumn
from .typemap import INTEGER_TYPE, TIMESTAMP_TZ, IncompatibleColumnError, OracleType

if TYPE_CHECKING:  # the SDK exports the encoding type only from a private module
    from singer_sdk.helpers._batch import BaseBatchFileEncoding


#: Why a BATCH file's line could not be read, for errors that carry no message of their own to show.
_UNREADABLE: dict[type[BaseException], str] = {
    ValueError: "a value Python cannot read, e.g. an integer of more than 4,300 digits",
    RecursionError: "arrays or objects nested too deep (about 1,000 levels)",
}


class BadNameError(ValueError):
    """A stream, table or property name that yields no Oracle identifier."""


class FieldNamingValidator(BaseJSONSchemaValidator):
    """Record validation compiled once per schema, keeping a one-line problem (stream, record key, field).

    Why compiled: the SDK's ``jsonschema`` validator walks the schema for every field of every
    record, most of the loader's CPU. fastjsonschema turns the schema into one Python function
    (no defaults filled in, no format checks, as the SDK's). It does not raise: the SDK would log
    the exception with its traceback (and the value) first; ``OracleSink.preprocess_record``
    raises the kept line instead.
    """

    def __init__(self, stream: str, schema: dict[str, Any], keys: Sequence[str]) -> None:
        super().__init__(schema)
        try:
            validator_for(schema).check_schema(schema)
        except jsonschema.SchemaError as exc:
            where = "/".join(map(str, exc.absolute_path)) or "(schema)"
            rule = f"{exc.validator} {exc.validator_value}"  # the metaschema's rule: no Decimal repr
            msg = f"stream '{stream}': its schema is not a valid JSON Schema (at {where}: breaks {rule})"
            raise InvalidJSONSchema(msg) from None
        # multipleOf is checked in decimal by a second validator: fastjsonschema's code reads the
        # record's Decimal through repr() and every number of such a property would crash.
        self.check = fastjsonschema.compile(compiled_rules(schema), use_default=False, use_formats=False)
        self.multiples = decimal_validator(schema) if has_multiple_of(schema) else None
        self.stream = stream
        self.keys = keys
        self.problem: str | None = None
        #: Date, time and date-time properties: their text must parse (binds.py parses it again).
        self.datelike = {
            name: (fmt, DATELIKE_PARSERS[fmt])
            for name, prop in schema.get("properties", {}).items()
            if (fmt := prop.get("format")) in DATELIKE_PARSERS
        }

    @override
    def validate(self, record: dict[str, Any]) -> None:
        try:
            while True:
                try:
                    self.check(record)
                    break
                except fastjsonschema.JsonSchemaValueException as exc:
                    if not as_integer_where_whole(record, exc):
                        raise
        except fastjsonschema.JsonSchemaValueException as exc:
            field = "/".join(str(p) for p in exc.path[1:]) or "(record)"
            # The rule broken, never the value.
            self.problem = self.refuse(
                record, field, f"does not match its schema ({exc.rule} {exc.rule_definition})"
            )
            return
        broken = next(self.multiples.iter_errors(record), None) if self.multiples is not None else None
        if broken is not None:
            field = "/".join(str(p) for p in broken.absolute_path) or "(record)"
            self.problem = self.refuse(
                record, field, f"does not match its schema ({broken.validator} {broken.validator_value})"
            )
            return
        for name, (fmt, parse) in self.datelike.items():
            value = record.get(name)
            if isinstance(value, str):
                try:
                    parse(value)
                except ValueError:
                    self.problem = self.refuse(record, name, f"is not an ISO 8601 {fmt} (format {fmt})")
                    return

    def refuse(self, record: dict[str, Any], field: str, why: str) -> str:
        """The one line that refuses ``record``."""
        return f"stream '{self.stream}' record {record_key(record, self.keys)} field '{field}': {why}"


def as_integer_where_whole(record: dict[str, Any], exc: fastjsonschema.JsonSchemaValueException) -> bool:
    """Put ``int(v)`` where ``exc`` found a whole number written as ``1.0`` or ``1e2`` in an integer's place.

    Why: JSON Schema's integer is any number without a fractional part (Validation, "type"); the
    decoders give such a number as a Decimal, which the compiled check takes for no integer. True
    when a value was replaced (check again), False when ``exc`` is a real break of the schema.
    """
    allowed = exc.rule_definition if isinstance(exc.rule_definition, list) else [exc.rule_definition]
    value = exc.value
    if exc.rule != "type" or "integer" not in allowed or not isinstance(value, Decimal | float):
        return False
    number = Decimal(value) if isinstance(value, Decimal) else Decimal(repr(value))
    if not number.is_finite() or number.adjusted() > MAX_EXACT_DIGITS or number != number.to_integral_value():
        return False
    if len(exc.path) < 2:  # the record itself
        return False
    container: Any = record
    *parents, last = exc.path[1:]
    for part in parents:
        container = container[int(part)] if isinstance(container, list) else container[part]
    container[int(last) if isinstance(container, list) else last] = int(number)
    return True


def is_multiple(value: Any, step: Any) -> bool:
    """JSON Schema's multipleOf, exactly: no float, no 28-digit rounding.

    What is no finite number is another rule's business (the column's converter refuses NaN and infinity).
    """
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return True
    number, divisor = Decimal(str(value)), Decimal(str(step))
    if not (number.is_finite() and divisor.is_finite()) or divisor <= 0:
        return True
    if abs(number.adjusted() - divisor.adjusted()) > MAX_EXACT_DIGITS:
        return True  # far outside any Oracle NUMBER: the column's converter refuses such a value
    return (Fraction(number) / Fraction(divisor)).denominator == 1


#: is_multiple decides exactly up to this many digits between value and divisor.
MAX_EXACT_DIGITS = 1000


def _decimal_multiple_of(validator: Any, step: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    del schema
    if validator.is_type(instance, "number") and not is_multiple(instance, step):
        yield ValidationError(f"is not a multiple of {step}")


def is_rule(value: Any) -> bool:
    """A multipleOf keyword's value (a property may be *named* multipleOf: its value is a schema)."""
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def has_multiple_of(schema: Any) -> bool:
    """Whether any subschema has a multipleOf rule."""
    if isinstance(schema, dict):
        return is_rule(schema.get("multipleOf")) or any(has_multiple_of(v) for v in schema.values())
    if isinstance(schema, list):
        return any(has_multiple_of(v) for v in schema)
    return False


def compiled_rules(schema: Any) -> Any:
    """The schema without its multipleOf rules (decimal_validator checks them) and contentMediaType.

    fastjsonschema asserts contentMediaType (text that is no JSON fails); JSON Schema and the SDK's
    validator take it as an annotation, and the loader binds such text as a JSON string.
    """
    if isinstance(schema, dict):
        return {
            k: compiled_rules(v)
            for k, v in schema.items()
            if not (k == "multipleOf" and is_rule(v)) and not (k == "contentMediaType" and isinstance(v, str))
        }
    if isinstance(schema, list):
        return [compiled_rules(v) for v in schema]
    return schema


def decimal_validator(schema: dict[str, Any]) -> Any:
    """The schema's jsonschema validator with multipleOf decided exactly.

    Run only for schemas that have one, after the compiled check passed: only multipleOf is left to break.
    """
    return jsonschema.validators.extend(validator_for(schema), {"multipleOf": _decimal_multiple_of})(schema)


def datelike_format(prop: dict[str, Any]) -> str | None:
    """The format ('date-time', 'date', 'time') the SDK would parse a property's text by, if any.

    The SDK's rule: a string type with such a format, on the property or one of its anyOf.
    """
    for option in (prop, *prop.get("anyOf", [])):
        if "string" in option.get("type", []) and option.get("format") in DATELIKE_PARSERS:
            return str(option["format"])
    return None


def record_key(record: dict[str, Any], keys: Sequence[str]) -> str:
    """How an error names a record: its key properties and their values (no other value)."""
    if not keys:
        return "(no key properties)"
    return "key " + ", ".join(f"{k}={_short(record.get(k))}" for k in keys)


def _short(value: Any, limit: int = 40) -> str:
    if isinstance(value, int) and value.bit_length() > _LONG_INT_BITS:
        # Python will not write it as text (its int-string limit): its size says enough.
        return f"(an integer of about {int(value.bit_length() * math.log10(2))} digits)"
    text = serialize_json(value)
    size = len(value) if isinstance(value, str) else len(text)  # a string's own length, not its JSON's
    return text if len(text) <= limit else f"{text[:limit]}... ({size} characters)"


#: Integers of more bits than this have more digits than Python writes as text (4,300).
_LONG_INT_BITS = 14000


class OracleSink(SQLSink[OracleConnector]):
    """Writes one stream's batches to its Oracle table."""

    connector_class = OracleConnector

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
        connector: OracleConnector | None = None,
    ) -> None:
        keys = [] if key_properties is None else key_properties
        if not isinstance(keys, list | tuple) or not all(isinstance(k, str) for k in keys):
            msg = f"stream '{stream_name}': key_properties must be a list of property names"
            raise BadNameError(msg)
        #: The key properties as the stream names them (the SDK's are conformed to columns).
        self.stream_keys = list(key_properties or [])
        super().__init__(target, stream_name, schema, key_properties, connector)

    @override
    def conform_name(self, name: str, object_type: str | None = None) -> str:
        try:
            return self.connector.conform(name, object_type)
        except ValueError as exc:  # an empty name, e.g. a stream called "order-"
            msg = f"stream '{self.stream_name}': {exc}"
            raise BadNameError(msg) from None

    @override
    def conform_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The SDK's, with the stream named when two properties fold to one column name."""
        try:
            return super().conform_schema(schema)
        except ConformedNameClashException as exc:
            msg = f"stream '{self.stream_name}': {exc} (rename one property, e.g. with a stream map)"
            raise ConformedNameClashException(msg) from None

    @property
    @override
    def schema_name(self) -> str | None:
        """default_target_schema (or the stream's prefix), conformed like every other name."""
        name = super().schema_name
        return self.conform_name(name, "schema") if name else None

    @override
    def get_validator(self) -> BaseJSONSchemaValidator | None:
        if not self.validate_schema:
            return None
        self._record_validator = FieldNamingValidator(self.stream_name, self.schema, self.stream_keys)
        return self._record_validator

    _record_validator: FieldNamingValidator | None = None
    #: The version process_record last noted in the ledger.
    _noted_version: Any = None

    @override
    def setup(self) -> None:
        missing = [k for k in self.stream_keys if k not in self.schema["properties"]]
        if missing:
            msg = f"stream '{self.stream_name}': key property '{missing[0]}' is not in its schema"
            raise MissingKeyPropertiesError(msg)
        self.claim_table()
        self.refuse_lob_keys()
        self.refuse_other_keys()
        try:
            super().setup()
        except IncompatibleColumnError as exc:  # names table and column: the stream to fix goes first
            msg = f"stream '{self.stream_name}': {exc}"
            raise TableRuleError(msg) from None
        table = self.connector.load_table(self.full_table_name)
        self._columns: list[LoadColumn] = []
        self._converters: list[Converter] = []
        self._column_converters: list[ColumnConverter] = []
        for index, (prop, prop_schema) in enumerate(self.schema["properties"].items()):
            name = self.conform_name(prop)
            column = LoadColumn(name, table.columns[name], f"p{index}")
            self._columns.append(column)
            how = (str(self.full_table_name), name, column.type, self.connector.settings.string_limit)
            options: dict[str, Any] = {
                "json_text": prop_schema.get("contentMediaType") == "application/json",
                "text_format": datelike_format(prop_schema),
                "not_finite": partial(self.warn_not_finite, prop),
            }
            self._converters.append(converter(*how, **options))
            self._column_converters.append(column_converter(*how, **options))
        self._properties = list(self.schema["properties"])
        #: The fields a record may carry (the SDK's _sdc ones included); any other is warned about.
        self._fields = frozenset(self._properties)
        self._binds = [column.bind for column in self._columns]
        self._from_files = False
        by_name = {column.name: column.bind for column in self._columns}
        self._key_binds = [by_name[k] for k in self.key_properties if k in by_name]
        self._key_columns = [column for column in self._columns if column.bind in self._key_binds]
        self._key_indexes = [i for i, column in enumerate(self._columns) if column.bind in self._key_binds]
        #: The stream's schema with the SDK's _sdc columns: the table, the validator and the
        #: converters above are made from it, and a new SCHEMA message is compared with it.
        self.table_schema = self.schema
        # What the SDK's record path sees from here on. Given the properties, it looks up every
        # field of every record and parses date-time text into datetimes (0.5 CPU-s for the
        # bench's 50k rows, an eighth of the loader's); the converters parse that text instead,
        # as the SDK would have. additionalProperties: the fields are expected, no warning.
        self.schema = {"type": "object", "properties": {}, "additionalProperties": True}

    def warn_not_finite(self, prop: str) -> None:
        """Say once per stream and property that NaN or infinity was loaded as NULL."""
        self.connector.warn_once(
            f"not finite {self.stream_name} {prop}",
            f"stream '{self.stream_name}' property '{prop}': NaN or infinity (no Oracle NUMBER, no JSON "
            "value) is loaded as NULL (null inside JSON)",
        )

    def claim_table(self) -> None:
        """One table per stream: two streams whose names fold to one table are refused by name.

        Why: their rows would mix under one key, and one stream's ACTIVATE_VERSION would delete
        the other's rows.
        """
        ref = self.connector.table_ref(self.full_table_name)
        owner = self.connector.table_streams.setdefault(ref, self.stream_name)
        if owner != self.stream_name:
            msg = (
                f"stream '{self.stream_name}' would load table {ref.name}, as stream '{owner}' does; "
                "their rows would mix (rename one with a stream map, or identifier_case: preserve)"
            )
            raise BadNameError(msg)

    def refuse_lob_keys(self) -> None:
        """A key property stored as a LOB in the existing table: refused before any DDL or row.

        Why: the MERGE would compare the LOB in its ON clause, which Oracle refuses (ORA-00932);
        it happens when a later SCHEMA message names another key, or a DBA made the column.
        """
        table = self.connector.known_table(self.full_table_name)
        if table is None or self.connector.settings.load_method == "append-only":
            return
        for prop in self.stream_keys:
            column = self.conform_name(prop)
            stored = table.columns.get(column)
            if stored is not None and stored.name in LOB_TYPES:
                rule = LOB_COMPARE.broken("a MERGE cannot match rows by it")
                msg = (
                    f"stream '{self.stream_name}': key property '{prop}' is column \"{column}\" of "
                    f"{table.ref.name}, a {stored.sql}: {rule}; "
                    "no record was written under this key (load it into a new table, see the README)"
                )
                raise TableRuleError(msg)

    def refuse_other_keys(self) -> None:
        """Key properties that are not the existing table's primary key: refused before any DDL or row.

        Why: the MERGE would match rows on other columns than the key, and insert a second row of a
        key the table has (ORA-00001, after earlier batches were committed); so would an INSERT of
        a stream without keys. It happens when a later SCHEMA message names another key, or a DBA
        made the table. A table without a primary key takes any key.
        """
        table = self.connector.known_table(self.full_table_name)
        if table is None or not (table_key := self.connector.primary_key(table)):
            return
        append = self.connector.settings.load_method == "append-only"
        keys = () if append else tuple(self.conform_name(prop) for prop in self.stream_keys)
        if set(keys) == set(table_key):
            return
        rule = UNIQUE_KEY.broken("a second row of a key would be inserted")
        msg = (
            f"stream '{self.stream_name}': table {table.ref.name} has primary key ({', '.join(table_key)}), "
            f"the stream's key is ({', '.join(keys) or 'none, rows appended'}): {rule}; no record was "
            "written under this key (load it into a new table, see the README)"
        )
        raise TableRuleError(msg)

    @property
    def upserts(self) -> bool:
        """Rows replace earlier rows with the same key (load_method upsert or overwrite)."""
        return bool(self._key_binds) and self.connector.settings.load_method != "append-only"

    def record_key(self, record: dict[str, Any]) -> str:
        """How an error names a record: its key properties and their values (no other value)."""
        return record_key(record, self.stream_keys)

    @override
    def preprocess_record(self, record: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        """Refuse a record the validator found invalid: one line, no traceback, no value."""
        validator = self._record_validator
        if validator is not None and validator.problem:
            problem, validator.problem = validator.problem, None
            raise InvalidRecord(problem, record) from None
        if not record.keys() <= self._fields:
            self.warn_unknown_fields(record)
        return record

    def warn_unknown_fields(self, record: dict[str, Any]) -> None:
        """Name, once per stream and field, a record field the schema does not list: it has no column."""
        for field in sorted(record.keys() - self._fields):
            self.connector.warn_once(
                f"unknown field {self.stream_name} {field}",
                f"stream '{self.stream_name}': record field '{field}' is not in its schema, so it has no "
                "column and is not loaded",
            )

    def bind_row(self, record: dict[str, Any]) -> dict[str, Any]:
        """One record's bind set; a value that does not fit is one line naming stream, column and key."""
        try:
            # One converter per column, called from C: no per-value dispatch in Python here.
            row = dict(
                zip(self._binds, map(call, self._converters, map(record.get, self._properties)), strict=True)
            )
        except BadValueError as exc:
            msg = f"stream '{self.stream_name}' record {self.record_key(record)}: {exc}"
            raise BadValueError(msg) from None
        if self.upserts:
            for column in self._key_columns:
                if row[column.bind] is None:
                    msg = (
                        f"stream '{self.stream_name}' record {self.record_key(record)}: key column "
                        f'"{column.name}" is null or empty, and a key cannot be NULL '
                        "(Oracle stores '' as NULL)"
                    )
                    raise BadValueError(msg)
        return row

    def bind_rows(self, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Records -> bind sets; with keys, the last record per key wins."""
        try:
            rows = self.bind_columns(records)
        except BadValueError:
            rows = [self.bind_row(record) for record in records]  # again, to name the record
        if not self.upserts:
            return rows
        # Each key's last row index (a later row overwrites an earlier one's), without a Python loop.
        last = dict(zip(map(itemgetter(*self._key_binds), rows), range(len(rows)), strict=True))
        if len(last) == len(rows):
            return rows
        self.logger.info(
            "Merged %d duplicate key(s) in one batch; the last record of each won", len(rows) - len(last)
        )
        return [rows[i] for i in sorted(last.values())]  # in the order of their last occurrences

    def bind_columns(self, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """What ``bind_row`` gives each record, built a column at a time (see ``column_converter``).

        Raises:
            BadValueError: a value does not fit, or a key is null (no record named: ``bind_row`` does).

        """
        if not self._properties:
            return [self.bind_row(record) for record in records]
        columns = [
            convert(list(map(dict.get, records, repeat(prop))))
            for prop, convert in zip(self._properties, self._column_converters, strict=True)
        ]
        if self.upserts and any(None in columns[i] for i in self._key_indexes):
            msg = "a key column is null or empty"
            raise BadValueError(msg)
        return list(map(dict, map(zip, repeat(self._binds), zip(*columns, strict=True))))

    @override
    def process_batch_files(self, encoding: BaseBatchFileEncoding, files: Sequence[str]) -> None:
        """Load BATCH files after the rows buffered before them, stamped like RECORD rows."""
        if self.current_size:
            self.process_batch(self.start_drain())
            self.mark_drained()
        self._from_files = True
        try:
            super().process_batch_files(encoding, files)
        except BadValueError:  # a row's value, already one line
            raise
        except (OSError, EOFError, zlib.error, ValueError, RecursionError) as exc:  # gone, cut or garbled
            # The reason only: a message may quote the file's URL (credentials) or its text (data).
            why = (
                getattr(exc, "strerror", None)
                or getattr(exc, "msg", None)
                or _UNREADABLE.get(type(exc), type(exc).__name__)
            )
            msg = f"stream '{self.stream_name}': a BATCH file cannot be read ({type(exc).__name__}: {why})"
            raise BadValueError(msg) from None
        finally:
            self._from_files = False

    def validate_file_rows(self, records: Sequence[dict[str, Any]]) -> None:
        """BATCH file rows are held to their schema as RECORD rows are (the SDK passes them as read)."""
        if not all(isinstance(record, dict) for record in records):
            msg = (
                f"stream '{self.stream_name}': a BATCH file's row is not a JSON object; its text is not shown"
            )
            raise BadValueError(msg)
        for record in records:
            if not record.keys() <= self._fields:
                self.warn_unknown_fields(record)
        validator = self._record_validator
        if validator is None:
            return
        for record in records:
            validator.validate(record)
            if validator.problem:
                problem, validator.problem = validator.problem, None
                raise InvalidRecord(problem, record) from None

    def stamp(self, record: dict[str, Any]) -> dict[str, Any]:
        """The _sdc metadata a RECORD row gets; the version is the stream's last activated one.

        The SDK passes rows from BATCH files to process_batch as they are: without this
        they would have no version, and the next activation would delete them.
        """
        now = dt.datetime.now(dt.UTC).isoformat()
        version = self.connector.versions.latest_activated(self.ledger_key)
        if version is not None:
            self.connector.versions.record(self.ledger_key, version)
        else:
            self.connector.versions.unversioned(self.ledger_key)
        return {
            **record,
            "_sdc_extracted_at": record.get("_sdc_extracted_at"),
            "_sdc_received_at": now,
            "_sdc_batched_at": now,
            "_sdc_deleted_at": record.get("_sdc_deleted_at"),
            "_sdc_sequence": round(time.time() * 1000),
            self.version_column_name: version,
            "_sdc_sync_started_at": self.sync_started_at,
        }

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        """Write the batch in one transaction and commit it (before the SDK emits STATE)."""
        records = context.get("records") or []
        if not records:
            return
        if self._from_files:
            self.validate_file_rows(records)
            if self.include_sdc_metadata_properties:
                records = [self.stamp(r) for r in records]
        rows = self.bind_rows(records)
        table = self.connector.load_table(self.full_table_name)
        columns = self._columns
        keys = [c.name for c in columns if c.bind in self._key_binds]
        version = (
            self.conform_name(self.version_column_name) if self.include_sdc_metadata_properties else None
        )
        staging_min = self.connector.settings.staging_min_rows
        staged = self.upserts and bool(staging_min) and len(rows) >= staging_min
        # The staging table's DDL (Oracle commits DDL by itself) runs before the batch's transaction.
        staging = self.connector.prepare_staging(table, [c.name for c in columns]) if staged else None
        types = {c.bind: c.bind_type for c in columns if c.bind_type}
        with self.connector.session() as session:
            if not self.upserts:
                how = "INSERT"
                session.execute(statements.insert(table.ref, columns), rows, types)
            elif staging is not None:
                how = "MERGE (through the staging table)"
                session.execute(statements.insert(staging, columns), rows, types)
                session.execute(
                    statements.merge(table.ref, columns, keys, staging=staging, version_column=version)
                )
            else:
                how = "MERGE"
                session.execute(
                    statements.merge(table.ref, columns, keys, version_column=version), rows, types
                )
            session.commit()
        into = qualified_name(table.ref)  # overwrite's rows go into <TABLE>$NEW until the end
        if self.connector.settings.dry_run:
            self.logger.info("dry run: would %s %d row(s) into %s", how, len(rows), into)
        else:
            self.logger.info("Committed %d row(s) to %s by %s", len(rows), into, how)

    @cached_property
    def ledger_key(self) -> str:
        """The table of the stream, as the version ledger knows it."""
        return str(self.full_table_name)

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        """Buffer the record, noting which table version it belongs to."""
        version = record.get(self.version_column_name)
        # The ledger needs each version once after each activation (activate_version forgets it).
        if version is not None and version != self._noted_version:
            self.connector.versions.record(self.ledger_key, int(version))
            self._noted_version = version
        super().process_record(record, context)

    @override
    def activate_version(self, new_version: int) -> None:
        """Note the activation; older versions go at the end of the input, if this one is complete.

        See versions.py: only an activation after the version's records, with none after it,
        says the version is complete. Buffered rows are written first either way.
        """
        if type(new_version) is not int or abs(new_version) >= 10**MAX_PRECISION:
            # The ledger compares versions and the delete binds one into NUMBER(38, 0).
            msg = (
                f"stream '{self.stream_name}': an ACTIVATE_VERSION's version is not an integer of at "
                f"most {MAX_PRECISION} digits (Singer's versions are integers); nothing was deleted"
            )
            raise BadValueError(msg)
        # The SDK calls this straight from the ACTIVATE_VERSION message, with this stream's
        # records still buffered (see tests/test_sdk_contract.py); they are written here with
        # the same public steps the SDK's drain uses.
        if self.current_size:
            self.process_batch(self.start_drain())
            self.mark_drained()
        self._noted_version = None
        if not self.include_sdc_metadata_properties:
            self.logger.warning(
                "ACTIVATE_VERSION for '%s' ignored: add_record_metadata is off, so rows carry no version",
                self.stream_name,
            )
            return
        self.connector.versions.activate(self.ledger_key, new_version)
        self.connector.defer(
            (self.connector.table_ref(self.full_table_name), "versions"), self.finish_versions
        )

    def finish_versions(self) -> None:
        """At the end of the input: remove older versions if one is complete; say so if none is."""
        ledger = self.connector.versions
        if (complete := ledger.complete(self.ledger_key)) is not None:
            self.delete_older_versions(complete)
        if incomplete := ledger.incomplete(self.ledger_key):
            self.logger.info(
                "Stream '%s': version %s was announced before or among its records, not after them, "
                "so it is not known complete: no older row of %s was deleted",
                self.stream_name,
                ", ".join(str(v) for v in incomplete),
                self.full_table_name,
            )

    def delete_older_versions(self, new_version: int) -> None:
        """Delete (hard_delete) or stamp _sdc_deleted_at on rows of versions older than ``new_version``."""
        version = self.conform_name(self.version_column_name)
        batched = self.conform_name("_sdc_batched_at")
        self.connector.ensure_column(self.full_table_name, version, INTEGER_TYPE)
        self.connector.ensure_column(self.full_table_name, batched, OracleType(TIMESTAMP_TZ))
        ref = self.connector.table_ref(self.full_table_name)
        binds: dict[str, Any] = {
            "version": new_version,
            "run_started": timestamp_text(self.connector.started),
        }
        if self.connector.settings.hard_delete:
            statement = statements.delete_old_versions(ref, version, batched)
        else:
            deleted = self.conform_name(self.soft_delete_column_name)
            self.connector.ensure_column(self.full_table_name, deleted, OracleType(TIMESTAMP_TZ))
            statement = statements.soft_delete_old_versions(ref, version, batched, deleted)
            binds["deleted_at"] = timestamp_text(dt.datetime.now(dt.UTC))
        with self.connector.session() as session:
            session.execute(statement, binds)
            session.commit()
        done = "dry run: would activate" if self.connector.settings.dry_run else "Activated"
        self.logger.info("%s version %d of %s", done, new_version, self.full_table_name)
