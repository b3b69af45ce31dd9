"""A run's log says what happened without per-request noise: METRIC lines only when asked for.

Why: under Meltano most lines of a run's log were the SDK's METRIC lines (one per request),
burying the progress lines and the summary.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from tapruns import cli, tap_config

if TYPE_CHECKING:
    from pathlib import Path


def run_log(tmp_path: Path, config: dict, state: dict | None = None) -> str:
    """stderr of a CLI sync that exits 0 (from ``state`` when given)."""
    run = cli(tmp_path, config, state=state)
    assert run.returncode == 0, run.stderr
    return run.stderr


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


def test_a_failed_discovery_leaves_no_unclosed_state_file_warning(tmp_path, sandbox):
    """Discovery as Meltano runs it (--state, PYTHONWARNINGS=once): a failure ends with its one line only."""
    sandbox.configure(entity_faults=("wave:500",))
    done = cli(tmp_path, tap_config(sandbox, "wave", max_retries=0), "--discover", state={},
               env={"PYTHONWARNINGS": "once"})  # fmt: skip
    assert done.returncode == 1
    assert "ResourceWarning" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("tap-oracle-wms: sync failed")


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
        ({"page_size": 0}, (), "tap-oracle-wms: configuration error: page_size"),
        ({"max_retries": 0}, ("wave:500",), "tap-oracle-wms: sync failed"),
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
    done = cli(tmp_path, tap_config(sandbox, "wave", **settings), "--discover",
               env={"SINGER_SDK_LOG_CONFIG": str(log_config)})  # fmt: skip
    assert done.returncode in {1, 2}
    last = json.loads(done.stderr.strip().splitlines()[-1])
    assert last["level"] == "error"
    assert last["message"].startswith(verdict)


@pytest.mark.parametrize(
    ("backdated", "says"), [(False, "resumable mid-stream"), (True, "bookmarked at the stream's end")]
)
def test_each_start_line_says_whether_the_stream_resumes_and_nothing_contradicts_it(
    tmp_path, sandbox, backdated, says
):
    """From a bookmark, one pass by mod_ts,id resumes mid-stream; with the backdated pass it does not."""
    bookmark = {"replication_key": "mod_ts", "replication_key_value": "2024-01-01T00:00:00+00:00"}
    config = tap_config(sandbox, "wave", backdated_rows=backdated)
    log = run_log(tmp_path, config, {"bookmarks": {"wave": bookmark}})
    (start,) = [line for line in log.splitlines() if "Stream 'wave': reading" in line]
    assert start.endswith(f"; {says}.")
    assert "assumed to be unsorted" not in log  # the SDK's warning, naming no stream
    assert "incremental syncs are resumable mid-stream" not in log
