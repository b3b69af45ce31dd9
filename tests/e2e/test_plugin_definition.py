"""Meltano accepts the generated plugin definition: `meltano add --from-ref`, no Hub, no install.

Why: users outside this repository add the extractor from plugin/tap-oracle-wms.meltano.yml;
this proves a fresh Meltano project reads it as the extractor, with every setting, its
default, its kind and its sensitivity.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tap_oracle_wms.streams import CORE_ENTITIES

if TYPE_CHECKING:
    from collections.abc import Callable

    from .conftest import MeltanoProject

pytestmark = pytest.mark.slow

PLUGIN_DIR = Path(__file__).resolve().parents[2] / "plugin"
DEFINITION = PLUGIN_DIR / "tap-oracle-wms.meltano.yml"
TARGET_DEFINITION = PLUGIN_DIR / "target-oracle.meltano.yml"


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return dict(yaml.safe_load(DEFINITION.read_text()))


def header_commands(path: Path) -> list[list[str]]:
    """The `meltano ...` commands a definition file's header tells users to run, as argv lists."""
    lines = [line.removeprefix("#").strip() for line in path.read_text().splitlines()]
    commands = [shlex.split(line)[1:] for line in lines if line.startswith("meltano ")]
    assert commands, "the header names no meltano command"
    relative = f"plugin/{path.name}"
    return [[str(path) if arg == relative else arg for arg in cmd] for cmd in commands]


@pytest.fixture(scope="module")
def added(
    meltano_at: Callable[[Path], MeltanoProject], tmp_path_factory: pytest.TempPathFactory
) -> MeltanoProject:
    """A fresh `meltano init` project after the commands of the files' headers (no install: no network)."""
    parent = tmp_path_factory.mktemp("fresh-meltano")
    meltano_at(parent)("init", "project", "--no-usage-stats")
    project = meltano_at(parent / "project")
    for command in header_commands(DEFINITION) + header_commands(TARGET_DEFINITION):
        project(*command, *(["--no-install"] if command[0] == "add" else []))
    return project


def _config(project: MeltanoProject, **env: str) -> dict[str, Any]:
    """`meltano config print tap-oracle-wms` with these TAP_ORACLE_WMS_* variables set."""
    run = dataclasses.replace(project, env={**project.env, **env})
    return dict(json.loads(run("config", "print", "tap-oracle-wms").stdout))


def test_meltano_add_from_ref_adds_only_the_extractor_and_the_loader_with_every_setting(added, definition):
    """The project gains two plugins, tap-oracle-wms and target-oracle, each declaring its file's settings."""
    plugins = yaml.safe_load((added.root / "meltano.yml").read_text())["plugins"]
    assert list(plugins) == ["extractors", "loaders"]
    (extractor,), (loader,) = plugins["extractors"], plugins["loaders"]
    target = yaml.safe_load(TARGET_DEFINITION.read_text())
    assert (extractor["name"], loader["name"]) == ("tap-oracle-wms", "target-oracle")
    assert (extractor["pip_url"], loader["pip_url"]) == (definition["pip_url"], target["pip_url"])
    assert [s["name"] for s in extractor["settings"]] == [s["name"] for s in definition["settings"]]
    assert [s["name"] for s in loader["settings"]] == [s["name"] for s in target["settings"]]


def test_meltano_configures_target_oracle_from_its_definitions_defaults(added):
    """Meltano hands target-oracle exactly the defaults its file declares, the URL masked as secret."""
    target = yaml.safe_load(TARGET_DEFINITION.read_text())
    run = dataclasses.replace(
        added, env={**added.env, "TARGET_ORACLE_SQLALCHEMY_URL": "oracle+oracledb://u:p@h/"}
    )
    config = json.loads(run("config", "print", "target-oracle").stdout)
    defaults = {s["name"]: s["value"] for s in target["settings"] if "value" in s}
    assert config == {**defaults, "sqlalchemy_url": "*****"}


def test_meltano_config_starts_from_the_definitions_defaults(added, definition):
    """Without any configuration, Meltano hands the tap exactly the defaults the file declares."""
    assert _config(added) == {s["name"]: s["value"] for s in definition["settings"] if "value" in s}


def test_the_header_commands_select_the_eight_core_entities(added, definition):
    """After the header's commands Meltano selects the core entities, not every stream (`*.*`)."""
    extras = json.loads(added("config", "print", "tap-oracle-wms", "--extras").stdout)
    assert extras["_select"] == definition["select"] == [f"{e}.*" for e in CORE_ENTITIES]


def test_meltano_types_environment_values_by_the_definitions_kinds(added):
    """TAP_ORACLE_WMS_* strings become integers, booleans and lists by each setting's kind."""
    config = _config(
        added,
        TAP_ORACLE_WMS_PAGE_SIZE="50",
        TAP_ORACLE_WMS_STRICT_SCHEMA="true",
        TAP_ORACLE_WMS_FACILITY_CODES='["DC1", "DC2"]',
    )
    assert (config["page_size"], config["strict_schema"], config["facility_codes"]) == (
        50,
        True,
        ["DC1", "DC2"],
    )


def test_meltano_masks_the_definitions_secret_settings(added):
    """`meltano config print` shows the password and the OAuth2 client secret only as *****."""
    config = _config(
        added,
        TAP_ORACLE_WMS_PASSWORD="pw-never-shown",
        TAP_ORACLE_WMS_OAUTH_CLIENT_SECRET="cs-never-shown",
    )
    assert (config["password"], config["oauth_client_secret"]) == ("*****", "*****")
