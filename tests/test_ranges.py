"""Key ranges (tap_oracle_wms.engine.ranges): after any plan and any splits, read in any interleaving,
the ranges concatenate to exactly the listing, in order: no row lost, none twice, none moved.

The engine's reading rules, played against a listing held in memory: a chain asks its range's
bounds (the first asks none) and follows its pages, ending at its first row past its range;
after any full page its remainder may be split (`split_remainder`), the new ranges inserted
right after it. Which chain reads its next page is drawn, as concurrent workers would.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tap_oracle_wms.engine import ranges
from tap_oracle_wms.engine.ranges import KeyRange
from tap_oracle_wms.lgfapi.wire import UTC

PLANNER = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASE = dt.datetime(2025, 4, 1, tzinfo=UTC)


@dataclass
class Chain:
    """One chain: the bounds its query asked (fixed) and its range (which a split moves down)."""

    range: KeyRange
    asked: tuple[Any, Any]
    offset: int = 0
    done: bool = False
    out: list[dict[str, Any]] = field(default_factory=list)


@st.composite
def listings(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    """Rows in listing order: unique ids with gaps, or mod_ts with ties, sub-seconds and bursts."""
    key = draw(st.sampled_from(["id", "mod_ts"]))
    count = draw(st.integers(1, 120))
    if key == "id":
        gaps = draw(st.lists(st.integers(1, 50), min_size=count, max_size=count))
        ids = [sum(gaps[: i + 1]) for i in range(count)]
        return key, [{"id": i} for i in ids]
    steps = draw(
        st.lists(st.sampled_from([0, 0, 0, 1, 500_000, 1_000_000, 3_000_000, 86_400_000_000]), min_size=count)
    )
    instants, at = [], BASE
    for step in steps[:count]:
        at += dt.timedelta(microseconds=step)
        instants.append(at)
    return key, [{"id": n + 1, "mod_ts": t.isoformat()} for n, t in enumerate(instants)]


def true_key(key: str, row: dict[str, Any]) -> Any:
    return row["id"] if key == "id" else dt.datetime.fromisoformat(row[key])


def served(key: str, rows: list[dict[str, Any]], asked: tuple[Any, Any]) -> list[dict[str, Any]]:
    """What the server answers a chain's query: the rows inside its bounds, in listing order."""
    low, high = asked
    return [
        r
        for r in rows
        if (low is None or true_key(key, r) >= low) and (high is None or true_key(key, r) < high)
    ]


def initial(key: str, rows: list[dict[str, Any]], page_size: int) -> list[Chain]:
    """The engine's plan from the first page and the count; one whole range when it plans none."""
    whole = KeyRange(key, UTC)
    plan = ranges.plan_split(
        "thing", key, {"page_size": page_size}, rows[:page_size], (len(rows), rows[-1][key]), UTC
    )
    if plan is None:
        return [Chain(whole, (None, None))]
    head, *rest = plan.ranges
    return [Chain(head, (None, None)), *(Chain(r, (r.low, r.high)) for r in rest)]


@PLANNER
@given(listing=listings(), page_size=st.integers(1, 12), data=st.data())
def test_ranges_after_any_splits_concatenate_to_the_listing_in_order(listing, page_size, data):
    key, rows = listing
    chains = initial(key, rows, page_size)
    last_key = true_key(key, rows[-1])
    while not all(c.done for c in chains):
        chain = data.draw(st.sampled_from([c for c in chains if not c.done]))
        answer = served(key, rows, chain.asked)
        page = answer[chain.offset : chain.offset + page_size]
        chain.offset += len(page)
        cut = next((i for i, row in enumerate(page) if chain.range.past(row)), None)
        if cut is not None:
            page = page[:cut]
        chain.out += page
        chain.done = cut is not None or chain.offset >= len(answer)
        if chain.done or len(page) < page_size or not data.draw(st.booleans()):
            continue
        # The remainder's expected end: the range's, else the count's highest key (maybe stale).
        end = (
            chain.range.high
            if chain.range.high is not None
            else data.draw(st.sampled_from([last_key, true_key(key, data.draw(st.sampled_from(rows)))]))
        )
        last = chain.range.value(chain.out[-1])
        head, *rest = ranges.split_remainder(chain.range, last, end, data.draw(st.integers(2, 6)))
        chain.range = head
        at = chains.index(chain) + 1
        chains[at:at] = [Chain(r, (r.low, r.high)) for r in rest]
    assert [row for c in chains for row in c.out] == rows


def test_a_split_keeps_every_row_read_in_the_range_that_read_it():
    """The first new bound lies after the last key read; the ranges tile the old one exactly."""
    current = KeyRange("id", UTC, low=100, high=200)
    pieces = ranges.split_remainder(current, 130, 200, 4)
    assert pieces[0].low == 100
    assert pieces[0].high > 130
    assert pieces[-1].high == 200
    assert all(a.high == b.low for a, b in itertools.pairwise(pieces))
    assert len(pieces) == 4


def test_a_remainder_within_one_second_is_not_split():
    """Filters take whole seconds: rows tied inside one second stay in the range reading them."""
    at = dt.datetime(2025, 4, 24, 0, 0, 0, 4123, tzinfo=UTC)
    current = KeyRange(
        "mod_ts", UTC, low=at.replace(microsecond=0), high=at.replace(microsecond=0) + dt.timedelta(seconds=1)
    )
    assert ranges.split_remainder(current, at, current.high, 4) == [current]


def test_the_remainder_is_estimated_from_the_density_of_the_latest_page():
    """A page spanning ids 100..150 leaves two pages in ids 150..250; a page of one tied key, no end."""
    assert ranges.remainder_pages(100, 150, 250) == 2.0
    assert ranges.remainder_pages(150, 150, 250) == math.inf
    assert ranges.remainder_pages(100, 250, 250) == 0.0
