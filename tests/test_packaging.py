"""Each distribution declares exactly what its code imports: no missing dependency, none unused."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# (pyproject.toml, the package it builds, its own import names)
DISTRIBUTIONS = {
    "tap-oracle-wms": (ROOT / "pyproject.toml", ROOT / "tap_oracle_wms", {"tap_oracle_wms"}),
    "tap-oracle-wms-sandbox": (
        ROOT / "sandbox" / "pyproject.toml",
        ROOT / "sandbox" / "tap_oracle_wms_sandbox",
        {"tap_oracle_wms_sandbox"},
    ),
}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(pyproject: Path) -> set[str]:
    """The distribution names of `[project] dependencies`, without extras or versions."""
    requirements = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return {normalized(re.split(r"[\[<>=!~; ]", req, maxsplit=1)[0]) for req in requirements}


def imported(package: Path, own: set[str]) -> set[str]:
    """Top-level modules the package imports, outside the standard library and itself."""
    found = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - own - {"__future__"}


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_dependencies_are_exactly_what_the_code_imports(name):
    """Every imported module comes from a declared distribution, and every declared one is imported."""
    pyproject, package, own = DISTRIBUTIONS[name]
    wanted = declared(pyproject)
    providers = packages_distributions()
    satisfied = set()
    for module in sorted(imported(package, own)):
        dists = {normalized(d) for d in providers.get(module, [])}
        assert dists & wanted, f"{name} imports {module} (from {sorted(dists)}) without declaring it"
        satisfied |= dists & wanted
    assert wanted - satisfied == set(), f"{name} declares what it never imports"


def test_backoff_is_the_distribution_the_sdk_requires():
    """The module `backoff` comes from `python-backoff`, as the SDK requires; never the original too."""
    wanted = declared(DISTRIBUTIONS["tap-oracle-wms"][0])
    assert "python-backoff" in wanted
    assert "backoff" not in wanted
