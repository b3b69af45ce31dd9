#!/usr/bin/env python3
"""Compare wms_row_counts with the rows target-jsonl loaded: the demo's completeness proof.

Why: `make demo` shows that what the source holds is what was loaded, bucket by bucket, the way
the README's SQL does it in a warehouse. A loaded row counts once (its latest version, by id);
a day bucket holds the rows whose latest mod_ts falls in that UTC day, before the count's end.
Usage: reconcile.py [DIR]   (exit 1 when any difference is not zero)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any


def latest(path: Path) -> dict[Any, dict[str, Any]]:
    """Loaded rows by id, each its latest version (target-jsonl appends every record)."""
    rows: dict[Any, dict[str, Any]] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                kept = rows.get(row["id"])
                if kept is None or (row.get("mod_ts") or "") >= (kept.get("mod_ts") or ""):
                    rows[row["id"]] = row
    return rows


def loaded(rows: dict[Any, dict[str, Any]], count: dict[str, Any]) -> int:
    """Loaded rows in one count's bucket."""
    if count["bucket"] == "total":
        return len(rows)
    start = dt.datetime.fromisoformat(count["window_start"])
    end = dt.datetime.fromisoformat(count["window_end"])
    stamps = (dt.datetime.fromisoformat(r["mod_ts"]) for r in rows.values() if r.get("mod_ts"))
    return sum(1 for stamp in stamps if start <= stamp < end)


def main(argv: list[str] | None = None) -> int:
    """Print source, loaded and difference per entity and bucket."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", default="output", type=Path)
    args = parser.parse_args(argv)
    counts_file = args.directory / "wms_row_counts.jsonl"
    if not counts_file.is_file():
        print(f"no {counts_file}: select the wms_row_counts stream", file=sys.stderr)
        return 1
    counts = list(latest_counts(counts_file).values())
    cache: dict[str, dict[Any, dict[str, Any]]] = {}
    by_entity: dict[str, list[tuple[dict[str, Any], int]]] = {}
    for count in sorted(counts, key=lambda c: (c["entity"], c["bucket"] != "total", c["bucket"])):
        table = args.directory / f"{count['entity']}.jsonl"
        rows = cache.setdefault(count["entity"], latest(table) if table.is_file() else {})
        by_entity.setdefault(count["entity"], []).append((count, loaded(rows, count)))
    head = ("entity", "source total", "loaded", "source by day", "loaded", "difference")
    print(f"{head[0]:<14} {head[1]:>12} {head[2]:>8} {head[3]:>13} {head[4]:>8} {head[5]:>10}")
    bad = 0
    for entity, pairs in by_entity.items():
        total = [(c["row_count"], got) for c, got in pairs if c["bucket"] == "total"]
        days = [(c["row_count"], got) for c, got in pairs if is_day(c["bucket"])]
        differences = [got - count["row_count"] for count, got in pairs]
        bad += sum(d != 0 for d in differences)
        source_days, loaded_days = sum(s for s, _ in days), sum(g for _, g in days)
        source_total, loaded_total = (f"{n:,}" for n in total[0]) if total else ("-", "-")  # a cut file
        line = f"{entity:<14} {source_total:>12} {loaded_total:>8} {source_days:>13,} {loaded_days:>8,}"
        print(f"{line} {sum(abs(d) for d in differences):>10,}")
        for count, got in pairs:
            if got != count["row_count"]:
                print(f"  {count['bucket']}: source {count['row_count']:,}, loaded {got:,}")
    buckets = {c["bucket"] for c in counts} - {"total"}
    day_count = sum(1 for b in buckets if is_day(b))
    print(
        f"(by day: the last {day_count} UTC days of mod_ts, summed; each day, and each of the "
        f"{len(buckets) - day_count} hours of the drift check, compared on its own)"
    )
    print("every difference is zero" if not bad else f"{bad} buckets differ (see README: Prove it)")
    return 1 if bad else 0


def is_day(bucket: str) -> bool:
    """A day bucket (YYYY-MM-DD), not the total or an hour of the drift check (YYYY-MM-DDTHH:00Z)."""
    return bucket != "total" and "T" not in bucket


def latest_counts(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The last count of each (entity, bucket), as an upserting target would keep it."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                out[(row["entity"], row["bucket"])] = row
    return out


if __name__ == "__main__":
    sys.exit(main())
