"""What the tap asks lgfapi for: the columns by name, the scope, the bounds, the backdated second pass."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from tap_oracle_wms.lgfapi.wire import filter_text, filter_timestamp, parse_timestamp

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


def requested_fields(
    properties: Mapping[str, Any], selected: Iterable[str], keys: Iterable[str]
) -> list[str]:
    """`fields=`: the selected columns, named explicitly, plus the keys the tap needs.

    Some fields only come back when asked for by name (item `image_data`, ib_shipment
    `lpn_count`; docs/lgfapi.md 2.4), and a partial selection should not download the rest.
    An `<fk>_key` column is read from its FK object, so the FK itself is asked for.
    """
    wanted = {
        name[: -len("_key")] if name.endswith("_key") and name[:-4] in properties else name
        for name in selected
    }
    wanted.update(keys)
    return sorted(wanted)


def scope_filters(config: Mapping[str, Any], properties: Mapping[str, Any]) -> dict[str, str]:
    """Narrow to the configured facility/company codes where the entity has those keys."""
    filters = {}
    for setting, key in (("facility_codes", "facility_id"), ("company_codes", "company_id")):
        codes = config[setting]
        if codes and key in properties:
            filters[f"{key}__code__in"] = ",".join(codes)
    return filters


def user_filters(config: Mapping[str, Any], stream: str) -> dict[str, str]:
    """The stream's `stream_filters` as lgfapi reads them: `__in` lists comma-separated (docs/lgfapi.md 2.10).

    requests would send a list as repeated keys, and the API keeps the last (1.7): rows lost.
    """
    return {key: filter_text(value) for key, value in config["stream_filters"].get(stream, {}).items()}


def scope(config: Mapping[str, Any], entity: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """The filters every query of an entity carries: facility/company codes and its stream_filters."""
    return {**scope_filters(config, properties), **user_filters(config, entity)}


def bounds(
    replication_key: str, start: dt.datetime | None, lookback_seconds: int, started_at: dt.datetime
) -> dict[str, str]:
    """[bookmark - lookback, run start) on the replication key (docs/lgfapi.md 2.8, 2.9).

    Rows sharing the bookmark's instant are read again, never skipped; rows changed after the
    run started belong to the next run, not to a page the run may already have passed.
    """
    out = {f"{replication_key}__lt": filter_timestamp(started_at)}
    if start is not None:
        out[f"{replication_key}__gte"] = filter_timestamp(start - dt.timedelta(seconds=lookback_seconds))
    return out


def within(
    params: Mapping[str, Any], replication_key: str, start: dt.datetime, end: dt.datetime
) -> dict[str, Any]:
    """The listing's query narrowed to [start, end) of the replication key (hours read again, drift.py)."""
    out = {k: v for k, v in params.items() if not k.startswith(f"{replication_key}__")}
    out[f"{replication_key}__gte"] = filter_timestamp(start)
    out[f"{replication_key}__lt"] = filter_timestamp(end)
    return out


def backdated_query(
    params: Mapping[str, Any],
    replication_key: str,
    lower: str,
    started_at: dt.datetime,
) -> dict[str, Any]:
    """The second pass: rows created in [lower, run start) whose `replication_key` is before `lower`.

    Rows created after the last run can carry an older mod_ts (interface loads keep the source's
    stamp, docs/lgfapi.md 2.9); filters are ANDed, so they need a query of their own. Rows with a
    later mod_ts are the first pass's, so none is read twice. A stream filter on the same
    create_ts bound keeps its scope: the narrower bound is sent.
    """
    out = {k: v for k, v in params.items() if not k.startswith(f"{replication_key}__")}
    out.update(
        {
            "ordering": "id",
            "create_ts__gte": _narrower(params.get("create_ts__gte"), lower, later=True),
            "create_ts__lt": _narrower(
                params.get("create_ts__lt"), filter_timestamp(started_at), later=False
            ),
            f"{replication_key}__lt": lower,
        }
    )
    return out


def _narrower(theirs: Any, ours: str, *, later: bool) -> Any:
    """The stream filter's bound when it may be narrower than the pass's own (ours if it is no date-time).

    The API reads a naive bound in the user's zone, which tenant_timezone only claims to be: a
    naive bound is read in the zone that makes it narrowest (UTC-12 for a lower bound, UTC+14 for
    an upper one), so a wrong tenant_timezone costs rows read again, never rows from outside the filter.
    """
    other, mine = parse_timestamp(theirs, _WEST if later else _EAST), parse_timestamp(ours, dt.UTC)
    if other is None or mine is None:
        return ours
    return theirs if (other > mine if later else other < mine) else ours


#: The world's furthest clocks behind and ahead of UTC.
_WEST, _EAST = dt.timezone(dt.timedelta(hours=-12)), dt.timezone(dt.timedelta(hours=14))
