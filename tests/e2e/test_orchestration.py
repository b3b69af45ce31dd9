"""The orchestration recipe runs: Dagster executes meltano.yml's entity groups against the sandbox.

Why: README "Scaling out" promises that the groups run in parallel as Dagster jobs, each group
with its own Meltano state, and that a group's full sync never overlaps its incremental run.
This runs orchestration/definitions.py with the real `dagster` CLI (from .dagster-venv, which
`make test` creates) and the real `meltano run`, into target-jsonl, against the sandbox's truth.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = REPO_ROOT / "orchestration" / "definitions.py"
LOCKS = REPO_ROOT / ".meltano" / "run" / "wms-locks"


def _dagster_executable() -> Path:
    """DAGSTER_BIN, the Makefile's .dagster-venv, or a new .dagster-venv made the Makefile's way."""
    if env := os.environ.get("DAGSTER_BIN"):
        return Path(env)
    venv = REPO_ROOT / ".dagster-venv"
    if not (venv / "bin" / "dagster").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        requirements = REPO_ROOT / "orchestration" / "requirements.txt"
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-r", str(requirements)],
                       check=True)  # fmt: skip
    return venv / "bin" / "dagster"


def groups() -> dict[str, list[str]]:
    """Each group extractor of meltano.yml and the entities it selects."""
    extractors = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text())["plugins"]["extractors"]
    return {p["name"]: [rule.split(".")[0] for rule in p["select"]]
            for p in extractors if p["name"].startswith("tap-oracle-wms--group-")}  # fmt: skip


@pytest.fixture
def sandbox() -> Iterator[Any]:
    from tap_oracle_wms_sandbox import Sandbox, SandboxConfig

    with Sandbox(SandboxConfig(scale=40, seed=11)) as sb:
        yield sb


@pytest.fixture
def dagster(
    meltano_installed: Path,
    sandbox: Any,
    tmp_path: Path,
    clean_env: Callable[[Mapping[str, str]], dict[str, str]],
) -> Any:
    """`dagster job execute -j JOB` on the recipe, wired to the sandbox and target-jsonl in tmp_path."""
    meltano_env = {"MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
                   "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false", "MELTANO_ENVIRONMENT": "dev"}  # fmt: skip
    subprocess.run([str(meltano_installed), "install", "loader", "target-jsonl"], cwd=REPO_ROOT,
                   env=clean_env(meltano_env), capture_output=True, check=True)  # fmt: skip
    (tmp_path / "out").mkdir()
    (tmp_path / "dagster").mkdir()
    env = clean_env({
        **meltano_env,
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "MELTANO_BIN": str(meltano_installed),
        "WMS_LOADER": "target-jsonl",
        "TARGET_JSONL_DESTINATION_PATH": str(tmp_path / "out"),
        "TAP_ORACLE_WMS_BASE_URL": sandbox.base_url,
        "TAP_ORACLE_WMS_USERNAME": "admin",
        "TAP_ORACLE_WMS_PASSWORD": "admin-password",
    })  # fmt: skip

    def run(job: str) -> Iterator[str]:
        """Yield the run's log lines; the last value is the whole log, once it exited 0."""
        command = [str(_dagster_executable()), "job", "execute", "-f", str(DEFINITIONS), "-j", job]
        with subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) as proc:  # fmt: skip
            assert proc.stdout is not None
            lines = []
            for line in proc.stdout:
                lines.append(line)
                yield line
            code = proc.wait(timeout=600)
        assert code == 0, "".join(lines)[-4000:]
        yield "".join(lines)

    def state(state_id: str) -> dict[str, Any]:
        out = subprocess.run([str(meltano_installed), "state", "get", state_id], cwd=REPO_ROOT,
                             env=env, capture_output=True, text=True, check=True).stdout  # fmt: skip
        return dict(json.loads(out))

    run.out = tmp_path / "out"  # type: ignore[attr-defined]
    run.state = state  # type: ignore[attr-defined]
    return run


def _loaded_ids(path: Path) -> set[int]:
    return {json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()}


def test_every_entity_group_loads_its_entities_and_keeps_its_own_state(dagster, sandbox):
    """wms_incremental runs each group: every row of its entities arrives; its state has its streams only."""
    assert len(groups()) >= 2
    list(dagster("wms_incremental"))
    for group, entities in groups().items():
        for entity in entities:
            truth = {row["id"] for row in sandbox.truth(entity)}
            assert truth, entity
            assert _loaded_ids(dagster.out / f"{entity}.jsonl") == truth, entity
        bookmarks = dagster.state(f"dev:{group}-to-target-jsonl")["singer_state"]["bookmarks"]
        assert sorted(bookmarks) == sorted(entities), group


def test_a_groups_full_sync_waits_for_the_run_holding_its_lock(dagster):
    """wms_full_sync waits while a group's lock is held (a run still going), then loads with its own state."""
    group = next(iter(groups()))
    LOCKS.mkdir(parents=True, exist_ok=True)
    waiting = f"{group}: another run of this group is loading its tables; waiting for it"
    with (LOCKS / f"{group}.lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        run = dagster("wms_full_sync")
        assert any(waiting in line for line in run), "the full sync did not wait for the lock"
        fcntl.flock(held, fcntl.LOCK_UN)
        *_, log = run
    assert f"{group}: waited" in log
    for other in groups():
        assert dagster.state(f"dev:{other}-to-target-jsonl:full-sync")["singer_state"] is not None
