"""Running the real `tap-oracle-wms` command in a subprocess, and what a one-line failure looks like."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tapruns import tap_config

if TYPE_CHECKING:
    from collections.abc import Callable

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


def clean_environment(extra: dict | None = None) -> dict[str, str]:
    """This process's environment without the tap's own settings or log configuration."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TAP_ORACLE_WMS_") and k not in {"LOGLEVEL", "SINGER_SDK_LOG_CONFIG"}
    }
    return {**clean, **(extra or {})}


def start_tap(
    tmp_path: Path, config: dict, *args: str, state: dict | None = None, stderr: int = subprocess.PIPE
) -> subprocess.Popen[bytes]:
    """Start `tap-oracle-wms --config <file> [--state <file>] ARGS`: stdout piped and unbuffered, to be
    read, signalled or killed as it runs."""
    (tmp_path / "config.json").write_text(json.dumps(config))
    argv = [TAP, "--config", str(tmp_path / "config.json")]
    if state is not None:
        (tmp_path / "state.json").write_text(json.dumps(state))
        argv += ["--state", str(tmp_path / "state.json")]
    env = clean_environment({"PYTHONUNBUFFERED": "1"})
    return subprocess.Popen([*argv, *args], stdout=subprocess.PIPE, stderr=stderr, env=env, cwd=tmp_path)


def wait_until(condition: Callable[[], object], what: str, seconds: float = 30) -> None:
    """Poll until `condition` holds (a running tap reached some point); fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def run_tap(
    tmp_path: Path,
    config: dict | None,
    *args: str,
    state: dict | None = None,
    catalog: dict | None = None,
    env: dict | None = None,
) -> TapRun:
    """The tap's command as a user runs it: --config (and --state, --catalog) files written to
    tmp_path, none of the caller's TAP_ORACLE_WMS_* or log variables, `env` added."""
    argv = [TAP]
    for flag, content in (("--config", config), ("--state", state), ("--catalog", catalog)):
        if content is not None:
            path = tmp_path / f"{flag.strip('-')}.json"
            path.write_text(json.dumps(content))
            argv += [flag, str(path)]
    done = subprocess.run(
        [*argv, *args],
        capture_output=True,
        env=clean_environment(env),
        cwd=tmp_path,
        timeout=300,
        check=False,
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
