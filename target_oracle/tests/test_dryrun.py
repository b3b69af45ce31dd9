"""The dry-run script: no connection, whole transactions only, binds as comments."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import oracle

from target_oracle.connector import OracleConnector
from target_oracle.dryrun import DryRunScript
from target_oracle.target import TargetOracle


def script(tmp_path) -> DryRunScript:
    return DryRunScript(tmp_path / "s.sql", oracle.dialect(), ["nothing"])


def test_dry_run_engine_refuses_to_connect(tmp_path):
    """Even with full connection settings, a dry run's engine cannot open a connection."""
    config = {"dry_run_sql_path": str(tmp_path / "s.sql"), "user": "u", "password": "p", "host": "db",
              "service_name": "S"}  # fmt: skip
    connector = TargetOracle(config=config).target_connector
    assert isinstance(connector, OracleConnector)
    with pytest.raises(RuntimeError, match="dry run: target-oracle does not connect"):
        connector.engine.connect()


def test_committed_transaction_is_written_with_its_binds(tmp_path):
    """Statements, then one comment line per bind row, then COMMIT."""
    dry = script(tmp_path)
    with dry.session() as session:
        session.execute(sa.text("INSERT INTO t (a) VALUES (:p0)"), [{"p0": 1}, {"p0": "x\ny"}])
        session.commit()
    lines = (tmp_path / "s.sql").read_text().splitlines()
    start = lines.index("INSERT INTO t (a) VALUES (:p0)")
    assert lines[start : start + 6] == [
        "INSERT INTO t (a) VALUES (:p0)",
        ";",
        "-- binds: 2 row(s)",
        '--   {"p0":1}',
        '--   {"p0":"x\\ny"}',
        "COMMIT;",
    ]


def test_uncommitted_transaction_never_reaches_the_script(tmp_path):
    """A transaction left without commit (a failed batch) is rolled back: nothing is written."""
    dry = script(tmp_path)
    with dry.session() as session:
        session.execute(sa.text("DELETE FROM t"))
    assert "DELETE" not in (tmp_path / "s.sql").read_text()


def test_script_header_says_no_database_was_contacted(tmp_path):
    """The first lines tell a reviewer what the file is and what was assumed."""
    script(tmp_path)
    text = (tmp_path / "s.sql").read_text()
    assert "-- No database was contacted." in text
    assert "-- assumed: nothing" in text
