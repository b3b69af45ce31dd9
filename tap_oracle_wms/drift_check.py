"""The drift check's counts (drift.py), taken for every selected stream before the sync reads a page.

A count taken after a page was read could miss a row landing in between, so the tap's prepare
step counts every stream's hours first, `concurrency` requests at a time through the run's
throttle. Each stream then reads its changed hours again after its other passes (streams.py).
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor, as_completed
from functools import partial
from typing import TYPE_CHECKING

import requests

from tap_oracle_wms import drift
from tap_oracle_wms.bookmarks import context_state, starting_bound, stream_state
from tap_oracle_wms.inputs import StateError
from tap_oracle_wms.lgfapi import query
from tap_oracle_wms.lgfapi.errors import ApiError, PageMissingError, RunFatalError
from tap_oracle_wms.lgfapi.wire import UTC

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from tap_oracle_wms.streams import EntityStream

Counts = dict[drift.Bucket, int]


def plan(stream: EntityStream) -> drift.Plan:
    """The stream's check for this run, from its STATE: the counts kept, the window, the listing's start.

    With drift_window_hours 0 there is none, and kept counts leave STATE. Kept counts that are
    not counts stop the run (exit 2), as a bad bookmark does.
    """
    hours = int(stream.config["drift_window_hours"])
    if hours == 0:
        stream_state(stream).pop(drift.KEY, None)
        return drift.NONE
    try:
        kept = drift.decode(context_state(stream, None).get(drift.KEY, {}))
    except ValueError as exc:
        raise StateError([f"state: stream '{stream.name}': {exc}; fix or remove it"]) from None
    start = starting_bound(stream, None)
    lower = None if start is None else start - dt.timedelta(seconds=int(stream.config["lookback_seconds"]))
    stream.drift_plan = drift.Plan(kept, drift.window(stream.run.started_at, hours), lower)
    return stream.drift_plan


def counted(stream: EntityStream) -> None:
    """The counts are in: STATE keeps them now (a changed hour keeps its old count until read)."""
    check = stream.drift_plan
    stream_state(stream)[drift.KEY] = drift.encode(check.baseline)
    ranges = check.ranges
    changed = "reading again " + ", ".join(b.label for b in ranges) if ranges else "no count changed"
    stream.logger.info("Stream '%s': drift check of %d hours; %s.", stream.name, len(check.window), changed)


def take_counts(streams: Sequence[EntityStream], concurrency: int) -> None:
    """Every bucket of every stream's plan counted; STATE keeps the counts (changed hours their old one).

    First one count of each plan's whole span; then, per stream whose span holds rows, whichever
    costs fewer requests: one count per bucket, or the mod_ts of every row in the span, tallied
    per bucket. A count
    that fails for good fails its stream (`plan.error`), not the others; a failure no stream
    gets past, or a signal, stops the counting at once.
    """
    plans = {s: s.drift_plan for s in streams if s.drift_plan.to_count}
    if not plans:
        return
    for each in plans.values():
        each.counted_at = dt.datetime.now(UTC)
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="wms-drift")
    try:
        spans = {s: drift.span(each.to_count) for s, each in plans.items()}
        totals = run_jobs(pool, plans, [(s, partial(count, s, spans[s])) for s in plans])
        jobs: list[tuple[EntityStream, Callable[[], Counts]]] = []
        for stream, (total,) in totals.items():
            buckets = plans[stream].to_count
            if total[spans[stream]] == 0:  # no row in the span, so none in any of its hours
                plans[stream].counted.update(dict.fromkeys(buckets, 0))
            elif drift.listing_is_cheaper(
                total[spans[stream]], int(stream.config["page_size"]), len(buckets)
            ):
                jobs.append((stream, partial(tally, stream, spans[stream])))
            else:
                jobs += [(stream, partial(count, stream, bucket)) for bucket in buckets]
        for stream, parts in run_jobs(pool, plans, jobs).items():
            for part in parts:
                plans[stream].counted.update(part)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        next(iter(plans)).run.close()  # requests waiting for a slot end now; those on the wire finish
        raise
    finally:
        pool.shutdown(wait=True)
    for stream, checked in plans.items():
        if checked.error is None:
            counted(stream)


def scoped(stream: EntityStream, bucket: drift.Bucket) -> dict[str, object]:
    """The stream's scope (facility/company codes, stream_filters) with mod_ts in the bucket."""
    scope = query.scope(stream.config, stream.name, stream.schema.get("properties", {}))
    return query.within(scope, "mod_ts", bucket.start, bucket.end)


def count(stream: EntityStream, bucket: drift.Bucket) -> Counts:
    """One count request: the stream's rows in the bucket."""
    return {bucket: stream.listing.total(scoped(stream, bucket))}


def tally(stream: EntityStream, span: drift.Bucket) -> Counts:
    """Every bucket's count from the mod_ts of the span's rows; one count per bucket if a page is lost."""
    buckets = stream.drift_plan.to_count
    try:
        values = stream.listing.mod_ts_values(scoped(stream, span))
    except PageMissingError:
        return {bucket: n for b in buckets for bucket, n in count(stream, b).items()}
    return drift.tally(values, buckets)


def run_jobs(
    pool: ThreadPoolExecutor,
    plans: dict[EntityStream, drift.Plan],
    jobs: Sequence[tuple[EntityStream, Callable[[], Counts]]],
) -> dict[EntityStream, list[Counts]]:
    """Each job's answer, per stream; a stream with a failed job gets none (its plan's `error` says why)."""
    futures = {pool.submit(job): stream for stream, job in jobs if plans[stream].error is None}
    answers: dict[EntityStream, list[Counts]] = {}
    for future in as_completed(futures):
        stream = futures[future]
        if future.cancelled():
            continue
        try:
            answers.setdefault(stream, []).append(future.result())
        except RunFatalError:
            raise
        except (ApiError, requests.exceptions.RequestException) as exc:
            plans[stream].error = plans[stream].error or exc
            for other, owner in futures.items():
                if owner is stream:
                    other.cancel()
    return {stream: parts for stream, parts in answers.items() if plans[stream].error is None}
