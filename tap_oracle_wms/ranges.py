"""Key ranges of one stream's listing, read concurrently and concatenated in order.

Read one after the other, ranges of the first `ordering` key give the same rows in the same
order as one sequential listing, so bookmarks stay resumable while the ranges are fetched at
the same time (tap_oracle_wms.pages).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tap_oracle_wms.client import api_timestamp

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests
    from singer_sdk.helpers.types import Context

    from tap_oracle_wms.client import WMSStream

logger = logging.getLogger("tap-oracle-wms")

# A range aims at this many pages: few enough that a stream's ranges keep every worker busy
# and none trails alone at the end (4 measured 7.1 s vs 6.5 s at 300 ms latency), enough that
# short last pages cost little (1 costs ~10% more CPU when latency is nil).
PAGES_PER_PARTITION = 2
# Below this many pages after the first, one listing (following next_page links) is kept.
MIN_SPLIT_PAGES = 3
MAX_PARTITIONS = 256


@dataclass
class Split:
    """The rest of a stream as key ranges; the first chain keeps rows before `bound` only."""

    key: str
    bound: Any  # int id, or an aware datetime for a timestamp key
    tz: ZoneInfo
    later: list[dict[str, Any]]

    def before(self, row: dict) -> bool:
        """Whether a row of the first chain lies before the first split-off range."""
        value = row.get(self.key)
        if self.key == "id":
            return isinstance(value, int) and value < self.bound
        parsed = _parse(value, self.tz)
        return parsed is not None and parsed < self.bound


def split_key(stream: WMSStream, params: dict[str, Any]) -> str | None:
    """The key a listing can be split on: its first `ordering` key, if splitting is safe.

    Only when the server is known to honour `ordering` (else ranges would not concatenate in
    order), and no user filter constrains the key.
    """
    key = str(params.get("ordering", "")).split(",")[0]
    if key not in {"id", stream.replication_key} or not stream.ordering_honoured():
        return None
    user_filters = stream.config.get("stream_filters", {}).get(stream.name, {})
    if any(name == key or name.startswith(f"{key}__") for name in user_filters):
        return None
    return key


def plan_split(
    stream: WMSStream, key: str, params: dict[str, Any], first_page: list[dict], high: tuple[int, Any] | None
) -> Split | None:
    """Ranges of the split key (id, or mod_ts when incremental) after the first page.

    `high` is the probe's (row count, highest key), fetched while the first page was. Read one
    after the other, the ranges give the same order as one sequential listing, so bookmarks
    stay resumable; small remainders stay one listing.
    """
    if high is None or not first_page:
        return None
    count, last = high
    page_size = int(params["page_size"])
    remaining = count - len(first_page)
    parts = min(MAX_PARTITIONS, math.ceil(remaining / (page_size * PAGES_PER_PARTITION)))
    if parts < 2 or remaining <= page_size * MIN_SPLIT_PAGES:  # one range is the plain listing
        return None
    tz = ZoneInfo(stream.config["tenant_timezone"])
    first = first_page[-1].get(key)
    if key == "id":
        bounds: list[Any] = split_ids(first, last, parts)
        values: list[Any] = bounds
    else:
        points = split_points(first, last, parts, tz)
        bounds, values = [api_timestamp(p) for p in points], points
    if not bounds:
        return None
    later = []
    for index, bound in enumerate(bounds):
        part = {**params, f"{key}__gte": bound}
        if index + 1 < len(bounds):
            part[f"{key}__lt"] = bounds[index + 1]
        later.append(part)
    logger.info("Stream '%s': ~%d rows read as %d %s ranges.", stream.name, count, len(later) + 1, key)
    return Split(key, values[0], tz, later)


def probe(
    send: Callable[[str, dict[str, Any]], requests.Response],
    stream: WMSStream,
    context: Context | None,
    params: dict[str, Any],
    ordering: str,
) -> tuple[int, Any] | None:
    """(row count, first key value) of the stream's query in `ordering`; None when empty.

    One paged-mode request of one row: paged mode counts the rows, sequenced mode does not.
    """
    key = ordering.lstrip("-")
    query = {
        **params,
        "page_mode": "paged",
        "page_size": 1,
        "ordering": ordering,
        "fields": ",".join(dict.fromkeys(["id", key])),
    }
    response = send(stream.get_url(context), query)
    if response.status_code == HTTPStatus.NOT_FOUND:
        return None
    payload = stream.payload(response)
    rows = payload.get("results") if isinstance(payload, dict) else None
    count = payload.get("result_count") if isinstance(payload, dict) else None
    if not rows or not isinstance(count, int) or rows[0].get(key) is None:
        return None
    return count, rows[0][key]


def split_ids(first: Any, last: Any, parts: int) -> list[int]:
    """Ascending integer bounds strictly inside (first, last]."""
    if not (isinstance(first, int) and isinstance(last, int)) or last <= first:
        return []
    step = (last - first) / parts
    return sorted({first + math.ceil(step * i) for i in range(1, parts)} - {first})


def split_points(first: Any, last: Any, parts: int, tz: ZoneInfo) -> list[dt.datetime]:
    """Ascending whole-second bounds (the API's filter precision) in (first, last]."""
    low, high = _parse(first, tz), _parse(last, tz)
    if low is None or high is None:
        return []
    start = low.replace(microsecond=0)
    span = (high - start).total_seconds()
    if span < parts:
        return []
    points = {start + dt.timedelta(seconds=math.ceil(span * i / parts)) for i in range(1, parts)}
    return [p for p in sorted(points) if low < p <= high]


def _parse(value: Any, tz: ZoneInfo) -> dt.datetime | None:
    """An API timestamp as an aware datetime (naive ones are in the tenant's zone)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)
