"""Against a real Oracle Database: only when TARGET_ORACLE_TEST_URL names one.

For example, Oracle Database Free in your own CI (``gvenzl/oracle-free`` image):
``TARGET_ORACLE_TEST_URL=oracle+oracledb://loader:pw@localhost:1521/?service_name=FREEPDB1``.
Each test writes tables with a random suffix in the user's own schema and drops them after.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from target_helpers import activate, record, schema_message

from target_oracle.target import TargetOracle

URL = os.environ.get("TARGET_ORACLE_TEST_URL", "")
pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(
        not URL, reason="TARGET_ORACLE_TEST_URL is not set (no Oracle Database to test against)"
    ),
]
CLI = TargetOracle.cli

SCHEMA = {
    "id": {"type": "integer"},
    "code": {"type": ["string", "null"], "maxLength": 10},
    "qty": {"type": ["number", "null"]},
    "mod_ts": {"type": ["string", "null"], "format": "date-time"},
    "ship_date": {"type": ["string", "null"], "format": "date"},
    "flag": {"type": ["boolean", "null"]},
    "doc": {"type": ["object", "null"]},
    "order": {"type": ["string", "null"]},
}


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine(URL)
    yield engine
    engine.dispose()


@pytest.fixture
def stream(engine: sa.Engine) -> Iterator[str]:
    """A stream name whose table (and staging table) is dropped after the test."""
    name = f"it_{uuid.uuid4().hex[:10]}"
    yield name
    with engine.begin() as conn:
        for table in (name.upper(), f"{name.upper()}$STG", f"{name.upper()}$NEW"):
            conn.exec_driver_sql(
                f"BEGIN EXECUTE IMMEDIATE 'DROP TABLE \"{table}\" PURGE'; "
                "EXCEPTION WHEN OTHERS THEN IF SQLCODE != -942 THEN RAISE; END IF; END;"
            )


def load(tmp_path: Path, messages: list[dict[str, Any] | str], **config: Any) -> str:
    config_path = tmp_path / f"config-{uuid.uuid4().hex}.json"
    config_path.write_text(json.dumps({"sqlalchemy_url": URL, **config}))
    source = tmp_path / f"in-{uuid.uuid4().hex}.jsonl"
    source.write_text("".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages))
    result = CliRunner().invoke(CLI, ["--config", str(config_path), "--input", str(source)])
    assert result.exit_code == 0, result.output
    return result.stdout


def codes(engine: sa.Engine, stream: str) -> dict[int, str | None]:
    """ID -> CODE of every row (positional: SQLAlchemy lower-cases Oracle's column labels)."""
    with engine.connect() as conn:
        result = conn.exec_driver_sql(f'SELECT "ID", "CODE" FROM "{stream.upper()}" ORDER BY "ID"')
        return {row[0]: row[1] for row in result}


def test_rows_are_inserted_then_upserted(tmp_path, engine, stream):
    """A second run updates existing keys and inserts new ones; nothing is duplicated."""
    load(tmp_path, [schema_message(stream, SCHEMA), record(stream, {"id": 1, "code": "a"})])
    load(tmp_path, [schema_message(stream, SCHEMA), record(stream, {"id": 1, "code": "b"}),
                    record(stream, {"id": 2, "code": "c"})])  # fmt: skip
    assert codes(engine, stream) == {1: "b", 2: "c"}


def test_values_keep_digits_offsets_and_json(tmp_path, engine, stream):
    """30-digit numbers, -04:00 offsets, dates, flags, JSON and a reserved-word column round-trip."""
    line = (
        f'{{"type": "RECORD", "stream": "{stream}", "record": {{"id": 1, '
        '"qty": 12345678901234567890.1234567891, "mod_ts": "2024-07-04T20:30:58.635464-04:00", '
        '"ship_date": "2024-07-05", "flag": true, "doc": {"a": [1, 2]}, "order": "o"}}'
    )
    load(tmp_path, [schema_message(stream, SCHEMA), line])
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            f'SELECT "QTY", TO_CHAR("MOD_TS", \'YYYY-MM-DD"T"HH24:MI:SS.FF6TZH:TZM\'), "SHIP_DATE", "FLAG", '
            f'"DOC", "ORDER" FROM "{stream.upper()}"'
        ).one()
    assert Decimal(str(row[0])) == Decimal("12345678901234567890.1234567891")
    assert row[1] == "2024-07-04T20:30:58.635464-04:00"
    assert row[2].date() == dt.date(2024, 7, 5)
    assert row[3] == 1
    assert json.loads(row[4]) == {"a": [1, 2]}
    assert row[5] == "o"


def test_last_record_per_key_wins_in_one_batch(tmp_path, engine, stream):
    """Duplicate keys in one batch do not fail the MERGE; the later record is kept."""
    load(tmp_path, [schema_message(stream, SCHEMA), record(stream, {"id": 1, "code": "x"}),
                    record(stream, {"id": 1, "code": "y"})])  # fmt: skip
    assert codes(engine, stream) == {1: "y"}


def test_large_batch_through_the_staging_table(tmp_path, engine, stream):
    """With staging_min_rows 2, rows go through the global temporary table and one MERGE."""
    messages = [schema_message(stream, SCHEMA)] + [
        record(stream, {"id": i, "code": f"c{i}"}) for i in range(5)
    ]
    load(tmp_path, messages, staging_min_rows=2)
    load(tmp_path, messages[:2], staging_min_rows=2)
    assert codes(engine, stream) == {i: f"c{i}" for i in range(5)}


def test_hard_delete_removes_rows_missing_from_the_new_version(tmp_path, engine, stream):
    """A full sync without row 3, activated at its end, deletes row 3 and keeps the rest."""
    first = [record(stream, {"id": i}, version=1) for i in (1, 2, 3)]
    second = [record(stream, {"id": i}, version=2) for i in (1, 2)]
    load(tmp_path, [schema_message(stream, SCHEMA), *first, activate(stream, 1)], hard_delete=True)
    load(tmp_path, [schema_message(stream, SCHEMA), *second, activate(stream, 2)], hard_delete=True)
    assert sorted(codes(engine, stream)) == [1, 2]


def test_new_columns_are_added_and_strings_widened(tmp_path, engine, stream):
    """A later schema adds a column and widens VARCHAR2(10) to VARCHAR2(50)."""
    load(tmp_path, [schema_message(stream, SCHEMA), record(stream, {"id": 1})])
    wider = {**SCHEMA, "code": {"type": ["string", "null"], "maxLength": 50}, "extra": {"type": "integer"}}
    load(tmp_path, [schema_message(stream, wider), record(stream, {"id": 2, "code": "x" * 50, "extra": 7})])
    with engine.connect() as conn:
        columns = dict(
            conn.exec_driver_sql(
                "SELECT COLUMN_NAME, CHAR_LENGTH FROM USER_TAB_COLUMNS WHERE TABLE_NAME = :t",
                {"t": stream.upper()},
            ).all()
        )
    assert columns["CODE"] == 50
    assert "EXTRA" in columns


# --- issue #22: each finding against a real database


def load_fails(tmp_path: Path, messages: list[dict[str, Any] | str], **config: Any) -> str:
    """Run the target expecting exit 1; its output."""
    config_path = tmp_path / f"config-{uuid.uuid4().hex}.json"
    config_path.write_text(json.dumps({"sqlalchemy_url": URL, **config}))
    source = tmp_path / f"in-{uuid.uuid4().hex}.jsonl"
    source.write_text("".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages))
    result = CliRunner().invoke(CLI, ["--config", str(config_path), "--input", str(source)])
    assert result.exit_code == 1, result.output
    return result.output


def execute(engine: sa.Engine, sql: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)


def test_announced_version_deletes_nothing(tmp_path, engine, stream):
    """Finding 1: ACTIVATE_VERSION before the records, then end of input: the older rows stay."""
    first = [record(stream, {"id": i}, version=1) for i in (1, 2)]
    load(tmp_path, [schema_message(stream, SCHEMA), *first, activate(stream, 1)], hard_delete=True)
    announced = [activate(stream, 2), record(stream, {"id": 1}, version=2)]
    load(tmp_path, [schema_message(stream, SCHEMA), *announced], hard_delete=True)
    assert sorted(codes(engine, stream)) == [1, 2]


def test_incremental_row_keeps_its_version(tmp_path, engine, stream):
    """Finding 4: an incremental upsert of a row keeps the version a full sync gave it."""
    load(
        tmp_path, [schema_message(stream, SCHEMA), record(stream, {"id": 1}, version=5), activate(stream, 5)]
    )
    load(tmp_path, [schema_message(stream, SCHEMA), record(stream, {"id": 1, "code": "inc"})])
    with engine.connect() as conn:
        version = conn.exec_driver_sql(f'SELECT "_SDC_TABLE_VERSION" FROM "{stream.upper()}"').scalar()
    assert version == 5


def test_overwrite_that_fails_keeps_the_rows(tmp_path, engine, stream):
    """Finding 5: an overwrite run that fails leaves the table's rows as they were."""
    load(tmp_path, [schema_message(stream, SCHEMA), record(stream, {"id": 1, "code": "a"})])
    broken = [record(stream, {"id": 2}), record(stream, {"id": "x"})]
    load_fails(tmp_path, [schema_message(stream, SCHEMA), *broken], load_method="overwrite")
    assert codes(engine, stream) == {1: "a"}
    load(
        tmp_path,
        [schema_message(stream, SCHEMA), record(stream, {"id": 3, "code": "c"})],
        load_method="overwrite",
    )
    assert codes(engine, stream) == {3: "c"}


def test_keys_oracle_accepts(tmp_path, engine, stream):
    """Finding 7: a date-time key, two unbounded text keys and a rowid property: a table Oracle takes."""
    text = {"type": "string"}
    schema = {
        "ts": {"type": "string", "format": "date-time"},
        "a": text,
        "b": text,
        "rowid": {"type": "integer"},
    }
    message = schema_message(stream, schema, keys=["ts", "a", "b"])
    load(
        tmp_path,
        [message, record(stream, {"ts": "2024-07-04T20:30:58-04:00", "a": "x", "b": "y", "rowid": 1})],
    )
    with engine.connect() as conn:
        ts = conn.exec_driver_sql(
            f'SELECT TO_CHAR("TS", \'YYYY-MM-DD HH24:MI:SS\') FROM "{stream.upper()}"'
        ).scalar()
    assert ts == "2024-07-05 00:30:58"


def test_long_text_and_emoji_load(tmp_path, engine, stream):
    """Findings 8 and 9: 5,000 characters without maxLength and 1,500 emoji under maxLength 2000 load."""
    schema = {**SCHEMA, "note": {"type": ["string", "null"]}, "emoji": {"type": "string", "maxLength": 2000}}
    rows = [record(stream, {"id": 1, "note": "x" * 5000, "emoji": "\U0001f600" * 1500})]
    load(tmp_path, [schema_message(stream, schema), *rows])
    load(tmp_path, [schema_message(stream, schema), *rows], staging_min_rows=1)
    with engine.connect() as conn:
        length = conn.exec_driver_sql(f'SELECT DBMS_LOB.GETLENGTH("NOTE") FROM "{stream.upper()}"').scalar()
    assert length == 5000


def test_empty_key_is_refused_in_one_line(tmp_path, stream):
    """Finding 10: '' in a key stops the run with our line, not ORA-01400."""
    schema = {"code": {"type": "string", "maxLength": 10}}
    output = load_fails(
        tmp_path, [schema_message(stream, schema, keys=["code"]), record(stream, {"code": ""})]
    )
    assert "is null or empty, and a key cannot be NULL" in output


def test_dba_table_columns_are_read_exactly(tmp_path, engine, stream):
    """Finding 11: INTEGER, NUMBER(10,2) and VARCHAR2(30 BYTE) made by a DBA refuse what they cannot hold."""
    execute(engine, f'CREATE TABLE "{stream.upper()}" ("ID" INTEGER PRIMARY KEY, "QTY" NUMBER(10,2), '
                    '"CODE" VARCHAR2(30 BYTE))')  # fmt: skip
    schema = {
        "id": {"type": "integer"},
        "qty": {"type": "number"},
        "code": {"type": "string", "maxLength": 30},
    }
    out = load_fails(tmp_path, [schema_message(stream, schema), record(stream, {"id": 1, "qty": 1.239})])
    assert "more than 2 decimal place(s) would be rounded" in out
    out = load_fails(tmp_path, [schema_message(stream, schema), record(stream, {"id": 1, "code": "é" * 20})])
    assert "(40 bytes) does not fit" in out


def test_varchar2_column_becomes_clob_in_place(tmp_path, engine, stream):
    """Finding 9: a VARCHAR2 column whose property loses its maxLength is copied into a CLOB, values kept."""
    narrow = {**SCHEMA, "code": {"type": ["string", "null"], "maxLength": 10}}
    load(tmp_path, [schema_message(stream, narrow), record(stream, {"id": 1, "code": "kept"})])
    wide = {**SCHEMA, "code": {"type": ["string", "null"]}}
    load(tmp_path, [schema_message(stream, wide), record(stream, {"id": 2, "code": "y" * 5000})])
    assert codes(engine, stream)[1] == "kept"


def test_json_type_binds_json(tmp_path, engine, stream):
    """Finding 13: json_type json (21c+) stores the string hello as the JSON string "hello"."""
    with engine.connect() as conn:
        if conn.dialect.server_version_info[0] < 21:
            pytest.skip("the JSON type needs Oracle Database 21c")
    load(tmp_path, [schema_message(stream, {"id": {"type": "integer"}, "doc": {}}),
                    record(stream, {"id": 1, "doc": "hello"})], json_type="json")  # fmt: skip
    with engine.connect() as conn:
        text = conn.exec_driver_sql(f'SELECT JSON_SERIALIZE("DOC") FROM "{stream.upper()}"').scalar()
    assert text == '"hello"'


def test_batch_rows_carry_the_version(tmp_path, engine, stream):
    """Finding 3: rows from a BATCH file after an announcement get its version, and stay."""
    batch = tmp_path / "rows.jsonl"
    batch.write_text('{"id": 1, "code": "a"}\n{"id": 2, "code": "b"}\n')
    message = {"type": "BATCH", "stream": stream, "encoding": {"format": "jsonl", "compression": "none"},
               "manifest": [batch.as_uri()]}  # fmt: skip
    load(tmp_path, [schema_message(stream, SCHEMA), activate(stream, 9), message], hard_delete=True)
    with engine.connect() as conn:
        versions = conn.exec_driver_sql(f'SELECT DISTINCT "_SDC_TABLE_VERSION" FROM "{stream.upper()}"').all()
    assert versions == [(9,)]


def test_schema_change_keeps_the_newer_row(tmp_path, engine, stream):
    """Finding 6: the old sink's row is written before the new sink's, so the newer value wins."""
    wider = {**SCHEMA, "extra": {"type": ["integer", "null"]}}
    messages = [schema_message(stream, SCHEMA), record(stream, {"id": 1, "code": "OLD"}),
                schema_message(stream, wider), record(stream, {"id": 1, "code": "NEW"}),
                record(stream, {"id": 2, "code": "x"})]  # fmt: skip
    load(tmp_path, messages, batch_size_rows=2)
    assert codes(engine, stream)[1] == "NEW"


def test_numbers_at_numbers_edges_round_trip_and_beyond_is_our_line(tmp_path, engine, stream):
    """38 digits and 9.99E125 load exactly; 1E126 stops the run with our line, not ORA-01426,
    and nothing of that batch is written."""
    line = '{"type": "RECORD", "stream": "%s", "record": {"id": %d, "qty": %s}}'
    load(
        tmp_path,
        [schema_message(stream, SCHEMA), line % (stream, 1, "9" * 38), line % (stream, 2, "9.99E125")],
    )
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f'SELECT TO_CHAR("QTY") FROM "{stream.upper()}" ORDER BY "ID"').all()
    assert [Decimal(r[0]) for r in rows] == [Decimal("9" * 38), Decimal("9.99E125")]
    output = load_fails(tmp_path, [schema_message(stream, SCHEMA), line % (stream, 3, "1E126")])
    assert "ORA-01426 (NUMBER magnitudes below 1E126" in output
    assert set(codes(engine, stream)) == {1, 2}


def test_nan_is_null_and_offsets_beyond_oracles_are_the_same_instant(tmp_path, engine, stream):
    """NaN loads as NULL; +20:00 is stored as the same instant in UTC; -12:00 and +14:00 as sent."""
    line = '{"type": "RECORD", "stream": "%s", "record": {"id": %d, "qty": %s, "mod_ts": "%s"}}'
    load(tmp_path, [
        schema_message(stream, SCHEMA),
        line % (stream, 1, "NaN", "2024-01-01T00:00:00+20:00"),
        line % (stream, 2, "1", "2024-01-01T00:00:00-12:00"),
        line % (stream, 3, "1", "2024-01-01T00:00:00+14:00"),
    ])  # fmt: skip
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f'SELECT "QTY", TO_CHAR("MOD_TS", \'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM\') FROM "{stream.upper()}" '
            'ORDER BY "ID"'
        ).all()
    assert rows[0] == (None, "2023-12-31T04:00:00+00:00")
    assert [r[1] for r in rows[1:]] == ["2024-01-01T00:00:00-12:00", "2024-01-01T00:00:00+14:00"]


def test_key_changed_to_a_clob_property_is_our_line(tmp_path, engine, stream):
    """A second SCHEMA keying on a CLOB column: our line, not ORA-00932; the first batch stays."""
    schema = {"id": {"type": "integer"}, "note": {"type": ["string", "null"]}}
    output = load_fails(tmp_path, [
        schema_message(stream, schema), record(stream, {"id": 1, "note": "a"}),
        schema_message(stream, schema, keys=["note"]), record(stream, {"id": 2, "note": "b"}),
    ])  # fmt: skip
    assert "key property 'note' is column \"NOTE\"" in output
    with engine.connect() as conn:
        assert conn.exec_driver_sql(f'SELECT "ID" FROM "{stream.upper()}"').all() == [(1,)]


def test_key_other_than_the_tables_primary_key_is_our_line(tmp_path, engine, stream):
    """The primary key read from ALL_CONSTRAINTS: a DBA's table keyed (ID, CODE) and a stream keyed
    (ID) is our line, not ORA-00001 after a batch; nothing is written."""
    execute(engine, f'CREATE TABLE "{stream.upper()}" ("ID" NUMBER(38, 0), "CODE" VARCHAR2(10 CHAR), '
                    'PRIMARY KEY ("ID", "CODE"))')  # fmt: skip
    schema = {"id": {"type": "integer"}, "code": {"type": "string", "maxLength": 10}}
    output = load_fails(tmp_path, [schema_message(stream, schema), record(stream, {"id": 1, "code": "a"})])
    assert f"table {stream.upper()} has primary key (ID, CODE), the stream's key is (ID)" in output
    assert codes(engine, stream) == {}
