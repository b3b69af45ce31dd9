"""The package's shape: layers without import cycles, only public SDK extension points, small modules."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from singer_sdk import RESTStream, Tap

from tap_oracle_wms.output import BufferedMsgSpecWriter
from tap_oracle_wms.streams import SPECIAL_STREAMS, EntityStream
from tap_oracle_wms.tap import TapOracleWMS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tap_oracle_wms"
SANDBOX = ROOT / "sandbox" / "tap_oracle_wms_sandbox"
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, prefix: str, modules: set[str] | None = None) -> set[str]:
    """Modules of `prefix` that a file imports, hint-only imports included.

    `from pkg import sub` imports the submodule `pkg.sub` (when `modules` knows it), not `pkg`'s
    __init__ as an edge of its own: a parent package is always initialised first anyway.
    """
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(prefix):
            subs = {f"{node.module}.{a.name}" for a in node.names}
            known = subs & (modules or set())
            found.update(known if known == subs else {node.module, *known})
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(prefix))
    return found


def import_graph(root: Path, prefix: str) -> dict[str, set[str]]:
    modules = {module_name(p): p for p in root.rglob("*.py")}
    names = set(modules)
    return {name: imports_of(path, prefix, names) & names - {name} for name, path in modules.items()}


def test_package_import_graph_has_no_cycle():
    """No module imports, directly or through others, a module that imports it back."""
    graph = import_graph(PACKAGE, "tap_oracle_wms")
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            pytest.fail("import cycle: " + " -> ".join([*path[path.index(name) :], name]))
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_bottom_module_imports_nothing_of_the_package():
    """lgfapi/wire.py (timestamps, JSON, error text) is the floor every other module may stand on."""
    assert imports_of(PACKAGE / "lgfapi" / "wire.py", "tap_oracle_wms") == set()


def test_engine_knows_nothing_of_streams_or_the_sdk_sync():
    """The page engine reads the lgfapi client's listings; it imports neither streams nor the SDK."""
    for path in (PACKAGE / "engine").glob("*.py"):
        imported = imports_of(path, "tap_oracle_wms")
        assert all(m.startswith(("tap_oracle_wms.engine", "tap_oracle_wms.lgfapi")) for m in imported), path
        assert imports_of(path, "singer_sdk") == set(), path


def test_lgfapi_client_has_nothing_of_singer():
    """The API client layer imports no Singer SDK and nothing of the tap above it."""
    for path in (PACKAGE / "lgfapi").glob("*.py"):
        assert imports_of(path, "singer_sdk") == set(), path
        assert all(m.startswith("tap_oracle_wms.lgfapi") for m in imports_of(path, "tap_oracle_wms")), path


def test_sandbox_and_tap_do_not_import_each_other():
    """The emulator is its own package: it never imports the tap, and the tap never imports it."""
    for path in SANDBOX.rglob("*.py"):
        assert imports_of(path, "tap_oracle_wms.") == set(), path
        assert "tap_oracle_wms." not in path.read_text().replace("tap_oracle_wms_sandbox", ""), path
    for path in PACKAGE.rglob("*.py"):
        assert imports_of(path, "tap_oracle_wms_sandbox") == set(), path


# Modules allowed over MAX_LINES, each with its reason (reported as a skip, never silent).
LONG_MODULES = {
    SANDBOX / "entities.py": "the sandbox's entity table: data written one field per line, not logic",
}


@pytest.mark.parametrize("path", sorted((*PACKAGE.rglob("*.py"), *SANDBOX.rglob("*.py"))), ids=str)
def test_modules_stay_small(path):
    """No module over ~400 lines; the exceptions are listed in LONG_MODULES with their reason."""
    if path in LONG_MODULES:
        pytest.skip(f"{path.name} may be long: {LONG_MODULES[path]}")
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_long_modules_exist_and_need_their_exemption():
    """An exemption that no longer applies (file gone or short again) is removed, not kept."""
    for path in LONG_MODULES:
        assert len(path.read_text().splitlines()) > MAX_LINES, path


def sdk_members(cls: type) -> dict[str, object]:
    return {
        name: member
        for base in cls.__mro__
        if base.__module__.startswith("singer_sdk")
        for name, member in vars(base).items()
    }


@pytest.mark.parametrize(
    "cls",
    [EntityStream, TapOracleWMS, BufferedMsgSpecWriter, *SPECIAL_STREAMS.values()],
    ids=lambda c: c.__name__,
)
def test_no_private_or_final_sdk_member_is_overridden(cls):
    """Only public, non-final SDK members are overridden: an SDK release cannot silently break them."""
    sdk = sdk_members(cls)
    ours = {
        name
        for base in cls.__mro__
        if not base.__module__.startswith("singer_sdk") and base is not object
        for name in vars(base)
    }
    for name in ours & set(sdk):
        if (name.startswith("__") and name.endswith("__")) or name == "_abc_impl":
            continue
        assert not name.startswith("_"), f"{cls.__name__} overrides the SDK's private {name}"
        member = inspect.unwrap(getattr(sdk[name], "__func__", sdk[name]))
        final = getattr(member, "__final__", False) or getattr(
            getattr(member, "fget", None), "__final__", False
        )
        assert not final, f"{cls.__name__} overrides the SDK's final {name}"


def test_no_private_sdk_member_is_called():
    """Our code reaches no `_private` attribute of the SDK's classes (ours are fine)."""
    sdk = {n for cls in (RESTStream, Tap) for base in cls.__mro__ for n in vars(base) if n.startswith("_")}
    sdk -= {n for n in sdk if n.startswith("__")}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in sdk:
                pytest.fail(f"{path.name}:{node.lineno} uses the SDK's private {node.attr}")
