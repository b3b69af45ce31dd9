"""Rewrite README.md's settings table from `tap-oracle-wms --about --format=markdown`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def main() -> None:
    """Replace the table between the settings markers."""
    about = subprocess.run(
        [sys.executable, "-m", "tap_oracle_wms", "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    first = about.index("| Setting |")
    table = about[first : about.index("\n\n", first)]
    text = README.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{table}\n{END}{tail}")


if __name__ == "__main__":
    main()
