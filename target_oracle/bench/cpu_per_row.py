"""target-oracle's CPU per row: N generated rows through the installed command, in dry-run mode.

Usage: python target_oracle/bench/cpu_per_row.py [ROWS]   (default 20000)

The rows look like the tap's allocation stream (integers, bounded strings, date-times, decimals,
nulls). Prints rows per CPU-second of the target process (user + system). Same command before
and after a change gives comparable numbers on the same machine; it asserts nothing.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

PROPERTIES = {
    "id": {"type": "integer"},
    "facility_id": {"type": ["integer", "null"]},
    "company_id": {"type": ["integer", "null"]},
    "item_id": {"type": ["integer", "null"]},
    "order_dtl_id": {"type": ["integer", "null"]},
    "from_inventory_id": {"type": ["integer", "null"]},
    "alloc_qty": {"type": ["number", "null"]},
    "packed_qty": {"type": ["number", "null"]},
    "uom_code": {"type": ["string", "null"], "maxLength": 25},
    "status_id": {"type": ["integer", "null"]},
    "task_id": {"type": ["integer", "null"]},
    "wave_nbr": {"type": ["string", "null"], "maxLength": 40},
    "serial_nbr": {"type": ["string", "null"], "maxLength": 100},
    "batch_nbr": {"type": ["string", "null"], "maxLength": 50},
    "expiry_date": {"type": ["string", "null"], "format": "date"},
    "create_user": {"type": ["string", "null"], "maxLength": 25},
    "mod_user": {"type": ["string", "null"], "maxLength": 25},
    "create_ts": {"type": ["string", "null"], "format": "date-time"},
    "mod_ts": {"type": ["string", "null"], "format": "date-time"},
}


def rows(count: int) -> list[str]:
    """The SCHEMA line and ``count`` RECORD lines, the same for every run (seeded)."""
    rng = random.Random(7)  # noqa: S311 - repeatable test data, not security
    lines = [json.dumps({"type": "SCHEMA", "stream": "allocation", "key_properties": ["id"],
                         "schema": {"type": "object", "properties": PROPERTIES}})]  # fmt: skip
    for i in range(count):
        row = {
            "id": i, "facility_id": rng.randint(1, 9), "company_id": 1, "item_id": rng.randint(1, 10**6),
            "order_dtl_id": rng.randint(1, 10**7), "from_inventory_id": None,
            "alloc_qty": rng.randint(1, 500) / 4, "packed_qty": 0.0, "uom_code": "UNITS", "status_id": 90,
            "task_id": rng.randint(1, 10**6),
            "wave_nbr": f"W{rng.randint(1, 9999):06d}", "serial_nbr": None, "batch_nbr": "B-2024-07",
            "expiry_date": "2027-01-31", "create_user": "loader", "mod_user": "loader",
            "create_ts": "2024-07-04T20:30:58.635464-04:00", "mod_ts": "2024-07-05T08:00:00+00:00",
        }  # fmt: skip
        lines.append(json.dumps({"type": "RECORD", "stream": "allocation", "record": row}))
    return lines


def main() -> None:
    """Run the target on the rows and print its CPU per row."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    target = Path(sys.executable).parent / "target-oracle"
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.json"
        config.write_text(json.dumps({"dry_run_sql_path": str(Path(folder) / "load.sql")}))
        source = Path(folder) / "in.jsonl"
        source.write_text("\n".join(rows(count)) + "\n")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        with source.open() as stdin:
            subprocess.run(
                [str(target), "--config", str(config)], stdin=stdin, capture_output=True, check=True
            )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"{count} rows, {cpu:.2f} CPU-s, {count / cpu:,.0f} rows per CPU-second")


if __name__ == "__main__":
    main()
