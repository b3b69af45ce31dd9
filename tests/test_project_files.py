"""The files users read stay true to the tap: README settings, meltano.yml, .env.example, plugin file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from tap_oracle_wms.tap import TapOracleWMS

ROOT = Path(__file__).resolve().parent.parent


def _sdk_builtin_settings() -> set[str]:
    """Settings the SDK adds to every tap (stream maps, flattening, batch...): not ours to list."""
    schema: dict = {"properties": {}}
    TapOracleWMS.append_builtin_config(schema)
    return set(schema["properties"]) - {"emit_activate_version_messages"}


OWN_SETTINGS = set(TapOracleWMS.config_jsonschema["properties"]) - _sdk_builtin_settings()
SECRETS = {n for n, p in TapOracleWMS.config_jsonschema["properties"].items() if p.get("secret")}


def test_readme_settings_table_is_the_about_output():
    """README's settings table is `tap-oracle-wms --about --format=markdown` (scripts/readme_settings.py)."""
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "readme_settings.py"), "--check"], check=True, timeout=60
    )


def test_meltano_yml_declares_every_setting_and_marks_secrets_sensitive():
    """Every tap setting is a Meltano setting; passwords and secrets are sensitive."""
    text = (ROOT / "meltano.yml").read_text()
    extractor = text[text.index("- name: tap-oracle-wms\n") : text.index("- name: tap-oracle-wms--full-sync")]
    declared = set(re.findall(r"^    - name: (\w+)", extractor, flags=re.MULTILINE))
    assert declared >= OWN_SETTINGS
    for secret in SECRETS:
        block = extractor[extractor.index(f"- name: {secret}\n") :].split("- name:")[1]
        assert "sensitive: true" in block, secret


def test_env_example_lists_every_setting_without_secret_values():
    """.env.example names every TAP_ORACLE_WMS_* variable; secret ones are left empty."""
    lines = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line.startswith("TAP_ORACLE_WMS_")
    )
    assert {f"TAP_ORACLE_WMS_{name.upper()}" for name in OWN_SETTINGS} <= set(lines)
    for secret in SECRETS:
        assert lines[f"TAP_ORACLE_WMS_{secret.upper()}"] == ""


def test_plugin_definition_is_generated_from_the_settings_schema():
    """plugin/tap-oracle-wms.meltano.yml is what scripts/plugin_definition.py writes from `--about`."""
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "plugin_definition.py"), "--check"], check=True, timeout=60
    )


def test_plugin_definition_declares_every_setting_and_only_secrets_are_sensitive():
    """The Hub-style definition lists every tap setting; exactly the secret ones are sensitive."""
    settings = yaml.safe_load((ROOT / "plugin" / "tap-oracle-wms.meltano.yml").read_text())["settings"]
    assert {s["name"] for s in settings} >= OWN_SETTINGS
    assert {s["name"] for s in settings if s.get("sensitive")} == SECRETS
