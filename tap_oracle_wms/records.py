"""Record shaping: the API's representations become relational columns, driven by the schema.

FK objects {id,key,url} become the integer id (and optionally the key), decimal strings exact
numbers, naive date-times get the tenant's zone, the bookmark column is normalised to UTC, and
values of a type describe did not name become JSON text.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from typing import TYPE_CHECKING, Any

from tap_oracle_wms.schema_breaks import Unparsable

if TYPE_CHECKING:
    from collections.abc import Callable
    from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
# Columns whose describe type the tap does not know carry any JSON value, emitted as JSON text.
JSON_TEXT = {"type": "string", "contentMediaType": "application/json"}
_HAS_OFFSET = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")


def converter_table(
    schema: dict[str, Any], replication_key: str | None, tz: ZoneInfo
) -> dict[str, Callable[[dict, str, Any], None] | None]:
    """One converter per property (None: pass through), chosen from its JSON Schema."""
    props: dict[str, Any] = schema.get("properties", {})
    table: dict[str, Callable[[dict, str, Any], None] | None] = {}
    for name, prop in props.items():
        types = prop.get("type", [])
        types = types if isinstance(types, list) else [types]
        fmt = prop.get("format")
        if name.endswith("_key") and name[:-4] in props:
            continue
        if "integer" in types and name.endswith("_id") and name not in {"status_id"}:
            table[name] = _fk_with_key if f"{name}_key" in props else _fk_id
        elif "number" in types:
            table[name] = _decimal
        elif fmt == "date-time" and name == replication_key:
            table[name] = _utc_timestamp(tz)
        elif fmt == "date-time":
            table[name] = _aware_timestamp(tz)
        elif prop.get("contentMediaType") == JSON_TEXT["contentMediaType"]:
            table[name] = _json_text
        else:
            table[name] = None
    return table


def _json_text(out: dict, name: str, value: Any) -> None:
    out[name] = value if value is None or type(value) is str else json.dumps(value, default=str)


def _fk_id(out: dict, name: str, value: Any) -> None:
    out[name] = value.get("id") if type(value) is dict else value


def _fk_with_key(out: dict, name: str, value: Any) -> None:
    if type(value) is dict:
        out[name] = value.get("id")
        out[f"{name}_key"] = value.get("key")
    else:
        out[name] = value
        out[f"{name}_key"] = None


def _decimal(out: dict, name: str, value: Any) -> None:
    if type(value) is str:
        try:
            out[name] = decimal.Decimal(value) if value else None
        except decimal.InvalidOperation:
            out[name] = value
    else:
        out[name] = value


def _remembering(shape: Callable[[str], Any]) -> Callable[[dict, str, Any], None]:
    """A column converter that reuses the last result: rows come sorted by mod_ts, many tied."""
    last: list[Any] = [None, None]  # [value sent, value emitted]

    def convert(out: dict, name: str, value: Any) -> None:
        if type(value) is not str or not value:
            out[name] = value
            return
        if value != last[0]:
            last[:] = value, shape(value)
        out[name] = last[1]

    return convert


def _aware_timestamp(tz: ZoneInfo) -> Callable[[dict, str, Any], None]:
    """Keep the offset the API sends; give naive values the tenant's zone (wms-api.md 2.8 GAP)."""

    def shape(value: str) -> Any:
        if _HAS_OFFSET.search(value):
            return value
        try:
            return dt.datetime.fromisoformat(value).replace(tzinfo=tz).isoformat()
        except ValueError:
            return Unparsable(value)  # reported by the RecordChecker

    return _remembering(shape)


def _utc_timestamp(tz: ZoneInfo) -> Callable[[dict, str, Any], None]:
    """The bookmark column in UTC: the SDK compares bookmarks as text, across DST changes too."""

    def shape(value: str) -> Any:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return Unparsable(value)  # reported by the RecordChecker, never a bookmark
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        try:
            return parsed.astimezone(UTC).isoformat()
        except OverflowError:  # e.g. year 1 with a positive offset: keep it as sent
            return value

    return _remembering(shape)
