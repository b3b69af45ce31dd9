"""The drift check: rows changed with a `mod_ts` in hours the bookmark has already passed (issue 23).

A late commit, or an interface stamping an older `mod_ts` on an update, puts a changed row hours
behind the bookmark, where neither `lookback_seconds` nor the `create_ts` pass looks
(docs/lgfapi.md 2.9). So every incremental run keeps, in the stream's STATE, the row count of
each whole UTC hour of `mod_ts` in the `drift_window_hours` before its start (the last hour cut
at the start, as the listing is), and the next run counts the same hours again: an hour whose
count changed holds rows the bookmark went past, and is read again in full.

The counts are taken before any page of the stream is read, so a row that lands in an hour after
its count makes the next count differ. A changed hour keeps its old count in STATE until it has
been read again, so a run interrupted before that repeats the re-read. Pure: counts in, hours
out; the tap takes the counts before the sync (drift_check.py) and each stream reads its hours
again after its other passes (streams.py).
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dateutil.parser import isoparse

from tap_oracle_wms.lgfapi.query import within
from tap_oracle_wms.lgfapi.wire import UTC, filter_timestamp

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

# The key of the stream's bookmark object that holds the counts: {"<start>/<end>": rows, ...}.
KEY = "drift_counts"
HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True, order=True)
class Bucket:
    """A `mod_ts` window [start, end): a whole UTC hour, or the hour a run started in, cut there."""

    start: dt.datetime
    end: dt.datetime

    @property
    def key(self) -> str:
        """Its name in STATE: an ISO 8601 interval in whole seconds."""
        return f"{filter_timestamp(self.start)}/{filter_timestamp(self.end)}"

    @property
    def label(self) -> str:
        """How a person reads it: '2026-12-04 07:00-08:00 UTC'."""
        start, end = self.start.astimezone(UTC), self.end.astimezone(UTC)
        until = end.strftime("%H:%M:%S" if end.second else "%H:%M")
        if end.date() != start.date() and end != start.replace(hour=0, minute=0) + dt.timedelta(days=1):
            until = end.strftime("%Y-%m-%d ") + until
        elif end.time() == dt.time(0):
            until = "24:00"
        return f"{start:%Y-%m-%d %H:%M}-{until} UTC"


def window(started_at: dt.datetime, hours: int) -> list[Bucket]:
    """The buckets a run counts: `hours` whole UTC hours before its start's hour, and that hour cut."""
    if hours <= 0:
        return []
    end = started_at.astimezone(UTC).replace(microsecond=0)
    hour = end.replace(minute=0, second=0)
    out = [Bucket(hour - HOUR * back, hour - HOUR * (back - 1)) for back in range(hours, 0, -1)]
    return [*out, Bucket(hour, end)] if end > hour else out


def decode(value: Any) -> dict[Bucket, int]:
    """The counts kept in STATE; ValueError (saying what is wrong) when they are not counts."""
    if not isinstance(value, dict):
        raise ValueError(f"'{KEY}' is not an object of counts")
    out = {}
    for key, count in value.items():
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError(f"'{KEY}' holds {count!r} for {key!r}, not a row count")
        start, _, end = str(key).partition("/")
        try:
            bucket = Bucket(aware(start), aware(end))
        except (ValueError, OverflowError):
            raise ValueError(f"'{KEY}' has key {key!r}, not '<start>/<end>' in ISO 8601") from None
        if bucket.start >= bucket.end:
            raise ValueError(f"'{KEY}' has key {key!r}, whose end is not after its start")
        out[bucket] = count
    return out


def aware(text: str) -> dt.datetime:
    """One end of a kept bucket (naive means UTC, as in bookmarks)."""
    parsed = isoparse(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def encode(counts: Mapping[Bucket, int]) -> dict[str, int]:
    """The counts as STATE keeps them, oldest first."""
    return {bucket.key: counts[bucket] for bucket in sorted(counts)}


def contiguous(buckets: Iterable[Bucket]) -> list[Bucket]:
    """Adjacent or overlapping buckets joined, so that one listing reads each run of changed hours."""
    out: list[Bucket] = []
    for bucket in sorted(buckets):
        if out and bucket.start <= out[-1].end:
            out[-1] = Bucket(out[-1].start, max(out[-1].end, bucket.end))
        else:
            out.append(bucket)
    return out


def span(buckets: Iterable[Bucket]) -> Bucket:
    """The window from the earliest start to the latest end."""
    buckets = list(buckets)
    return Bucket(min(b.start for b in buckets), max(b.end for b in buckets))


def listing_is_cheaper(rows: int, page_size: int, buckets: int) -> bool:
    """Whether listing the mod_ts of `rows` rows takes fewer requests than one count per bucket."""
    return max(1, -(-rows // page_size)) < buckets


def tally(instants: Iterable[dt.datetime], buckets: Iterable[Bucket]) -> dict[Bucket, int]:
    """How many of the instants each bucket holds (what a count per bucket would have answered)."""
    ordered = sorted(instants)
    out = {}
    for bucket in buckets:
        out[bucket] = bisect.bisect_left(ordered, bucket.end) - bisect.bisect_left(ordered, bucket.start)
    return out


@dataclass
class Plan:
    """One stream's check for one run: the counts it found kept, those it took, what to read again.

    `lower` is where the run's listing starts (bookmark minus look-back; None: from the beginning):
    a bucket from there on is read by the listing anyway.
    """

    kept: dict[Bucket, int]
    window: list[Bucket]
    lower: dt.datetime | None
    counted: dict[Bucket, int] = field(default_factory=dict)
    counted_at: dt.datetime | None = None
    reread: set[Bucket] = field(default_factory=set)
    backdated: set[Any] = field(default_factory=set)  # ids the backdated pass emitted this run
    # Why the counts could not be taken: the stream is then not read (the next run checks again).
    error: BaseException | None = None

    @property
    def to_count(self) -> list[Bucket]:
        """Every bucket to count: the kept ones (to compare) and the window's (to keep)."""
        return sorted(set(self.kept) | set(self.window))

    @property
    def changed(self) -> list[Bucket]:
        """Kept buckets, before the listing's start, whose count is not the one kept."""
        if self.lower is None:
            return []
        lower = self.lower
        return [b for b in sorted(self.kept) if b.start < lower and self.counted[b] != self.kept[b]]

    @property
    def ranges(self) -> list[Bucket]:
        """The `mod_ts` windows to read again: the changed buckets, adjacent ones joined."""
        return contiguous(self.changed) if self.error is None else []

    def passes(self, first: dict[str, Any]) -> list[tuple[dict[str, Any], Bucket]]:
        """The listing's first query narrowed to each range of hours to read again.

        A range ends where the listing starts (`lower`): the listing reads the rest of the bookmark's
        own hour, and reading it twice would emit its rows twice. Raises the error that kept the
        counts from being taken: without them the stream is not read.
        """
        if self.error is not None:
            raise self.error
        lower = self.lower or dt.datetime.max.replace(tzinfo=dt.UTC)
        return [(within(first, "mod_ts", hours.start, min(hours.end, lower)), hours) for hours in self.ranges]

    @property
    def plan_text(self) -> str:
        """The hours to read again, for the stream's start line."""
        ranges = self.ranges
        return f", then hours whose counts changed ({', '.join(b.label for b in ranges)})" if ranges else ""

    def once(self, page: list[dict[str, Any]], backdated: bool, reread: bool) -> list[dict[str, Any]]:
        """A page without the rows the backdated pass emitted, when it is one of hours read again.

        A row created since the last run with an older `mod_ts` is in both, and would come twice.
        """
        if backdated and self.ranges:  # never on NONE, which every stream without a check shares
            self.backdated.update(row.get("id") for row in page)
        elif reread and self.backdated:
            return [row for row in page if row.get("id") not in self.backdated]
        return page

    def done(self, read: Bucket) -> None:
        """A range was read again in full: the buckets in it take their new counts (STATE: `baseline`)."""
        self.reread.update(b for b in self.changed if read.start <= b.start and b.end <= read.end)

    @property
    def baseline(self) -> dict[Bucket, int]:
        """What STATE keeps for the next run: the window's new counts.

        A changed bucket not read again yet keeps its old count, so that the next run reads it.
        """
        out = {bucket: self.counted[bucket] for bucket in self.window}
        out.update({b: self.kept[b] for b in self.changed if b not in self.reread})
        return out


# No check (drift_window_hours 0, or not an incremental mod_ts stream): nothing counted or read again.
NONE = Plan({}, [], None)
