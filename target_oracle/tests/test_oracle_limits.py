"""Values at Oracle's documented limits (oracle_rules.py): loaded as Oracle keeps them, or refused.

NaN and infinity, time zone offsets beyond -12:00..+14:00, and the key rule for LOB columns, each
seen in the dry-run script, which conftest also holds against tests/oracle_checks.py.
"""

from __future__ import annotations

import json

import pytest
from target_helpers import raw_record, record, schema_message

NOT_FINITE = ["NaN", "Infinity", "-Infinity"]

#: Every kind of property a NaN can be valid for, and the column type it becomes.
NUMBERISH = {
    "number": ({"type": "number"}, "NUMBER"),
    "nullable number": ({"type": ["number", "null"]}, "NUMBER"),
    "number or string": ({"type": ["number", "string"]}, "CLOB"),
    "number, string or null": ({"type": ["number", "string", "null"]}, "CLOB"),
    "number or boolean": ({"type": ["number", "boolean", "null"]}, "CLOB"),
    "anyOf number, string": ({"anyOf": [{"type": "number"}, {"type": "string"}]}, "NUMBER"),
    "number or object": ({"type": ["number", "object", "null"]}, "CLOB"),
}


def binds(script: str) -> list[dict]:
    return [json.loads(line[5:]) for line in script.splitlines() if line.startswith("--   {")]


def warnings(log: str) -> list[str]:
    return [line for line in log.splitlines() if "WARNING" in line]


@pytest.mark.parametrize("kind", NUMBERISH, ids=list(NUMBERISH))
def test_nan_and_infinity_load_as_null_with_one_warning_per_stream_and_property(run_target, kind):
    """NaN/Infinity has no Oracle NUMBER and no JSON text (it used to be the text 'null' in a CLOB):
    NULL whatever the column, like a plain number column, and one warning per stream and property."""
    prop, column_type = NUMBERISH[kind]
    messages: list = [schema_message("item", {"id": {"type": "integer"}, "v": prop})]
    messages += [raw_record(i, "v", v) for i, v in enumerate(NOT_FINITE)]
    messages.append(record("item", {"id": 9, "v": 1.5}))
    run = run_target(messages)
    assert run.exit_code == 0
    assert f'"V" {column_type}' in run.script
    values = [row["p1"] for row in binds(run.script)]
    assert values[:3] == [None, None, None]
    assert values[3] in (1.5, "1.5")
    said = [w for w in warnings(run.log) if "NaN or infinity" in w]
    assert len(said) == 1
    assert said[0].endswith(
        "stream 'item' property 'v': NaN or infinity (no Oracle NUMBER, no JSON value) is loaded as NULL "
        "(null inside JSON)"
    )


@pytest.mark.parametrize("types", [["integer", "null"], ["integer", "string"]])
@pytest.mark.parametrize("value", NOT_FINITE)
def test_nan_for_an_integer_property_breaks_its_schema_in_one_line(run_target, types, value):
    """NaN and infinity are no integer: the record is refused by its schema, as any non-integer is."""
    messages = [
        schema_message("item", {"id": {"type": "integer"}, "v": {"type": types}}),
        raw_record(1, "v", value),
    ]
    run = run_target(messages)
    assert run.exit_code == 1
    assert f"stream 'item' record key id=1 field 'v': does not match its schema (type {types})" in run.log
    assert "MERGE" not in run.script


def test_decimal_text_nan_loads_as_null_like_a_number_nan(run_target):
    """format x-singer.decimal text "NaN" is the same value: NULL and the same warning."""
    prop = {"type": ["string", "null"], "format": "x-singer.decimal", "precision": 10, "scale": 2}
    run = run_target(
        [
            schema_message("item", {"id": {"type": "integer"}, "v": prop}),
            record("item", {"id": 1, "v": "NaN"}),
            record("item", {"id": 2, "v": "12.50"}),
        ]
    )
    assert run.exit_code == 0
    assert [row["p1"] for row in binds(run.script)] == [None, 12.5]
    assert "stream 'item' property 'v': NaN or infinity" in run.log


@pytest.mark.parametrize(
    ("sent", "bound"),
    [
        ("2024-01-01T00:00:00+20:00", "2023-12-31T04:00:00.000000+00:00"),
        ("2024-01-01T00:00:00.000000+20:00", "2023-12-31T04:00:00.000000+00:00"),
        ("2024-01-01T00:00:00.000000-12:30", "2024-01-01T12:30:00.000000+00:00"),
        ("2024-01-01T00:00:00.000000+14:30", "2023-12-31T09:30:00.000000+00:00"),
        ("2024-01-01T00:00:00.000000-12:00", "2024-01-01T00:00:00.000000-12:00"),
        ("2024-01-01T00:00:00.000000+14:00", "2024-01-01T00:00:00.000000+14:00"),
        ("9999-12-31T23:00:00.000000+05:00", "9999-12-31T23:00:00.000000+05:00"),
    ],
    ids=["+20", "+20-as-written", "-12:30", "+14:30", "-12", "+14", "year-9999-east"],
)
def test_offsets_oracle_does_not_take_are_written_as_the_same_instant_in_utc(run_target, sent, bound):
    """TZH runs from -12 to +14 (ORA-01874 beyond): such an offset is written in UTC, the instant kept;
    offsets within the range are kept as sent."""
    schema = {"id": {"type": "integer"}, "ts": {"type": ["string", "null"], "format": "date-time"}}
    run = run_target([schema_message("item", schema), record("item", {"id": 1, "ts": sent})])
    assert run.exit_code == 0
    assert binds(run.script)[0]["p1"] == bound


def test_text_up_to_the_extended_limit_binds_without_a_declared_type(run_target):
    """max_string_size extended: 7,000 bytes into VARCHAR2(8000 CHAR) is sent as VARCHAR (python-oracledb
    sends LONG only beyond the server's 32767), so the dry run's checks pass it (they flagged ORA-01461)."""
    schema = {"id": {"type": "integer"}, "s": {"type": ["string", "null"], "maxLength": 8000}}
    run = run_target(
        [schema_message("item", schema), record("item", {"id": 1, "s": "x" * 7000})],
        max_string_size="extended",
    )
    assert run.exit_code == 0
    assert '"S" VARCHAR2(8000 CHAR)' in run.script
    assert binds(run.script)[0]["p1"] == "x" * 7000


@pytest.mark.parametrize("json_type", ["clob", "json"])
def test_nan_inside_json_is_null_with_the_same_warning(run_target, json_type):
    """Inside an object, NaN and infinity become null (JSON has neither; the CLOB text said null
    without a word, python-oracledb refuses them in the JSON type): one warning per stream and property."""
    schema = {"id": {"type": "integer"}, "doc": {"type": ["object", "null"]}}
    run = run_target(
        [
            schema_message("item", schema),
            raw_record(1, "doc", '{"a": [NaN, 1.5], "b": {"c": -Infinity}}'),
            raw_record(2, "doc", '{"a": [NaN]}'),
        ],
        json_type=json_type,
        database_version=23,
    )
    assert run.exit_code == 0
    documents = [row["p1"] for row in binds(run.script)]
    if json_type == "clob":
        documents = [json.loads(d) for d in documents]
    assert documents == [{"a": [None, 1.5], "b": {"c": None}}, {"a": [None]}]
    assert len([w for w in warnings(run.log) if "property 'doc': NaN or infinity" in w]) == 1


def test_a_number_the_json_type_cannot_hold_is_one_line(run_target):
    """The JSON type keeps numbers as NUMBER (python-oracledb refuses 1E200 there, DPY-4003): one line
    naming stream, record key and column; as text in a CLOB the same document loads as sent."""
    schema = {"id": {"type": "integer"}, "doc": {"type": ["object", "null"]}}
    messages = [schema_message("item", schema), raw_record(1, "doc", '{"a": [1E200]}')]
    refused = run_target(messages, json_type="json", database_version=23)
    assert refused.exit_code == 1
    assert 'stream \'item\' record key id=1: table "ITEM" column "DOC" (JSON): ORA-01426' in refused.log
    assert "MERGE" not in refused.script
    loaded = run_target(messages)
    assert loaded.exit_code == 0
    assert json.loads(binds(loaded.script)[0]["p1"]) == {"a": [1e200]}


def test_a_deep_document_with_nan_loads_as_text_with_null(run_target):
    """600 levels with a NaN at the bottom: as CLOB text it loads, null in place of NaN, and the
    document is not copied to get there (a copy recurses as deep as the document)."""
    schema = {"id": {"type": "integer"}, "doc": {"type": ["array", "null"]}}
    run = run_target([schema_message("item", schema), raw_record(1, "doc", "[" * 600 + "NaN" + "]" * 600)])
    assert run.exit_code == 0
    assert binds(run.script)[0]["p1"] == "[" * 600 + "null" + "]" * 600
