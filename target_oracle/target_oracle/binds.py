"""Python values -> bind values for one Oracle column, chosen by the column's real type.

Why by the column's type and not the schema's: an existing VARCHAR2 column keeps taking
numbers as text after a schema change, and an existing NUMBER(1) flag keeps taking 1/0.
Numbers are bound as Decimal (never float), date-times as text that SQL turns into
TIMESTAMP WITH TIME ZONE, because python-oracledb drops ``tzinfo`` from datetime binds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal, InvalidOperation, localcontext
from typing import Any

from singer_sdk.singerlib.json import deserialize_json, serialize_json

from .typemap import BOOLEAN, CLOB, DATE, JSON, NUMBER, TIMESTAMP, TIMESTAMP_TZ, VARCHAR2, OracleType

#: TO_TIMESTAMP_TZ format matching :func:`timestamp_text`.
TIMESTAMP_TZ_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.FF6TZH:TZM'
#: TO_TIMESTAMP format matching :func:`utc_text` (date-time keys, plain TIMESTAMP columns).
TIMESTAMP_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.FF6'
#: python-oracledb bind types declared (setinputsizes) per column type: without them a string
#: over 4000 bytes goes as LONG, which a MERGE ... FROM DUAL refuses (ORA-01461).
BIND_TYPES = {CLOB: "DB_TYPE_CLOB", JSON: "DB_TYPE_JSON"}

Converter = Callable[[Any], Any]
#: Decimal precision for the digit checks: more than any NUMBER (38) plus its scale range.
_EXACT_DIGITS = 300


class BadValueError(ValueError):
    """A record value that the column cannot take; the message names table and column."""


def timestamp_text(value: dt.datetime) -> str:
    """``2024-07-04T20:30:58.635464-04:00``: the offset kept; naive means UTC.

    An offset with seconds (TZH:TZM cannot say it) is written as the same instant in UTC.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    offset = value.utcoffset()
    if offset is None or offset % _MINUTE:
        value = value.astimezone(dt.UTC)
    return value.isoformat(timespec="microseconds")


_MINUTE = dt.timedelta(minutes=1)


def utc_text(value: dt.datetime) -> str:
    """``2024-07-05T00:30:58.635464``: the same instant in UTC, no offset (naive means UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds")


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


def _as_json_value(value: Any) -> Any:
    """The value itself: python-oracledb encodes dicts, lists and scalars as JSON (DB_TYPE_JSON)."""
    return value


def _as_json_document(value: Any) -> Any:
    """JSON text (contentMediaType application/json) as the value it encodes; not JSON: the string itself."""
    if isinstance(value, str):
        try:
            return deserialize_json(value)
        except ValueError:
            return value  # a JSON string scalar: valid JSON, nothing lost
    return value


def _as_json_text(value: Any) -> str:
    """JSON text for a CLOB: objects and arrays serialized, strings kept as sent."""
    return value if isinstance(value, str) else serialize_json(value)


def _to_datetime(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    elif not isinstance(value, dt.datetime) and isinstance(value, dt.date):
        value = dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    if not isinstance(value, dt.datetime):
        msg = f"a {type(value).__name__} is not a date-time"
        raise TypeError(msg)
    return value


def _as_datetime(value: Any) -> str:
    return timestamp_text(_to_datetime(value))


def _as_utc_datetime(value: Any) -> str:
    return utc_text(_to_datetime(value))


def _as_date(value: Any) -> dt.date:
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.date):
        return value
    msg = f"a {type(value).__name__} is not a date"
    raise TypeError(msg)


def _base_converter(column_type: OracleType, json_text: bool) -> Converter:
    name = column_type.name
    if name == NUMBER and column_type.is_integer:
        return _as_integer
    if name == NUMBER:
        return _as_decimal
    if name == BOOLEAN:
        return bool
    if name == TIMESTAMP_TZ:
        return _as_datetime
    if name == TIMESTAMP:
        return _as_utc_datetime
    if name == DATE:
        return _as_date
    if name == JSON:
        return _as_json_document if json_text else _as_json_value
    if name == CLOB:
        return _as_json_text
    return _as_text


def _as_integer(value: Any) -> int:
    if type(value) is int:  # the usual case, without a Decimal round trip
        return value
    number = _as_decimal(value)
    if number != number.to_integral_value():
        msg = "a fraction cannot go into a whole-number column without rounding"
        raise ValueError(msg)
    return int(number)


def _check_digits(number: Decimal, precision: int | None, scale: int | None) -> None:
    """Refuse what NUMBER(precision, scale) would round (more decimals) or refuse (ORA-01438)."""
    if not number.is_finite():
        msg = "NaN and infinity have no Oracle NUMBER"
        raise ValueError(msg)
    with localcontext() as exact:
        exact.prec = _EXACT_DIGITS  # wide enough that these checks never round
        if scale is not None and number != number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_DOWN):
            msg = f"more than {scale} decimal place(s) would be rounded"
            raise ValueError(msg)
        if precision is not None and abs(number) >= Decimal(10) ** (precision - (scale or 0)):
            msg = f"more than {precision - (scale or 0)} digit(s) before the decimal point"
            raise ValueError(msg)


def converter(
    table: str, column: str, column_type: OracleType, byte_limit: int, *, json_text: bool = False
) -> Converter:
    """The function turning a record value into the bind value for ``column``.

    ``json_text``: the property's strings are JSON documents (contentMediaType application/json).
    An empty string becomes NULL in every text column: Oracle stores '' as NULL anyway, and
    the loader's own key checks must see what the database will.

    Raises (from the returned function):
        BadValueError: one line naming table, column and why (never the value itself).
    """
    base = _base_converter(column_type, json_text)
    text = column_type.name in {VARCHAR2, CLOB}
    max_chars = None if column_type.byte_semantics else column_type.length
    max_bytes = column_type.max_bytes(byte_limit)
    # Fewer characters than max_bytes / 4 always fit: the byte count is only taken beyond that.
    safe_chars = (max_bytes or 0) // 4
    digits = column_type.name == NUMBER and (column_type.precision is not None or column_type.scale)
    whole = column_type.is_integer and column_type.precision is not None
    int_limit = 10 ** (column_type.precision or 0) if whole else None

    def fail(detail: str) -> BadValueError:
        return BadValueError(f'table {table} column "{column}" ({column_type.sql}): {detail}')

    def convert(value: Any) -> Any:
        if value is None or (text and value == ""):
            return None
        try:
            bound = base(value)
            if isinstance(bound, Decimal):
                if digits:
                    _check_digits(bound, column_type.precision, column_type.scale)
                elif not bound.is_finite():
                    _check_digits(bound, None, None)
            elif int_limit is not None and type(bound) is int and abs(bound) >= int_limit:
                msg = f"more than {column_type.precision} digit(s) before the decimal point"
                raise ValueError(msg)
        except (ValueError, TypeError, InvalidOperation) as exc:
            raise fail(str(exc) or type(exc).__name__) from None
        if max_bytes is not None and len(bound) > safe_chars:
            size = len(bound.encode("utf-8"))
            if (max_chars is not None and len(bound) > max_chars) or size > max_bytes:
                limit = (f"{max_chars} characters, " if max_chars is not None else "") + f"{max_bytes} bytes"
                raise fail(f"a value of {len(bound)} characters ({size} bytes) does not fit (limit {limit})")
        return bound

    return convert
