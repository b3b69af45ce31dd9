"""BATCH output (`batch_config`): the same rows, STATE and ACTIVATE_VERSION order as RECORD output.

Each run reads the sandbox twice, once with RECORD messages and once with BATCH messages whose
files (local storage) are read back; rows, order and final STATE must be equal.
"""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import pytest
from clirun import start_tap
from tapruns import discover, full_table, lost_rows, sync, tap_config

from tap_oracle_wms import drift

ENTITIES = ("order_hdr", "wave")


def batch_config(tmp_path: Path, size: int = 100, **encoding: str) -> dict:
    return {
        "encoding": {"format": "jsonl", "compression": "gzip", **encoding},
        "storage": {"root": tmp_path.as_uri(), "prefix": "wms-"},
        "batch_size": size,
    }


def rows_of(message: dict) -> list[dict]:
    """The rows of one BATCH message's files, in manifest order."""
    out: list[dict] = []
    for url in message["manifest"]:
        path = Path(urlparse(url).path)
        if message["encoding"]["format"] == "parquet":
            import pyarrow.parquet as pq

            out += pq.read_table(path).to_pylist()
        else:
            with gzip.open(path, "rt", encoding="utf-8") as lines:
                out += [json.loads(line, parse_float=Decimal) for line in lines]
    return out


def batched_records(out, stream: str) -> list[dict]:
    return [row for m in out.messages if m["type"] == "BATCH" and m["stream"] == stream for row in rows_of(m)]


def kinds(out, stream: str) -> list[str]:
    """The stream's message types in order, runs of the same type collapsed."""
    seen: list[str] = []
    for m in out.messages:
        kind = m["type"]
        if m.get("stream", stream) == stream and (not seen or seen[-1] != kind):
            seen.append(kind)
    return seen


def bookmarks(state: dict) -> dict:
    """The STATE's bookmarks without the drift check's counts (its last hour ends at the run's start)."""
    return {name: {k: v for k, v in b.items() if k != drift.KEY} for name, b in state["bookmarks"].items()}


@pytest.mark.parametrize("exact", [False, True], ids=["files of 100 rows", "one file of exactly the rows"])
def test_batch_files_hold_the_records_and_the_run_ends_on_the_same_state(sandbox, tmp_path, exact):
    """Every row RECORD output has, in the same order, in the files; the same last STATE.

    When a file holds exactly the rows of a stream bookmarked at its end (unsorted), the end of
    its records (the bookmark) comes after the file was announced, and still reaches STATE.
    """
    config = tap_config(sandbox, *ENTITIES, page_size=25, sequenced_ordering="ignored")
    records = sync(config)
    size = len(records.records("order_hdr")) if exact else 100
    batched = sync({**config, "batch_config": batch_config(tmp_path, size)})
    assert not [m for m in batched.messages if m["type"] == "RECORD"]
    for stream in ENTITIES:
        assert records.records(stream)
        assert batched_records(batched, stream) == records.records(stream)
    assert bookmarks(batched.last_state) == bookmarks(records.last_state)


def test_parquet_files_hold_the_same_rows(sandbox, tmp_path):
    """Parquet (the [parquet] extra): the same rows and values as RECORD output (decimals as decimals)."""
    pytest.importorskip("pyarrow")
    config = tap_config(sandbox, *ENTITIES, page_size=25)
    records = sync(config)
    batched = sync(
        {**config, "batch_config": batch_config(tmp_path, 100, format="parquet", compression="gzip")}
    )
    for stream in ENTITIES:
        assert batched_records(batched, stream) == records.records(stream)
    assert bookmarks(batched.last_state) == bookmarks(records.last_state)


def test_each_batch_message_is_followed_by_the_state_of_its_rows(sandbox, tmp_path):
    """A STATE after every BATCH message: a run killed later resumes after the files it announced."""
    config = tap_config(sandbox, "order_hdr", page_size=25, batch_config=batch_config(tmp_path, 7))
    out = sync(config)
    kinds_in_order = [m["type"] for m in out.messages if m["type"] in {"BATCH", "STATE"}]
    batches = [i for i, kind in enumerate(kinds_in_order) if kind == "BATCH"]
    assert len(batches) > 1
    assert all(kinds_in_order[i + 1] == "STATE" for i in batches)


def test_a_full_table_batch_run_activates_its_version_after_the_last_file(sandbox, tmp_path):
    """The weekly full sync with BATCH output: files first, then ACTIVATE_VERSION, as with RECORDs."""
    config = tap_config(sandbox, "wave", emit_activate_version_messages=True)
    catalog = full_table(discover(config))
    records = sync(config, catalog=catalog)
    batched = sync({**config, "batch_config": batch_config(tmp_path, 25)}, catalog=catalog)
    assert kinds(records, "wave")[-3:] == ["RECORD", "ACTIVATE_VERSION", "STATE"]
    assert kinds(batched, "wave")[-3:] == ["STATE", "ACTIVATE_VERSION", "STATE"]
    assert "BATCH" in kinds(batched, "wave")
    assert batched_records(batched, "wave") == records.records("wave")


def test_a_batch_run_stopped_by_sigterm_and_restarted_from_its_last_state_loses_no_row(sandbox, tmp_path):
    """SIGTERM while a file is being filled: the last STATE is that of the last file announced (the
    rows read since are in none), so the restart reads them again."""
    sandbox.configure(scale=3000, latency_ms=100)
    entity = "order_dtl"
    # One chain of 54 pages at 100 ms: the run is seconds from its end when the signal lands
    # (a faster run could finish first on a busy machine, and a signal during its exit kills it).
    config = tap_config(
        sandbox, entity, page_size=50, concurrency=1, batch_config=batch_config(tmp_path, 100)
    )
    proc = start_tap(tmp_path, config, stderr=subprocess.DEVNULL)
    before: list[dict] = []
    state = None
    signalled = False
    assert proc.stdout is not None
    with proc:
        for line in proc.stdout:
            message = json.loads(line, parse_float=Decimal)
            if message["type"] == "STATE":
                state = message["value"]
            elif message["type"] == "BATCH":
                before += rows_of(message)
                if len(before) >= 100 and not signalled:
                    time.sleep(0.1)  # the next file is half read
                    proc.send_signal(signal.SIGTERM)
                    signalled = True
    assert proc.returncode == 128 + signal.SIGTERM, "precondition: the run was stopped, not finished"
    after = sync(tap_config(sandbox, entity, page_size=50), state=state)
    lost = lost_rows(before + after.records(entity), sandbox.truth(entity), after.schema(entity))
    assert lost == {"missing": [], "stale": []}
