"""What the drift check costs: requests per stream per incremental run, 8 core streams, at the defaults.

Usage: python bench/drift.py  (about 3 minutes; prints a Markdown table for README "Performance")

Three runs of the same schedule, each a first run then a second one 2 hours later (the first run's
start is set 2 h back, as a 2-hourly schedule has it): drift_window_hours=0 (the plain incremental
run), the default 24 with nothing changed, 24 with 25 rows per stream changed 5 h back, and 24
with up to 200 rows per stream in the window at page_size 5: more than 28 pages (a window holding
more than 28 x 1250 rows at the default page size), so the check counts each hour. Every
request is read from the sandbox's request log (discovery's describe calls left out); the sandbox
answers each request after LATENCY_MS, and the wall time is the second run's, at the default
concurrency (4).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from tapruns import sync, tap_config

from tap_oracle_wms.tap import TapOracleWMS
from tap_oracle_wms_sandbox import Sandbox, SandboxConfig

CORE = ["inventory", "order_hdr", "order_dtl", "allocation", "location", "ib_shipment", "wave", "item"]
SCHEDULE = dt.timedelta(hours=2)
RUNS_PER_DAY = 12
LATENCY_MS = 300


def second_run(
    sandbox: Sandbox, drift_hours: int, *, changed: int, window_rows: int = 0, page_size: int = 1250
) -> tuple[dict[str, int], dict[str, int], float]:
    """(requests, of which counts) per stream of the run after a first run 2 h earlier, its seconds."""
    sandbox.reset()
    sandbox.configure(latency_ms=LATENCY_MS)
    now = dt.datetime.now(dt.UTC)
    for entity in CORE:  # a row changed 2.5 h ago, so that the first run's bookmark is recent
        try:
            sandbox.activity(entity=entity, inserts=1, updates=0, deletes=0, backdate_s=2.5 * 3600)
            if window_rows:  # existing rows changed 3 h ago: in the window, read by the first run
                ids = [row["id"] for row in sandbox.truth(entity)][:window_rows]
                sandbox.activity(entity=entity, inserts=0, updates=0, deletes=0, drift_s=3 * 3600, ids=ids)
        except ValueError:  # a lookup table of the sandbox: no activity, read whole every run
            continue
    config = tap_config(sandbox, *CORE, drift_window_hours=drift_hours, page_size=page_size)

    def two_hours_ago(tap: TapOracleWMS) -> None:
        tap.run.started_at = now - SCHEDULE

    first = sync(config, prepare=two_hours_ago)
    for entity in CORE:
        if changed:
            ids = [row["id"] for row in sandbox.truth(entity)][:changed]
            try:
                sandbox.activity(entity=entity, inserts=0, updates=0, deletes=0, drift_s=5 * 3600, ids=ids)
            except ValueError:
                continue
    sandbox.clear_requests()
    started = time.perf_counter()
    sync(config, state=first.last_state)
    seconds = time.perf_counter() - started
    log = [r for r in sandbox.requests if not r.path.rstrip("/").endswith("/describe")]
    requests = {e: sum(1 for r in log if f"/entity/{e}/" in r.path) for e in CORE}
    counts = {
        e: sum(
            1
            for r in log
            if f"/entity/{e}/" in r.path
            and r.query.get("page_mode") == "paged"
            and r.query.get("page_size") == "1"
        )
        for e in CORE
    }
    return requests, counts, seconds


def main() -> None:
    with Sandbox(SandboxConfig(scale=1000)) as sandbox:
        print(
            "| 2nd run, 2 h after the 1st | requests per stream (of which counts) | 8 streams "
            f"| per day, every 2 h | wall time at {LATENCY_MS} ms per request |"
        )
        print("|---|---|---:|---:|---:|")
        for label, hours, changed, busy in (
            ("drift_window_hours=0 (plain incremental)", 0, 0, False),
            ("drift_window_hours=24 (default), nothing changed", 24, 0, False),
            ("drift_window_hours=24, 25 rows per stream changed 5 h back", 24, 25, False),
            (
                "drift_window_hours=24, nothing changed, <= 200 rows per stream in the window, page_size 5",
                24,
                0,
                True,
            ),
        ):
            more = {"window_rows": 200, "page_size": 5} if busy else {}
            requests, counts, seconds = second_run(sandbox, hours, changed=changed, **more)
            per = ", ".join(f"{e} {requests[e]} ({counts[e]})" for e in CORE)
            total = sum(requests.values())
            print(f"| {label} | {per} | {total} | {total * RUNS_PER_DAY:,} | {seconds:.1f} s |")


if __name__ == "__main__":
    main()
