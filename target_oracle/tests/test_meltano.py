"""`meltano run tap-oracle-wms target-oracle` from the repository's meltano.yml, in dry-run mode.

Like the repository's end-to-end test, Meltano runs in the repository with a temporary
system database and every setting in environment variables; meltano.yml is not changed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from oracle_checks import check_script
from target_helpers import STREAMS, parse_oracle

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "Meltano-Passes-This-0n!"


def meltano_executable() -> Path:
    """MELTANO_BIN, else the Makefile's .meltano-venv; skipped locally without it, failed on CI."""
    candidate = Path(os.environ.get("MELTANO_BIN") or REPO_ROOT / ".meltano-venv" / "bin" / "meltano")
    if not candidate.exists():
        reason = f"Meltano not found at {candidate} (make meltano in the repository root)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason)
        pytest.skip(reason)
    return candidate


def meltano(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TAP_ORACLE_WMS", "TARGET_ORACLE", "MELTANO_"))
    }
    base.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        [str(meltano_executable()), *args],
        cwd=REPO_ROOT,
        env={**base, "NO_COLOR": "1", **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"meltano {' '.join(args)}:\n{(done.stdout + done.stderr)[-4000:]}"
    return done


def test_meltano_run_loads_every_stream_in_dry_run(tmp_path, sandbox_url):
    """meltano.yml installs this loader from ./target_oracle; a run writes CREATE and MERGE per stream."""
    script = tmp_path / "meltano.sql"
    env = {
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MELTANO_ENVIRONMENT": "dev",
        "TAP_ORACLE_WMS_BASE_URL": sandbox_url,
        "TAP_ORACLE_WMS_AUTH_METHOD": "basic",
        "TAP_ORACLE_WMS_USERNAME": "admin",
        "TAP_ORACLE_WMS_PASSWORD": "admin-password",
        "TAP_ORACLE_WMS_ENTITIES_INCLUDE": json.dumps(list(STREAMS)),
        "TARGET_ORACLE_DRY_RUN_SQL_PATH": str(script),
        # Connection settings are checked even in a dry run; the password must not show.
        "TARGET_ORACLE_USER": "loader",
        "TARGET_ORACLE_PASSWORD": SECRET,
        "TARGET_ORACLE_HOST": "oracle.invalid",
        "TARGET_ORACLE_SERVICE_NAME": "FREEPDB1",
    }
    meltano(env, "install", "extractor", "tap-oracle-wms")
    meltano(env, "install", "loader", "target-oracle")
    done = meltano(env, "run", "tap-oracle-wms", "target-oracle")
    assert SECRET not in done.stdout + done.stderr
    sql = [s.sql(dialect="oracle", comments=False) for s in parse_oracle(script.read_text())]
    assert check_script(script.read_text()) == []
    for stream in STREAMS:
        table = f'"{stream.upper()}"'
        assert [s for s in sql if s.startswith(f"CREATE TABLE {table} (")], stream
        assert [s for s in sql if s.startswith(f"MERGE INTO {table} t USING")], stream
    assert not re.search(r"Incremental state has been updated", done.stdout + done.stderr)
    assert "dry run: STATE messages are not passed on" in done.stdout + done.stderr


def test_meltano_yml_declares_every_setting_of_the_target():
    """meltano.yml's loader block lists each setting target-oracle declares, with secrets sensitive."""
    about = subprocess.run(
        [sys.executable, "-m", "target_oracle", "--about", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
    )
    declared = json.loads(about.stdout)["settings"]["properties"]
    project = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text())
    (loader,) = [p for p in project["plugins"]["loaders"] if p["name"] == "target-oracle"]
    settings = {s["name"]: s for s in loader["settings"]}
    sdk_extras = {"batch_config", "faker_config"}  # SDK built-ins not worth a Meltano setting
    assert set(declared) - set(settings) - sdk_extras == set()
    assert set(settings) - set(declared) == set()
    assert {name for name, s in settings.items() if s.get("sensitive")} == {
        name for name, p in declared.items() if p.get("secret")
    }
    assert loader["pip_url"] == "-e ./target_oracle"


def test_no_setting_of_the_loader_has_a_kind_meltano_cannot_write():
    """Meltano 4.4 casts a `decimal` setting's value to Decimal and then cannot write the config file
    (`Object of type Decimal is not JSON serializable`): the generated definition's
    tcp_connect_timeout failed every run that set it."""
    definitions = [
        yaml.safe_load((REPO_ROOT / "plugin" / "target-oracle.meltano.yml").read_text())["settings"],
        next(p for p in yaml.safe_load((REPO_ROOT / "meltano.yml").read_text())["plugins"]["loaders"]
             if p["name"] == "target-oracle")["settings"],
    ]  # fmt: skip
    assert [s["name"] for settings in definitions for s in settings if s.get("kind") == "decimal"] == []
