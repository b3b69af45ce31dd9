"""Check the tap's built sdist and wheel: its three packages are in, the tests are not.

Why: package discovery is configured by hand in pyproject.toml, and an sdist picks up files
by default rules; `make package` runs this after `python -m build`.
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

PACKAGES = {"tap_oracle_wms", "tap_oracle_wms/engine", "tap_oracle_wms_sandbox"}


def members(archive: Path) -> list[str]:
    """File names in a wheel, or in an sdist without its top-level folder."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            return wheel.namelist()
    with tarfile.open(archive) as sdist:
        return [name.split("/", 1)[1] for name in sdist.getnames() if "/" in name]


def problems(archive: Path) -> list[str]:
    """What is wrong with one distribution file (empty when it is right)."""
    names = members(archive)
    found = {name.rsplit("/", 1)[0] for name in names if name.endswith("/__init__.py")}
    out = [f"{archive.name}: package {p.replace('/', '.')} is missing" for p in sorted(PACKAGES - found)]
    out += [f"{archive.name}: has {name}" for name in names if name.startswith("tests/")]
    return out


def main() -> None:
    """Check every tap distribution in the folder given (default dist/)."""
    dist = Path(sys.argv[1] if len(sys.argv) > 1 else "dist")
    archives = sorted(dist.glob("tap_oracle_wms-*.whl")) + sorted(dist.glob("tap_oracle_wms-*.tar.gz"))
    if len(archives) != 2:
        sys.exit(f"expected one wheel and one sdist of tap-oracle-wms in {dist}/, found {archives}")
    errors = [line for archive in archives for line in problems(archive)]
    if errors:
        sys.exit("\n".join(errors))
    print(f"{', '.join(a.name for a in archives)}: {', '.join(sorted(PACKAGES))} in, tests out")


if __name__ == "__main__":
    main()
