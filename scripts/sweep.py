#!/usr/bin/env python3
"""Run the tap against the sandbox in many shapes; every exit 0 must hold every row, once, current.

Why: "exit 0 means every row" is the product's promise, and listings are read in many ways
(concurrency, key ranges, rebalancing, resumes after lost pages, loops, odd values, drift
re-reads, a stop and a restart). Each case compares the emitted records with the sandbox's
ground truth (`/_admin/truth`): none missing, none stale, none twice within one run, none
unknown (FULL_TABLE); a non-zero exit must name a stream. One JSON line per case on stdout.
Usage: .venv/bin/python scripts/sweep.py matrix|hostile|skew|sigterm [--scale N] [--seeds 7,11]
(matrix 50 cases a seed, about 2 minutes; sigterm runs the CLI, 108 cases, about 6 minutes).
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from clirun import start_tap
from tapruns import comparable, discover, full_table, settle, shaped, sync, tap_config
from test_batch import batch_config, rows_of

from tap_oracle_wms.lgfapi.client import Client
from tap_oracle_wms.run import StreamsFailedError
from tap_oracle_wms_sandbox import Sandbox, SandboxConfig

ENTITIES = ["order_dtl", "order_hdr", "inventory", "purchase_order_dtl"]  # the first and last have id gaps
HOSTILE: dict[str, dict[str, Any]] = {
    "faults": {"faults": ("500", "503", "429", "409", "drop", "truncate"), "fault_rate": 0.12},
    "404later": {"later_page_404": "0.2"},
    "404once": {"later_page_404": "once"},
    "empty": {"empty_pages": "on"},
    "odd": {"odd_values": ("*",)},
    "ignore": {"sequenced_ordering": "ignore"},
    "loop_on": {"next_page_loop": "on"},
    "loop_alt": {"next_page_loop": "alternate"},
    "loop_fresh": {"next_page_loop": "fresh"},
    "slow": {"latency_ms": 20, "slow_page_rows": 40, "slow_page_delay_s": 0.4},
    "mix": {
        "odd_values": ("*",),
        "empty_pages": "on",
        "later_page_404": "0.1",
        "faults": ("500", "429", "drop"),
        "fault_rate": 0.08,
    },
}


def expected(sb: Sandbox, entity: str) -> tuple[dict[Any, dict[str, Any]], set[Any]]:
    """The truth as the README promises it with odd values: odd fields null, ids no integer skipped."""
    truth = {row["id"]: dict(row) for row in sb.truth(entity)}
    skipped = set()
    for odd in sb.odd_values(entity) if sb.config.odd_values else []:
        if odd["id"] not in truth:
            continue
        if odd["field"] != "id":
            truth[odd["id"]][odd["field"]] = None
        elif odd["sent"] != str(odd["id"]):
            skipped.add(odd["id"])
            del truth[odd["id"]]
    return truth, skipped


def compare(sb: Sandbox, entity: str, runs: list[list[dict]], schema: dict, full: bool) -> dict[str, Any]:
    """Missing, stale, twice within a run, unknown; `runs` in emission order, the last version wins."""
    truth, skipped = expected(sb, entity)
    latest: dict[Any, dict[str, Any]] = {}
    twice: list[Any] = []
    for records in runs:
        twice += [k for k, n in collections.Counter(r["id"] for r in records).items() if n > 1]
        latest.update((r["id"], r) for r in records)
    missing = [i for i in truth if i not in latest]
    stale = [
        i
        for i, row in truth.items()
        if i in latest and comparable(latest[i], schema) != comparable(shaped(row, schema), schema)
    ]
    unknown = sorted(set(latest) - set(truth) - skipped) if full else []
    return {"missing": missing, "stale": stale, "twice": twice, "unknown": unknown}


def problems_of(sb: Sandbox, runs: dict[str, list[list[dict]]], catalog: dict, full: bool) -> list[str]:
    """One line per stream whose records are not the truth."""
    out = []
    for entity, records in runs.items():
        schema = next(s["schema"] for s in catalog["streams"] if s["tap_stream_id"] == entity)
        found = {k: v for k, v in compare(sb, entity, records, schema, full).items() if v}
        out += [f"{entity}: " + ", ".join(f"{k} {len(v)} {v[:8]}" for k, v in found.items())] if found else []
    return out


def run_once(settings: dict, catalog: dict, state: dict | None = None) -> tuple[int, Any, str]:
    """Exit code (0, or 1 when streams failed, 2 for anything else), output, error line."""
    try:
        return 0, sync(settings, catalog=catalog, state=state), ""
    except StreamsFailedError as exc:
        return 1, getattr(exc, "output", None), str(exc)
    except Exception as exc:
        return 2, None, f"{type(exc).__name__}: {exc}"


def case(sb: Sandbox, knobs: dict, settings_over: dict, method: str, pre: Callable | None = None) -> dict:
    """A first run; if incremental, activity (drift and backdated rows too) and a run from its STATE."""
    sb.reset()
    if pre is not None:
        pre(sb)
        settle()
    settings = tap_config(sb, *ENTITIES, **settings_over)
    catalog = discover(settings)
    catalog = full_table(catalog) if method == "FULL_TABLE" else catalog
    sb.configure(**knobs)
    codes, problems, runs = [], [], {e: [] for e in ENTITIES}
    state = None
    for second in range(2 if method == "INCREMENTAL" else 1):
        if second:  # changes since the first run: inserts, updates, deletes, drift, backdated rows
            settle()
            for entity in ENTITIES:
                sb.activity(entity, inserts=7, updates=15, deletes=3)
                sb.activity(entity, inserts=4, updates=6, deletes=0, drift_s=3600, backdate_s=600)
            settle()
        code, out, err = run_once(settings, catalog, state)
        codes.append(code)
        if code:
            problems += [] if code == 1 and any(e in err for e in ENTITIES) else [f"exit {code}: {err[:200]}"]
            break
        for entity in ENTITIES:
            runs[entity].append(out.records(entity))
        state = out.last_state
    if not any(codes):
        problems += problems_of(sb, runs, catalog, method == "FULL_TABLE")
    return {"method": method, "knobs": knobs, "settings": settings_over, "codes": codes, "problems": problems}


def skewed(sb: Sandbox) -> None:
    """Ids piled on top, a 300-row tie on one mod_ts, gaps, and rows drifted two hours back."""
    for entity in ENTITIES:
        sb.activity(entity, inserts=250, updates=300, deletes=120)
        sb.activity(entity, inserts=0, updates=80, deletes=60, drift_s=7200)


def stopped_run(config: dict, catalog: dict, state: dict | None, stop_after: int, tmp: Path) -> tuple:
    """The CLI, sent SIGTERM once `stop_after` rows were read (0: never); rows by stream, last STATE, exit."""
    (tmp / "catalog.json").write_text(json.dumps(catalog))
    proc = start_tap(tmp, config, "--catalog", str(tmp / "catalog.json"), state=state or {})
    rows: dict[str, list] = {e: [] for e in [*ENTITIES, "torn lines"]}
    assert proc.stdout is not None
    with proc:
        for line in proc.stdout:
            try:
                message = json.loads(line, parse_float=Decimal)
            except ValueError:
                rows["torn lines"].append({"id": line[:60]})
                continue
            if message["type"] == "STATE":
                state = message["value"]
            elif message["type"] in ("RECORD", "BATCH"):
                rows[message["stream"]] += (
                    [message["record"]] if message["type"] == "RECORD" else rows_of(message)
                )
            if stop_after and sum(map(len, rows.values())) >= stop_after and proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                stop_after = 0
    return rows, state, proc.returncode


def sigterm_case(sb: Sandbox, method: str, output: str, conc: int, page_size: int, stop_after: int) -> dict:
    """A run stopped by SIGTERM (or not), then a restart from its last STATE: every row across the two."""
    sb.reset()
    sb.configure(latency_ms=3)
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        batch = {"batch_config": batch_config(tmp, 97)} if output == "BATCH" else {}
        settings = tap_config(sb, *ENTITIES, page_size=page_size, concurrency=conc, **batch)
        catalog = discover(settings)
        catalog = full_table(catalog) if method == "FULL_TABLE" else catalog
        rows, state, code = stopped_run(settings, catalog, None, stop_after, tmp)
        runs, codes = {e: [rows[e]] for e in ENTITIES}, [code]
        torn = rows["torn lines"]
        if code == 128 + signal.SIGTERM:
            rows, _, code = stopped_run(settings, catalog, state, 0, tmp)
            codes.append(code)
            torn += rows["torn lines"]
            for entity in ENTITIES:
                runs[entity].append(rows[entity])
    problems = [f"torn lines {torn[:2]}"] if torn else []
    problems += [] if codes[-1] == 0 else [f"exits {codes}"]
    problems += problems_of(sb, runs, catalog, method == "FULL_TABLE") if not problems else []
    shape = {"method": method, "output": output, "concurrency": conc, "page_size": page_size}
    return {**shape, "stop_after": stop_after, "codes": codes, "problems": problems}


def cases(group: str) -> list[tuple[Callable, tuple]]:
    """The group's cases: a function and its arguments after the sandbox."""
    plain = [(c, p) for c in (1, 2, 3, 4, 8) for p in (3, 7, 50, 100, 1250)]
    methods = ("FULL_TABLE", "INCREMENTAL")
    if group == "matrix":
        return [(case, ({}, {"concurrency": c, "page_size": p}, m)) for m in methods for c, p in plain]
    if group == "skew":
        return [
            (case, ({}, {"concurrency": c, "page_size": p}, m, skewed)) for m in methods for c, p in plain
        ]
    if group == "hostile":
        shapes = [{"concurrency": c, "page_size": p, "max_retries": 8} for c in (1, 3, 8) for p in (7, 50)]
        return [(case, (knobs, shape, m)) for knobs in HOSTILE.values() for m in methods for shape in shapes]
    shapes = [(c, p, s) for c in (1, 3, 8) for p in (7, 50, 100) for s in (0, 137, 2500)]
    return [(sigterm_case, (m, o, *shape)) for m in methods for o in ("RECORD", "BATCH") for shape in shapes]


def main() -> int:
    """Run the group for each seed; exit 1 when any case has a problem."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("group", choices=["matrix", "hostile", "skew", "sigterm"])
    parser.add_argument("--scale", type=int, default=0, help="order_dtl rows (default 400; sigterm 2000)")
    parser.add_argument("--seeds", default="7")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    Client.backoff_base_seconds = 0.001  # retries wait milliseconds: faults are many here
    total = bad = 0
    for seed in (int(s) for s in args.seeds.split(",")):
        scale = args.scale or (2000 if args.group == "sigterm" else 400)
        with Sandbox(SandboxConfig(scale=scale, seed=seed)) as sb:
            for function, arguments in cases(args.group):
                started = time.monotonic()
                result = {
                    "seed": seed,
                    **function(sb, *arguments),
                    "seconds": round(time.monotonic() - started, 1),
                }
                print(json.dumps(result, default=str), flush=True)
                total, bad = total + 1, bad + bool(result["problems"])
    print(f"# {args.group}: {total} cases, {bad} with problems", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
