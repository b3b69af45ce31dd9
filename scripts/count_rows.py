#!/usr/bin/env python3
"""Print how many records target-jsonl wrote per stream (one JSON object per line).

Why: `make demo` ends by showing what the pipeline moved, without needing jq.
Usage: count_rows.py [DIR] [--min-total N]   (exit 1 when fewer than N rows in all)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def count_rows(directory: Path) -> dict[str, int]:
    """Return {stream: rows} for every *.jsonl file in ``directory``."""
    counts: dict[str, int] = {}
    for path in sorted(directory.glob("*.jsonl")):
        with path.open("rb") as handle:
            counts[path.stem] = sum(1 for line in handle if line.strip())
    return counts


def main(argv: list[str] | None = None) -> int:
    """Print the table; fail when the output is missing or too small."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", default="output", type=Path)
    parser.add_argument("--min-total", type=int, default=1)
    args = parser.parse_args(argv)
    if not args.directory.is_dir():
        print(f"no output directory {args.directory}", file=sys.stderr)
        return 1
    counts = count_rows(args.directory)
    width = max([len("stream"), *map(len, counts)])
    print(f"{'stream':<{width}}  {'rows':>9}")
    print(f"{'-' * width}  {'-' * 9}")
    for stream, rows in counts.items():
        print(f"{stream:<{width}}  {rows:>9,}")
    total = sum(counts.values())
    print(f"{'-' * width}  {'-' * 9}")
    print(f"{f'{len(counts)} streams':<{width}}  {total:>9,}")
    if total < args.min_total:
        print(f"expected at least {args.min_total} rows in {args.directory}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
