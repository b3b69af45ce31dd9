"""`wms_row_counts`: what the source holds at run time, so a team can prove completeness in its own database.

For every other selected stream: the total row count, and the count per UTC day of mod_ts for
the last `row_count_days` days, under the same scope the data is read with (facility/company
codes, stream filters, start_date). Paged mode counts the rows (`result_count`) of a one-row page, so each
count is one request, sent through the run's throttle and the stream's own retries.

The drift check (drift.py) counts each incremental stream per UTC hour of mod_ts before the sync,
under the same scope; those counts are rows here too, at no extra request.
"""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar

import requests
from singer_sdk import Stream
from singer_sdk import typing as th
from typing_extensions import override

from tap_oracle_wms.inputs import REPLICATION_KEYS, aware
from tap_oracle_wms.lgfapi import query
from tap_oracle_wms.lgfapi.errors import ApiError, RunFatalError, reason
from tap_oracle_wms.lgfapi.wire import UTC, filter_timestamp

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

    from tap_oracle_wms.run import SyncRun
    from tap_oracle_wms.streams import EntityStream

NAME = "wms_row_counts"
# (stream, bucket name, mod_ts window start or None for the total, window end)
Bucket = tuple["EntityStream", str, dt.datetime | None, dt.datetime]
TOTAL = "total"
SCHEMA = th.PropertiesList(
    th.Property("entity", th.StringType, required=True, description="The counted stream (entity)."),
    th.Property(
        "bucket",
        th.StringType,
        required=True,
        description="'total', the UTC day (YYYY-MM-DD) of mod_ts the count covers, or the UTC hour "
        "(YYYY-MM-DDTHH:00Z) the drift check counted.",
    ),
    th.Property("day", th.DateType, description="The UTC day counted (an hour's day); null for the total."),
    th.Property("row_count", th.IntegerType, description="Rows the source holds in the bucket."),
    th.Property(
        "window_start",
        th.DateTimeType,
        description="mod_ts lower bound (inclusive); for the total: start_date - lookback_seconds, or null.",
    ),
    th.Property(
        "window_end",
        th.DateTimeType,
        description="mod_ts upper bound (exclusive): the day's or hour's end, or the run start for the "
        "current one.",
    ),
    th.Property("counted_at", th.DateTimeType, description="When the count was taken."),
    th.Property("filters", th.StringType, description="The scope filters applied, as JSON."),
).to_dict()


class RowCountStream(Stream):
    """Row counts per entity and UTC day of mod_ts: the source's side of a completeness check."""

    name = NAME
    primary_keys: ClassVar[list[str]] = ["entity", "bucket"]  # an upserting target keeps the latest
    replication_key = None
    selected_by_default = False

    def __init__(self, tap: Tap, run: SyncRun, streams: Callable[[], list[EntityStream]]) -> None:
        super().__init__(tap, schema=SCHEMA, name=NAME)
        self.run = run
        self.counted = streams

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        """Every count of every selected stream, computed concurrently, emitted in a stable order."""
        streams = self.counted()
        jobs = [job for stream in streams for job in self.buckets(stream)]
        self.run.progress.start(NAME, f"{len(jobs)} counts of {len({job[0].name for job in jobs})} streams")
        hourly = list(hourly_rows(streams))
        if (limit := self.ABORT_AT_RECORD_COUNT) is not None:  # --test: end cleanly after that many
            jobs, hourly = jobs[:limit], hourly[: max(0, limit - len(jobs))]
        concurrency = int(self.config["concurrency"])
        try:
            with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="wms-counts") as pool:
                for record in pool.map(lambda job: self.count(*job), jobs):
                    self.run.progress.page(NAME, 1)
                    yield record
            for record in hourly:
                self.run.progress.page(NAME, 1)
                yield record
        except RunFatalError:
            raise
        except (ApiError, requests.exceptions.RequestException) as exc:
            self.logger.error("Stream '%s' failed and is left for the next run: %s", NAME, reason(exc))
            self.run.fail(NAME, exc)
            return
        self.run.progress.end(NAME)
        self.run.complete([m.stream_alias for m in self.stream_maps])

    def buckets(
        self, stream: EntityStream
    ) -> list[tuple[EntityStream, str, dt.datetime | None, dt.datetime]]:
        """(stream, bucket, window start, window end) of a stream: its total, then each recent day."""
        end = self.run.started_at
        out: list[tuple[EntityStream, str, dt.datetime | None, dt.datetime]] = [(stream, TOTAL, None, end)]
        if stream.replication_key != "mod_ts":  # lookup tables: no mod_ts, the total only
            return out
        floor = self.floor(stream)
        today = end.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        for back in range(int(self.config["row_count_days"]) - 1, -1, -1):
            start = today - dt.timedelta(days=back)
            day_end = min(start + dt.timedelta(days=1), end)
            if floor is not None and day_end <= floor:
                continue  # before start_date: the load reads nothing there
            window_start = start if floor is None else max(start, floor)
            out.append((stream, start.date().isoformat(), window_start, day_end))
        return out

    def floor(self, stream: EntityStream) -> dt.datetime | None:
        """Where the first load of an incremental stream reads from: start_date less lookback_seconds.

        None without start_date (every row); query.bounds gives the load the same lower bound.
        """
        start_date = self.config.get("start_date")
        if not start_date or stream.replication_key not in REPLICATION_KEYS:
            return None
        return aware(start_date) - dt.timedelta(seconds=int(self.config["lookback_seconds"]))

    def count(
        self, stream: EntityStream, bucket: str, start: dt.datetime | None, end: dt.datetime
    ) -> dict[str, Any]:
        """One count: a one-row paged page of the stream's scoped query in the window."""
        params = query.scope(self.config, stream.name, stream.schema.get("properties", {}))
        floor = self.floor(stream)
        if start is not None:
            params = query.within(params, "mod_ts", start, end)
        elif floor is not None:  # the total, from start_date as the load reads
            params = {**params, f"{stream.replication_key}__gte": filter_timestamp(floor)}
        counted_at = dt.datetime.now(UTC)
        rows = stream.listing.total(params, tally_as=NAME)
        return row(stream, bucket, start, end, rows, counted_at, floor=floor)


def hourly_rows(streams: Iterable[EntityStream]) -> Iterator[dict[str, Any]]:
    """The drift check's counts per UTC hour of mod_ts (drift.py): taken before the sync, kept here too."""
    for stream in streams:
        plan = stream.drift_plan
        if plan.error is not None or plan.counted_at is None:
            continue
        for bucket in plan.window:
            name = f"{bucket.start.astimezone(UTC):%Y-%m-%dT%H}:00Z"
            yield row(stream, name, bucket.start, bucket.end, plan.counted[bucket], plan.counted_at)


def row(
    stream: EntityStream,
    bucket: str,
    start: dt.datetime | None,
    end: dt.datetime,
    rows: int,
    counted_at: dt.datetime,
    *,
    floor: dt.datetime | None = None,
) -> dict[str, Any]:
    """One record: a count of the stream's rows (with mod_ts in [start, end) when a window).

    `floor` is where a total starts (start_date less lookback_seconds), shown as its window_start.
    """
    filters = query.scope(stream.config, stream.name, stream.schema.get("properties", {}))
    return {
        "entity": stream.name,
        "bucket": bucket,
        "day": None if start is None else start.astimezone(UTC).date().isoformat(),
        "row_count": rows,
        "window_start": None if (lower := start or floor) is None else lower.isoformat(),
        "window_end": end.isoformat() if start is not None else None,
        "counted_at": counted_at.isoformat(),
        "filters": json.dumps(filters, sort_keys=True, default=str),
    }
