"""What the engine's workers read: jobs (one listing each) planned into chains of linked pages."""

from __future__ import annotations

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

    def note(self, rows: list[dict[str, Any]]) -> None:
        """Keep the keys the latest page spans."""
        if self.range is not None:
            self.keys = (self.range.value(rows[0]), self.range.value(rows[-1]))


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


def plan_chains(listing: Listing, params: dict[str, Any], key: str) -> tuple[list[Chain], Any]:
    """After a full first page: the rest of the listing as key ranges, if it pays; and its last key.

    The first chain still follows its links but ends at the first range's start. The count
    is asked only when the first page is full, so one-page listings cost none.
    """
    first = listing.first_page(params)
    if first.next_url is None or not first.rows:
        return [Chain(params)], None
    high = listing.count(params, f"-{key}")
    plan = ranges.plan_split(listing.entity, key, params, first.rows, high, listing.timezone)
    if plan is None:
        return [Chain(params)], None
    head, *rest = plan.ranges
    return [Chain(params, range=head), *(Chain(r.query(params), range=r) for r in rest)], plan.last
