"""Check the built sdists and wheels of the tap and the sandbox: each ships its own packages only.

Why: package discovery is configured by hand in each pyproject.toml, and an sdist picks up files
by default rules; `make package` runs this after `python -m build`. The tap's wheel must not
carry the sandbox (its own distribution, sandbox/) nor its console script, and no tests.
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

# Distribution file prefix -> (packages it must ship, top-level names it must not).
DISTRIBUTIONS = {
    "tap_oracle_wms": (
        {"tap_oracle_wms", "tap_oracle_wms/engine", "tap_oracle_wms/lgfapi"},
        {"tap_oracle_wms_sandbox", "sandbox", "tests"},
    ),
    "tap_oracle_wms_sandbox": ({"tap_oracle_wms_sandbox"}, {"tap_oracle_wms", "tests"}),
}


def members(archive: Path) -> list[str]:
    """File names in a wheel, or in an sdist without its top-level folder."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            return wheel.namelist()
    with tarfile.open(archive) as sdist:
        return [name.split("/", 1)[1] for name in sdist.getnames() if "/" in name]


def problems(archive: Path, packages: set[str], foreign: set[str]) -> list[str]:
    """What is wrong with one distribution file (empty when it is right)."""
    names = members(archive)
    found = {name.rsplit("/", 1)[0] for name in names if name.endswith("/__init__.py")}
    out = [f"{archive.name}: package {p.replace('/', '.')} is missing" for p in sorted(packages - found)]
    out += [f"{archive.name}: has {name}" for name in names if name.split("/", 1)[0] in foreign]
    if "tap_oracle_wms_sandbox" in foreign:
        out += [
            f"{archive.name}: declares the sandbox's console script ({name})"
            for name in names
            if name.endswith("entry_points.txt") and b"tap-oracle-wms-sandbox" in _read(archive, name)
        ]
    return out


def _read(archive: Path, name: str) -> bytes:
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            return wheel.read(name)
    return b""  # an sdist's metadata is rebuilt at install time from pyproject.toml


def main() -> None:
    """Check the tap's and the sandbox's distributions in the folder given (default dist/)."""
    dist = Path(sys.argv[1] if len(sys.argv) > 1 else "dist")
    errors: list[str] = []
    checked: list[str] = []
    for prefix, (packages, foreign) in DISTRIBUTIONS.items():
        archives = sorted(dist.glob(f"{prefix}-*.whl")) + sorted(dist.glob(f"{prefix}-*.tar.gz"))
        if len(archives) != 2:
            sys.exit(f"expected one wheel and one sdist of {prefix} in {dist}/, found {archives}")
        errors += [line for archive in archives for line in problems(archive, packages, foreign)]
        checked += [f"{', '.join(a.name for a in archives)}: {', '.join(sorted(packages))} in"]
    if errors:
        sys.exit("\n".join(errors))
    print("; ".join(checked) + "; tests and the other distribution's packages out")


if __name__ == "__main__":
    main()
