"""Python values -> bind values for one Oracle column, chosen by the column's real type.

Why by the column's type and not the schema's: an existing VARCHAR2 column keeps taking
numbers as text after a schema change, and an existing NUMBER(1) flag keeps taking 1/0.
Numbers are bound as Decimal (never float), date-times as text that SQL turns into
TIMESTAMP WITH TIME ZONE, because python-oracledb drops ``tzinfo`` from datetime binds.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal, InvalidOperation, localcontext
from functools import partial
from operator import is_not, methodcaller
from typing import Any, TypeVar

from singer_sdk.singerlib.json import deserialize_json, serialize_json

from .oracle_rules import (
    MAX_PRECISION,
    NUMBER_DIGITS,
    NUMBER_TEXT_CHARS,
    TZ_OFFSET_MAX,
    TZ_OFFSET_MIN,
    YEAR_RANGE,
    json_numbers,
    number_problem,
)
from .typemap import BOOLEAN, CLOB, DATE, JSON, NUMBER, TIMESTAMP, TIMESTAMP_TZ, VARCHAR2, OracleType

#: TO_TIMESTAMP_TZ format matching :func:`timestamp_text`.
TIMESTAMP_TZ_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.FF6TZH:TZM'
#: TO_TIMESTAMP format matching :func:`utc_text` (date-time keys, plain TIMESTAMP columns).
TIMESTAMP_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.FF6'
#: python-oracledb bind types declared (setinputsizes) per column type: without them a string
#: over 4000 bytes goes as LONG, which a MERGE ... FROM DUAL refuses (ORA-01461).
BIND_TYPES = {CLOB: "DB_TYPE_CLOB", JSON: "DB_TYPE_JSON"}

Converter = Callable[[Any], Any]
_T = TypeVar("_T")
#: A column's values (one per row of a batch) -> their bind values.
ColumnConverter = Callable[[list[Any]], list[Any]]
#: Decimal precision for the digit checks: more than any NUMBER (38) plus its scale range.
_EXACT_DIGITS = 300


class BadValueError(ValueError):
    """A record value that the column cannot take; the message names table and column."""


def timestamp_text(value: dt.datetime) -> str:
    """``2024-07-04T20:30:58.635464-04:00``: the offset kept; naive means UTC.

    An offset TZH:TZM cannot say (seconds) or Oracle does not take (beyond -12:00..+14:00,
    ORA-01874) is written as the same instant in UTC.

    Raises:
        ValueError: the instant is outside years 1 to 9999 in UTC (Oracle keeps it in UTC).

    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    offset = value.utcoffset()
    if offset is None or offset % _MINUTE or not TZ_OFFSET_MIN <= offset <= TZ_OFFSET_MAX:
        value = _in_utc(value)
    elif value.year in _EDGE_YEARS:
        _in_utc(value)  # only there can the UTC instant leave the years Oracle and Python share
    return value.isoformat(timespec="microseconds")


_MINUTE = dt.timedelta(minutes=1)
_EDGE_YEARS = frozenset({dt.MINYEAR, dt.MAXYEAR})


def _in_utc(value: dt.datetime) -> dt.datetime:
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        msg = YEAR_RANGE.broken("in UTC the instant is outside years 1 to 9999")
        raise ValueError(msg) from None


def utc_text(value: dt.datetime) -> str:
    """``2024-07-05T00:30:58.635464``: the same instant in UTC, no offset (naive means UTC)."""
    if value.tzinfo is not None:
        value = _in_utc(value).replace(tzinfo=None)
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
        except RecursionError:
            msg = "JSON text nests too deep to read (about 1,000 levels)"
            raise ValueError(msg) from None
    return value


def _without_not_finite(document: Any) -> Any:
    """The document with NaN and infinity as null (JSON has neither)."""
    if isinstance(document, dict):
        return {k: _without_not_finite(v) for k, v in document.items()}
    if isinstance(document, list):
        return [_without_not_finite(v) for v in document]
    if isinstance(document, Decimal | float) and not _finite(document):
        return None
    return document


def _as_json_text(value: Any) -> str:
    """JSON text for a CLOB: objects and arrays serialized, strings kept as sent."""
    return value if isinstance(value, str) else serialize_json(value)


def _parse_text(parse: Callable[[str], _T], value: str, kind: str) -> _T:
    """``parse(value)``; its error would quote the value, so the error says only what it is not."""
    try:
        return parse(value)
    except ValueError:
        msg = f"is not an ISO 8601 {kind}"
        raise ValueError(msg) from None


#: RFC 3339's leap second: a seconds field of 60 (then a fraction, an offset or the end).
_LEAP_SECOND = re.compile(r"(?<=\d\d:\d\d):60(?=[.,]\d|[Zz+-]|$)")


def parse_datetime(text: str) -> dt.datetime:
    """ISO 8601 text as ``fromisoformat`` reads it, and RFC 3339's leap second (``23:59:60``) too.

    Why: JSON Schema's date-time allows second 60, Python and Oracle do not (ORA-01852, LEAP_SECOND);
    a record its schema allows must load. It is the instant after second 59, as PostgreSQL takes it.
    """
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        leap = _LEAP_SECOND.search(text)
        if leap is None:
            raise
        try:
            return dt.datetime.fromisoformat(f"{text[: leap.start()]}:59{text[leap.end() :]}") + _ONE_SECOND
        except OverflowError:
            msg = "the second after 9999-12-31T23:59:59 is beyond year 9999"
            raise ValueError(msg) from None


_ONE_SECOND = dt.timedelta(seconds=1)


def _to_datetime(value: Any) -> dt.datetime:
    if isinstance(value, str):
        value = _parse_text(parse_datetime, value, "date-time")
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
        return _parse_text(dt.date.fromisoformat, value[:10], "date")
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


def _without_trailing_zeros(number: Decimal) -> Decimal:
    """The same number with its trailing zeros dropped (no context: nothing is rounded)."""
    if not number:
        return Decimal(0)
    sign, digits, exponent = number.as_tuple()
    kept = bytes(digits).rstrip(b"\0") or b"\0"
    assert isinstance(exponent, int)  # a finite number
    return Decimal((sign, tuple(kept), exponent + len(digits) - len(kept)))


def _finite(value: Decimal | float) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def _as_integer(value: Any) -> int:
    if type(value) is int:  # the usual case, without a Decimal round trip
        return value
    number = _as_decimal(value)
    if not number.is_finite():
        msg = "NaN and infinity have no Oracle NUMBER"
        raise ValueError(msg)
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


#: The SDK's parsers for the string formats it would turn into date, time and datetime objects
#: (fromisoformat; date-times also with RFC 3339's leap second).
DATELIKE_PARSERS: dict[str, Callable[[str], Any]] = {
    "date-time": parse_datetime,
    "date": dt.date.fromisoformat,
    "time": dt.time.fromisoformat,
}


def converter(
    table: str,
    column: str,
    column_type: OracleType,
    byte_limit: int,
    *,
    json_text: bool = False,
    text_format: str | None = None,
    not_finite: Callable[[], None] | None = None,
) -> Converter:
    """The function turning a record value into the bind value for ``column``.

    ``json_text``: the property's strings are JSON documents (contentMediaType application/json).
    ``text_format``: the property's strings are dates, times or date-times (``format``), parsed
    here as the SDK would have parsed them (the sink keeps the SDK from doing it per record).
    An empty string becomes NULL in every text column: Oracle stores '' as NULL anyway, and
    the loader's own key checks must see what the database will.
    NaN and infinity (a JSON extension) have no Oracle NUMBER and no JSON form: they bind as
    NULL whatever the column, and ``not_finite`` is called so that the caller can say so.

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
    # INTEGER (NUMBER(*, 0)) holds 38 digits.
    int_digits = (column_type.precision or MAX_PRECISION) if column_type.is_integer else None
    int_limit = 10**int_digits if int_digits is not None else None

    #: JSON columns and CLOBs holding JSON text: their documents' numbers are looked at.
    documents = column_type.name in {JSON, CLOB}
    native_json = column_type.name == JSON

    def checked_document(document: Any) -> Any:
        """NaN and infinity in a document become null (said once).

        The JSON type keeps numbers as NUMBER: there, one that NUMBER cannot hold is refused.
        """
        odd = False
        for number in json_numbers(document):
            if not number.is_finite():
                odd = True
            elif native_json and (problem := number_problem(number)):
                raise ValueError(problem)
        if not odd:
            return document
        if not_finite is not None:
            not_finite()
        # JSON text writes them as null by itself (serialize_json); the JSON type needs a copy.
        return _without_not_finite(document) if native_json else document

    def fail(detail: str) -> BadValueError:
        return BadValueError(f'table {table} column "{column}" ({column_type.sql}): {detail}')

    def checked(value: Any) -> Any:
        if value is None or (text and value == ""):
            return None
        if isinstance(value, Decimal | float) and not _finite(value):
            return None if not_finite is None else not_finite()
        try:
            if documents and isinstance(value, dict | list):
                value = checked_document(value)
            bound = base(value)
            if native_json and isinstance(value, str) and not isinstance(bound, str):  # parsed JSON text
                bound = checked_document(bound)
            if isinstance(bound, Decimal):
                if not bound.is_finite():  # decimal text such as "NaN" (format x-singer.decimal)
                    return None if not_finite is None else not_finite()
                if problem := number_problem(bound):
                    raise ValueError(problem)
                if digits:
                    _check_digits(bound, column_type.precision, column_type.scale)
                written = str(bound)
                if len(written) > NUMBER_TEXT_CHARS or (not bound and "E" in written):
                    # The driver sends a Decimal as its text: it refuses one over 172 characters
                    # (trailing zeros) and a zero whose exponent is beyond NUMBER's (0E-200).
                    bound = _without_trailing_zeros(bound)
            elif int_limit is not None and type(bound) is int and abs(bound) >= int_limit:
                msg = f"more than {int_digits} digit(s) before the decimal point"
                raise ValueError(msg)
        except (ValueError, TypeError, InvalidOperation) as exc:
            raise fail(str(exc) or type(exc).__name__) from None
        except RecursionError:  # a document almost as deep as the decoder reads, copied or written
            raise fail("the document nests too deep to handle (about 1,000 levels)") from None
        if max_bytes is not None and len(bound) > safe_chars:
            size = len(bound.encode("utf-8"))
            if (max_chars is not None and len(bound) > max_chars) or size > max_bytes:
                limit = (f"{max_chars} characters, " if max_chars is not None else "") + f"{max_bytes} bytes"
                raise fail(f"a value of {len(bound)} characters ({size} bytes) does not fit (limit {limit})")
        return bound

    if text_format in DATELIKE_PARSERS:
        not_iso = f"is not an ISO 8601 {text_format} (format {text_format})"
        # A datetime needs no more checks in a timestamp column; anything else gets them all.
        finish = _FINISH.get(column_type.name, checked) if text_format == "date-time" else checked
        return _parsing(DATELIKE_PARSERS[text_format], finish, checked, not_iso, fail)
    return checked


#: The conversion of a parsed datetime for the column types that take nothing else.
_FINISH: dict[str, Converter] = {TIMESTAMP_TZ: timestamp_text, TIMESTAMP: utc_text}


def _parsing(
    parse: Callable[[str], Any],
    finish: Converter,
    checked: Converter,
    not_iso: str,
    fail: Callable[[str], BadValueError],
) -> Converter:
    """Text parsed first (a failure says which format, never the value); other values as they are."""

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is str:
            try:
                parsed = parse(value)
            except ValueError:
                raise fail(not_iso) from None
            try:
                return finish(parsed)
            except ValueError as exc:  # an instant Oracle cannot keep (timestamp_text)
                raise fail(str(exc)) from None
        return checked(value)

    return convert


def column_converter(
    table: str,
    column: str,
    column_type: OracleType,
    byte_limit: int,
    *,
    json_text: bool = False,
    text_format: str | None = None,
    not_finite: Callable[[], None] | None = None,
) -> ColumnConverter:
    """A batch's values of ``column`` -> the bind values ``converter`` gives them one by one.

    Why: a column's values are nearly always of the kind the column's type expects (ints within
    a NUMBER(38, 0), text that fits a VARCHAR2, date-time text as the loader writes it). That is
    checked over the whole column in C (the set of the values' types, their range or length, a
    pattern), and such a column is bound as it is or by one comprehension, without a Python call
    per value. Any other column goes through ``converter`` value by value.

    Raises:
        BadValueError: as ``converter`` does.

    """
    one = converter(
        table,
        column,
        column_type,
        byte_limit,
        json_text=json_text,
        text_format=text_format,
        not_finite=not_finite,
    )
    whole = _whole_column(column_type, byte_limit, text_format)

    def convert(values: list[Any]) -> list[Any]:
        if whole is not None and (bound := whole(values)) is not None:
            return bound
        return list(map(one, values))

    return convert


_NONE = type(None)
_not_null = partial(is_not, None)


def _without_nulls(values: list[Any]) -> list[Any]:
    return list(filter(_not_null, values)) if None in values else values


#: Date-time text that ``timestamp_text`` writes back the same (offset -00:00 it writes as +00:00),
#: or with Z for +00:00.
#: Not the first and last days Python has (their UTC instant may leave them), offsets Oracle takes only.
_AS_WRITTEN = re.compile(
    r"(?!0001-01-01|9999-12-31)[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}"
    r"(?:Z|\+(?:0[0-9]|1[0-3]):[0-5][0-9]|\+14:00|-(?!00:00)(?:0[0-9]|1[01]):[0-5][0-9]|-12:00)"
)
_ENDS_IN_Z = methodcaller("endswith", "Z")


def _whole_column(
    column_type: OracleType, byte_limit: int, text_format: str | None
) -> Callable[[list[Any]], list[Any] | None] | None:
    """For ``column_type``: a column's binds computed at once, or None where it takes value by value."""
    name = column_type.name
    if text_format == "date-time" and name == TIMESTAMP_TZ:
        return _written_timestamps
    if text_format == "date" and name == DATE:
        return _iso_dates
    if text_format is not None:
        return None
    if column_type.is_integer:
        return partial(_whole_numbers, 10 ** (column_type.precision or MAX_PRECISION))
    if name == NUMBER and column_type.precision is None and not column_type.scale:
        return _decimals
    if name in {VARCHAR2, CLOB}:
        max_bytes = column_type.max_bytes(byte_limit)
        return partial(_fitting_text, None if max_bytes is None else max_bytes // 4)
    return None


def _whole_numbers(limit: int, values: list[Any]) -> list[Any] | None:
    """Ints (and bools, as 1 and 0) within the column's digits."""
    kinds = set(map(type, values))
    if not kinds <= {int, bool, _NONE}:
        return None
    if bool in kinds:
        values = [v if v is None else int(v) for v in values]
    present = _without_nulls(values)
    if not present or (-limit < min(present) and max(present) < limit):
        return values
    return None


def _decimals(values: list[Any]) -> list[Any] | None:
    """Finite Decimals (JSON numbers with a fraction) as they are, ints as their Decimal.

    Text of at most 38 characters without an exponent has at most 38 digits and a magnitude
    between 1E-7 and 1E38: well inside NUMBER (number_problem). Any other goes value by value.
    """
    kinds = set(map(type, values))
    if not kinds <= {Decimal, int, _NONE}:
        return None
    if int in kinds:
        values = [v if v is None else Decimal(v) for v in values]
    present = _without_nulls(values)
    if not present:
        return values
    if not all(map(Decimal.is_finite, present)):
        return None
    texts = list(map(str, present))
    return values if max(map(len, texts)) <= NUMBER_DIGITS and "E" not in "".join(texts) else None


def _fitting_text(safe_chars: int | None, values: list[Any]) -> list[Any] | None:
    """Text that fits whatever its bytes; '' as NULL."""
    if not set(map(type, values)) <= {str, _NONE}:
        return None
    present = _without_nulls(values)
    if safe_chars is not None and present and max(map(len, present)) > safe_chars:
        return None
    return [v or None for v in values] if "" in values else values


def _written_timestamps(values: list[Any]) -> list[Any] | None:
    """Date-time text that parses and that ``timestamp_text`` writes back the same (Z as +00:00)."""
    if not set(map(type, values)) <= {str, _NONE}:
        return None
    present = _without_nulls(values)
    if not all(map(_AS_WRITTEN.fullmatch, present)):
        return None
    try:
        list(map(dt.datetime.fromisoformat, present))
    except ValueError:
        return None  # value by value, for the error naming it
    if any(map(_ENDS_IN_Z, present)):
        return [v if v is None or v[-1] != "Z" else f"{v[:-1]}+00:00" for v in values]
    return values


def _iso_dates(values: list[Any]) -> list[Any] | None:
    """Date text parsed, as the SDK parsed it."""
    if not set(map(type, values)) <= {str, _NONE}:
        return None
    parse = dt.date.fromisoformat
    try:
        return [v if v is None else parse(v) for v in values]
    except ValueError:
        return None  # value by value, for the error naming it
