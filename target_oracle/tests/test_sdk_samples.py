"""The SDK's sample Singer streams (camelCase, special characters, schema updates...) in dry-run mode.

Each valid sample must load and give a script that sqlglot's Oracle parser accepts; each broken
one must stop with exit code 1.
"""

from __future__ import annotations

from importlib import resources

import pytest
from sqlglot import exp

SAMPLES = resources.files("singer_sdk.testing") / "target_test_streams"
BROKEN = {
    "invalid_schema",
    "record_before_schema",
    "record_missing_key_property",
    "record_missing_required_property",
}
NAMES = sorted(p.name.removesuffix(".singer") for p in SAMPLES.iterdir() if p.name.endswith(".singer"))


@pytest.mark.parametrize("sample", [n for n in NAMES if n not in BROKEN])
def test_sample_loads_into_valid_oracle_sql(run_target, sample):
    """A valid sample runs to the end; every statement parses; each stream got a table."""
    lines = (SAMPLES / f"{sample}.singer").read_text().splitlines()
    run = run_target([line for line in lines if line.strip()])
    assert run.exit_code == 0, run.log[-2000:]
    assert run.sql(exp.Create)
    assert run.sql(exp.Merge) or run.sql(exp.Insert) or "RECORD" not in "".join(lines)


@pytest.mark.parametrize("sample", sorted(BROKEN))
def test_broken_sample_stops_the_run(run_target, sample):
    """A broken sample ends with exit code 1 and no STATE."""
    lines = (SAMPLES / f"{sample}.singer").read_text().splitlines()
    run = run_target([line for line in lines if line.strip()])
    assert run.exit_code == 1
    assert run.stdout == ""
