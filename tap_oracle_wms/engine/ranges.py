"""Key ranges of one listing, read concurrently and concatenated in order; split again when one runs long.

Read one after the other, ranges of the first `ordering` key give the same rows in the same
order as one sequential listing, so bookmarks stay resumable while the ranges are fetched at
the same time. The plan comes from the first page and the row count; keys are rarely uniform
(a month of busy mod_ts holds more rows than a quiet one), so a range that turns out long has
its remainder, the keys after the last row read, cut into new ranges for idle workers
(`split_remainder`). Pure planning: the source counts rows, the engine reads the ranges.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
from dataclasses import dataclass, replace
from typing import Any

from tap_oracle_wms.lgfapi.wire import filter_timestamp, integer_id, parse_timestamp

logger = logging.getLogger("tap-oracle-wms")

# A range holds at least this many pages. Each range's last page is partial, a request for a
# few rows, so a listing is planned as few ranges as keep the workers busy (`plan_split`'s
# `most`); rebalancing splits the ones that run long (keys are rarely uniform).
PAGES_PER_PARTITION = 2
# Below this many pages after the first, one listing (following next_page links) is kept.
MIN_SPLIT_PAGES = 3
MAX_PARTITIONS = 256
# A range's remainder is split only when it still holds this many pages by its keys' density.
MIN_REMAINDER_PAGES = 2


@dataclass(frozen=True)
class KeyRange:
    """The rows of a listing whose `key` lies in [low, high); None: the listing's own bound.

    Bounds are parsed values: int ids, or aware datetimes on whole seconds for a timestamp key
    (the API's filter precision).
    """

    key: str
    tz: dt.tzinfo
    low: Any = None
    high: Any = None

    def value(self, row: dict[str, Any]) -> Any:
        """The row's key as a bound compares it; None when it cannot be read."""
        value = row.get(self.key)
        if self.key == "id":
            return integer_id(value)
        return parse_timestamp(value, self.tz)

    def past(self, row: dict[str, Any]) -> bool:
        """Whether a row lies after this range (so a chain following links ends there).

        A key that cannot be read (an unparsable date-time, an id that is no integer) says
        nothing: the server sorted the row by its true value, so the chain goes on past it and
        the record is shaped (coerced or nulled, with a warning) like any other.
        """
        if self.high is None:
            return False
        value = self.value(row)
        return value is not None and value >= self.high

    def query(self, base: dict[str, Any]) -> dict[str, Any]:
        """`base` asking for this range's rows; an open side keeps base's own filter."""
        out = dict(base)
        if self.low is not None:
            out[f"{self.key}__gte"] = encode(self.low)
        if self.high is not None:
            out[f"{self.key}__lt"] = encode(self.high)
        return out

    def split(self, bounds: list[Any]) -> list[KeyRange]:
        """The range cut at ascending `bounds`, each inside it: [low, b1), [b1, b2) ... [bn, high)."""
        edges = [self.low, *bounds, self.high]
        return [replace(self, low=lo, high=hi) for lo, hi in itertools.pairwise(edges)]


def encode(bound: Any) -> Any:
    """A bound as a filter value."""
    return filter_timestamp(bound) if isinstance(bound, dt.datetime) else bound


@dataclass
class Plan:
    """A listing read as ranges: the first follows the listing's own links, the others start at a bound."""

    ranges: list[KeyRange]
    last: Any  # the highest key the count saw: where the open last range is expected to end


def plan_split(
    name: str,
    key: str,
    params: dict[str, Any],
    first_page: list[dict[str, Any]],
    high: tuple[int, Any] | None,
    tz: dt.tzinfo,
    *,
    most: int = MAX_PARTITIONS,
    rows: int | None = None,
) -> Plan | None:
    """Ranges of the split key (id, or mod_ts when incremental) after the first page.

    `high` is the source's (row count, highest key) of the listing. Small remainders stay one
    listing. At most `most` ranges, unless that would make one longer than `rows` (its worker's
    share of the read-ahead: ranges ahead of the one emitted wait while it is spent).
    """
    if high is None or not first_page:
        return None
    count, last_raw = high
    page_size = int(params["page_size"])
    remaining = count - len(first_page)
    parts = min(most, math.ceil(remaining / (page_size * PAGES_PER_PARTITION)))
    if rows is not None:
        parts = max(parts, math.ceil(remaining / rows))
    parts = min(MAX_PARTITIONS, parts)
    if parts < 2 or remaining <= page_size * MIN_SPLIT_PAGES:  # one range is the plain listing
        return None
    whole = KeyRange(key, tz)
    first, last = whole.value(first_page[-1]), whole.value({key: last_raw})
    bounds = between(first, last, parts)
    if not bounds:
        return None
    logger.info("Stream '%s': ~%d rows read as %d %s ranges.", name, count, len(bounds) + 1, key)
    return Plan(whole.split(bounds), last)


def between(low: Any, high: Any, parts: int) -> list[Any]:
    """Ascending bounds cutting (low, high] into `parts`: integers, or whole seconds for datetimes."""
    if isinstance(low, int) and isinstance(high, int):
        return split_ids(low, high, parts)
    if isinstance(low, dt.datetime) and isinstance(high, dt.datetime):
        return split_points(low, high, parts)
    return []


def split_ids(first: int, last: int, parts: int) -> list[int]:
    """Ascending integer bounds strictly inside (first, last]."""
    if last <= first:
        return []
    step = (last - first) / parts
    return sorted({first + math.ceil(step * i) for i in range(1, parts)} - {first})


def split_points(low: dt.datetime, high: dt.datetime, parts: int) -> list[dt.datetime]:
    """Ascending whole-second bounds (the API's filter precision) in (low, high]."""
    start = low.replace(microsecond=0)
    span = (high - start).total_seconds()
    if span < parts:
        return []
    points = {start + dt.timedelta(seconds=math.ceil(span * i / parts)) for i in range(1, parts)}
    return [p for p in sorted(points) if low < p <= high]


def distance(low: Any, high: Any) -> float:
    """How far apart two keys are: ids, or seconds."""
    if isinstance(low, dt.datetime) and isinstance(high, dt.datetime):
        return (high - low).total_seconds()
    if isinstance(low, int) and isinstance(high, int):
        return float(high - low)
    return 0.0


def remainder_pages(page_first: Any, page_last: Any, end: Any) -> float:
    """Pages left from `page_last` to `end` at the density of the page just read (keys first to last).

    The latest page, not the whole range, so a burst of rows after a quiet stretch counts as
    dense; a page of one tied key is infinitely dense.
    """
    left = distance(page_last, end)
    if left <= 0:
        return 0.0
    spanned = distance(page_first, page_last)
    return left / spanned if spanned > 0 else math.inf


def rebalance(current: KeyRange, keys: tuple[Any, Any], end: Any, most: int) -> list[KeyRange]:
    """A range whose latest page spanned `keys`, cut into up to `most` ranges if its remainder is long.

    [current] when the remainder holds fewer than MIN_REMAINDER_PAGES pages at that density.
    """
    page_first, last = keys
    pages = remainder_pages(page_first, last, end)
    if pages < MIN_REMAINDER_PAGES:
        return [current]
    return split_remainder(current, last, end, int(min(most, pages)))


def split_remainder(current: KeyRange, last: Any, end: Any, parts: int) -> list[KeyRange]:
    """`current` cut after `last` (the last key read) into up to `parts` ranges; [current] if it cannot be.

    The first range keeps `current`'s start and ends at the first bound, which lies after
    `last`, so every row already read stays in it; the last keeps `current`'s end. `end` is
    where the remainder is expected to end (`current.high`, or the listing's highest key when
    it is open).
    """
    if parts < 2 or last is None:
        return [current]
    limit = end if current.high is None else current.high
    bounds = [b for b in between(last, limit, parts) if current.high is None or b < current.high]
    if current.low is not None:
        bounds = [b for b in bounds if b > current.low]
    return current.split(bounds)
