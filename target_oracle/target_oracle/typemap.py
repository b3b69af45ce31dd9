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

NUMBER = "NUMBER"
VARCHAR2 = "VARCHAR2"
CLOB = "CLOB"
TIMESTAMP_TZ = "TIMESTAMP WITH TIME ZONE"
DATE = "DATE"
BOOLEAN = "BOOLEAN"
JSON = "JSON"
#: Oracle's largest NUMBER precision.
MAX_PRECISION = 38
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

    @property
    def sql(self) -> str:
        """The type as written in DDL."""
        if self.name == VARCHAR2:
            return f"VARCHAR2({self.length} CHAR)"
        if self.name == NUMBER and self.precision is not None:
            return f"NUMBER({self.precision}, {self.scale or 0})"
        return self.name

    @property
    def is_integer(self) -> bool:
        """A NUMBER that holds whole numbers only."""
        return self.name == NUMBER and self.precision is not None and not self.scale

    @property
    def is_text(self) -> bool:
        """VARCHAR2 or CLOB: holds any value written as text."""
        return self.name in _TEXT_TYPES

    def to_sqlalchemy(self) -> sa.types.TypeEngine[Any]:
        """The SQLAlchemy type whose Oracle DDL is ``self.sql``."""
        if self.name == VARCHAR2:
            return oracle.VARCHAR2(self.length)
        if self.name == NUMBER:
            return oracle.NUMBER(self.precision, self.scale if self.precision is not None else None)  # type: ignore[no-untyped-call]
        if self.name == TIMESTAMP_TZ:
            return oracle.TIMESTAMP(timezone=True)
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
    if isinstance(max_length, int) and max_length > options.string_limit:
        return OracleType(CLOB)
    length = max_length if isinstance(max_length, int) and max_length > 0 else options.string_limit
    return OracleType(VARCHAR2, length=length)


def _decimal(schema: dict[str, Any]) -> OracleType:
    precision, scale = schema.get("precision"), schema.get("scale")
    if isinstance(precision, int) and 0 < precision <= MAX_PRECISION:
        return OracleType(NUMBER, precision=precision, scale=scale if isinstance(scale, int) else 0)
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
        return OracleType(VARCHAR2, length=options.string_limit)
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
            return new if (new.length or 0) > (old.length or 0) else None
        if new.name in {CLOB, JSON}:
            # Oracle cannot MODIFY VARCHAR2 to CLOB; that needs a copy the loader never does.
            raise IncompatibleColumnError(table, column, old, new)
        return None  # a number, date or flag is written as text; a too-long value is a load error
    if old.name == NUMBER and new.name == NUMBER:
        if _number_holds(old, new):
            return None
        return INTEGER_TYPE if old.is_integer and new.is_integer else DECIMAL_TYPE
    if (old.name == NUMBER and new.name == BOOLEAN) or (old.name == BOOLEAN and new == FLAG_TYPE):
        return None  # a flag column keeps its type whichever boolean_type is set now (1/0 or TRUE/FALSE)
    if old.name == JSON and new.name in {CLOB, JSON}:
        return None
    raise IncompatibleColumnError(table, column, old, new)


def from_dictionary(
    data_type: str, char_length: int | None, precision: int | None, scale: int | None
) -> OracleType:
    """An OracleType from one ALL_TAB_COLUMNS row (DATA_TYPE, CHAR_LENGTH, DATA_PRECISION, DATA_SCALE)."""
    if data_type.startswith("TIMESTAMP") and data_type.endswith("WITH TIME ZONE"):
        return OracleType(TIMESTAMP_TZ)
    if data_type in {VARCHAR2, "NVARCHAR2"}:
        return OracleType(VARCHAR2, length=char_length)
    if data_type == NUMBER:
        # NUMBER(1) and NUMBER(38,0) report precision; a bare NUMBER reports none.
        return OracleType(NUMBER, precision=precision, scale=scale if precision is not None else None)
    if data_type == "NCLOB":
        return OracleType(CLOB)
    return OracleType(data_type)
