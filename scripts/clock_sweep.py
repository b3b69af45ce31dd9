#!/usr/bin/env python3
"""pytest with the wall clock shifted so that an hour, UTC midnight or a month's first falls inside each test.

Why: CI starts at any time of day, and a test that reads the clock after a run fails only when an
hour or a day ends during it (tests/test_drift.py did, started at 21:59:58). libfaketime shifts
every process of the run (pytest with the in-process sandbox, the tap's CLI children) by one
offset kept in a file; before each test this module, loaded as a pytest plugin, moves the offset
forward so that the next boundary falls --after seconds into the test, or --fraction of its
duration as an earlier run (--record) measured it. Each test jumps to a later boundary, so
midnight and month runs walk the calendar forward; the SDK's Python end-of-life warning, which
that walk reaches, is ignored. Needs libfaketime (Debian: apt-get install faketime); not in CI.
Usage: .venv/bin/python scripts/clock_sweep.py hour|midnight|month [--after S | --fraction F
--durations FILE] [--record FILE] [--cwd target_oracle] -- PYTEST-ARGS
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
# Python 3.11 sleeps with clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME), which libfaketime 0.9.10
# answers with EINVAL when the monotonic clock is not faked; faking it instead stalls lock timeouts.
SLEEP_FIX = """import os, select, time
if "faketime" in os.environ.get("LD_PRELOAD", ""):
    def _sleep(seconds, _monotonic=time.monotonic):
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = _monotonic() + seconds
        while (left := deadline - _monotonic()) > 0:
            select.select([], [], [], left)
    time.sleep = _sleep
"""
EOL_WARNING = "Python 3."  # "Python 3.11 will reach its end of life on 2027-10", from 2027-04-04 on


def main() -> int:
    """Run pytest once under the shifted clock; its exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["hour", "midnight", "month"])
    parser.add_argument("--after", type=float, default=2.0, help="seconds into each test (default 2)")
    parser.add_argument("--fraction", type=float, help="of each test's duration in --durations")
    parser.add_argument("--durations", type=Path, help="a --record file of an earlier run")
    parser.add_argument("--record", type=Path, help="write each test's duration here (JSON)")
    parser.add_argument(
        "--cwd", type=Path, default=ROOT, help="where pytest runs (target_oracle for its tests)"
    )
    argv = [*sys.argv[1:], "--"]
    split = argv.index("--")
    ours, pytest_args = argv[:split], argv[split + 1 : -1]
    args = parser.parse_args(ours)
    if not LIBFAKETIME.exists():
        sys.exit(f"clock_sweep: {LIBFAKETIME} not found; install libfaketime (apt-get install faketime)")
    if args.fraction is not None and args.durations is None:
        sys.exit("clock_sweep: --fraction needs --durations (a --record file of an earlier run)")
    with tempfile.TemporaryDirectory(prefix="clock-sweep-") as tmp:
        Path(tmp, "sitecustomize.py").write_text(SLEEP_FIX)
        offset = Path(tmp, "offset")
        offset.write_text("+0s\n")
        env = {
            **os.environ,
            "LD_PRELOAD": str(LIBFAKETIME),
            "FAKETIME_TIMESTAMP_FILE": str(offset),
            "FAKETIME_NO_CACHE": "1",  # every process reads the offset file at every clock reading
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "PYTHONPATH": os.pathsep.join([tmp, str(ROOT / "scripts")]),
            "PYTHONWARNINGS": f"ignore:{EOL_WARNING}",
            "CLOCK_SWEEP": json.dumps(
                {
                    "kind": args.kind,
                    "after": args.after,
                    "fraction": args.fraction,
                    "durations": str(args.durations) if args.durations else None,
                    "record": str(args.record) if args.record else None,
                }
            ),
        }
        pytest_command = [sys.executable, "-m", "pytest", "-p", "clock_sweep"]
        ignore_eol = ["-W", f"ignore:{EOL_WARNING}:FutureWarning"]
        command = [*pytest_command, *ignore_eol, *pytest_args]
        return subprocess.run(command, cwd=args.cwd, env=env, check=False).returncode


# --- the pytest plugin (-p clock_sweep), in the shifted process ------------------------------------


def settings() -> dict[str, Any]:
    """What main() asked for."""
    return json.loads(os.environ["CLOCK_SWEEP"])


def next_boundary(kind: str, after: float) -> float:
    """The first hour, UTC midnight or first of a month after the epoch second `after`."""
    if kind == "month":
        day = dt.datetime.fromtimestamp(after, dt.UTC)
        return dt.datetime(day.year + (day.month == 12), day.month % 12 + 1, 1, tzinfo=dt.UTC).timestamp()
    period = 3600 if kind == "hour" else 86400
    return (int(after // period) + 1) * period


SPANS: list[tuple[str, float, float, float]] = []  # test, start, end, boundary (shifted epoch seconds)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Move the clock so that the boundary falls the chosen time into this test; note where it fell."""
    wanted = settings()
    into = wanted["after"]
    if wanted["fraction"] is not None:
        durations = json.loads(Path(wanted["durations"]).read_text())
        into = wanted["fraction"] * durations[item.nodeid] if item.nodeid in durations else into
    path = Path(os.environ["FAKETIME_TIMESTAMP_FILE"])
    now = time.time()
    boundary = next_boundary(wanted["kind"], now + into)
    shift = float(path.read_text().strip().rstrip("s")) + boundary - into - now
    Path(f"{path}.new").write_text(f"+{shift:.6f}s\n")
    Path(f"{path}.new").replace(path)
    start = time.time()
    yield
    SPANS.append((item.nodeid, start, time.time(), boundary))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How many tests the boundary fell inside; the others, named (they ended before it)."""
    wanted = settings()
    if wanted["record"]:
        Path(wanted["record"]).write_text(json.dumps({test: end - start for test, start, end, _ in SPANS}))
    inside = [test for test, start, end, boundary in SPANS if start <= boundary <= end]
    where = (
        f"{wanted['fraction']:.0%} through" if wanted["fraction"] is not None else f"{wanted['after']} s into"
    )
    terminalreporter.write_line(
        f"clock_sweep: the {wanted['kind']} boundary {where} each test; inside {len(inside)} of {len(SPANS)}"
    )
    for test, start, end, boundary in SPANS:
        if not start <= boundary <= end:
            terminalreporter.write_line(f"  ended {boundary - end:.2f} s before it: {test}")


if __name__ == "__main__":
    sys.exit(main())
