"""Discovery time for a 300-entity tenant at 200 ms per request, by describe_concurrency.

Usage: python bench/discovery.py  (prints a Markdown table; part of `make bench`'s numbers in README)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from tapruns import discover, tap_config

from tap_oracle_wms_sandbox import Sandbox, SandboxConfig

ENTITIES = 300
LATENCY_MS = 200


def main() -> None:
    sandbox = Sandbox(SandboxConfig(scale=100, latency_ms=LATENCY_MS))
    with sandbox:
        streams = discover(tap_config(sandbox, describe_concurrency=16))["streams"]
        padding = ENTITIES - sum(1 for s in streams if s["tap_stream_id"] != "wms_row_counts")
        sandbox.configure(extra_entities=padding)
        print(
            "| describe_concurrency | streams (entities + wms_row_counts) "
            "| wall time (median of 3) | describe calls |"
        )
        print("|---:|---:|---:|---:|")
        for concurrency in (1, 4, 8, 16):
            runs = []
            for _ in range(3 if concurrency > 1 else 1):
                sandbox.clear_requests()
                start = time.perf_counter()
                catalog = discover(tap_config(sandbox, describe_concurrency=concurrency))
                runs.append(time.perf_counter() - start)
            calls = sum(1 for r in sandbox.requests if r.path.rstrip("/").endswith("/describe"))
            median = statistics.median(runs)
            print(f"| {concurrency} | {len(catalog['streams'])} | {median:.1f} s | {calls} |")
        sandbox.clear_requests()
        cache_dir = str(Path("bench/.work/cache"))
        cached = tap_config(sandbox, discovery_cache_ttl=3600, discovery_cache_dir=cache_dir)
        discover(cached)
        sandbox.clear_requests()
        start = time.perf_counter()
        catalog = discover(cached)
        elapsed = time.perf_counter() - start
        calls = sum(1 for r in sandbox.requests if r.path.rstrip("/").endswith("/describe"))
        print(f"| cached (discovery_cache_ttl) | {len(catalog['streams'])} | {elapsed:.1f} s | {calls} |")


if __name__ == "__main__":
    main()
