"""Stopping a run under Meltano: SIGINT to the extractor alone keeps the run's progress.

Why: README "Stopping a run" tells users to signal the tap's process, not Meltano, to stop a long
run and keep its progress; this runs that against the sandbox with real Meltano and target-jsonl.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def slow_sandbox() -> Iterator[Any]:
    """Enough rows, slowly enough served, that a run is still going when the test stops it."""
    from tap_oracle_wms_sandbox import Sandbox, SandboxConfig

    with Sandbox(SandboxConfig(scale=400, seed=3, latency_ms=150)) as sb:
        yield sb


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_sigint_to_the_extractor_alone_keeps_the_runs_progress_in_meltanos_state(
    meltano_installed: Path,
    slow_sandbox: Any,
    tmp_path: Path,
    clean_env: Callable[[Mapping[str, str]], dict[str, str]],
) -> None:
    """The tap writes STATE, exits 130; the target finishes; Meltano keeps a mid-stream bookmark, exits 1."""
    env = clean_env({
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_ENVIRONMENT": "dev",
        "TAP_ORACLE_WMS_BASE_URL": slow_sandbox.base_url,
        "TAP_ORACLE_WMS_USERNAME": "admin",
        "TAP_ORACLE_WMS_PASSWORD": "admin-password",
        "TAP_ORACLE_WMS_ENTITIES_INCLUDE": '["order_dtl"]',
        "TAP_ORACLE_WMS__SELECT": '["order_dtl.*"]',
        "TAP_ORACLE_WMS_PAGE_SIZE": "20",
        "TAP_ORACLE_WMS_CONCURRENCY": "1",
        # No hours to read again, so the stream is resumable mid-stream (its start line says so).
        "TAP_ORACLE_WMS_DRIFT_WINDOW_HOURS": "0",
        "TARGET_JSONL_DESTINATION_PATH": str(tmp_path),
    })  # fmt: skip
    meltano = [str(meltano_installed)]
    subprocess.run([*meltano, "install", "loader", "target-jsonl"], cwd=REPO_ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip
    run = subprocess.Popen([*meltano, "run", "tap-oracle-wms", "target-jsonl"], cwd=REPO_ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        # Later pages, fetched at most 4 pages ahead of what was emitted (concurrency 1): records are
        # out once 8 are served, whatever the planning requests (probe, drift counts, ranges) before.
        while (
            sum(
                1
                for r in slow_sandbox.requests
                if r.path.endswith("/entity/order_dtl/") and "cursor" in r.query
            )
            < 8
        ):
            assert run.poll() is None, "the run ended before the test could stop it"
            assert time.monotonic() < deadline, "the sync did not get under way"
            time.sleep(0.1)
        (tap,) = [
            p
            for p in children(run.pid)
            if "extractors/tap-oracle-wms" in Path(f"/proc/{p}/cmdline").read_text()
        ]
        os.kill(tap, signal.SIGINT)
        log, _ = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 1
    assert re.search(r"Stream 'order_dtl': reading .*; resumable mid-stream\.", log)
    assert "tap-oracle-wms: stopped by SIGINT: STATE was written for every record emitted" in log
    state = subprocess.run([*meltano, "state", "get", "dev:tap-oracle-wms-to-target-jsonl"], cwd=REPO_ROOT,
                           env=env, capture_output=True, text=True, check=True).stdout  # fmt: skip
    bookmark = json.loads(state)["singer_state"]["bookmarks"]["order_dtl"]
    assert bookmark["replication_key_value"]  # the next run starts from it, not from the beginning
    loaded = (tmp_path / "order_dtl.jsonl").read_text().splitlines()
    assert 0 < len(loaded) < len(slow_sandbox.truth("order_dtl"))
