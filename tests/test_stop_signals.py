"""Ctrl-C and SIGTERM as Meltano delivers them: the run stops non-zero, STATE first, and at once.

Why: a terminal's Ctrl-C reaches every process of `meltano run`, and Meltano then sends SIGTERM
to the tap as well; the SDK's own handlers exit 0 on either, and the interpreter waits for
worker threads still in a request (a describe can take request_timeout). README "Stopping a
run" says what a user gets.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from tapruns import page_requests, tap_config

from tap_oracle_wms_sandbox import Sandbox, SandboxConfig

if TYPE_CHECKING:
    from collections.abc import Iterator

TAP = str(Path(sys.executable).with_name("tap-oracle-wms"))


def _start(config: dict[str, Any], tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_ORACLE_WMS_")}
    return subprocess.Popen([TAP, "--config", str(path), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)  # fmt: skip


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def many_entities() -> Iterator[Sandbox]:
    """A sandbox of our own with many entities to describe (its latency is changed mid-test)."""
    with Sandbox(SandboxConfig(scale=20, extra_entities=40)) as sb:
        yield sb


def test_ctrl_c_then_meltanos_sigterm_still_ends_with_state_and_exit_130(tmp_path, sandbox):
    """SIGINT, then SIGTERM 50 ms later (Ctrl-C under Meltano): STATE last, exit 130, the stop line last."""
    sandbox.configure(latency_ms=150)
    tap = _start(tap_config(sandbox, "inventory", "order_dtl", page_size=5, concurrency=1), tmp_path)
    _wait_for(lambda: len(page_requests(sandbox, "inventory")) >= 3, "the sync to be under way")
    tap.send_signal(signal.SIGINT)
    time.sleep(0.05)
    tap.send_signal(signal.SIGTERM)
    out, err = tap.communicate(timeout=60)
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    log = err.decode()
    assert tap.returncode == 130
    assert lines[-1]["type"] == "STATE"
    assert log.strip().splitlines()[-1] == (
        "tap-oracle-wms: stopped by SIGINT: STATE was written for every record emitted; run again to continue"
    )
    assert "Gracefully shutting down" not in log  # the SDK's handler, which exits 0
    assert "An unhandled error occurred" not in log  # a stop is not a stream error


def test_ctrl_c_during_discovery_exits_130_without_waiting_for_requests_in_flight(tmp_path, many_entities):
    """SIGINT while describes are in flight: exit 130 at once, not 0 after the slow requests answer."""
    config = tap_config(many_entities, describe_concurrency=2, request_timeout=120)
    tap = _start(config, tmp_path, "--discover")
    _wait_for(lambda: any(r.path.endswith("/describe/") for r in many_entities.requests), "a describe")
    many_entities.configure(latency_ms=20_000)  # the describes in flight from now on take 20 s
    time.sleep(0.5)
    tap.send_signal(signal.SIGINT)
    _, err = tap.communicate(timeout=10)  # well before those describes could answer
    assert tap.returncode == 130
    assert err.decode().strip().splitlines()[-1] == (
        "tap-oracle-wms: stopped by SIGINT before the command completed; run it again"
    )
