"""Signals and a closed stdout end any phase of a run with the right exit code and one line, promptly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from local_server import send_json, serving
from tapruns import discover, page_requests, tap_config

TAP = str(Path(sys.executable).with_name("tap-oracle-wms"))
PREFIX = "tap-oracle-wms: "
UNHANDLED = "An unhandled error occurred"


def start_tap(tmp_path: Path, config: dict, *args: str) -> subprocess.Popen:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_ORACLE_WMS_")}
    return subprocess.Popen(
        [TAP, "--config", str(path), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )


def wait_until(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "precondition never reached"
        time.sleep(0.02)


def describes(sandbox) -> int:
    return sum(1 for r in sandbox.requests if r.path.rstrip("/").endswith("describe"))


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_during_discovery_exits_non_zero_without_state(tmp_path, sandbox, signum, code):
    """SIGTERM/SIGINT while describing: exit 128+N, a "stopped by" line, and no STATE on stdout."""
    sandbox.configure(latency_ms=300)
    tap = start_tap(tmp_path, tap_config(sandbox, describe_concurrency=1), "--discover")
    wait_until(lambda: describes(sandbox) >= 2)
    tap.send_signal(signum)
    out, err = tap.communicate(timeout=60)
    assert tap.returncode == code
    assert b'"STATE"' not in out
    last = err.decode().strip().splitlines()[-1]
    assert last == f"{PREFIX}stopped by {signum.name} before the command completed; run it again"


def test_second_signal_while_stopping_keeps_the_exit_code_and_line(tmp_path, sandbox):
    """Two SIGTERMs in a row mid-sync: still 143, the "stopped by" line, STATE last, no error logged."""
    sandbox.configure(latency_ms=150)
    config = tap_config(sandbox, "inventory", "order_dtl", page_size=5, concurrency=2)
    tap = start_tap(tmp_path, config)
    wait_until(lambda: len(page_requests(sandbox, "inventory")) >= 3)
    tap.send_signal(signal.SIGTERM)
    time.sleep(0.02)
    tap.send_signal(signal.SIGTERM)
    out, err = tap.communicate(timeout=60)
    text = err.decode()
    assert tap.returncode == 143
    assert text.strip().splitlines()[-1].startswith(f"{PREFIX}stopped by SIGTERM: STATE was written")
    assert json.loads(out.splitlines()[-1])["type"] == "STATE"
    assert UNHANDLED not in text


class FatalThenStuck(BaseHTTPRequestHandler):
    """Entity `a`'s later requests answer 401 (the run stops); entity `b`'s list hangs, holding a worker."""

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path.endswith("/entity/"):
            body: object = {"a": "x", "b": "x"}
        elif path.endswith("/describe/"):
            body = {"parameters": ["id"], "fields": {"id": {"type": "primary key"}}}
        elif "/entity/a/" in path and ("cursor=" in self.path or "page_mode=paged" in self.path):
            time.sleep(0.5)  # b's planning is under way by now
            self.reply(401, {"code": "UNAUTHORIZED", "message": "no"})
            return
        elif "/entity/a/" in path:
            base = f"http://{self.headers['Host']}{path}"
            body = {"next_page": base + "?cursor=2", "results": [{"id": 1}]}
        else:
            time.sleep(60)
            return
        self.reply(200, body)

    def reply(self, status: int, body: object) -> None:
        send_json(self, status, body)

    def log_message(self, *args: object) -> None:
        pass


def stuck_config(url: str) -> dict:
    return {
        "base_url": url,
        "username": "u",
        "password": "p",
        "entities_include": ["a", "b"],
        "sequenced_ordering": "honoured",
        "concurrency": 2,
        "request_timeout": 120,
    }


def test_a_fatal_error_with_a_stuck_worker_ends_promptly(tmp_path):
    """A worker stuck in a request is not waited on for long: the 401 line comes within seconds."""
    with serving(FatalThenStuck) as url:
        config = stuck_config(url)
        catalog = tmp_path / "catalog.json"
        catalog.write_text(json.dumps(discover(config)))
        started = time.monotonic()
        tap = start_tap(tmp_path, config, "--catalog", str(catalog))
        _, err = tap.communicate(timeout=60)
    assert tap.returncode == 1
    assert "HTTP 401" in err.decode().strip().splitlines()[-1]
    assert time.monotonic() - started < 20


def test_a_signal_after_a_fatal_error_keeps_the_errors_exit_and_line(tmp_path):
    """SIGTERM while the run stops after a 401: exit 1 and the 401 line, not 0 or "stopped by"."""
    with serving(FatalThenStuck) as url:
        config = stuck_config(url)
        catalog = tmp_path / "catalog.json"
        catalog.write_text(json.dumps(discover(config)))
        tap = start_tap(tmp_path, config, "--catalog", str(catalog))
        lines: list[str] = []

        def read_stderr() -> None:
            lines.extend(line.decode() for line in tap.stderr)

        reader = threading.Thread(target=read_stderr)
        reader.start()
        # The SDK logs the 401 as it passes; the run then waits (boundedly) for b's stuck worker.
        wait_until(lambda: any("while syncing 'a'" in line for line in lines) or tap.poll() is not None)
        tap.send_signal(signal.SIGTERM)
        tap.wait(timeout=60)
        reader.join(timeout=10)
        tap.stdout.close()
        tap.stderr.close()
    assert tap.returncode == 1
    assert "HTTP 401" in lines[-1]
    assert lines[-1].startswith(f"{PREFIX}sync failed:")


def test_a_closed_stdout_exits_non_zero_with_one_line(tmp_path, sandbox):
    """`| head -c 1000`: the reader closes the pipe; exit 1 and a tap-oracle-wms line, no error logged."""
    tap = start_tap(tmp_path, tap_config(sandbox, "order_dtl", page_size=50))
    tap.stdout.read(1000)
    tap.stdout.close()
    with tap.stderr:
        err = tap.stderr.read().decode()
    tap.wait(timeout=60)
    assert tap.returncode == 1
    assert err.strip().splitlines()[-1].startswith(f"{PREFIX}sync failed: stdout was closed by its reader")
    assert UNHANDLED not in err
    assert "Traceback" not in err
