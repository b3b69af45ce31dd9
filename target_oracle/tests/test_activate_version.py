"""ACTIVATE_VERSION: buffered rows are written and committed first, then older versions go."""

from __future__ import annotations

from sqlglot import exp
from target_helpers import ITEM_SCHEMA, activate, record, schema_message

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


def test_hard_delete_removes_older_and_unstamped_versions(run_target):
    """hard_delete: DELETE rows whose version is older than the activated one, or null."""
    run = run_target(FULL_SYNC, hard_delete=True)
    (delete,) = run.sql(exp.Delete)
    assert delete == (
        'DELETE FROM "ITEM" WHERE "_SDC_TABLE_VERSION" < :version OR "_SDC_TABLE_VERSION" IS NULL'
    )
    assert '--   {"version":1700000000000}' in run.script


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


def test_activation_of_an_empty_stream_deletes_all_older_rows(run_target):
    """A full sync that found no rows still activates: every older row is gone."""
    run = run_target([schema_message("item", ITEM_SCHEMA), activate("item", 5)], hard_delete=True)
    assert len(run.sql(exp.Delete)) == 1


def test_activation_before_its_records_waits_for_the_end_of_input(run_target):
    """The SDK announces a version when a FULL_TABLE stream starts; deleting then would empty the table."""
    run = run_target(
        [
            schema_message("item", ITEM_SCHEMA),
            activate("item", 7),
            record("item", {"id": 1}, version=7),
            schema_message("wave", ITEM_SCHEMA),
            record("wave", {"id": 1}),
        ],
        hard_delete=True,
    )
    script = run.script
    assert (
        script.index('MERGE INTO "ITEM"')
        < script.index('MERGE INTO "WAVE"')
        < script.index('DELETE FROM "ITEM"')
    )


def test_activation_after_its_records_acts_at_once(run_target):
    """Activated after its records, a version's older rows go before the next stream is loaded."""
    run = run_target(
        [*FULL_SYNC, schema_message("wave", ITEM_SCHEMA), record("wave", {"id": 1})],
        hard_delete=True,
    )
    assert run.script.index('DELETE FROM "ITEM"') < run.script.index('MERGE INTO "WAVE"')


def test_run_that_fails_before_the_end_deletes_nothing(run_target):
    """An announced version whose sync breaks off never deletes: the old rows stay."""
    run = run_target(
        [
            schema_message("item", ITEM_SCHEMA),
            activate("item", 7),
            record("item", {"id": 1}, version=7),
            record("item", {"id": "broken"}, version=7),
        ],
        hard_delete=True,
    )
    assert run.exit_code == 1
    assert "DELETE FROM" not in run.script
