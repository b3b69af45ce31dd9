"""What Oracle accepts and what a valid record needs, seen in the dry-run script (issue #22, findings 7-13).

Every script here also passes tests/oracle_checks.py (conftest applies it to every run).
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlglot import exp
from target_helpers import ITEM_SCHEMA, dictionary_row, record, schema_message

from target_oracle.target import TargetOracle


def binds(script: str) -> list[dict]:
    return [json.loads(line[5:]) for line in script.splitlines() if line.startswith("--   {")]


def last_line(run) -> str:
    return [line for line in run.log.splitlines() if "ERROR" in line][-1]


# --- finding 7: keys


def test_date_time_key_is_a_utc_timestamp_in_the_primary_key(run_target):
    """TIMESTAMP WITH TIME ZONE cannot be a key (ORA-02329): the key is TIMESTAMP, bound in UTC."""
    schema = {"ts": {"type": "string", "format": "date-time"}, "n": {"type": "integer"}}
    run = run_target(
        [schema_message("snap", schema, keys=["ts"]), record("snap", {"ts": "2024-07-04T20:30:58-04:00"})]
    )
    assert run.exit_code == 0
    assert '"TS" TIMESTAMP NOT NULL' in run.sql(exp.Create)[0]
    assert "TO_TIMESTAMP(:p0, 'YYYY-MM-DD\"T\"HH24:MI:SS.FF6')" in run.script
    assert binds(run.script)[0]["p0"] == "2024-07-05T00:30:58.000000"


def test_two_string_keys_without_max_length_fit_the_key_length(run_target):
    """Like wms_row_counts: two unbounded text keys share 6398 bytes (ORA-01450), in BYTE semantics."""
    schema = {"entity": {"type": "string"}, "day": {"type": "string"}, "rows": {"type": "integer"}}
    run = run_target(
        [
            schema_message("counts", schema, keys=["entity", "day"]),
            record("counts", {"entity": "a", "day": "d"}),
        ]
    )
    create = run.sql(exp.Create)[0]
    assert '"ENTITY" VARCHAR2(3198 BYTE) NOT NULL' in create
    assert '"DAY" VARCHAR2(3198 BYTE) NOT NULL' in create


def test_one_unbounded_key_fits_the_key_length_on_an_extended_database(run_target):
    """max_string_size extended: one text key would be 32767 bytes; it gets the 6397 that fit."""
    schema = {"code": {"type": "string"}}
    run = run_target([schema_message("c", schema, keys=["code"])], max_string_size="extended")
    assert '"CODE" VARCHAR2(6397 BYTE) NOT NULL' in run.sql(exp.Create)[0]


def test_property_named_rowid_is_renamed_with_a_log_line(run_target):
    """Oracle refuses a column named ROWID even quoted; it becomes ROWID_, and the log says so."""
    schema = {"id": {"type": "integer"}, "rowid": {"type": "integer"}}
    run = run_target([schema_message("t", schema), record("t", {"id": 1, "rowid": 7})])
    assert '"ROWID_" NUMBER(38, 0)' in run.sql(exp.Create)[0]
    assert "Oracle refuses a column named 'ROWID', even quoted; it is written as 'ROWID_'" in run.log


def test_lower_case_rowid_is_kept_as_sent_in_preserve_mode(run_target):
    """Oracle refuses only the upper-case ROWID: "rowid" and "Rowid" are column names it takes (SQL
    Reference, Database Object Naming Rules). They were renamed rowid_ and Rowid_, with a warning."""
    schema = {"id": {"type": "integer"}, "rowid": {"type": "integer"}, "Rowid": {"type": "integer"}}
    run = run_target(
        [schema_message("t", schema), record("t", {"id": 1, "rowid": 7, "Rowid": 8})],
        identifier_case="preserve",
    )
    create = run.sql(exp.Create)[0]
    assert '"rowid" NUMBER(38, 0)' in create
    assert '"Rowid" NUMBER(38, 0)' in create
    assert "Oracle refuses a column named" not in run.log


def test_key_too_long_for_its_share_is_one_line(run_target):
    """A key value beyond the bytes the key length leaves it stops the run by name, no ORA- error; the
    key's length is the value's, as in the column's part of the line (it counted the JSON quotes)."""
    schema = {"a": {"type": "string"}, "b": {"type": "string"}}
    run = run_target([schema_message("t", schema, keys=["a", "b"]), record("t", {"a": "x" * 3199, "b": "y"})])
    assert run.exit_code == 1
    assert (
        "stream 't' record key a=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx... (3199 characters)"
        in last_line(run)
    )
    assert 'column "A" (VARCHAR2(3198 BYTE)): a value of 3199 characters' in last_line(run)


# --- findings 8 and 9: long text


def test_text_without_max_length_of_any_length_loads_as_clob(run_target):
    """A 4,001-character value for a string without maxLength loads: the column is a CLOB."""
    run = run_target([schema_message("t", {"id": {"type": "integer"}, "note": {"type": "string"}}),
                      record("t", {"id": 1, "note": "x" * 4001})])  # fmt: skip
    assert run.exit_code == 0
    assert '"NOTE" CLOB' in run.sql(exp.Create)[0]


def test_long_text_binds_are_declared_as_clob(run_target):
    """An undeclared bind over 4000 bytes goes as LONG (ORA-01461): CLOB binds are declared, and shown."""
    run = run_target([schema_message("t", {"id": {"type": "integer"}, "note": {"type": "string"}}),
                      record("t", {"id": 1, "note": "x" * 5000})])  # fmt: skip
    merge_at = run.script.index("MERGE INTO")
    assert run.script.index("-- bind types: p1 DB_TYPE_CLOB", merge_at) > merge_at


def test_emoji_within_max_length_load(run_target):
    """1,500 emoji under maxLength 2000 are valid (6,000 bytes): the column is a CLOB, the record loads."""
    schema = {"id": {"type": "integer"}, "note": {"type": "string", "maxLength": 2000}}
    run = run_target([schema_message("t", schema), record("t", {"id": 1, "note": "\U0001f600" * 1500})])
    assert run.exit_code == 0
    assert '"NOTE" CLOB' in run.sql(exp.Create)[0]


def test_existing_varchar2_becomes_clob_by_a_copy_that_loses_nothing(run_target, existing_tables):
    """VARCHAR2 cannot be MODIFYed to CLOB: ADD a CLOB, copy, DROP the old, RENAME; each step commits."""
    existing_tables["T"] = [
        dictionary_row("ID", "NUMBER", data_precision=38, data_scale=0),
        dictionary_row("NOTE", "VARCHAR2", char_length=4000, data_length=4000, char_used="C"),
    ]
    run = run_target([schema_message("t", {"id": {"type": "integer"}, "note": {"type": "string"}})])
    steps = [
        'ALTER TABLE "T" ADD ("NOTE$CLOB" CLOB)',
        'UPDATE "T" SET "NOTE$CLOB" = "NOTE"',
        'ALTER TABLE "T" DROP COLUMN "NOTE"',
        'ALTER TABLE "T" RENAME COLUMN "NOTE$CLOB" TO "NOTE"',
    ]
    at = [run.script.index(step) for step in steps]
    assert at == sorted(at)
    assert 'Column NOTE of "T" is now a CLOB' in run.log


def test_clob_copy_left_half_done_is_finished(run_target, existing_tables):
    """A run stopped after DROP COLUMN left the values in NOTE$CLOB: the next run renames it back."""
    existing_tables["T"] = [
        dictionary_row("ID", "NUMBER", data_precision=38, data_scale=0),
        dictionary_row("NOTE$CLOB", "CLOB"),
    ]
    run = run_target([schema_message("t", {"id": {"type": "integer"}, "note": {"type": "string"}})])
    assert 'ALTER TABLE "T" RENAME COLUMN "NOTE$CLOB" TO "NOTE"' in run.script
    assert 'ADD ("NOTE"' not in run.script


# --- finding 10: empty-string keys


def test_empty_string_key_is_one_line_not_an_ora_01400(run_target):
    """Oracle stores '' as NULL and a key cannot be NULL: the loader says so, naming stream and column."""
    schema = {"code": {"type": "string", "maxLength": 10}, "n": {"type": "integer"}}
    run = run_target([schema_message("t", schema, keys=["code"]), record("t", {"code": "", "n": 1})])
    assert run.exit_code == 1
    assert (
        'stream \'t\' record key code="": key column "CODE" is null or empty, and a key cannot be NULL'
        in last_line(run)
    )
    assert run.sql(exp.Merge) == []


def test_empty_string_and_null_bind_alike(run_target):
    """'' and null in a text column both bind NULL: what Oracle stores, so batches deduplicate alike."""
    run = run_target(
        [
            schema_message("item", ITEM_SCHEMA),
            record("item", {"id": 1, "code": ""}),
            record("item", {"id": 2}),
        ]
    )
    assert [row["p1"] for row in binds(run.script)] == [None, None]


# --- finding 11: tables that already exist


@pytest.mark.parametrize(
    ("row", "value", "message"),
    [
        (
            dictionary_row("QTY", "NUMBER", data_scale=0),
            1.5,
            "a fraction cannot go into a whole-number column",
        ),
        (
            dictionary_row("QTY", "NUMBER", data_precision=10, data_scale=2),
            1.239,
            "more than 2 decimal place(s) would be rounded",
        ),
    ],
    ids=["integer", "number-10-2"],
)
def test_number_column_of_an_existing_table_is_never_rounded(
    run_target, existing_tables, row, value, message
):
    """INTEGER (NUMBER(*,0)) and NUMBER(10,2) made by a DBA: a value Oracle would round stops the run."""
    existing_tables["ITEM"] = [dictionary_row("ID", "NUMBER", data_precision=38, data_scale=0), row]
    run = run_target([schema_message("item", ITEM_SCHEMA), record("item", {"id": 1, "qty": value})])
    assert run.exit_code == 1
    assert message in last_line(run)
    assert "stream 'item' record key id=1" in last_line(run)


def test_byte_semantics_column_of_an_existing_table_is_checked_in_bytes(run_target, existing_tables):
    """VARCHAR2(30 BYTE): 20 two-byte characters are 40 bytes; our one line, not ORA-12899."""
    existing_tables["ITEM"] = [
        dictionary_row("ID", "NUMBER", data_precision=38, data_scale=0),
        dictionary_row("CODE", "VARCHAR2", char_length=30, data_length=30, char_used="B"),
    ]
    run = run_target([schema_message("item", ITEM_SCHEMA), record("item", {"id": 1, "code": "é" * 20})])
    assert run.exit_code == 1
    assert 'column "CODE" (VARCHAR2(30 BYTE)): a value of 20 characters (40 bytes) does not fit' in last_line(
        run
    )


# --- finding 12: TLS with sqlalchemy_url


class Connected(Exception):
    """Raised instead of connecting, carrying what the driver would have been given."""


def test_tcps_is_honoured_with_sqlalchemy_url():
    """protocol tcps with a URL: the driver gets a tcps:// DSN, not SQLAlchemy's PROTOCOL=TCP one."""
    target = TargetOracle(
        config={
            "sqlalchemy_url": "oracle+oracledb://u:p@adb.example:1522/?service_name=ADB_HIGH",
            "protocol": "tcps",
        }
    )
    engine = target.connector.engine
    seen: dict = {}

    @sa.event.listens_for(engine, "do_connect")
    def capture(dialect, conn_rec, cargs, cparams):
        seen.update(cparams)
        raise Connected

    with pytest.raises(Connected):
        engine.connect()
    assert seen["dsn"] == "tcps://adb.example:1522/ADB_HIGH"
    assert seen["ssl_server_dn_match"] is True


# --- finding 13


def test_json_column_binds_json_values_declared_as_json(run_target):
    """json_type json: values bind as JSON (DB_TYPE_JSON), so the string hello is the JSON string "hello"."""
    schema = {
        "id": {"type": "integer"},
        "doc": {},
        "raw": {"type": "string", "contentMediaType": "application/json"},
    }
    run = run_target(
        [schema_message("t", schema), record("t", {"id": 1, "doc": "hello", "raw": '{"a": 1}'})],
        json_type="json",
        database_version=21,
    )
    assert "-- bind types: p1 DB_TYPE_JSON, p2 DB_TYPE_JSON" in run.script
    row = binds(run.script)[0]
    assert (row["p1"], row["p2"]) == ("hello", {"a": 1})


@pytest.mark.parametrize(
    ("setting", "value", "needs"), [("boolean_type", "boolean", 23), ("json_type", "json", 21)]
)
def test_type_the_release_lacks_is_refused_at_start(run_target, setting, value, needs):
    """BOOLEAN (23ai) and JSON (21c) on the release a dry run assumes (19): one line naming the setting."""
    run = run_target([schema_message("item", ITEM_SCHEMA)], **{setting: value})
    assert run.exit_code == 1
    assert (
        f"setting '{setting}': the {value.upper()} type needs Oracle Database {needs} or later"
        in run.output + run.log
    )


def test_more_than_1000_columns_is_one_line(run_target):
    """Oracle allows 1000 columns (ORA-01792); a wider stream stops before any DDL."""
    schema = {f"c{i}": {"type": "integer"} for i in range(1000)}
    run = run_target([schema_message("wide", {"id": {"type": "integer"}, **schema})])
    assert run.exit_code == 1
    assert 'ORA-01792 (at most 1000 columns in a table): "WIDE" would have 1008' in last_line(run)
    assert run.sql(exp.Create) == []


# --- #26: names the loader keeps for itself


def test_stream_named_like_a_staging_table_gets_its_own_table(run_target):
    """A stream item$stg cannot become ITEM's staging table: it is renamed, with a log line."""
    run = run_target(
        [
            schema_message("item", ITEM_SCHEMA),
            *[record("item", {"id": i}) for i in range(3)],
            schema_message("item$stg", ITEM_SCHEMA),
            record("item$stg", {"id": 1}),
        ],
        staging_min_rows=3,
    )
    creates = run.sql(exp.Create)
    assert sum('TABLE "ITEM$STG" (' in c for c in creates) == 1  # the staging table only
    assert "ends like target-oracle's own tables" in run.log
