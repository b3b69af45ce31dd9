"""Dagster definitions: the entity groups of meltano.yml as parallel Meltano runs, on a schedule.

Why Dagster with plain subprocesses: one `meltano run` per group is the whole integration, so the
recipe needs only `dagster` (no dagster-meltano, whose last release pins Dagster 1.9). Each group
is an inherited extractor named `tap-oracle-wms--group-<name>` in meltano.yml with its own
`select`, so Meltano keeps its own state ID; groups load different tables, so they run in
parallel. A group's incremental and full-sync runs load the same tables and must never overlap
(a full sync's ACTIVATE_VERSION would delete rows the incremental run loaded meanwhile), so both
hold the group's lock file, the one `flock` takes in README's cron lines.

    DAGSTER_HOME=~/.dagster dagster dev -f orchestration/definitions.py   # UI, schedules
    dagster job execute -f orchestration/definitions.py -j wms_incremental

Environment: MELTANO_PROJECT_ROOT (default: this repository), MELTANO_BIN (default: `meltano`
on PATH), WMS_LOADER (default: target-postgres); Meltano's own variables (MELTANO_ENVIRONMENT,
TAP_ORACLE_WMS_*, ...) pass through to every run.
"""

import fcntl
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from dagster import Definitions, Failure, OpDefinition, OpExecutionContext, ScheduleDefinition, job, op

PROJECT = Path(os.environ.get("MELTANO_PROJECT_ROOT", Path(__file__).resolve().parents[1]))
MELTANO = os.environ.get("MELTANO_BIN", "meltano")
LOADER = os.environ.get("WMS_LOADER", "target-postgres")
GROUP_PREFIX = "tap-oracle-wms--group-"
#: The lock of a group's tables: `flock` on the same file serializes runs outside Dagster too.
LOCK_DIR = PROJECT / ".meltano" / "run" / "wms-locks"
#: Metadata that turns a group's run into the weekly full sync (as tap-oracle-wms--full-sync does).
FULL_TABLE = {"*": {"replication-method": "FULL_TABLE", "forced-replication-method": "FULL_TABLE"}}


def meltano_yml() -> dict[str, Any]:
    """The Meltano project file."""
    return dict(yaml.safe_load((PROJECT / "meltano.yml").read_text()))


def entity_groups() -> list[str]:
    """The group extractors' names, in meltano.yml's order."""
    extractors = meltano_yml()["plugins"]["extractors"]
    return [p["name"] for p in extractors if p["name"].startswith(GROUP_PREFIX)]


def env_name(plugin: str) -> str:
    """A plugin's variable prefix: tap-oracle-wms--group-a -> TAP_ORACLE_WMS__GROUP_A."""
    return re.sub(r"[^A-Z0-9]", "_", plugin.upper())


@contextmanager
def group_lock(group: str, context: OpExecutionContext) -> Iterator[None]:
    """Hold the group's lock file, waiting for a run of the same group that holds it."""
    LOCK_DIR.mkdir(parents=True, exist_ok=True)
    with (LOCK_DIR / f"{group}.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            context.log.info(f"{group}: another run of this group is loading its tables; waiting for it")
            started = time.monotonic()
            fcntl.flock(handle, fcntl.LOCK_EX)
            context.log.info(f"{group}: waited {time.monotonic() - started:.0f} s for the lock")
        yield  # the lock goes with the file's close


def run_meltano(context: OpExecutionContext, group: str, *, full_sync: bool) -> None:
    """`meltano run` one group into the loader; a non-zero exit fails the op with Meltano's last lines."""
    args = [MELTANO, "run", group, LOADER]
    env = dict(os.environ)
    if full_sync:
        # Its own state ID (…:full-sync) keeps the incremental bookmark, as the wms-full-sync job does.
        args[2:2] = ["--full-refresh", "--state-id-suffix", "full-sync"]
        env[f"{env_name(group)}__METADATA"] = json.dumps(FULL_TABLE)
        env[f"{env_name(group)}_EMIT_ACTIVATE_VERSION_MESSAGES"] = "true"
    with group_lock(group, context):
        context.log.info(" ".join(args[1:]))
        done = subprocess.run(args, cwd=PROJECT, env=env, capture_output=True, text=True, check=False)
    lines = (done.stdout + done.stderr).splitlines()
    if done.returncode:
        raise Failure(
            f"meltano run {group} exited {done.returncode}", metadata={"log": "\n".join(lines[-40:])}
        )
    context.log.info(f"{group}: loaded into {LOADER}")


def group_op(group: str, *, full_sync: bool) -> OpDefinition:
    """One op: one group's incremental (or full) run."""
    short = group.removeprefix(GROUP_PREFIX).replace("-", "_")
    name = f"{'full_sync' if full_sync else 'incremental'}_{short}"

    @op(name=name, description=f"meltano run {group} {LOADER}{' (full sync)' if full_sync else ''}")
    def _run(context: OpExecutionContext) -> None:
        run_meltano(context, group, full_sync=full_sync)

    return _run


def schedule_interval(job_name: str) -> str | None:
    """The cron interval meltano.yml's schedules give a Meltano job (one source of truth for both)."""
    schedules = meltano_yml().get("schedules", [])
    return next((s["interval"] for s in schedules if s.get("job") == job_name), None)


GROUPS = entity_groups()
INCREMENTAL_OPS = [group_op(g, full_sync=False) for g in GROUPS]
FULL_SYNC_OPS = [group_op(g, full_sync=True) for g in GROUPS]


@job(description="Every entity group's incremental run, in parallel.")
def wms_incremental() -> None:
    """The 2-hourly job."""
    for run in INCREMENTAL_OPS:
        run()


@job(description="Every entity group's weekly full sync (deletes propagate), in parallel.")
def wms_full_sync() -> None:
    """The weekly job."""
    for run in FULL_SYNC_OPS:
        run()


SCHEDULES = [
    ScheduleDefinition(job=dagster_job, cron_schedule=interval)
    for dagster_job, meltano_job in ((wms_incremental, "wms-incremental"), (wms_full_sync, "wms-full-sync"))
    if (interval := schedule_interval(meltano_job))
]

defs = Definitions(jobs=[wms_incremental, wms_full_sync], schedules=SCHEDULES)
