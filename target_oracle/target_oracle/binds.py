"""Python values -> bind values for one Oracle column, chosen by the column's real type.

Why by the column's type and not the schema's: an existing VARCHAR2 column keeps taking
numbers as text after a schema change, and an existing NUMBER(1) flag keeps taking 1/0.
Numbers are bound as Decimal (never float), date-times as text that SQL turns into
TIMESTAMP WITH TIME ZONE, because python-oracledb drops ``tzinfo`` from datetime binds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from singer_sdk.singerlib.json import serialize_json

from .typemap import BOOLEAN, CLOB, DATE, JSON, NUMBER, TIMESTAMP_TZ, VARCHAR2, OracleType

#: TO_TIMESTAMP_TZ format matching :func:`timestamp_text`.
TIMESTAMP_TZ_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.FF6TZH:TZM'

Converter = Callable[[Any], Any]


class BadValueError(ValueError):
    """A record value that the column cannot take; the message names table and column."""


def timestamp_text(value: dt.datetime) -> str:
    """``2024-07-04T20:30:58.635464-04:00``: the offset kept; naive means UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    offset = value.utcoffset() or dt.timedelta()
    if offset % dt.timedelta(minutes=1):
        value, offset = value.astimezone(dt.UTC), dt.timedelta()
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{value.replace(tzinfo=None).isoformat(timespec='microseconds')}{sign}{hours:02d}:{mins:02d}"


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return timestamp_text(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return serialize_json(value)
    return str(value)


def _as_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, float):
        # repr is the shortest text that round-trips: no binary noise digits.
        return Decimal(repr(value))
    return Decimal(value)


def _as_json(value: Any) -> str:
    """JSON text: a string is taken as JSON text already (contentMediaType json)."""
    return value if isinstance(value, str) else serialize_json(value)


def _as_datetime(value: Any) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    elif not isinstance(value, dt.datetime) and isinstance(value, dt.date):
        value = dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    if not isinstance(value, dt.datetime):
        msg = f"a {type(value).__name__} is not a date-time"
        raise TypeError(msg)
    return timestamp_text(value)


def _as_date(value: Any) -> dt.date:
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.date):
        return value
    msg = f"a {type(value).__name__} is not a date"
    raise TypeError(msg)


def _base_converter(column_type: OracleType) -> Converter:
    name = column_type.name
    if name == NUMBER and column_type.is_integer:
        return _as_integer
    if name == NUMBER:
        return _as_decimal
    if name == BOOLEAN:
        return bool
    if name == TIMESTAMP_TZ:
        return _as_datetime
    if name == DATE:
        return _as_date
    if name == JSON:
        return _as_json
    if name == CLOB:
        return lambda v: _as_json(v) if isinstance(v, dict | list) else _as_text(v)
    return _as_text


def _as_integer(value: Any) -> int:
    number = _as_decimal(value)
    if number != number.to_integral_value():
        msg = "a fraction cannot go into a whole-number column without rounding"
        raise ValueError(msg)
    return int(number)


def converter(table: str, column: str, column_type: OracleType, byte_limit: int) -> Converter:
    """The function turning a record value into the bind value for ``column``.

    Raises (from the returned function):
        BadValueError: one line naming table, column and why (never the value itself).
    """
    base = _base_converter(column_type)
    max_chars = column_type.length if column_type.name == VARCHAR2 else None

    def convert(value: Any) -> Any:
        if value is None:
            return None
        try:
            bound = base(value)
            if isinstance(bound, Decimal) and not bound.is_finite():
                msg = "NaN and infinity have no Oracle NUMBER"
                raise ValueError(msg)
        except (ValueError, TypeError, InvalidOperation) as exc:
            detail = str(exc) or type(exc).__name__
            raise BadValueError(f'table {table} column "{column}" ({column_type.sql}): {detail}') from None
        if max_chars is not None and (len(bound) > max_chars or len(bound.encode("utf-8")) > byte_limit):
            raise BadValueError(
                f'table {table} column "{column}" ({column_type.sql}): a value of {len(bound)} characters '
                f"does not fit (limit {max_chars} characters, {byte_limit} bytes)"
            )
        return bound

    return convert
