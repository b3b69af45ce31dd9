"""ACTIVATE_VERSION: buffered rows are written and committed first, then older versions go."""

from __future__ import annotations

import json

from sqlglot import exp
from target_helpers import ITEM_SCHEMA, activate, record, schema_message, state

FULL_SYNC = [
    schema_message("item", ITEM_SCHEMA),
    record("item", {"id": 1, "code": "a"}, version=1700000000000),
    record("item", {"id": 2, "code": "b"}, version=1700000000000),
    activate("item", 1700000000000),
]


def test_buffered_rows_are_committed_before_old_versions_are_deleted(run_target):
    """The tap activates at the END of a stream: its last rows must be in before the DELETE runs."""
    run = run_target(FULL_SYNC, hard_delete=True)
    script = run.script
    merge_at = script.index("MERGE INTO")
    commit_at = script.index("COMMIT;", merge_at)
    delete_at = script.index("DELETE FROM")
    assert merge_at < commit_at < delete_at


def test_hard_delete_removes_older_and_unversioned_rows_not_written_during_the_run(run_target):
    """hard_delete: rows of older versions or of none go, unless written while this run loaded.

    A row an incremental run wrote while the full sync ran is live, whether it has no version or
    keeps an older one (an upsert never lowers a version); so is a row from this sync's BATCH files.
    """
    run = run_target(FULL_SYNC, hard_delete=True)
    (delete,) = run.sql(exp.Delete)
    assert delete == (
        'DELETE FROM "ITEM" WHERE ("_SDC_TABLE_VERSION" < :version OR "_SDC_TABLE_VERSION" IS NULL) AND '
        '("_SDC_BATCHED_AT" IS NULL OR "_SDC_BATCHED_AT" < TO_TIMESTAMP_TZ(:run_started, '
        "'YYYY-MM-DD\"T\"HH24:MI:SS.FF6TZH:TZM'))"
    )
    assert '--   {"version":1700000000000,"run_started":"' in run.script


def test_rows_carry_their_version(run_target):
    """Each merged row binds the version of its RECORD message into _SDC_TABLE_VERSION."""
    run = run_target(FULL_SYNC, hard_delete=True)
    assert run.script.count('"p9":1700000000000') == 2  # _SDC_TABLE_VERSION is the 10th column


def test_soft_delete_stamps_deleted_at(run_target):
    """Without hard_delete, older rows get _SDC_DELETED_AT and stay."""
    run = run_target(FULL_SYNC)
    (update,) = run.sql(exp.Update)
    assert update.startswith('UPDATE "ITEM" SET "_SDC_DELETED_AT" = TO_TIMESTAMP_TZ(:deleted_at')
    assert run.sql(exp.Delete) == []


def test_activation_without_record_metadata_deletes_nothing(run_target):
    """With add_record_metadata off rows carry no version; deleting by version would empty the table."""
    run = run_target(FULL_SYNC, hard_delete=True, add_record_metadata=False)
    assert run.sql(exp.Delete) == []
    assert "ACTIVATE_VERSION for 'item' ignored" in run.log


def test_activation_of_an_empty_stream_deletes_nothing(run_target):
    """An activation with no record of its version cannot be told from an announcement: nothing goes."""
    run = run_target([schema_message("item", ITEM_SCHEMA), activate("item", 5)], hard_delete=True)
    assert run.exit_code == 0
    assert run.sql(exp.Delete) == []


def test_announcement_before_the_records_deletes_nothing(run_target):
    """SDK taps announce first; a tap that dies after one record must not empty the table (finding 1)."""
    run = run_target(
        [
            schema_message("item", ITEM_SCHEMA),
            activate("item", 7),
            record("item", {"id": 1}, version=7),
            state({"bookmarks": {}}),
        ],
        hard_delete=True,
    )
    assert run.exit_code == 0
    assert "MERGE INTO" in run.script
    assert run.sql(exp.Delete) == []
    assert run.sql(exp.Update) == []


def test_announcement_is_said_in_one_log_line_per_stream(run_target):
    """Whoever reads the log learns why no row was deleted: one line for the stream."""
    messages = [schema_message("item", ITEM_SCHEMA), activate("item", 7)]
    messages += [record("item", {"id": i}, version=7) for i in range(3)] + [activate("item", 7)]
    messages += [record("item", {"id": 9}, version=7)]
    run = run_target(messages, hard_delete=True)
    lines = [line for line in run.log.splitlines() if "not known complete" in line and "INFO" in line]
    assert len({line.split("|")[-1] for line in lines}) == 1
    assert "Stream 'item': version 7 was announced before or among its records" in lines[0]


def test_repeated_announcement_among_the_records_deletes_nothing(run_target):
    """SDK child streams announce once per parent; a later announcement deletes nothing (finding 2)."""
    run = run_target(
        [
            schema_message("item", ITEM_SCHEMA),
            activate("item", 7),
            record("item", {"id": 1}, version=7),
            activate("item", 7),
            record("item", {"id": 2}, version=7),
            activate("item", 7),
        ],
        hard_delete=True,
    )
    assert run.exit_code == 0
    assert run.sql(exp.Delete) == []


def test_activation_followed_by_more_records_of_its_version_deletes_nothing(run_target):
    """Records, activation, more records of the same version: the activation was not its end."""
    run = run_target(
        [
            schema_message("item", ITEM_SCHEMA),
            record("item", {"id": 1}, version=7),
            activate("item", 7),
            record("item", {"id": 2}, version=7),
        ],
        hard_delete=True,
    )
    assert run.sql(exp.Delete) == []


def test_activation_after_its_records_deletes_after_every_batch_of_the_input(run_target):
    """Our tap activates after the records: older rows go at the end, after every stream's commit."""
    run = run_target(
        [*FULL_SYNC, schema_message("wave", ITEM_SCHEMA), record("wave", {"id": 1})],
        hard_delete=True,
    )
    script = run.script
    assert script.index('MERGE INTO "ITEM"') < script.index('MERGE INTO "WAVE"') < script.index("DELETE FROM")


def test_incremental_merge_never_nulls_or_lowers_the_version(run_target):
    """An incremental record (no version) keeps the row's version, so a full sync keeps it (finding 4)."""
    run = run_target([schema_message("item", ITEM_SCHEMA), record("item", {"id": 1})])
    (merge,) = run.sql(exp.Merge)
    assert (
        't."_SDC_TABLE_VERSION" = CASE WHEN s."_SDC_TABLE_VERSION" IS NULL OR s."_SDC_TABLE_VERSION" < '
        't."_SDC_TABLE_VERSION" THEN t."_SDC_TABLE_VERSION" ELSE s."_SDC_TABLE_VERSION" END'
    ) in merge


def test_run_that_fails_before_the_end_deletes_nothing(run_target):
    """A complete version whose run then fails deletes nothing: deletes wait for the end of the input."""
    run = run_target(
        [
            *FULL_SYNC,
            schema_message("wave", ITEM_SCHEMA),
            record("wave", {"id": "broken"}),
        ],
        hard_delete=True,
    )
    assert run.exit_code == 1
    assert run.sql(exp.Delete) == []


def batch_message(tmp_path, lines: str) -> dict:
    """A BATCH message for stream item naming one uncompressed JSONL file holding `lines`."""
    batch = tmp_path / "item-0001.jsonl"
    batch.write_text(lines)
    return {
        "type": "BATCH",
        "stream": "item",
        "encoding": {"format": "jsonl", "compression": "none"},
        "manifest": [batch.as_uri()],
    }


def test_batch_rows_carry_metadata_and_the_announced_version(run_target, tmp_path):
    """Rows from BATCH files get the _sdc columns and the stream's version, like RECORD rows (finding 3)."""
    message = batch_message(tmp_path, '{"id": 1, "code": "a"}\n{"id": 2, "code": "b"}\n')
    run = run_target([schema_message("item", ITEM_SCHEMA), activate("item", 7), message], hard_delete=True)
    assert run.exit_code == 0, run.log[-2000:]
    rows = [json.loads(line[4:]) for line in run.script.splitlines() if line.startswith("--   {")]
    assert [row["p9"] for row in rows] == [7, 7]  # _SDC_TABLE_VERSION
    assert all(row["p5"] is not None for row in rows)  # _SDC_RECEIVED_AT
    assert run.sql(exp.Delete) == []


def test_batch_files_then_an_activation_complete_that_version(run_target, tmp_path):
    """BATCH files with no version announced, then ACTIVATE_VERSION 7 (this tap with batch_config):
    version 7 is complete, so older rows go; the rows just loaded stay, written during the run."""
    message = batch_message(tmp_path, '{"id": 1}\n')
    run = run_target([schema_message("item", ITEM_SCHEMA), message, activate("item", 7)], hard_delete=True)
    assert run.exit_code == 0
    (delete,) = run.sql(exp.Delete)
    assert '"_SDC_BATCHED_AT" < TO_TIMESTAMP_TZ(:run_started' in delete
    assert '--   {"version":7,' in run.script


def test_an_activation_announced_before_batch_files_deletes_nothing(run_target, tmp_path):
    """ACTIVATE_VERSION 7, BATCH files, ACTIVATE_VERSION 7 again (an SDK tap): 7 is never known complete."""
    message = batch_message(tmp_path, '{"id": 1}\n')
    messages = [schema_message("item", ITEM_SCHEMA), activate("item", 7), message, activate("item", 7)]
    run = run_target(messages, hard_delete=True)
    assert run.exit_code == 0
    assert run.sql(exp.Delete) == []


def test_records_before_a_batch_are_written_before_its_rows(run_target, tmp_path):
    """RECORD rows buffered before a BATCH go first, so the batch's newer rows win."""
    message = batch_message(tmp_path, '{"id": 1, "code": "from-batch"}\n')
    run = run_target(
        [schema_message("item", ITEM_SCHEMA), record("item", {"id": 1, "code": "from-record"}), message]
    )
    assert run.script.index('"from-record"') < run.script.index('"from-batch"')


def test_batch_file_fields_missing_from_the_schema_are_named_once(run_target, tmp_path):
    """As for RECORD rows: a BATCH row's field the SCHEMA does not list is named in one warning."""
    message = batch_message(tmp_path, '{"id": 1, "extra": "SECRETV"}\n{"id": 2, "extra": "SECRETV"}\n')
    run = run_target([schema_message("item", ITEM_SCHEMA), message])
    assert run.exit_code == 0, run.log[-2000:]
    warned = [line for line in run.log.splitlines() if "record field 'extra' is not in its schema" in line]
    assert len(warned) == 1
    assert "SECRETV" not in run.log
