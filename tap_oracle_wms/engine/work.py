"""What the engine's workers read: jobs (one listing each) planned into chains of linked pages."""

from __future__ import annotations

import copy
import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tap_oracle_wms.engine import ranges

if TYPE_CHECKING:
    from collections.abc import Mapping

    from tap_oracle_wms.lgfapi.paging import Listing


@dataclass
class Chain:
    """One sequence of next_page-linked pages: a whole listing, or one key range of it.

    A chain of a split listing ends at its first row past its range (the first chain asks no
    upper bound; a rebalanced one's bound moved down). `keys` say how dense its keys are now,
    so how long its remainder is.
    """

    params: dict[str, Any]
    range: ranges.KeyRange | None = None
    pages: deque[list[dict[str, Any]]] = field(default_factory=deque)
    started: bool = False
    done: bool = False
    error: BaseException | None = None
    keys: tuple[Any, Any] = (None, None)  # the first and last key of the page read last
    # Its last rows whose key cannot be read: they may lie past its range, so in the next ones too.
    trailing: list[dict[str, Any]] = field(default_factory=list)

    def note(self, rows: list[dict[str, Any]]) -> None:
        """Keep the keys the latest page spans, and the rows after its last readable key."""
        if self.range is None:
            return
        self.keys = (self.range.value(rows[0]), self.range.value(rows[-1]))
        if self.keys[1] is not None:
            self.trailing = []
            return
        unread = len(rows) - 1
        while unread and self.range.value(rows[unread - 1]) is None:
            unread -= 1
        # Copies: the stream shapes emitted rows in place, and the next range sends them as they were.
        fresh = [copy.deepcopy(row) for row in rows[unread:]]
        self.trailing = [*self.trailing, *fresh] if unread == 0 else fresh


@dataclass
class Job:
    """One listing (or one partition of it) to read: planned into chains, then read chain by chain."""

    listing: Listing
    partition: Mapping[str, Any] | None
    params: dict[str, Any] | None  # None: the worker orders `base` (the ordering negotiation)
    base: dict[str, Any] | None = None
    state: str = "new"  # new | planning | ready | failed | cancelled
    chains: list[Chain] = field(default_factory=list)
    error: BaseException | None = None
    current: int = 0  # index of the chain being emitted
    key: str | None = None  # the key its listing may be split on
    end: Any = None  # the highest key its count saw: where its open last range should end


def plan_chains(
    listing: Listing, params: dict[str, Any], key: str, concurrency: int, buffer_rows: int
) -> tuple[list[Chain], Any]:
    """After a full first page: the rest of the listing as key ranges, if it pays; and its last key.

    The first chain still follows its links but ends at the first range's start. The count
    is asked only when the first page is full, so one-page listings cost none. Half the
    requests in flight read a listing's planned ranges (at least two, so rebalancing has a
    range to split); the others read the next listings' first pages, and rebalancing hands
    long ranges to idle workers. None holds more than its worker's share of the read-ahead.
    """
    first = listing.first_page(params)
    if first.next_url is None or not first.rows:
        return [Chain(params)], None
    high = listing.count(params, f"-{key}")
    most, share = max(2, math.ceil(concurrency / 2)), buffer_rows // concurrency
    plan = ranges.plan_split(
        listing.entity, key, params, first.rows, high, listing.timezone, most=most, rows=share
    )
    if plan is None:
        return [Chain(params)], None
    head, *rest = plan.ranges
    return [Chain(params, range=head), *(Chain(r.query(params), range=r) for r in rest)], plan.last


def drop_repeats(page: list[dict[str, Any]], doubtful: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The page without rows an earlier range emitted already (taken off `doubtful` when met).

    A row whose key cannot be read (an unparsable mod_ts, an id that is no integer) at the end
    of a range may truly lie past it: the server then lists it in the next range too. Such
    rows are few, and the same row sends the same values, so equality names it.
    """
    if not doubtful:
        return page
    ids = {_hashable(row.get("id")) for row in doubtful}
    kept = []
    for row in page:
        if _hashable(row.get("id")) in ids and row in doubtful:
            doubtful.remove(row)
        else:
            kept.append(row)
    return kept


def _hashable(value: Any) -> Any:
    return value if isinstance(value, (int, str)) else repr(value)
