"""Running the real `tap-oracle-wms` command in a subprocess, and what a one-line failure looks like."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tapruns import tap_config

TAP = str(Path(sys.executable).with_name("tap-oracle-wms"))
PREFIX = "tap-oracle-wms: "
EXAMPLE_URL = "https://xx.wms.ocs.oraclecloud.com/myenv"


@dataclass
class TapRun:
    """What one run of the console script left behind."""

    code: int
    stdout: str
    stderr: str
    raw: bytes  # every byte of stdout and stderr

    @property
    def last_line(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_tap(tmp_path: Path, config: dict | None, *args: str, env: dict | None = None) -> TapRun:
    """Run `tap-oracle-wms --config <file> ARGS` in a subprocess with a clean environment."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TAP_ORACLE_WMS_") and k not in {"LOGLEVEL", "SINGER_SDK_LOG_CONFIG"}
    }
    clean.update(env or {})
    argv = [TAP]
    if config is not None:
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        argv += ["--config", str(path)]
    done = subprocess.run(
        [*argv, *args], capture_output=True, env=clean, cwd=tmp_path, timeout=120, check=False
    )
    out, err = (b.decode("utf-8", "replace") for b in (done.stdout, done.stderr))
    return TapRun(done.returncode, out, err, done.stdout + done.stderr)


def assert_one_line_failure(run: TapRun, message: str, code: int) -> None:
    """Exit `code`, no traceback, and exactly one `tap-oracle-wms:` line: the last, equal to message."""
    assert "Traceback" not in run.output
    assert run.code == code
    assert [line for line in run.stderr.splitlines() if line.startswith(PREFIX)] == [PREFIX + message]
    assert run.last_line == PREFIX + message


def api_requests(sandbox) -> list:
    return [r for r in sandbox.requests if "/wms/lgfapi/" in r.path]


def config_error(tmp_path: Path, sandbox, message: str, *args: str, **settings) -> None:
    """A config error: the exact line, exit 2, stdout empty, and not one request to the sandbox."""
    config = {k: v for k, v in tap_config(sandbox, "wave", **settings).items() if v is not None}
    run = run_tap(tmp_path, config, *args)
    assert_one_line_failure(run, "configuration error: " + message, 2)
    assert run.stdout == ""
    assert run.stderr.strip() == PREFIX + "configuration error: " + message
    assert sandbox.requests == []
