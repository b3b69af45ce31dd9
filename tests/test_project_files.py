"""The files users read stay true to the tap: README settings, meltano.yml, .env.example, plugin file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from tap_oracle_wms.streams import CORE_ENTITIES
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


def _env_example() -> dict[str, str]:
    """The KEY=value lines of .env.example."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if re.match(r"^[A-Z_]+=", line))


def test_env_example_names_only_real_settings():
    """Each variable of .env.example is a setting of the plugin its prefix names: no typo ignored."""
    from target_oracle.target import TargetOracle

    meltano = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (postgres,) = [p for p in meltano["plugins"]["loaders"] if p["name"] == "target-postgres"]
    known = {
        "TAP_ORACLE_WMS_": set(TapOracleWMS.config_jsonschema["properties"]),
        "TARGET_ORACLE_": set(TargetOracle.config_jsonschema["properties"]),
        "TARGET_POSTGRES_": {s["name"] for s in postgres["settings"]},
    }
    unknown = []
    for key in _env_example():
        prefix = next((p for p in known if key.startswith(p)), None)
        if prefix is None or key.removeprefix(prefix).lower() not in known[prefix]:
            unknown.append(key)
    assert unknown == []


def test_env_example_shows_a_sqlalchemy_url_target_oracle_accepts():
    """The URL form .env.example shows for target-oracle passes the loader's own check."""
    from target_oracle.target import TargetOracle

    urls = re.findall(r"oracle\+\w+://\S+", (ROOT / ".env.example").read_text())
    assert urls
    for url in urls:
        TargetOracle(config={"sqlalchemy_url": url}, validate_config=True)


def test_target_oracle_definition_declares_every_setting_and_only_secrets_are_sensitive():
    """plugin/target-oracle.meltano.yml lists every loader setting; exactly its secret ones are sensitive."""
    from target_oracle.target import TargetOracle

    properties = TargetOracle.config_jsonschema["properties"]
    settings = yaml.safe_load((ROOT / "plugin" / "target-oracle.meltano.yml").read_text())["settings"]
    assert {s["name"].split(".")[0] for s in settings} >= set(properties)  # objects as dotted leaves
    assert {s["name"] for s in settings if s.get("sensitive")} == {
        n for n, p in properties.items() if p.get("secret")
    }


def _readme_env_blocks(after: str) -> list[dict[str, str]]:
    """The KEY=value lines of each ```bash block in the README section that starts with ``after``."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(after) :].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    return [dict(re.findall(r"^([A-Z_]+)=(\S+)", block, flags=re.MULTILINE)) for block in blocks]


def test_readme_autonomous_database_recipes_are_settings_target_oracle_accepts():
    """README's wallet (mTLS) and TLS-only recipes pass target-oracle's settings checks."""
    from target_oracle.target import TargetOracle

    blocks = _readme_env_blocks("**Oracle Autonomous Database**")
    assert len(blocks) == 2
    for block in blocks:
        config = {
            key.removeprefix("TARGET_ORACLE_").lower(): int(value) if value.isdigit() else value
            for key, value in block.items()
        }
        assert set(config) <= set(TargetOracle.config_jsonschema["properties"])
        TargetOracle(config=config, validate_config=True)


def test_every_meltano_job_has_a_schedule_and_full_syncs_refresh():
    """Every job of meltano.yml (PostgreSQL and Oracle) is scheduled; full syncs weekly, with full refresh."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    schedules = {s["job"]: s for s in project["schedules"]}
    assert {job["name"] for job in project["jobs"]} <= set(schedules)
    for job, schedule in schedules.items():
        if "full-sync" in job:
            assert schedule["env"]["MELTANO_RUN_FULL_REFRESH"] == "true", job
            assert schedule["interval"] == "0 3 * * 0", job
        else:
            assert schedule["interval"] == "0 */2 * * *", job


def test_meltano_selects_the_core_entities_by_default():
    """meltano.yml and the plugin definition select the core entities (Meltano's default is all)."""
    rules = [f"{entity}.*" for entity in CORE_ENTITIES]
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    extractor = next(p for p in project["plugins"]["extractors"] if p["name"] == "tap-oracle-wms")
    assert extractor["select"] == rules
    plugin = yaml.safe_load((ROOT / "plugin" / "tap-oracle-wms.meltano.yml").read_text())
    assert plugin["select"] == rules
