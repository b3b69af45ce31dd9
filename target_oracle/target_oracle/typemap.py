"""JSON Schema -> Oracle column types, and what to do when a column's type changes.

Why a small type model of our own rather than SQLAlchemy types: the decisions (does
VARCHAR2(30 CHAR) hold a VARCHAR2(50 CHAR) value? may NUMBER(38,0) become NUMBER?) are
about Oracle's own types as the data dictionary reports them, and must be exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import oracle
from sqlalchemy.ext.compiler import compiles

from . import oracle_rules
from .oracle_rules import MAX_BYTES_PER_CHAR, MAX_KEY_BYTES, MAX_PRECISION, MAX_SCALE

NUMBER = "NUMBER"
VARCHAR2 = "VARCHAR2"
CLOB = "CLOB"
TIMESTAMP_TZ = "TIMESTAMP WITH TIME ZONE"
#: A UTC date-time without offset: what a date-time key becomes (no TIMESTAMP WITH TIME ZONE in a key).
TIMESTAMP = "TIMESTAMP"
DATE = "DATE"
BOOLEAN = "BOOLEAN"
JSON = "JSON"
#: Width of a time-of-day kept as text (Oracle has no TIME type): HH:MM:SS.ffffff+HH:MM.
TIME_TEXT_LENGTH = 32
_TEXT_TYPES = {VARCHAR2, CLOB}


class IncompatibleColumnError(ValueError):
    """A column exists with a type the new schema cannot be loaded into."""

    def __init__(self, table: str, column: str, old: OracleType, new: OracleType) -> None:
        super().__init__(
            f'table {table} column "{column}": existing type {old.sql} cannot take the new type '
            f"{new.sql}; nothing was changed (alter or rename the column, see the README)"
        )


@dataclass(frozen=True)
class OracleType:
    """An Oracle column type: a data dictionary name plus length or precision/scale."""

    name: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    #: VARCHAR2 length counted in bytes (a DBA's table, or a key within the key limit).
    byte_semantics: bool = False

    @property
    def sql(self) -> str:
        """The type as written in DDL."""
        if self.name == VARCHAR2:
            return f"VARCHAR2({self.length} {'BYTE' if self.byte_semantics else 'CHAR'})"
        if self.name == NUMBER and self.precision is not None:
            return f"NUMBER({self.precision}, {self.scale or 0})"
        return self.name

    @property
    def is_integer(self) -> bool:
        """A NUMBER that holds whole numbers only (NUMBER(p, 0), or INTEGER: NUMBER(*, 0))."""
        return self.name == NUMBER and self.scale == 0

    def max_bytes(self, string_limit: int) -> int | None:
        """The most bytes a VARCHAR2 of this type holds, else None."""
        if self.name != VARCHAR2 or self.length is None:
            return None
        per_char = 1 if self.byte_semantics else MAX_BYTES_PER_CHAR
        return min(self.length * per_char, string_limit)

    @property
    def is_text(self) -> bool:
        """VARCHAR2 or CLOB: holds any value written as text."""
        return self.name in _TEXT_TYPES

    def to_sqlalchemy(self) -> sa.types.TypeEngine[Any]:
        """The SQLAlchemy type whose Oracle DDL is ``self.sql``."""
        if self.name == VARCHAR2:
            return _Varchar2(self.length, byte_semantics=self.byte_semantics)
        if self.name == NUMBER:
            return oracle.NUMBER(self.precision, self.scale if self.precision is not None else None)  # type: ignore[no-untyped-call]
        if self.name == TIMESTAMP_TZ:
            return oracle.TIMESTAMP(timezone=True)
        if self.name == TIMESTAMP:
            return oracle.TIMESTAMP()
        simple: dict[str, type[sa.types.TypeEngine[Any]]] = {
            CLOB: sa.CLOB,
            DATE: oracle.DATE,
            BOOLEAN: sa.BOOLEAN,
            JSON: sa.JSON,
        }
        if self.name in simple:
            return simple[self.name]()
        msg = f"no DDL for Oracle type {self.name}"
        raise ValueError(msg)


class _Varchar2(oracle.VARCHAR2):
    """VARCHAR2 whose DDL states CHAR or BYTE, so the length means what the type model says."""

    def __init__(self, length: int | None, *, byte_semantics: bool) -> None:
        super().__init__(length)
        self.byte_semantics = byte_semantics


@compiles(_Varchar2, "oracle")
def _compile_varchar2(element: _Varchar2, compiler: Any, **kw: Any) -> str:
    return f"VARCHAR2({element.length} {'BYTE' if element.byte_semantics else 'CHAR'})"


INTEGER_TYPE = OracleType(NUMBER, precision=MAX_PRECISION, scale=0)
DECIMAL_TYPE = OracleType(NUMBER)
FLAG_TYPE = OracleType(NUMBER, precision=1, scale=0)


@dataclass(frozen=True)
class TypeOptions:
    """Settings that change the mapping."""

    string_limit: int = 4000
    native_boolean: bool = False
    native_json: bool = False

    @property
    def json_type(self) -> OracleType:
        """Where objects, arrays and JSON text go: CLOB, or the JSON type (21c+)."""
        return OracleType(JSON) if self.native_json else OracleType(CLOB)


def _non_null_types(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type")
    types = declared if isinstance(declared, list) else [declared] if declared else []
    return [t for t in types if t != "null"]


def _first_alternative(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with ``anyOf`` reduced to its first non-null alternative."""
    for option in schema.get("anyOf", []):
        if _non_null_types(option):
            return dict(option)
    return schema


def _string_type(schema: dict[str, Any], options: TypeOptions) -> OracleType:
    fmt = schema.get("format")
    if fmt == "date-time":
        return OracleType(TIMESTAMP_TZ)
    if fmt == "date":
        return OracleType(DATE)
    if fmt == "time":
        return OracleType(VARCHAR2, length=TIME_TEXT_LENGTH)
    if fmt == "x-singer.decimal":
        return _decimal(schema)
    if schema.get("contentMediaType") == "application/json":
        return options.json_type
    max_length = schema.get("maxLength")
    # A VARCHAR2(n CHAR) holds n characters only while they fit its byte limit; a
    # character can take 4 bytes. Text that could outgrow it is CLOB from the start:
    # Oracle cannot MODIFY a VARCHAR2 into a CLOB, and a valid record must never be refused.
    if isinstance(max_length, int) and 0 < max_length * MAX_BYTES_PER_CHAR <= options.string_limit:
        return OracleType(VARCHAR2, length=max_length)
    return OracleType(CLOB)


def _decimal(schema: dict[str, Any]) -> OracleType:
    """NUMBER(precision, scale) for a decimal string; NUMBER where they are no NUMBER's.

    A scale outside 0..127 (Oracle takes -84..127, ORA-01728, but a negative one rounds to tens
    or hundreds, which no decimal string asks for) or above the precision also gives NUMBER.
    """
    precision, scale = schema.get("precision"), schema.get("scale", 0)
    if (
        type(precision) is int
        and 0 < precision <= MAX_PRECISION
        and type(scale) is int
        and 0 <= scale <= min(precision, MAX_SCALE)
    ):
        return OracleType(NUMBER, precision=precision, scale=scale)
    return DECIMAL_TYPE


def for_schema(schema: dict[str, Any], options: TypeOptions) -> OracleType:
    """The Oracle type for one property's JSON Schema."""
    types = _non_null_types(schema)
    if not types and "anyOf" in schema:
        schema = _first_alternative(schema)
        types = _non_null_types(schema)
    if not types or {"object", "array"} & set(types):
        return options.json_type
    if len(types) > 1:
        # Mixed scalars, e.g. ["string", "integer"]: text holds every one of them.
        return OracleType(CLOB)
    kind = types[0]
    if kind == "string":
        return _string_type(schema, options)
    if kind == "integer":
        return INTEGER_TYPE
    if kind == "number":
        return DECIMAL_TYPE
    if kind == "boolean":
        return OracleType(BOOLEAN) if options.native_boolean else FLAG_TYPE
    return options.json_type


def key_type(column_type: OracleType, options: TypeOptions) -> OracleType:
    """The type a key column takes instead: Oracle refuses some types in a primary key (ORA-02329)."""
    if column_type.name == TIMESTAMP_TZ:
        return OracleType(TIMESTAMP)  # normalised to UTC when bound
    if column_type.name == BOOLEAN:
        return FLAG_TYPE
    if column_type.name in {CLOB, JSON}:
        return OracleType(VARCHAR2, length=options.string_limit, byte_semantics=True)
    return column_type


def table_types(
    properties: dict[str, dict[str, Any]], keys: list[str], options: TypeOptions
) -> dict[str, OracleType]:
    """Column types for a table: keys of types a key may have, together within the key length.

    Oracle sums the key columns' widths plus one byte per column (ORA-01450); text keys
    share what the other keys leave, the narrower ones keeping their declared width.
    """
    types = {name: for_schema(prop, options) for name, prop in properties.items()}
    for key in keys:
        if key in types:
            types[key] = key_type(types[key], options)
    texts = [k for k in keys if k in types and types[k].name == VARCHAR2]
    fixed = sum(oracle_rules.key_width(types[k].sql) for k in keys if k in types and k not in texts)
    left = MAX_KEY_BYTES - fixed - len(keys)
    for index, key in enumerate(sorted(texts, key=lambda k: types[k].max_bytes(options.string_limit) or 0)):
        share = left // (len(texts) - index)
        want = types[key].max_bytes(options.string_limit) or 0
        if want > share:
            types[key] = OracleType(VARCHAR2, length=share, byte_semantics=True)
        left -= min(want, share)
    return types


def _number_holds(old: OracleType, new: OracleType) -> bool:
    """Every value of NUMBER ``new`` fits NUMBER ``old`` without rounding."""
    if old.precision is None:
        return True
    if new.precision is None:
        return False
    old_scale, new_scale = old.scale or 0, new.scale or 0
    return new_scale <= old_scale and new.precision - new_scale <= old.precision - old_scale


def reconcile(table: str, column: str, old: OracleType, new: OracleType) -> OracleType | None:
    """The type to MODIFY ``column`` to, or None to keep it; never narrows, never drops.

    Raises:
        IncompatibleColumnError: when ``old`` cannot hold ``new`` and cannot be widened in place.

    """
    if old == new or old.name == CLOB:
        return None
    if old.name == VARCHAR2:
        if new.name == VARCHAR2:
            if old.byte_semantics != new.byte_semantics:
                return None  # a DBA's BYTE column stays; values are checked in bytes
            return new if (new.length or 0) > (old.length or 0) else None
        if new.name in {CLOB, JSON}:
            return OracleType(CLOB)  # copied into a CLOB column in place (connector.py)
        return None  # a number, date or flag is written as text; a too-long value is a load error
    if {old.name, new.name} == {TIMESTAMP, TIMESTAMP_TZ}:
        return None  # either takes the same instant (a plain TIMESTAMP in UTC)
    if old.name == NUMBER and new.name == NUMBER:
        if _number_holds(old, new) or old not in {INTEGER_TYPE, FLAG_TYPE}:
            return None  # another NUMBER(p, s) is a DBA's choice: kept, and values checked against it
        return INTEGER_TYPE if old.is_integer and new.is_integer else DECIMAL_TYPE
    if (old.name == NUMBER and new.name == BOOLEAN) or (old.name == BOOLEAN and new == FLAG_TYPE):
        return None  # a flag column keeps its type whichever boolean_type is set now (1/0 or TRUE/FALSE)
    if old.name == JSON and new.name in {CLOB, JSON}:
        return None
    raise IncompatibleColumnError(table, column, old, new)


def from_dictionary(row: dict[str, Any]) -> OracleType:
    """An OracleType from one ALL_TAB_COLUMNS row, read exactly.

    CHAR_USED says whether a VARCHAR2's length counts characters or bytes; INTEGER is
    NUMBER with no precision and scale 0; a bare NUMBER has neither.
    """
    data_type = str(row["data_type"])
    if data_type.startswith("TIMESTAMP") and data_type.endswith("WITH TIME ZONE"):
        return OracleType(TIMESTAMP_TZ)
    if data_type.startswith("TIMESTAMP"):
        return OracleType(TIMESTAMP)
    if data_type in {VARCHAR2, "NVARCHAR2"}:
        if row.get("char_used") == "B":
            return OracleType(VARCHAR2, length=row["data_length"], byte_semantics=True)
        return OracleType(VARCHAR2, length=row["char_length"])
    if data_type == NUMBER:
        return OracleType(NUMBER, precision=row.get("data_precision"), scale=row.get("data_scale"))
    if data_type == "NCLOB":
        return OracleType(CLOB)
    return OracleType(data_type)
