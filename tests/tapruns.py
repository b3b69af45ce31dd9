"""Run the tap in-process against the sandbox and read back its Singer messages."""

from __future__ import annotations

import datetime as dt
import io
import json
from contextlib import redirect_stdout
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tap_oracle_wms.client import JSON_TEXT
from tap_oracle_wms.tap import TapOracleWMS


def tap_config(sandbox: Any, *entities: str, **overrides: Any) -> dict[str, Any]:
    """Config for the sandbox's admin user, discovering only `entities` (all when none)."""
    config: dict[str, Any] = {
        "base_url": sandbox.base_url,
        "username": "admin",
        "password": "admin-password",
        "entities_include": list(entities) or ["*"],
    }
    config.update(overrides)
    return config


@dataclass
class SyncOutput:
    """The messages of one sync, with the views tests need."""

    messages: list[dict[str, Any]]

    def records(self, stream: str) -> list[dict[str, Any]]:
        return [m["record"] for m in self.messages if m["type"] == "RECORD" and m["stream"] == stream]

    def schema(self, stream: str) -> dict[str, Any]:
        return next(m["schema"] for m in self.messages if m["type"] == "SCHEMA" and m["stream"] == stream)

    @property
    def states(self) -> list[dict[str, Any]]:
        return [m["value"] for m in self.messages if m["type"] == "STATE"]

    @property
    def last_state(self) -> dict[str, Any]:
        return self.states[-1]

    def bookmark(self, stream: str) -> Any:
        return self.last_state["bookmarks"][stream].get("replication_key_value")


def sync(config: dict[str, Any], *, state: dict | None = None, catalog: dict | None = None) -> SyncOutput:
    """One tap run in this process, as `tap-oracle-wms --config --state --catalog` would do it."""
    tap = TapOracleWMS(config=config, state=state, catalog=catalog, validate_config=True)
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    with redirect_stdout(buffer):
        tap.sync_all()
    buffer.seek(0)
    lines = buffer.read().splitlines()
    return SyncOutput([json.loads(line, parse_float=Decimal) for line in lines if line.strip()])


def discover(config: dict[str, Any]) -> dict[str, Any]:
    """The catalog `--discover` prints."""
    return TapOracleWMS(config=config, validate_config=True).catalog_dict


def shaped(row: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """What the tap should emit for an API row: FK ids, decimal numbers, no links."""
    out: dict[str, Any] = {}
    props = schema["properties"]
    for name, value in row.items():
        if name not in props:
            continue
        kinds = props[name]["type"]
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if props[name].get("contentMediaType") == JSON_TEXT["contentMediaType"]:
            out[name] = value if value is None or isinstance(value, str) else json.dumps(value)
        elif isinstance(value, dict) and "id" in value and "key" in value:
            out[name] = value["id"]
            if f"{name}_key" in props:
                out[f"{name}_key"] = value["key"]
        elif "number" in kinds and isinstance(value, str):
            out[name] = Decimal(value) if value else None
        elif name == "mod_ts" and isinstance(value, str):
            out[name] = utc(value)
        else:
            out[name] = value
    return out


def utc(value: str) -> str:
    """An offset-aware ISO date-time as the same instant in UTC (how the tap emits mod_ts)."""
    return dt.datetime.fromisoformat(value).astimezone(dt.timezone.utc).isoformat()


def page_requests(sandbox: Any, entity: str) -> list[Any]:
    """The list requests of one entity the sandbox answered, without the tap's ordering probe."""
    return [
        r for r in sandbox.requests
        if r.path.rstrip("/").endswith(f"entity/{entity}") and r.query.get("ordering") != "-id"
    ]
