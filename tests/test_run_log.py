"""What a run's log says: one start and one end line per stream, a summary whose numbers add up,
no per-request noise unless asked for, one verdict line last, a quiet --test.

Why: under Meltano most lines of a run's log were the SDK's METRIC lines (one per request),
burying the progress lines and the summary; the summary's requests differed from the done lines
(wms_row_counts' requests were counted in the streams they counted), a stream's seconds ran from
its prefetch to its end, and nothing said the run's wall time or how far a counted stream had got.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from clirun import PREFIX, run_tap
from tapruns import discover, tap_config

from tap_oracle_wms import progress

if TYPE_CHECKING:
    from pathlib import Path


def run_log(
    tmp_path: Path, config: dict[str, Any], *, state: dict | None = None, catalog: dict | None = None
) -> str:
    """stderr of a CLI sync that exits 0."""
    run = run_tap(tmp_path, config, state=state, catalog=catalog)
    assert run.code == 0, run.stderr
    return run.stderr


def summary(log: str) -> dict[str, list[str]]:
    """The summary table's rows by stream name (numbers as printed)."""
    table = log[log.index("tap-oracle-wms run summary:") :].splitlines()[2:]
    return {line.split()[0]: line.split() for line in table}


def done_requests(log: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r"Stream '(\w+)': done, .*?\((\d+) requests", log)}


def with_counts(catalog: dict) -> dict:
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] == "wms_row_counts":
            next(m for m in entry["metadata"] if m["breadcrumb"] == [])["metadata"]["selected"] = True
    return catalog


# --- progress lines -----------------------------------------------------------------------------


def test_each_stream_has_one_start_line_and_one_end_line(tmp_path, sandbox):
    """A start line says what will be read, an end line gives the totals, once per stream."""
    log = run_log(tmp_path, tap_config(sandbox, "wave", "location"))
    for stream in ("wave", "location"):
        assert len(re.findall(rf"Stream '{stream}': reading rows with mod_ts", log)) == 1
        assert len(re.findall(rf"Stream '{stream}': done, \d+ rows in \d+ pages", log)) == 1


def test_partitioned_stream_says_starting_once(tmp_path, sandbox):
    """inventory_history's partitions do not repeat the start line once per partition."""
    log = run_log(tmp_path, tap_config(sandbox, "inventory_history", inventory_history_status_ids=[10, 90]))
    assert len(re.findall(r"Starting incremental sync of 'inventory_history'", log)) <= 1
    assert len(re.findall(r"Stream 'inventory_history': reading", log)) == 1


@pytest.mark.parametrize(
    ("backdated", "says"), [(False, "resumable mid-stream"), (True, "bookmarked at the stream's end")]
)
def test_each_start_line_says_whether_the_stream_resumes_and_nothing_contradicts_it(
    tmp_path, sandbox, backdated, says
):
    """From a bookmark, one pass by mod_ts,id resumes mid-stream; with the backdated pass it does not."""
    bookmark = {"replication_key": "mod_ts", "replication_key_value": "2024-01-01T00:00:00+00:00"}
    config = tap_config(sandbox, "wave", backdated_rows=backdated)
    log = run_log(tmp_path, config, state={"bookmarks": {"wave": bookmark}})
    (start,) = [line for line in log.splitlines() if "Stream 'wave': reading" in line]
    assert start.endswith(f"; {says}.")
    assert "assumed to be unsorted" not in log  # the SDK's warning, naming no stream
    assert "incremental syncs are resumable mid-stream" not in log


def test_a_counted_stream_says_how_far_it_got_of_the_sources_count(tmp_path, sandbox):
    """A listing whose first page is full is counted: the done line shows 100% of that count."""
    log = run_log(tmp_path, tap_config(sandbox, "inventory", page_size=5))
    (line,) = re.findall(r"Stream 'inventory': done, ([\d,]+) rows \(100% of ~([\d,]+)\)", log)
    assert line[0] == line[1]


# --- the summary --------------------------------------------------------------------------------


def test_run_ends_with_a_summary_table_of_every_stream(tmp_path, sandbox):
    """The last lines on stderr are a table: stream, rows, pages, requests, retries, seconds, notes."""
    run = run_tap(tmp_path, tap_config(sandbox, "wave", "location"))
    table = run.stderr[run.stderr.index("tap-oracle-wms run summary:") :].splitlines()
    assert table[1].split() == ["stream", "rows", "pages", "requests", "retries", "seconds", "notes"]
    rows = {line.split()[0]: line.split() for line in table[2:]}
    records = [json.loads(line) for line in run.stdout.splitlines()]
    for stream in ("wave", "location"):
        emitted = sum(1 for m in records if m["type"] == "RECORD" and m["stream"] == stream)
        assert rows[stream][1] == f"{emitted:,}"


def test_summary_names_what_was_special(tmp_path, sandbox):
    """A fallback or a failure shows in the summary's notes column."""
    config = tap_config(sandbox, "wave", "location", max_retries=0)
    catalog = discover(config)
    sandbox.configure(ordering_rejects=("wave:non_id",), entity_faults=("location:500",))
    run = run_tap(tmp_path, config, catalog=catalog)
    assert run.code == 1
    table = run.stderr[run.stderr.index("tap-oracle-wms run summary:") :]
    assert re.search(r"\n  wave .*ordering=mod_ts,id refused, read by id", table)
    assert re.search(r"\n  location .*failed", table)
    assert run.last_line.startswith(
        f"{PREFIX}sync failed: 1 of 2 streams failed, the other is complete: location: "
    )


@pytest.mark.parametrize(
    ("failing", "verdict"),
    [
        ((), None),
        (("location",), "sync failed: 1 of 3 streams failed, the other 2 are complete: "),
        (("wave", "location"), "sync failed: 2 of 3 streams failed, the other is complete: "),
        (
            ("wave", "location", "item"),
            "sync failed: all 3 selected streams failed, none is complete: ",
        ),
    ],
)
def test_the_last_line_says_exactly_how_many_selected_streams_are_complete(
    tmp_path, sandbox, failing, verdict
):
    """None, some or all of the selected streams failing: exit 0 with no failure line, or exit 1
    with a line that counts the complete ones (never "the others" when there are none)."""
    config = tap_config(sandbox, "wave", "location", "item", max_retries=0)
    catalog = discover(config)
    sandbox.configure(entity_faults=tuple(f"{name}:500" for name in failing))
    run = run_tap(tmp_path, config, catalog=catalog)
    if verdict is None:
        assert run.code == 0
        assert not [line for line in run.stderr.splitlines() if line.startswith(PREFIX)]
    else:
        assert run.code == 1
        assert run.last_line.startswith(PREFIX + verdict)
        assert all(f"{name}: HTTP 500" in run.last_line for name in failing)


def test_the_only_selected_stream_failing_is_not_called_one_of_others(tmp_path, sandbox):
    """One stream selected, and it failed: the line says so, with no "others"."""
    config = tap_config(sandbox, "wave", max_retries=0)
    catalog = discover(config)
    sandbox.configure(entity_faults=("wave:500",))
    run = run_tap(tmp_path, config, catalog=catalog)
    assert run.code == 1
    assert run.last_line.startswith(f"{PREFIX}sync failed: the only selected stream failed: wave: HTTP 500")


def test_summary_requests_equal_the_done_lines_and_row_counts_count_their_own(tmp_path, sandbox):
    """Each stream's requests in the summary are its done line's; wms_row_counts has one per count."""
    config = tap_config(sandbox, "wave", "location", row_count_days=3)
    log = run_log(tmp_path, config, catalog=with_counts(discover(config)))
    table, done = summary(log), done_requests(log)
    for stream in ("wave", "location", "wms_row_counts"):
        assert int(table[stream][3]) == done[stream], stream
    assert done["wms_row_counts"] == 2 * (3 + 1)  # two streams with mod_ts, a total and 3 days each


def test_the_total_row_adds_the_streams_up_and_gives_the_wall_time(tmp_path, sandbox):
    """The last row: rows, pages, requests and retries summed; seconds are the run's wall time."""
    table = summary(run_log(tmp_path, tap_config(sandbox, "wave", "location")))
    total = table.pop("total")
    for column in (1, 2, 3, 4):
        assert int(total[column].replace(",", "")) == sum(
            int(r[column].replace(",", "")) for r in table.values()
        )
    assert float(total[5]) >= max(float(r[5]) for r in table.values())


def test_a_streams_seconds_do_not_include_the_wait_for_the_streams_before_it(monkeypatch):
    """wave's page, fetched ahead at t=0.1-0.3, waits for inventory until t=5: wave took 0.2 s, not 5."""
    clock = iter([0.0, 0.1, 0.3, 5.0, 5.0])  # began, request, answer, page, end (start reads none)
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    run = progress.Progress()
    run.request("wave")
    run.answered("wave")
    run.start("wave", "everything")
    run.page("wave", 3)
    run.end("wave")
    assert run.of("wave").seconds == pytest.approx(0.2)


def test_rows_read_but_skipped_are_counted_in_the_done_line_and_the_notes(tmp_path, sandbox):
    """Rows whose id is no integer are read, not emitted: the done line and the summary say how many."""
    sandbox.configure(odd_values=("order_dtl",))
    skipped = sum(
        1 for odd in sandbox.odd_values("order_dtl") if odd["field"] == "id" and odd["sent"] != str(odd["id"])
    )
    run = run_tap(tmp_path, tap_config(sandbox, "order_dtl"))
    assert run.code == 0, run.stderr
    emitted = sum(1 for line in run.stdout.splitlines() if '"type":"RECORD"' in line.replace(" ", ""))
    row = summary(run.stderr)["order_dtl"]
    assert int(row[1].replace(",", "")) == emitted + skipped
    assert f"{skipped} rows skipped (warned)" in " ".join(row[6:])
    assert re.search(rf"Stream 'order_dtl': done, [\d,]+ rows.*, {skipped} of them skipped, in", run.stderr)


# --- metrics ------------------------------------------------------------------------------------


def test_a_run_logs_no_metric_lines_by_default(tmp_path, sandbox):
    """Default settings: no METRIC line; the progress lines and the summary are there."""
    log = run_log(tmp_path, tap_config(sandbox, "wave", "item"))
    assert "METRIC" not in log
    assert "Stream 'wave': done" in log
    assert "run summary" in log


def test_metrics_log_level_info_logs_one_request_metric_per_request(tmp_path, sandbox):
    """metrics_log_level=INFO brings back the SDK's METRIC lines, http_request_duration among them."""
    log = run_log(tmp_path, tap_config(sandbox, "wave", "item", metrics_log_level="INFO"))
    assert '"metric":"http_request_duration"' in log.replace(" ", "")


def test_describe_metrics_name_their_entity(tmp_path, sandbox):
    """Discovery's request metrics (metrics_log_level INFO) are tagged with the entity described."""
    run = run_tap(tmp_path, tap_config(sandbox, "wave", metrics_log_level="INFO"), "--discover")
    assert '"stream":"wave","endpoint":"entity/wave/describe/"' in run.stderr
    assert "entity/entity/" not in run.stderr


# --- the verdict line ---------------------------------------------------------------------------


def test_a_failed_discovery_leaves_no_unclosed_state_file_warning(tmp_path, sandbox):
    """Discovery as Meltano runs it (--state, PYTHONWARNINGS=once): a failure ends with its one line only."""
    sandbox.configure(entity_faults=("wave:500",))
    run = run_tap(tmp_path, tap_config(sandbox, "wave", max_retries=0), "--discover", state={},
                  env={"PYTHONWARNINGS": "once"})  # fmt: skip
    assert run.code == 1
    assert "ResourceWarning" not in run.stderr
    assert run.last_line.startswith(f"{PREFIX}sync failed")


#: The logging config Meltano 4.4 hands a plugin with the structured-logging capability.
MELTANO_LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"singer_formatter": {"()": "singer_sdk.logging.StructuredFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "singer_formatter",
                             "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "fault", "verdict"),
    [
        ({"page_size": 0}, (), f"{PREFIX}configuration error: page_size"),
        ({"max_retries": 0}, ("wave:500",), f"{PREFIX}sync failed"),
    ],
    ids=["bad setting", "failed request"],
)
def test_the_one_line_failure_is_an_error_record_under_meltanos_structured_logging(
    tmp_path, sandbox, settings, fault, verdict
):
    """With Meltano's SINGER_SDK_LOG_CONFIG the verdict is the last record, at level error (not [info])."""
    log_config = tmp_path / "logging.json"
    log_config.write_text(json.dumps(MELTANO_LOG_CONFIG))
    sandbox.configure(entity_faults=fault)
    run = run_tap(tmp_path, tap_config(sandbox, "wave", **settings), "--discover",
                  env={"SINGER_SDK_LOG_CONFIG": str(log_config)})  # fmt: skip
    assert run.code in {1, 2}
    last = json.loads(run.last_line)
    assert last["level"] == "error"
    assert last["message"].startswith(verdict)


# --- --test -------------------------------------------------------------------------------------


def test_connection_test_prints_no_error_when_nothing_is_wrong(tmp_path, sandbox):
    """--test reads one record per stream and exits 0 without an ERROR line."""
    run = run_tap(tmp_path, tap_config(sandbox, "wave", "location"), "--test")
    assert run.code == 0, run.stderr
    assert "ERROR" not in run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines() if '"RECORD"' in line]
    assert {m["stream"] for m in records} == {"wave", "location", "wms_row_counts"}


def test_connection_test_fails_when_a_stream_cannot_be_read(tmp_path, sandbox):
    """--test exits non-zero naming a stream that cannot be read."""
    config = tap_config(sandbox, "wave", "location", max_retries=0, request_timeout=1)
    sandbox.configure(slow_page_rows=1, slow_page_delay_s=3, slow_page_entities=("location",))
    run = run_tap(tmp_path, config, "--test")
    assert run.code == 1
    assert run.last_line.startswith(
        f"{PREFIX}sync failed: 1 of 3 streams failed, the other 2 are complete: location: "
    )
