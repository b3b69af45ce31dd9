"""Progress numbers that add up: the done lines, the summary, the counts, the seconds, the total row.

Why: the summary's requests differed from the done lines (wms_row_counts' requests were counted
in the streams they counted), a stream's seconds ran from its prefetch to its end, and nothing
said the run's wall time or how far a counted stream had got.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from tapruns import cli, discover, tap_config

from tap_oracle_wms import progress

if TYPE_CHECKING:
    from pathlib import Path


def run_tap(tmp_path: Path, config: dict[str, Any], catalog: dict | None = None) -> str:
    """stderr of a CLI sync that exits 0."""
    run = cli(tmp_path, config, catalog=catalog)
    assert run.returncode == 0, run.stderr
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


def test_summary_requests_equal_the_done_lines_and_row_counts_count_their_own(tmp_path, sandbox):
    """Each stream's requests in the summary are its done line's; wms_row_counts has one per count."""
    config = tap_config(sandbox, "wave", "location", row_count_days=3)
    log = run_tap(tmp_path, config, with_counts(discover(config)))
    table, done = summary(log), done_requests(log)
    for stream in ("wave", "location", "wms_row_counts"):
        assert int(table[stream][3]) == done[stream], stream
    assert done["wms_row_counts"] == 2 * (3 + 1)  # two streams with mod_ts, a total and 3 days each


def test_the_total_row_adds_the_streams_up_and_gives_the_wall_time(tmp_path, sandbox):
    """The last row: rows, pages, requests and retries summed; seconds are the run's wall time."""
    table = summary(run_tap(tmp_path, tap_config(sandbox, "wave", "location")))
    total = table.pop("total")
    for column in (1, 2, 3, 4):
        assert int(total[column].replace(",", "")) == sum(
            int(r[column].replace(",", "")) for r in table.values()
        )
    assert float(total[5]) >= max(float(r[5]) for r in table.values())


def test_a_counted_stream_says_how_far_it_got_of_the_sources_count(tmp_path, sandbox):
    """A listing whose first page is full is counted: the done line shows 100% of that count."""
    log = run_tap(tmp_path, tap_config(sandbox, "inventory", page_size=5))
    (line,) = re.findall(r"Stream 'inventory': done, ([\d,]+) rows \(100% of ~([\d,]+)\)", log)
    assert line[0] == line[1]


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
