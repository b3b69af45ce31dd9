"""Loading batches, seen through the dry-run script: what is created, merged and committed."""

from __future__ import annotations

import pytest
from sqlglot import exp
from target_helpers import ITEM_SCHEMA, activate, dictionary_row, record, schema_message, state

from target_oracle.connector import OracleConnector


def _binds(script: str) -> list[str]:
    return [line for line in script.splitlines() if line.startswith("--   {")]


def test_first_batch_creates_the_table_then_merges(run_target):
    """A new stream gets CREATE TABLE with its primary key, then a MERGE of its rows, then COMMIT."""
    run = run_target([schema_message("item", ITEM_SCHEMA), record("item", {"id": 1, "code": "A"})])
    kinds = [type(s).__name__ for s in run.statements if not isinstance(s, exp.Commit)]
    assert kinds == ["Create", "Merge"]
    create = run.sql(exp.Create)[0]
    assert 'CREATE TABLE "ITEM"' in create
    assert 'PRIMARY KEY ("ID")' in create


def test_second_batch_does_not_create_again(run_target):
    """The in-memory catalog remembers the table the first batch created."""
    messages = [schema_message("item", ITEM_SCHEMA)]
    messages += [record("item", {"id": i, "code": f"C{i}"}) for i in range(5)]
    run = run_target(messages, batch_size_rows=2)
    assert len(run.sql(exp.Create)) == 1
    assert len(run.sql(exp.Merge)) == 3  # batches of 2, 2 and 1


def test_last_row_per_key_wins_inside_a_batch(run_target):
    """Two records with one key in one batch become one bind row: the later one."""
    run = run_target(
        [
            schema_message("item", ITEM_SCHEMA),
            record("item", {"id": 7, "code": "first"}),
            record("item", {"id": 8, "code": "other"}),
            record("item", {"id": 7, "code": "second"}),
        ]
    )
    rows = _binds(run.script)
    assert len(rows) == 2
    assert '"second"' in rows[-1]
    assert '"first"' not in run.script


def test_dry_run_passes_no_state_on(run_target):
    """A dry run loads nothing, so the tap's STATE must not reach Meltano: no bookmark moves."""
    run = run_target(
        [
            schema_message("item", ITEM_SCHEMA),
            record("item", {"id": 1}),
            state({"bookmarks": {"item": {"replication_key_value": "x"}}}),
        ]
    )
    assert run.exit_code == 0
    assert run.stdout == ""
    assert "dry run: STATE messages are not passed on, so no bookmark moves" in run.log


def test_dry_run_says_so_on_every_line_that_reports_rows(run_target):
    """Row counts in a dry run read 'dry run: would ...', never 'Committed'."""
    run = run_target([schema_message("item", ITEM_SCHEMA), record("item", {"id": 1})])
    assert 'dry run: would MERGE 1 row(s) into "ITEM"' in run.log
    assert "Committed" not in run.log


def test_schema_change_writes_the_old_rows_before_the_new(run_target):
    """A new SCHEMA mid-stream: rows the old sink holds are merged before the new sink's (finding 6)."""
    wider = {**ITEM_SCHEMA, "color": {"type": ["string", "null"]}}
    run = run_target(
        [
            schema_message("item", ITEM_SCHEMA),
            record("item", {"id": 1, "code": "OLD"}),
            schema_message("item", wider),
            record("item", {"id": 1, "code": "NEW"}),
            record("item", {"id": 2, "code": "NEWER"}),
        ],
        batch_size_rows=2,
    )
    assert run.exit_code == 0
    assert run.script.index('"OLD"') < run.script.index('"NEW"')


def test_large_batch_goes_through_a_staging_table_and_one_merge(run_target):
    """At staging_min_rows rows a batch is inserted into a global temporary table and merged once."""
    messages = [schema_message("item", ITEM_SCHEMA)] + [record("item", {"id": i}) for i in range(3)]
    run = run_target(messages, staging_min_rows=3)
    creates = run.sql(exp.Create)
    assert any(
        'CREATE GLOBAL TEMPORARY TABLE "ITEM$STG"' in c and "ON COMMIT DELETE ROWS" in c for c in creates
    )
    assert run.sql(exp.Insert)[0].startswith('INSERT INTO "ITEM$STG"')
    (merge,) = run.sql(exp.Merge)
    assert 'USING (SELECT "ID", "CODE"' in merge
    assert 'FROM "ITEM$STG") s' in merge


def test_small_batch_merges_row_by_row_from_binds(run_target):
    """Below staging_min_rows the MERGE takes its source row from the binds (executemany)."""
    run = run_target([schema_message("item", ITEM_SCHEMA), record("item", {"id": 1})], staging_min_rows=3)
    (merge,) = run.sql(exp.Merge)
    assert 'USING (SELECT :p0 AS "ID"' in merge
    assert "FROM SYS.DUAL" in merge


def test_append_only_inserts_into_a_table_without_primary_key(run_target):
    """load_method append-only writes every record with INSERT; a primary key would reject repeats."""
    run = run_target(
        [schema_message("item", ITEM_SCHEMA), record("item", {"id": 1}), record("item", {"id": 1})],
        load_method="append-only",
    )
    assert "PRIMARY KEY" not in run.sql(exp.Create)[0]
    assert run.sql(exp.Merge) == []
    assert len(_binds(run.script)) == 2


def test_stream_without_keys_is_appended(run_target):
    """A stream with no key properties cannot be merged, so its rows are inserted."""
    run = run_target(
        [schema_message("log", {"msg": {"type": "string"}}, keys=()), record("log", {"msg": "m"})]
    )
    assert run.sql(exp.Merge) == []
    assert len(run.sql(exp.Insert)) == 1


def test_default_target_schema_is_conformed_and_quoted(run_target):
    """default_target_schema goes UPPER CASE like every name, and qualifies each table."""
    run = run_target(
        [schema_message("item", ITEM_SCHEMA), record("item", {"id": 1})], default_target_schema="wms"
    )
    assert 'CREATE TABLE "WMS"."ITEM"' in run.sql(exp.Create)[0]
    assert run.sql(exp.Merge)[0].startswith('MERGE INTO "WMS"."ITEM" t')


def test_reserved_word_columns_are_quoted_everywhere(run_target):
    """Columns named ORDER, DATE and USER are safe in CREATE and MERGE because every name is quoted."""
    schema = {"id": {"type": "integer"}, "order": {"type": "string"}, "date": {"type": "string"}, "user": {}}
    run = run_target(
        [schema_message("t", schema), record("t", {"id": 1, "order": "o", "date": "d", "user": 1})]
    )
    merge = run.sql(exp.Merge)[0]
    for name in ("ORDER", "DATE", "USER"):
        assert f't."{name}" = s."{name}"' in merge


def test_timestamps_bind_as_text_with_their_offset(run_target):
    """A date-time keeps its UTC offset: bound as text, converted by TO_TIMESTAMP_TZ in SQL."""
    run = run_target(
        [
            schema_message("item", ITEM_SCHEMA),
            record("item", {"id": 1, "mod_ts": "2024-07-04T20:30:58.5-04:00"}),
        ]
    )
    assert "TO_TIMESTAMP_TZ(:p3, 'YYYY-MM-DD\"T\"HH24:MI:SS.FF6TZH:TZM')" in run.script
    assert '"p3":"2024-07-04T20:30:58.500000-04:00"' in _binds(run.script)[0]


def test_numbers_keep_every_digit(run_target):
    """A number with 30 significant digits reaches the binds whole, not as a float."""
    line = '{"type":"RECORD","stream":"item","record":{"id":1,"qty":12345678901234567890.1234567891}}'
    run = run_target([schema_message("item", ITEM_SCHEMA), line], add_record_metadata=False)
    assert '"p2":12345678901234567890.1234567891' in _binds(run.script)[0]


def test_new_property_adds_a_column_and_nothing_is_dropped(run_target):
    """A later SCHEMA with one more property adds that column with ALTER TABLE ADD; none is dropped."""
    wider = {**ITEM_SCHEMA, "color": {"type": ["string", "null"], "maxLength": 10}}
    smaller = {"id": {"type": "integer"}}
    run = run_target(
        [
            schema_message("item", ITEM_SCHEMA),
            record("item", {"id": 1}),
            schema_message("item", wider),
            record("item", {"id": 2, "color": "red"}),
            schema_message("item", smaller),
            record("item", {"id": 3}),
        ]
    )
    assert 'ALTER TABLE "ITEM" ADD ("COLOR" VARCHAR2(10 CHAR))' in run.script
    assert "DROP" not in run.script.upper().replace("DROP DEFINITION", "")


def test_longer_strings_widen_the_varchar2_column(run_target):
    """A larger maxLength widens the column in place with ALTER TABLE MODIFY."""
    wider = {**ITEM_SCHEMA, "code": {"type": ["string", "null"], "maxLength": 200}}
    run = run_target(
        [schema_message("item", ITEM_SCHEMA), record("item", {"id": 1}), schema_message("item", wider)]
    )
    assert 'ALTER TABLE "ITEM" MODIFY ("CODE" VARCHAR2(200 CHAR))' in run.script


def test_incompatible_type_change_is_one_line_naming_table_column_and_types(run_target):
    """Changing a number column to a string fails with one line: table, column, old and new type."""
    changed = {**ITEM_SCHEMA, "qty": {"type": ["string", "null"], "maxLength": 5}}
    run = run_target([schema_message("item", ITEM_SCHEMA), schema_message("item", changed)])
    assert run.exit_code == 1
    expected = 'table "ITEM" column "QTY": existing type NUMBER cannot take the new type VARCHAR2(5 CHAR)'
    errors = [line for line in run.log.splitlines() if expected in line]
    assert len(errors) == 1
    assert "Traceback" not in run.log


def test_preserve_keeps_names_as_sent_and_quoted(run_target):
    """identifier_case preserve: lower-case names stay lower case, quoted so Oracle keeps them."""
    run = run_target(
        [schema_message("orderHdr", ITEM_SCHEMA), record("orderHdr", {"id": 1})], identifier_case="preserve"
    )
    assert run.sql(exp.Create)[0].startswith('CREATE TABLE "orderHdr" ("id" NUMBER(38, 0) NOT NULL, "code"')


def test_long_stream_name_is_shortened_to_the_identifier_limit(run_target):
    """With max_identifier_length 30 a 40-character stream gets a 30-byte table name, and a warning."""
    stream = "warehouse_inventory_history_snapshot_all"
    run = run_target(
        [schema_message(stream, ITEM_SCHEMA), record(stream, {"id": 1})], max_identifier_length=30
    )
    table = run.sql(exp.Create)[0].split('"')[1]
    assert len(table) == 30
    assert table.startswith("WAREHOUSE_INVENTORY_H")
    assert f"it is written as '{table}'" in run.log


def test_a_dry_run_for_release_12_keeps_names_to_30_bytes(run_target):
    """database_version 12 may be 12.1, whose names are 30 bytes at most: the dry run assumes so."""
    stream = "warehouse_inventory_history_snapshot_all"
    run = run_target([schema_message(stream, ITEM_SCHEMA), record(stream, {"id": 1})], database_version=12)
    assert len(run.sql(exp.Create)[0].split('"')[1]) == 30
    assert "identifier limit 30 bytes" in run.script


def test_native_boolean_and_json_types_by_setting(run_target):
    """boolean_type boolean and json_type json on 23ai give BOOLEAN and JSON columns; JSON binds as JSON."""
    schema = {"id": {"type": "integer"}, "ok": {"type": "boolean"}, "doc": {"type": "object"}}
    run = run_target(
        [schema_message("t", schema), record("t", {"id": 1, "ok": True, "doc": {"a": 1}})],
        boolean_type="boolean",
        json_type="json",
        database_version=23,
    )
    create = run.sql(exp.Create)[0]
    assert '"OK" BOOLEAN' in create
    assert '"DOC" JSON' in create
    assert '"p1":true' in run.script
    assert '"p2":{"a":1}' in run.script
    assert "-- bind types: p2 DB_TYPE_JSON" in run.script


def _existing_item(existing_tables) -> None:
    existing_tables["ITEM"] = [
        dictionary_row("ID", "NUMBER", data_precision=38, data_scale=0),
        dictionary_row("CODE", "VARCHAR2", char_length=30, data_length=120, char_used="C"),
    ]


def test_overwrite_keeps_the_old_rows_until_the_new_ones_are_all_loaded(run_target, existing_tables):
    """overwrite: rows go to ITEM$NEW; ITEM's rows are replaced in one transaction at the end (finding 5)."""
    _existing_item(existing_tables)
    messages = [schema_message("item", ITEM_SCHEMA)] + [record("item", {"id": i}) for i in range(3)]
    run = run_target(messages, load_method="overwrite", batch_size_rows=2)
    assert run.exit_code == 0
    assert "TRUNCATE" not in run.script
    script = run.script
    last_merge = script.rindex('MERGE INTO "ITEM$NEW"')
    delete_at = script.index('DELETE FROM "ITEM"\n')
    insert_at = script.index('INSERT INTO "ITEM" (')
    assert last_merge < delete_at < insert_at
    assert "COMMIT;" not in script[delete_at:insert_at]  # one transaction: readers never see it empty
    assert script.index('DROP TABLE "ITEM$NEW" PURGE') > insert_at


def test_overwrite_row_counts_name_the_table_the_rows_go_into(run_target):
    """The line said 'into "ITEM"' while the rows went into ITEM$NEW, replaced only at the end."""
    messages = [schema_message("item", ITEM_SCHEMA), record("item", {"id": 1})]
    run = run_target(messages, load_method="overwrite")
    assert 'dry run: would MERGE 1 row(s) into "ITEM$NEW"' in run.log


def test_overwrite_run_that_fails_leaves_the_table_as_it_was(run_target, existing_tables):
    """A failing overwrite run touches none of the table's rows (finding 5)."""
    _existing_item(existing_tables)
    messages = [schema_message("item", ITEM_SCHEMA), record("item", {"id": 1}), record("item", {"id": "x"})]
    run = run_target(messages, load_method="overwrite")
    assert run.exit_code == 1
    assert 'DELETE FROM "ITEM"' not in run.script
    assert "TRUNCATE" not in run.script


def test_overwrite_keeps_the_rows_when_the_tap_did_not_activate_the_version_of_its_records(
    run_target, existing_tables
):
    """Records of version 7 and no ACTIVATE_VERSION 7: the tap (this repository's, say) died mid-stream,
    and Meltano then ends the target's input normally. Its rows do not replace the table's."""
    _existing_item(existing_tables)
    messages = [schema_message("item", ITEM_SCHEMA), record("item", {"id": 1}, version=7)]
    run = run_target(messages, load_method="overwrite")
    assert run.exit_code == 0
    assert 'DELETE FROM "ITEM"' not in run.script
    assert 'DROP TABLE "ITEM$NEW" PURGE' in run.script
    assert "version 7 of its records was never activated" in run.log


@pytest.mark.parametrize("before", [True, False], ids=["announced-first", "activated-after"])
def test_overwrite_replaces_the_rows_of_a_version_the_tap_activated(run_target, existing_tables, before):
    """An SDK tap announces its version before the records, this repository's tap activates it after them."""
    _existing_item(existing_tables)
    rows = [record("item", {"id": i}, version=7) for i in range(2)]
    versioned = [activate("item", 7), *rows] if before else [*rows, activate("item", 7)]
    run = run_target([schema_message("item", ITEM_SCHEMA), *versioned], load_method="overwrite")
    assert run.exit_code == 0
    assert 'DELETE FROM "ITEM"\n' in run.script


def test_overwrite_drops_the_table_a_failed_run_left(run_target, existing_tables):
    """ITEM$NEW left by a failed run is dropped and made again, so its old rows never count."""
    _existing_item(existing_tables)
    existing_tables["ITEM$NEW"] = existing_tables["ITEM"]
    run = run_target(
        [schema_message("item", ITEM_SCHEMA), record("item", {"id": 1})], load_method="overwrite"
    )
    assert run.script.index('DROP TABLE "ITEM$NEW" PURGE') < run.script.index('CREATE TABLE "ITEM$NEW"')


def test_a_leap_second_loads_as_the_instant_after_the_59th_second(run_target):
    """RFC 3339 allows second 60 (a leap second); Oracle's seconds stop at 59 (ORA-01852), Python refuses 60.

    It was refused as no date-time, stopping every later run; it loads as the next second, as PostgreSQL
    does, in a TIMESTAMP WITH TIME ZONE and in a UTC key alike.
    """
    at = {"type": ["string", "null"], "format": "date-time"}
    schema = {"ts": {"type": "string", "format": "date-time"}, "at": at}
    leap = record("leap", {"ts": "2016-12-31T23:59:60Z", "at": "2016-12-31T18:59:60.25-05:00"})
    run = run_target([schema_message("leap", schema, keys=["ts"]), leap], add_record_metadata=False)
    assert run.exit_code == 0
    assert _binds(run.script) == [
        '--   {"p0":"2017-01-01T00:00:00.000000","p1":"2016-12-31T19:00:00.250000-05:00"}'
    ]


def test_a_dbas_table_keyed_otherwise_is_refused_before_any_row(run_target, existing_tables, monkeypatch):
    """The primary key of a table that exists is read from the data dictionary (ALL_CONSTRAINTS): a
    stream keyed otherwise is one line, before any DDL or row; a table without a key takes any."""
    _existing_item(existing_tables)
    keys = {"ITEM": ("ID", "CODE")}
    monkeypatch.setattr(OracleConnector, "_read_key", lambda self, ref: keys.get(ref.name, ()))
    run = run_target([schema_message("item", ITEM_SCHEMA), record("item", {"id": 1})])
    assert run.exit_code == 1
    assert "stream 'item': table ITEM has primary key (ID, CODE), the stream's key is (ID)" in run.log
    assert "MERGE" not in run.script
    keys["ITEM"] = ()
    assert run_target([schema_message("item", ITEM_SCHEMA), record("item", {"id": 1})]).exit_code == 0


def test_whole_numbers_written_with_a_fraction_or_exponent_load_as_integers(run_target):
    """JSON Schema's integer is any number without a fractional part: 1.0, 1e2 and 2.0 in an array are
    integers (Validation, "type"). They were refused as breaking the schema; 1.5 still is."""
    schema = {
        "id": {"type": "integer"},
        "n": {"type": ["integer", "null"]},
        "doc": {
            "type": ["object", "null"],
            "properties": {"a": {"type": "array", "items": {"type": "integer"}}},
        },
    }
    line = '{"type":"RECORD","stream":"w","record":{"id":1.0,"n":1e2,"doc":{"a":[1,2.0]}}}'
    run = run_target([schema_message("w", schema), line], add_record_metadata=False)
    assert run.exit_code == 0, run.log
    assert _binds(run.script) == ['--   {"p0":1,"p1":100,"p2":"{\\"a\\":[1,2]}"}']
    bad = '{"type":"RECORD","stream":"w","record":{"id":2,"n":1.5}}'
    run = run_target([schema_message("w", schema), bad], add_record_metadata=False)
    assert run.exit_code == 1
    assert "record key id=2 field 'n': does not match its schema (type ['integer', 'null'])" in run.log


def test_a_stream_named_dual_loads_its_rows(run_target):
    """A table DUAL in the loader's schema hides SYS.DUAL from an unqualified FROM DUAL: the MERGE from
    binds read the new, empty table and merged nothing (rows lost, exit 0). It reads SYS.DUAL."""
    run = run_target([schema_message("dual", ITEM_SCHEMA), record("dual", {"id": 1})])
    assert run.exit_code == 0
    merge = run.sql(exp.Merge)[0]
    assert 'MERGE INTO "DUAL"' in merge
    assert "FROM SYS.DUAL" in merge


def test_fields_missing_from_the_schema_are_named_once_per_stream_and_field(run_target):
    """A record field the SCHEMA does not list has no column: it was dropped without a word."""
    run = run_target(
        [
            schema_message("item", ITEM_SCHEMA),
            record("item", {"id": 1, "extra": "SECRETV"}),
            record("item", {"id": 2, "extra": "SECRETV", "more": 1}),
        ]
    )
    assert run.exit_code == 0
    warned = [line for line in run.log.splitlines() if "is not in its schema" in line]
    assert len(warned) == 2
    assert (
        "stream 'item': record field 'extra' is not in its schema, so it has no column and is not loaded"
        in (warned[0])
    )
    assert "SECRETV" not in run.log
