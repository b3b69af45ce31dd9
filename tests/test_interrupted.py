"""No row lost when a sync is killed (issue 6.3): the real CLI, SIGKILLed after N records read
from its stdout, then restarted with the last STATE message it emitted.

Whether the run could checkpoint mid-stream depends on the server honouring `ordering` in
sequenced mode (a GAP of the spec), so both realities are covered with sequenced_ordering=auto.
"""

from __future__ import annotations

import json
import signal
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from clirun import start_tap
from tapruns import lost_rows, settle, sync, tap_config

from tap_oracle_wms.streams import EntityStream

ENTITY = "order_dtl"
SCALE = 3000  # ~2700 order_dtl rows: several checkpoints' worth at page_size 50


@pytest.fixture
def big_sandbox(sandbox):
    """The sandbox with enough rows for mid-stream checkpoints, slow enough to kill mid-stream."""
    sandbox.configure(scale=SCALE, latency_ms=4)
    return sandbox


def killed_run(config: dict, state: dict | None, kill_after: int, tmp_path: Path) -> tuple[list, dict | None]:
    """Run the CLI, SIGKILL it once `kill_after` records were read; the records and last STATE read."""
    proc = start_tap(tmp_path, config, state=state or {}, stderr=subprocess.DEVNULL)
    records: list[dict] = []
    last_state = state
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            message = json.loads(line, parse_float=Decimal)
            if message["type"] == "STATE":
                last_state = message["value"]
            elif message["type"] == "RECORD" and message["stream"] == ENTITY:
                records.append(message["record"])
                if len(records) >= kill_after:
                    proc.send_signal(signal.SIGKILL)
                    break
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL, "precondition: the run was killed, not finished"
    return records, last_state


def stream_state(state: dict | None) -> dict:
    return ((state or {}).get("bookmarks") or {}).get(ENTITY, {})


def config_for(sandbox) -> dict:
    return tap_config(sandbox, ENTITY, page_size=50, sequenced_ordering="auto")


@pytest.mark.parametrize("ordering", ["honour", "ignore"])
@pytest.mark.parametrize("kill_after", [1, 37, 1234, 2222])
def test_killed_sync_restarted_from_its_last_state_loses_no_row(big_sandbox, tmp_path, ordering, kill_after):
    """SIGKILL after N records (mid-page too), restart from the last STATE: the union holds every row."""
    big_sandbox.configure(sequenced_ordering=ordering)
    config = config_for(big_sandbox)
    before, state = killed_run(config, None, kill_after, tmp_path)
    after = sync(config, state=state)
    lost = lost_rows(before + after.records(ENTITY), big_sandbox.truth(ENTITY), after.schema(ENTITY))
    assert lost == {"missing": [], "stale": []}


def test_killed_sync_with_honoured_ordering_resumes_from_a_mid_stream_checkpoint(big_sandbox, tmp_path):
    """Ordering honoured: the last STATE before the kill is a resumable bookmark; the restart reads less."""
    config = config_for(big_sandbox)
    _, state = killed_run(config, None, 2222, tmp_path)
    checkpoint = stream_state(state)
    assert checkpoint.get("replication_key_value"), f"no mid-stream bookmark in {state}"
    assert "progress_markers" not in checkpoint
    after = sync(config, state=state)
    assert len(after.records(ENTITY)) < len(big_sandbox.truth(ENTITY))


def test_killed_sync_with_ignored_ordering_restarts_from_the_previous_bookmark(big_sandbox, tmp_path):
    """Ordering ignored: no mid-stream bookmark is trusted, so the restart reads the whole window again."""
    big_sandbox.configure(sequenced_ordering="ignore")
    config = config_for(big_sandbox)
    _, state = killed_run(config, None, 2222, tmp_path)
    assert not stream_state(state).get("replication_key_value")
    after = sync(config, state=state)
    assert len(after.records(ENTITY)) == len(big_sandbox.truth(ENTITY))


@pytest.mark.parametrize("ordering", ["honour", "ignore"])
def test_sync_killed_twice_with_changes_in_between_loses_no_row(big_sandbox, tmp_path, ordering):
    """Kill, change rows, restart and kill again, then finish: the union holds every row's latest version."""
    big_sandbox.configure(sequenced_ordering=ordering)
    config = config_for(big_sandbox)
    first, state = killed_run(config, None, 1500, tmp_path)
    big_sandbox.activity(entity=ENTITY, inserts=20, updates=60, deletes=0)
    second, state = killed_run(config, state, 700, tmp_path)
    big_sandbox.activity(entity=ENTITY, inserts=20, updates=60, deletes=0)
    settle()
    third = sync(config, state=state)
    records = first + second + third.records(ENTITY)
    lost = lost_rows(records, big_sandbox.truth(ENTITY), third.schema(ENTITY))
    assert lost == {"missing": [], "stale": []}


def test_checkpoints_come_at_least_every_thousand_records():
    """A killed run redoes at most STATE_MSG_FREQUENCY records (the SDK default is 10,000)."""
    assert EntityStream.STATE_MSG_FREQUENCY <= 1000
