"""Rewrite README.md's settings table from `tap-oracle-wms --about --format=markdown`.

`--check` only verifies that the table is current (exit 1 when it is stale); the test suite uses it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def settings_table() -> str:
    """The settings table of the tap's own `--about` output."""
    about = subprocess.run(
        [sys.executable, "-m", "tap_oracle_wms", "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    first = about.index("| Setting |")
    return about[first : about.index("\n\n", first)]


def main() -> None:
    """Replace the table between the settings markers, or with --check say whether it is current."""
    text = README.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    current = f"{head}{START}\n{settings_table()}\n{END}{tail}"
    if "--check" in sys.argv[1:]:
        if current != text:
            sys.exit("README.md's settings table is stale: run python scripts/readme_settings.py")
        return
    README.write_text(current)


if __name__ == "__main__":
    main()
