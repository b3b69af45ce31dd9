"""The run_target fixture: the target's CLI, in-process, in dry-run mode."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from target_helpers import Run

from target_oracle.target import TargetOracle

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
        return Run(
            exit_code=result.exit_code,
            script=script.read_text() if script.exists() else "",
            stdout=result.stdout,
            output=result.output,
            log=caplog.text,
        )

    return run
