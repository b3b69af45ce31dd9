"""The run_target fixture: the target's CLI, in-process, in dry-run mode."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from oracle_checks import check_script
from target_helpers import Run, command

from target_oracle.connector import OracleConnector
from target_oracle.tables import TableRef, columns_from_rows
from target_oracle.target import TargetOracle
from target_oracle.typemap import OracleType

# The SDK warns of the running Python's end of life on every start, from six months before it (3.11:
# from 2027-04-04). The notice is for the operator and is the SDK's, not this code's: the tests check
# our own output, so every process a test starts (the CLI, Meltano and its plugins) leaves it out.
# (pyproject.toml does the same for this process.)
EOL_NOTICE = "ignore:Python {}.{}:FutureWarning".format(*sys.version_info)
os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), EOL_NOTICE]))

#: The CLI command, built once: every access to ``TargetOracle.cli`` adds a console log handler.
CLI = TargetOracle.cli


@pytest.fixture
def run_target(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """Run the target's CLI in-process on messages, dry run into a temp script."""

    def run(messages: Iterable[dict[str, Any] | str], **config: Any) -> Run:
        script = tmp_path / "dry-run.sql"
        config_path = tmp_path / "config.json"
        config_path.write_text(json.dumps({"dry_run_sql_path": str(script), **config}))
        lines = "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)
        input_path = tmp_path / "input.jsonl"
        input_path.write_text(lines)
        result = CliRunner().invoke(
            TargetOracle.cli, ["--config", str(config_path), "--input", str(input_path)]
        )
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        text = script.read_text() if script.exists() else ""
        # Every statement any test's dry run writes is held against Oracle's documented rules.
        assert check_script(text) == [], "a dry-run statement breaks a documented Oracle rule"
        return Run(
            exit_code=result.exit_code,
            script=script.read_text() if script.exists() else "",
            stdout=result.stdout,
            output=result.output,
            log=caplog.text,
        )

    return run


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    """A sandbox of our own on a free loopback port; its base_url once it is up."""
    port = _free_port()
    process = subprocess.Popen(
        [command("tap-oracle-wms-sandbox"), "--port", str(port), "--scale", "40", "--seed", "11"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("base_url"):
                yield line.split()[1]
                break
            if time.monotonic() > deadline:
                pytest.fail("the sandbox did not report its base_url within 30 s")
        else:
            pytest.fail(f"the sandbox exited ({process.poll()}) before reporting its base_url")
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def existing_tables(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[dict[str, Any]]]:
    """Tables a DBA made before the run: table name -> its ALL_TAB_COLUMNS rows.

    A dry run reads no data dictionary; this hands the loader the rows the dictionary
    query would return, so how it reads and loads existing tables is seen in the script.
    """
    tables: dict[str, list[dict[str, Any]]] = {}

    def read(connector: OracleConnector, ref: TableRef) -> dict[str, OracleType] | None:
        rows = tables.get(ref.name)
        return columns_from_rows(rows) if rows else None

    monkeypatch.setattr(OracleConnector, "_read_columns", read)
    return tables
