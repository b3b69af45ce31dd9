"""The loader's own record path: what it does instead of the SDK's per-field work, with the same result.

The sink keeps the SDK from parsing date-time text in every record (binds.py parses it once per
value, in C, as the SDK would have), binds a batch a column at a time, and reads input lines and
writes dry-run bind comments with msgspec. Each test holds one of these to the SDK's own way.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from singer_sdk.io_base import SingerReader
from singer_sdk.singerlib.json import serialize_json
from sqlalchemy.dialects import oracle
from target_helpers import record, schema_message
from test_activate_version import batch_message
from test_cli import run_cli

from target_oracle.binds import BadValueError, column_converter, converter
from target_oracle.dryrun import DryRunScript
from target_oracle.sink import FieldNamingValidator
from target_oracle.target import DryRunReader, TargetOracle
from target_oracle.typemap import OracleType

DATE_TIME = {"id": {"type": "integer"}, "ts": {"type": ["string", "null"], "format": "date-time"}}


def bound(run_target, properties, rows) -> list[dict]:
    """The bind rows the dry run wrote for ``rows`` of stream 'item'."""
    messages = [schema_message("item", properties), *(record("item", row) for row in rows)]
    run = run_target(messages, add_record_metadata=False)
    assert run.exit_code == 0, run.log
    return [json.loads(line[5:]) for line in run.script.splitlines() if line.startswith("--   {")]


# --- date-time text, parsed by the column's converter


def test_naive_date_time_is_bound_as_utc(run_target):
    """No offset: taken as UTC, written with +00:00 for TO_TIMESTAMP_TZ."""
    rows = bound(run_target, DATE_TIME, [{"id": 1, "ts": "2024-07-04T20:30:58"}])
    assert rows[0]["p1"] == "2024-07-04T20:30:58.000000+00:00"


def test_date_time_offset_is_kept(run_target):
    rows = bound(run_target, DATE_TIME, [{"id": 1, "ts": "2024-07-04T20:30:58.635464-04:00"}])
    assert rows[0]["p1"] == "2024-07-04T20:30:58.635464-04:00"


def test_z_is_bound_as_offset_zero(run_target):
    rows = bound(run_target, DATE_TIME, [{"id": 1, "ts": "2024-07-04T20:30:58Z"}])
    assert rows[0]["p1"] == "2024-07-04T20:30:58.000000+00:00"


def test_fractional_seconds_are_written_to_the_microsecond(run_target):
    rows = bound(run_target, DATE_TIME, [{"id": 1, "ts": "2024-07-04T20:30:58.5+05:30"}])
    assert rows[0]["p1"] == "2024-07-04T20:30:58.500000+05:30"


def test_date_time_before_1900_is_bound_whole(run_target):
    rows = bound(run_target, DATE_TIME, [{"id": 1, "ts": "1850-03-01T12:00:00.123456+00:00"}])
    assert rows[0]["p1"] == "1850-03-01T12:00:00.123456+00:00"


def test_offset_minus_zero_is_written_as_plus_zero(run_target):
    """-00:00 is the same instant as +00:00; the loader writes every offset zero one way."""
    rows = bound(run_target, DATE_TIME, [{"id": 1, "ts": "2024-07-04T20:30:58.000000-00:00"}])
    assert rows[0]["p1"] == "2024-07-04T20:30:58.000000+00:00"


def test_null_date_time_is_bound_as_null(run_target):
    rows = bound(run_target, DATE_TIME, [{"id": 1, "ts": None}, {"id": 2}])
    assert [row["p1"] for row in rows] == [None, None]


def test_date_and_time_text_is_written_as_the_sdk_parses_it(run_target):
    """format date: a DATE bind; format time: text as time.fromisoformat reads it back."""
    properties = {
        "id": {"type": "integer"},
        "d": {"type": ["string", "null"], "format": "date"},
        "t": {"type": ["string", "null"], "format": "time"},
    }
    rows = bound(run_target, properties, [{"id": 1, "d": "20240704", "t": "10:00"}])
    assert (rows[0]["p1"], rows[0]["p2"]) == ("2024-07-04", "10:00:00")


def test_date_time_in_an_any_of_is_parsed_too(run_target):
    """The SDK's rule: a string with format date-time in one of the anyOf alternatives."""
    properties = {
        "id": {"type": "integer"},
        "ts": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
    }
    rows = bound(run_target, properties, [{"id": 1, "ts": "2024-07-04 20:30"}])
    assert rows[0]["p1"] == "2024-07-04T20:30:00.000000+00:00"


def test_without_validation_a_date_time_that_does_not_parse_is_one_line_naming_stream_key_and_column(
    tmp_path,
):
    """validate_records off: the converter refuses it, by stream, key and column, never the value."""
    lines = [
        json.dumps(schema_message("item", DATE_TIME)),
        json.dumps(record("item", {"id": 3, "ts": "private-x"})),
    ]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql"), "validate_records": False}, lines)
    assert done.returncode == 1
    assert (
        'stream \'item\' record key id=3: table "ITEM" column "TS" (TIMESTAMP WITH TIME ZONE): '
        "is not an ISO 8601 date-time (format date-time)"
    ) in done.stderr.splitlines()[-1]
    assert "private-x" not in done.stderr
    assert "Traceback" not in done.stderr


def test_text_into_a_timestamp_column_that_does_not_parse_names_no_value():
    """A TIMESTAMP WITH TIME ZONE column fed text without a date-time format (a changed schema)."""
    convert = converter('"T"', "C", OracleType("TIMESTAMP WITH TIME ZONE"), 4000)
    with pytest.raises(BadValueError) as error:
        convert("private-y")
    assert str(error.value) == 'table "T" column "C" (TIMESTAMP WITH TIME ZONE): is not an ISO 8601 date-time'


def test_batch_file_date_and_time_text_binds_as_a_records_does(run_target, tmp_path):
    """Rows from BATCH files (never through the SDK's parse) get the same binds as RECORD rows."""
    properties = {
        "id": {"type": "integer"},
        "ts": {"type": ["string", "null"], "format": "date-time"},
        "t": {"type": ["string", "null"], "format": "time"},
    }
    row = {"id": 1, "ts": "2024-07-04T20:30:58Z", "t": "10:00"}
    from_record = bound(run_target, properties, [row])
    batch = batch_message(tmp_path, json.dumps(row) + "\n")
    run = run_target([schema_message("item", properties), batch], add_record_metadata=False)
    from_file = [json.loads(line[5:]) for line in run.script.splitlines() if line.startswith("--   {")]
    assert from_file == from_record == [{"p0": 1, "p1": "2024-07-04T20:30:58.000000+00:00", "p2": "10:00:00"}]


@pytest.mark.parametrize(
    ("validate", "says"),
    [
        (True, " field 'ts': is not an ISO 8601 date-time (format date-time)"),
        (False, ': table "ITEM" column "TS" (TIMESTAMP WITH TIME ZONE): is not an ISO 8601 date-time'),
    ],
    ids=["validated like a record", "without validation, by its column"],
)
def test_batch_file_date_time_that_does_not_parse_is_one_line_without_the_value(
    run_target, tmp_path, validate, says
):
    batch = batch_message(tmp_path, '{"id": 5, "ts": "private-z"}\n')
    run = run_target(
        [schema_message("item", DATE_TIME), batch], add_record_metadata=False, validate_records=validate
    )
    assert run.exit_code == 1
    assert f"stream 'item' record key id=5{says}" in run.log
    assert "private-z" not in run.log


# --- a batch bound a column at a time: the same binds as value by value

COLUMN_TYPES = [
    (OracleType("NUMBER", precision=38, scale=0), None),
    (OracleType("NUMBER", precision=3, scale=0), None),
    (OracleType("NUMBER", scale=0), None),
    (OracleType("NUMBER"), None),
    (OracleType("NUMBER", precision=10, scale=2), None),
    (OracleType("VARCHAR2", length=5), None),
    (OracleType("VARCHAR2", length=8, byte_semantics=True), None),
    (OracleType("CLOB"), None),
    (OracleType("NUMBER", precision=1, scale=0), None),
    (OracleType("TIMESTAMP WITH TIME ZONE"), "date-time"),
    (OracleType("TIMESTAMP WITH TIME ZONE"), None),
    (OracleType("TIMESTAMP"), "date-time"),
    (OracleType("DATE"), "date"),
    (OracleType("VARCHAR2", length=32), "time"),
    (OracleType("VARCHAR2", length=40), "date-time"),
]
_offsets = st.sampled_from(["+00:00", "-00:00", "Z", "-04:00", "+05:30", "+05:45:30", ""])
_date_times = st.builds(
    lambda when, offset, digits: when.isoformat(timespec=digits) + offset,
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
    _offsets,
    st.sampled_from(["seconds", "milliseconds", "microseconds"]),
)
VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.integers(min_value=-1000, max_value=1000),
    st.booleans(),
    st.decimals(allow_nan=True, allow_infinity=True, places=3),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.just(""),
    _date_times,
    st.dates().map(dt.date.isoformat),
    st.times().map(dt.time.isoformat),
    st.sampled_from(["2024-07-04T20:30:58.000000+00:00", "2024-13-04T20:30:58.000000+00:00"]),
)


def _convert_each(convert, values):
    try:
        return [convert(value) for value in values]
    except BadValueError as exc:
        return exc


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(COLUMN_TYPES),
    values=st.one_of(st.lists(VALUES, max_size=8), st.lists(_date_times, max_size=8)),
)
def test_a_column_binds_as_its_values_do_one_by_one(kind, values):
    """column_converter gives exactly converter's binds (and refuses what it refuses), for any values."""
    column_type, text_format = kind
    how = ('"T"', "C", column_type, 4000)
    expected = _convert_each(converter(*how, text_format=text_format), values)
    try:
        got = column_converter(*how, text_format=text_format)(list(values))
    except BadValueError as exc:
        got = exc
    if isinstance(expected, BadValueError):
        assert isinstance(got, BadValueError)
        assert str(got) == str(expected)
    else:
        assert got == expected
        assert [type(v) for v in got] == [type(v) for v in expected]


def test_a_bad_value_in_a_batch_names_its_record(run_target):
    """The column path finds it; the error still names the record, as value by value."""
    properties = {"id": {"type": "integer"}, "n": {"type": ["integer", "null"]}}
    run = run_target(
        [schema_message("item", properties)]
        + [record("item", {"id": i, "n": i}) for i in range(5)]
        + [record("item", {"id": 9, "n": 10**40})],
        add_record_metadata=False,
    )
    assert run.exit_code == 1
    assert (
        'stream \'item\' record key id=9: table "ITEM" column "N" (NUMBER(38, 0)): '
        "more than 38 digit(s) before the decimal point"
    ) in run.log


# --- input lines and bind comments through msgspec: the SDK's values and text

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(record_value=st.dictionaries(st.text(max_size=8), _json_values, max_size=6))
def test_input_lines_decode_to_the_sdks_values(record_value):
    """Numbers with a fraction as Decimal, integers of any size, text as sent: json.loads' values."""
    line = json.dumps({"type": "RECORD", "stream": "s", "record": record_value})
    assert DryRunReader().deserialize_json(line) == SingerReader().deserialize_json(line)


_bind_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(),
    st.dates(),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)),
    st.dictionaries(st.text(max_size=3), st.integers() | st.floats(allow_nan=False), max_size=3),
)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.dictionaries(st.sampled_from(["p0", "p1", "p2"]), _bind_values), min_size=1, max_size=4)
)
def test_bind_comments_are_the_sdks_json_text(tmp_path_factory, rows):
    """Each bind row's comment is serialize_json's text (non-ASCII escaped, Decimals as numbers)."""
    path = tmp_path_factory.mktemp("dry") / "s.sql"
    dry = DryRunScript(path, oracle.dialect(), ["nothing"])
    with dry.session() as session:
        session.execute(sa.text("SELECT 1 FROM DUAL"), rows)
        session.commit()
    written = [line[5:] for line in path.read_text().splitlines() if line.startswith("--   ")]
    assert written == [serialize_json(row) for row in rows]


def test_bind_comment_of_a_decimal_keeps_its_exponent(tmp_path):
    dry = DryRunScript(tmp_path / "s.sql", oracle.dialect(), ["nothing"])
    with dry.session() as session:
        session.execute(sa.text("SELECT 1 FROM DUAL"), [{"p0": Decimal("1E-7"), "p1": "caf\u00e9\x7f"}])
        session.commit()
    assert '--   {"p0":1E-7,"p1":"caf\\u00e9\\u007f"}' in (tmp_path / "s.sql").read_text()


# --- a repeated SCHEMA: the SDK's rule, against the schema the sink was made from


def _target(tmp_path) -> TargetOracle:
    config = {
        "dry_run_sql_path": str(tmp_path / "s.sql"),
        "add_record_metadata": False,
        "identifier_case": "preserve",
    }
    return TargetOracle(config=config)


def test_the_same_schema_again_keeps_the_sink(tmp_path):
    target = _target(tmp_path)
    first = target.get_sink(
        "item", schema={"type": "object", "properties": dict(DATE_TIME)}, key_properties=["id"]
    )
    again = target.get_sink(
        "item", schema={"type": "object", "properties": dict(DATE_TIME)}, key_properties=["id"]
    )
    assert again is first


def test_a_changed_schema_makes_a_new_sink(tmp_path):
    target = _target(tmp_path)
    first = target.get_sink(
        "item", schema={"type": "object", "properties": dict(DATE_TIME)}, key_properties=["id"]
    )
    wider = {**DATE_TIME, "code": {"type": ["string", "null"]}}
    again = target.get_sink("item", schema={"type": "object", "properties": wider}, key_properties=["id"])
    assert again is not first


# --- multipleOf, decided exactly in decimal (the compiled validator cannot read a Decimal) -----------


def validation_problem(properties: dict, row: dict) -> str | None:
    """The one-line refusal the validator keeps for ``row``, or None when it passes."""
    validator = FieldNamingValidator("item", {"type": "object", "properties": properties}, ["id"])
    validator.validate(row)
    return validator.problem


HALVES = {"type": "number", "multipleOf": 0.5}
CENTS = {"type": "number", "multipleOf": 0.01}


@pytest.mark.parametrize(
    ("properties", "row", "field"),
    [
        ({"n": {"anyOf": [HALVES, {"type": "null"}]}}, {"n": Decimal("1.3")}, "n"),
        ({"o": {"type": "object", "properties": {"x": HALVES}}}, {"o": {"x": Decimal("1.3")}}, "o/x"),
        ({"n": CENTS}, {"n": Decimal("1.0000000000000000000000000000001")}, "n"),
        ({"n": CENTS}, {"n": Decimal("12345678901234567890123456789.001")}, "n"),
    ],
    ids=["in anyOf", "in an object", "past 28 digits", "a long integer part"],
)
def test_a_value_that_is_no_multiple_is_refused_wherever_the_rule_is(properties, row, field):
    problem = validation_problem({"id": {"type": "integer"}, **properties}, {"id": 1, **row})
    assert problem is not None
    assert problem.startswith(f"stream 'item' record key id=1 field '{field}': does not match its schema (")
    assert "1.3" not in problem  # the rule, never the value
    assert "0000001" not in problem


@pytest.mark.parametrize(
    "value",
    [Decimal("12.34"), 5, Decimal("-0"), Decimal("1E+400"), Decimal("123456789012345678901234567890.01")],
)
def test_multiples_pass_exactly(value):
    assert validation_problem({"n": CENTS}, {"n": value}) is None


def test_a_property_named_multipleof_keeps_its_own_rules():
    """Only the keyword is taken out of the compiled schema, not a property of that name."""
    problem = validation_problem({"multipleOf": {"type": "integer", "maximum": 5}}, {"multipleOf": 999})
    assert problem is not None
    assert "field 'multipleOf': does not match its schema (maximum 5)" in problem


def test_content_media_type_annotates_and_refuses_nothing():
    """As for the SDK's validator, it says what the text holds; the compiled check refused text that
    is no JSON ('does not match its schema (None None)'), which the README loads as a JSON string."""
    schema = {"t": {"type": "string", "contentMediaType": "application/json"}}
    assert validation_problem(schema, {"t": "not json"}) is None


def test_a_lone_surrogate_in_text_is_loaded_as_a_replacement_character_with_one_warning(run_target, caplog):
    """JSON "\\ud800" decodes to no character, which no UTF-8 database stores: U+FFFD in its place,
    as the tap does, one warning per stream; a surrogate pair (an emoji) is a character and stays."""
    rows = [{"id": 1, "t": "a\ud800b"}, {"id": 2, "t": "c\udfffd"}, {"id": 3, "t": "\U0001f600"}]
    with caplog.at_level(logging.WARNING, logger="target_oracle"):
        binds = bound(run_target, {"id": {"type": "integer"}, "t": {"type": "string"}}, rows)
    assert [row["p1"] for row in binds] == ["a\ufffdb", "c\ufffdd", "\U0001f600"]
    (warning,) = [r.getMessage() for r in caplog.records if "surrogate" in r.getMessage()]
    assert warning.startswith("stream 'item': text with a lone UTF-16 surrogate escape")
