"""The drift planner (tap_oracle_wms/drift.py): kept counts and new counts in, hours to read again out."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from tap_oracle_wms.drift import Bucket, Plan, contiguous, decode, encode, window

UTC = dt.UTC
T = dt.datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
H = dt.timedelta(hours=1)


def hour(n: int) -> Bucket:
    """The whole hour n hours after 10:00."""
    return Bucket(T + n * H, T + (n + 1) * H)


def test_the_window_is_whole_utc_hours_before_the_start_and_its_hour_cut_at_the_start():
    """24 h before 12:34:56.789 UTC: 24 whole hours from 12:00 the day before, then 12:00-12:34:56."""
    start = dt.datetime(2026, 12, 4, 12, 34, 56, 789000, tzinfo=UTC)
    buckets = window(start, 24)
    assert len(buckets) == 25
    assert buckets[0] == Bucket(
        dt.datetime(2026, 12, 3, 12, tzinfo=UTC), dt.datetime(2026, 12, 3, 13, tzinfo=UTC)
    )
    assert buckets[-1] == Bucket(dt.datetime(2026, 12, 4, 12, tzinfo=UTC), start.replace(microsecond=0))
    assert all(a.end == b.start for a, b in itertools.pairwise(buckets))


def test_a_start_on_the_hour_has_no_cut_hour_and_a_zero_window_counts_nothing():
    assert window(T, 2) == [hour(-2), hour(-1)]
    assert window(T, 0) == []


def test_the_window_is_in_utc_whatever_the_zone_of_the_start():
    start = dt.datetime(2026, 12, 4, 7, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert window(start, 1) == [
        Bucket(T + 1 * H, T + 2 * H),
        Bucket(T + 2 * H, T + 2 * H + dt.timedelta(minutes=30)),
    ]


def test_only_kept_buckets_whose_count_changed_are_read_again():
    plan = Plan({hour(0): 5, hour(1): 7, hour(2): 0}, [], lower=T + 10 * H)
    plan.counted = {hour(0): 5, hour(1): 8, hour(2): 0}
    assert plan.changed == [hour(1)]


def test_a_count_that_shrank_is_a_change_too():
    """A row moving out of an hour (to another one) lowers its count: both hours are read again."""
    plan = Plan({hour(0): 5, hour(3): 1}, [], lower=T + 10 * H)
    plan.counted = {hour(0): 4, hour(3): 2}
    assert plan.changed == [hour(0), hour(3)]


def test_buckets_the_listing_reads_anyway_are_not_read_again():
    """From the listing's lower bound (bookmark minus look-back) on, the main pass reads every row."""
    plan = Plan({hour(0): 1, hour(1): 1}, [], lower=T + H)
    plan.counted = {hour(0): 2, hour(1): 2}
    assert plan.changed == [hour(0)]


def test_a_listing_from_the_beginning_reads_nothing_again():
    plan = Plan({hour(0): 1}, [], lower=None)
    plan.counted = {hour(0): 2}
    assert plan.changed == []


def test_adjacent_changed_hours_are_read_in_one_listing():
    assert contiguous([hour(3), hour(0), hour(1), hour(5)]) == [Bucket(T, T + 2 * H), hour(3), hour(5)]


def test_kept_and_window_buckets_are_counted_once_each():
    plan = Plan({hour(0): 1, hour(1): 1}, [hour(1), hour(2)], lower=T)
    assert plan.to_count == [hour(0), hour(1), hour(2)]


def test_a_changed_bucket_keeps_its_old_count_until_it_has_been_read_again():
    """Interrupted before the re-read, the next run still sees the change; after it, the new count is kept."""
    cut = Bucket(T + 2 * H, T + 2 * H + dt.timedelta(minutes=20))
    plan = Plan({hour(0): 1, hour(1): 4, cut: 2}, [hour(1), hour(2)], lower=T + 3 * H)
    plan.counted = {hour(0): 3, hour(1): 4, hour(2): 6, cut: 2}
    assert plan.baseline == {hour(0): 1, hour(1): 4, hour(2): 6}
    plan.done(hour(0))
    assert plan.baseline == {hour(1): 4, hour(2): 6}


def test_counts_round_trip_through_state_as_iso_intervals():
    counts = {hour(1): 4, Bucket(T, T + dt.timedelta(minutes=5, seconds=7)): 0}
    state = encode(counts)
    assert list(state) == [
        "2026-12-04T10:00:00+00:00/2026-12-04T10:05:07+00:00",
        "2026-12-04T11:00:00+00:00/2026-12-04T12:00:00+00:00",
    ]
    assert decode(state) == counts


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("3", "is not an object of counts"),
        ({"2026-12-04T10:00:00Z/2026-12-04T11:00:00Z": True}, "holds True"),
        ({"2026-12-04T10:00:00Z/2026-12-04T11:00:00Z": "3"}, "holds '3'"),
        ({"2026-12-04T10:00:00Z": 3}, "not '<start>/<end>'"),
        ({"2026-12-04T11:00:00Z/2026-12-04T10:00:00Z": 3}, "whose end is not after its start"),
    ],
)
def test_kept_counts_that_are_not_counts_are_refused_saying_why(value, problem):
    with pytest.raises(ValueError, match=problem):
        decode(value)


def test_labels_read_as_utc_hours():
    assert hour(0).label == "2026-12-04 10:00-11:00 UTC"
    assert Bucket(T + 13 * H, T + 14 * H).label == "2026-12-04 23:00-24:00 UTC"
    assert Bucket(T, T + dt.timedelta(minutes=5, seconds=7)).label == "2026-12-04 10:00-10:05:07 UTC"
