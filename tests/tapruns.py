"""Run the tap against the sandbox in this process and read back its Singer messages (the CLI: clirun)."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tap_oracle_wms.records import JSON_TEXT
from tap_oracle_wms.run import StreamsFailedError
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


def oauth_config(sandbox: Any, *entities: str, **overrides: Any) -> dict[str, Any]:
    """Config for the sandbox's OAuth2 client (client credentials) instead of Basic auth."""
    settings = {
        "auth_method": "oauth2",
        "oauth_client_id": "sandbox-client",
        "oauth_client_secret": "sandbox-secret",
        "oauth_token_url": sandbox.token_url,
        **overrides,
    }
    config = tap_config(sandbox, *entities, **settings)
    for basic in ("username", "password"):
        if config.get(basic) in {"admin", "admin-password"}:
            del config[basic]
    return {k: v for k, v in config.items() if v is not None}


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


def sync(
    config: dict[str, Any],
    *,
    state: dict | None = None,
    catalog: dict | None = None,
    prepare: Callable[[TapOracleWMS], None] | None = None,
    raise_first_failure: bool = False,
) -> SyncOutput:
    """One tap run in this process, as `tap-oracle-wms --config --state --catalog` would do it.

    `prepare` sees the tap after start-up, before the sync (e.g. to plant a stale token). When
    streams fail, the StreamsFailedError carries the run's output (`.output`); with
    `raise_first_failure` the first failed stream's own exception is raised instead.
    """
    tap = TapOracleWMS(config=config, state=state, catalog=catalog, validate_config=True)
    if prepare is not None:
        prepare(tap)
    buffer = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    failed: StreamsFailedError | None = None
    with redirect_stdout(buffer):
        try:
            tap.sync_run()
        except StreamsFailedError as exc:
            failed = exc
    buffer.seek(0)
    lines = buffer.read().splitlines()
    output = SyncOutput([json.loads(line, parse_float=Decimal) for line in lines if line.strip()])
    if failed is not None:
        if raise_first_failure:
            raise next(iter(tap.run.errors.values()))
        failed.output = output  # type: ignore[attr-defined]
        raise failed
    return output


def assert_nothing_lost(records, truth, schema, tz="UTC"):
    """Fail naming every truth row that is missing or only present in an older version."""
    lost = lost_rows(records, truth, schema, tz)
    assert lost == {"missing": [], "stale": []}, f"{len(truth)} truth rows; lost: {lost}"


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
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC).isoformat()


def page_requests(sandbox: Any, entity: str) -> list[Any]:
    """The sequenced list requests of one entity the sandbox answered, without the tap's probes
    and the drift check's listing of mod_ts (fields=id,mod_ts)."""
    return [
        r
        for r in sandbox.requests
        if r.path.rstrip("/").endswith(f"entity/{entity}")
        and r.query.get("page_mode") == "sequenced"
        and r.query.get("ordering") != "-id"
        and r.query.get("fields") != "id,mod_ts"
    ]


# --- no-row-lost helpers (tests/test_no_row_lost.py) ------------------------------------------


def instant(value: Any, tz: str = "UTC") -> Any:
    """An ISO date-time string as an aware UTC datetime (naive ones read in `tz`); else as is."""
    from zoneinfo import ZoneInfo

    if not isinstance(value, str):
        return value
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return parsed.astimezone(dt.UTC)


def latest_by_id(records: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """What a target keeps after deduplicating on id: the version with the greatest mod_ts."""
    latest: dict[Any, dict[str, Any]] = {}
    for record in records:
        kept = latest.get(record["id"])
        if kept is None or instant(record["mod_ts"]) >= instant(kept["mod_ts"]):
            latest[record["id"]] = record
    return latest


def comparable(record: dict[str, Any], schema: dict[str, Any], tz: str = "UTC") -> dict[str, Any]:
    """A record with its date-times as UTC instants, so naive and offset renderings compare."""
    props = schema["properties"]
    return {
        name: instant(value, tz) if props.get(name, {}).get("format") == "date-time" else value
        for name, value in record.items()
    }


def lost_rows(
    records: list[dict[str, Any]], truth: list[dict[str, Any]], schema: dict[str, Any], tz: str = "UTC"
) -> dict[str, list[Any]]:
    """Truth rows missing from the emitted records, or present only in an older (stale) version."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    latest = latest_by_id(records)
    missing, stale = [], []
    for row in truth:
        aware = dict(row)
        # The truth renders naive date-times when the sandbox does; give them the tenant zone.
        for name, value in row.items():
            if schema["properties"].get(name, {}).get("format") == "date-time" and isinstance(value, str):
                parsed = instant(value, tz)
                if isinstance(parsed, dt.datetime):
                    aware[name] = parsed.astimezone(zone).isoformat()
        got = latest.get(row["id"])
        if got is None:
            missing.append(row["id"])
        elif comparable(got, schema, tz) != comparable(shaped(aware, schema), schema, tz):
            stale.append(row["id"])
    return {"missing": missing, "stale": stale}


def settle(after: dt.datetime | None = None) -> None:
    """Sleep until the wall clock is in a later whole second than `after` (default: now).

    A run's upper bound is its start truncated to the second, so a change made in the same
    second as the next run's start is (by design) left for the run after it.
    """
    import time

    after = after or dt.datetime.now(dt.UTC)
    target = after.replace(microsecond=0) + dt.timedelta(seconds=1, milliseconds=20)
    time.sleep(max(0.0, (target - dt.datetime.now(dt.UTC)).total_seconds()))


def changed_ids(burst: dict[str, Any], kind: str) -> list[int]:
    """Ids of one activity burst ('inserted', 'updated', 'deleted'), whichever key spelling."""
    return list(burst.get(f"{kind}_ids", burst.get(kind, [])))


def next_second() -> None:
    """Wait for the next whole second: the tap's upper bound is the run start floored to seconds
    (docs/lgfapi.md 2.8 GAP), so a change made in the same second as a run start belongs to the run after."""
    import time

    time.sleep(1.001 - time.time() % 1)


def full_table(catalog: dict) -> dict:
    """The catalog with every stream forced to FULL_TABLE, as a weekly full sync has it."""
    for entry in catalog["streams"]:
        entry["replication_method"] = "FULL_TABLE"
        for md in entry["metadata"]:
            if md["breadcrumb"] == []:
                md["metadata"]["forced-replication-method"] = "FULL_TABLE"
    return catalog
