"""Bind values: exact numbers, kept offsets, JSON text, and one-line errors for values that do not fit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from target_oracle.binds import BadValueError, converter, timestamp_text
from target_oracle.typemap import DECIMAL_TYPE, FLAG_TYPE, INTEGER_TYPE, OracleType

CLOB = OracleType("CLOB")
TSTZ = OracleType("TIMESTAMP WITH TIME ZONE")


def bind(column_type, value, limit=4000):
    return converter('"T"', "C", column_type, limit)(value)


def test_decimal_is_bound_with_every_digit():
    """A 30-digit Decimal reaches the driver unchanged (python-oracledb binds Decimal as NUMBER)."""
    value = Decimal("12345678901234567890.1234567891")
    assert bind(DECIMAL_TYPE, value) == value


def test_float_becomes_the_decimal_of_its_shortest_text():
    """0.1 as a float binds as Decimal('0.1'), not 0.1000000000000000055511151231257827."""
    assert bind(DECIMAL_TYPE, 0.1) == Decimal("0.1")


def test_digits_beyond_a_columns_precision_are_refused():
    """NUMBER(5, 0) made by a DBA: 123456 would be refused by Oracle (ORA-01438); ours is one line."""
    with pytest.raises(BadValueError, match="more than 5 digit"):
        bind(OracleType("NUMBER", precision=5, scale=0), 123456)
    assert bind(OracleType("NUMBER", precision=5, scale=0), 99999) == 99999


def test_integer_column_binds_python_ints():
    """NUMBER(38, 0) binds an int, big ones included."""
    assert bind(INTEGER_TYPE, 10**30) == 10**30


def test_fraction_into_an_integer_column_is_an_error_not_a_rounding():
    """Oracle would round 1.5 into NUMBER(38, 0) silently; the loader refuses instead."""
    with pytest.raises(BadValueError, match='table "T" column "C" \\(NUMBER\\(38, 0\\)\\): a fraction'):
        bind(INTEGER_TYPE, Decimal("1.5"))


def test_booleans_bind_as_one_and_zero_in_a_flag_column():
    """NUMBER(1) takes 1/0."""
    assert (bind(FLAG_TYPE, True), bind(FLAG_TYPE, False)) == (1, 0)


def test_native_boolean_column_binds_bools():
    """BOOLEAN (23ai) takes Python bools."""
    assert bind(OracleType("BOOLEAN"), True) is True


def test_aware_timestamp_keeps_its_offset():
    """-04:00 stays -04:00: the text TO_TIMESTAMP_TZ reads."""
    value = dt.datetime(2024, 7, 4, 20, 30, 58, 635464, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    assert bind(TSTZ, value) == "2024-07-04T20:30:58.635464-04:00"


def test_naive_timestamp_is_taken_as_utc():
    """A date-time without offset is written as UTC (+00:00)."""
    assert timestamp_text(dt.datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05.000000+00:00"


def test_half_hour_offsets_are_kept():
    """+05:30 (India) is kept to the minute."""
    value = dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert timestamp_text(value).endswith("+05:30")


def test_offset_with_seconds_is_written_as_utc():
    """TZH:TZM cannot hold an offset of +05:30:15: the same instant is written in UTC."""
    value = dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30, seconds=15)))
    assert timestamp_text(value) == "2024-01-01T06:29:45.000000+00:00"


def test_objects_bind_as_json_text():
    """A dict in a CLOB column is its JSON text, with Decimals exact."""
    assert bind(CLOB, {"a": [1, Decimal("2.50")]}) == '{"a":[1,2.50]}'


def test_json_text_string_is_not_encoded_twice():
    """A string in a JSON column is taken as JSON text already."""
    assert bind(OracleType("JSON"), '{"a":1}') == '{"a":1}'


def test_numbers_in_a_text_column_are_written_as_text():
    """A VARCHAR2 column that receives a number stores its text."""
    assert bind(OracleType("VARCHAR2", length=10), Decimal("1.50")) == "1.50"


def test_too_long_string_is_an_error_naming_table_and_column():
    """A value longer than VARCHAR2(5 CHAR) fails with a one-line message, never a truncation."""
    with pytest.raises(BadValueError, match='table "T" column "C" \\(VARCHAR2\\(5 CHAR\\)\\): a value of 6'):
        bind(OracleType("VARCHAR2", length=5), "abcdef")


def test_string_over_the_byte_limit_is_an_error():
    """4000 characters of 2 bytes each exceed a 4000-byte VARCHAR2 even in CHAR semantics."""
    with pytest.raises(BadValueError, match="4000 bytes"):
        bind(OracleType("VARCHAR2", length=4000), "é" * 4000)


@pytest.mark.parametrize("column_type", [DECIMAL_TYPE, INTEGER_TYPE, CLOB], ids=["number", "integer", "clob"])
@pytest.mark.parametrize("value", [float("nan"), Decimal("NaN"), float("inf"), Decimal("-Infinity")], ids=str)
def test_nan_and_infinity_bind_as_null_and_are_reported(column_type, value):
    """Oracle NUMBER has no NaN or infinity, JSON neither: NULL, and the caller is told (it warns)."""
    told = []
    assert converter('"T"', "C", column_type, 4000, not_finite=lambda: told.append(1))(value) is None
    assert told == [1]


def test_null_stays_null():
    """None binds as NULL whatever the column."""
    assert bind(INTEGER_TYPE, None) is None


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ("1." + "0" * 200, "1"),
        ("100." + "0" * 200, "1E+2"),
        ("0." + "0" * 200, "0"),
        ("0E-200", "0"),
        ("0E+300", "0"),
    ],
    ids=["1.000...", "100.000...", "0.000...", "0E-200", "0E+300"],
)
def test_numbers_python_oracledb_cannot_send_as_written_are_bound_without_trailing_zeros(text, bound):
    """python-oracledb sends a Decimal as its text: over 172 characters it refuses it (DPY-4014),
    and a zero's exponent beyond NUMBER's (DPY-4003). The same number goes without its trailing zeros."""
    for column_type in (DECIMAL_TYPE, OracleType("NUMBER", precision=10, scale=2)):
        value = bind(column_type, Decimal(text))
        assert value == Decimal(text)
        assert str(value) == bound
