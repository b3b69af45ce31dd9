"""Concurrent page fetching: background threads fetch pages ahead, the sync thread emits in order.

The SDK's `request_records` sends a request only after every record of the previous page was
emitted, so a run spends (pages x latency) waiting. Here a `Prefetcher` shared by a tap run
keeps up to `concurrency` requests in flight: the next page of the stream being emitted, the
key-range partitions of a large stream, and the first pages of the streams that follow. The
sync thread still pulls pages strictly in order (stream after stream, partition after partition,
page after page), so Singer messages are never interleaved and a sequential run's order and
STATE are kept. Buffered rows are capped, so memory stays flat however large a table is.

Every request goes through the stream's own `request_decorator(_request)`, so `validate_response`
and every retry rule (429 Retry-After, 5xx, truncated JSON, OAuth refresh) apply unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tap_oracle_wms.client import api_timestamp

if TYPE_CHECKING:
    from collections.abc import Iterator

    import requests
    from singer_sdk.helpers.types import Context

    from tap_oracle_wms.client import WMSStream

logger = logging.getLogger("tap-oracle-wms")

# A partition aims at this many pages: few enough that the partitions after the one being
# emitted fit in the row budget, enough that short last pages cost little.
PAGES_PER_PARTITION = 4
MAX_PARTITIONS = 256
LOOKAHEAD_STREAMS = 2
UTC = dt.timezone.utc
_registry: dict[int, Prefetcher] = {}
_registry_lock = threading.Lock()


class PrefetchStoppedError(Exception):
    """The prefetcher was closed while a sync thread still waited on it."""


@dataclass
class _Chain:
    """One sequence of next_page-linked pages: a whole stream, or one key range of it."""

    params: dict[str, Any]
    pages: deque[list[dict]] = field(default_factory=deque)
    split: bool = False  # the first chain: may split off the rest of the stream into ranges
    started: bool = False
    done: bool = False
    error: BaseException | None = None


@dataclass
class _Job:
    """One stream (and context) to read: planned into chains, then read chain by chain."""

    stream: WMSStream
    context: Context | None
    params: dict[str, Any]
    state: str = "new"  # new | planning | ready | failed | cancelled
    chains: list[_Chain] = field(default_factory=list)
    error: BaseException | None = None
    current: int = 0  # index of the chain being emitted


class Prefetcher:
    """Worker threads fetching the pages of queued streams ahead of the sync thread."""

    def __init__(self, concurrency: int, buffer_rows: int, upcoming: list[WMSStream] | None = None) -> None:
        self.concurrency = max(1, concurrency)
        self.buffer_rows = buffer_rows
        self.upcoming = list(upcoming or [])
        self._cond = threading.Condition()
        self._jobs: deque[_Job] = deque()
        self._buffered = 0
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"wms-pages-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        for thread in self._threads:
            thread.start()

    # --- sync thread ----------------------------------------------------------------------

    def enqueue(self, stream: WMSStream, context: Context | None, params: dict[str, Any]) -> None:
        """Queue a stream to read later; its pages are fetched while earlier streams emit."""
        with self._cond:
            self._jobs.append(_Job(stream, context, params))
            self._cond.notify_all()

    def records(self, stream: WMSStream, context: Context | None, params: dict[str, Any]) -> Iterator[dict]:
        """The stream's rows in order; queued jobs before it are dropped (the SDK skipped them)."""
        job = self._take(stream, context, params)
        self._queue_following(stream)
        finished = False
        try:
            with stream.get_http_request_counter() as counter:
                counter.with_context(context)
                for chain in self._chains_of(job):
                    while True:
                        page = self._next_page(job, chain)
                        if page is None:
                            break
                        counter.increment()
                        yield from page
            finished = True
        finally:
            with self._cond:
                if not finished:
                    job.state = "cancelled"
                    self._buffered -= sum(len(p) for c in job.chains for p in c.pages)
                    for chain in job.chains:
                        chain.pages.clear()
                if self._jobs and self._jobs[0] is job:
                    self._jobs.popleft()
                self._cond.notify_all()

    def close(self) -> None:
        """Stop every worker promptly: no new request starts, blocked workers wake and exit."""
        with self._cond:
            self._closed = True
            for job in self._jobs:
                job.state = "cancelled"
            self._jobs.clear()
            self._cond.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=30)

    def _queue_following(self, stream: WMSStream) -> None:
        """Queue the streams the SDK will sync next, so their first pages arrive early.

        Their first-page query needs the starting bookmark, which the SDK writes into state
        only when it reaches the stream; writing it now, in this thread and from the same
        state, gives the same value (the SDK's later write repeats it).
        """
        if stream not in self.upcoming:
            return
        index = self.upcoming.index(stream)
        for following in self.upcoming[index + 1 : index + 1 + LOOKAHEAD_STREAMS]:
            with self._cond:
                if any(job.stream is following for job in self._jobs):
                    continue
            following._write_starting_replication_value(None)
            self.enqueue(following, None, following.get_url_params(None, None))

    def _take(self, stream: WMSStream, context: Context | None, params: dict[str, Any]) -> _Job:
        with self._cond:
            while self._jobs and not (self._jobs[0].stream is stream and self._jobs[0].context == context):
                dropped = self._jobs.popleft()
                dropped.state = "cancelled"
                self._buffered -= sum(len(p) for c in dropped.chains for p in c.pages)
            if not self._jobs:
                self._jobs.append(_Job(stream, context, params))
            self._cond.notify_all()
            return self._jobs[0]

    def _chains_of(self, job: _Job) -> Iterator[_Chain]:
        with self._cond:
            while job.state in {"new", "planning"} and not self._closed:
                self._cond.wait()
            if job.error is not None:
                raise job.error
            if self._closed:
                raise PrefetchStoppedError
        index = 0
        while True:
            with self._cond:
                if index >= len(job.chains):
                    return
                job.current, chain = index, job.chains[index]
                self._cond.notify_all()
            yield chain
            index += 1

    def _next_page(self, job: _Job, chain: _Chain) -> list[dict] | None:
        with self._cond:
            while not chain.pages and not chain.done and chain.error is None and not self._closed:
                self._cond.wait()
            if chain.pages:
                page = chain.pages.popleft()
                self._buffered -= len(page)
                self._cond.notify_all()
                return page
            if chain.error is not None:
                raise chain.error
            if self._closed and not chain.done:
                raise PrefetchStoppedError
            return None

    # --- workers --------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                task = self._next_task()
                while task is None:
                    if self._closed:
                        return
                    self._cond.wait()
                    task = self._next_task()
            job, chain = task
            if chain is None:
                self._plan(job)
            else:
                self._fetch(job, chain)

    def _next_task(self) -> tuple[_Job, _Chain | None] | None:
        """The first job needing a plan, or its first unstarted chain, in sync order.

        Chains start strictly in sync order, so the chain being emitted has always been
        started before any later one could hold a worker: no deadlock on a full buffer.
        """
        if self._closed:
            return None
        for job in self._jobs:
            if job.state == "new":
                job.state = "planning"
                return job, None
            if job.state != "ready":
                return None  # planning, failed or cancelled: later jobs wait
            for index, chain in enumerate(job.chains):
                if chain.started:
                    continue
                is_current = job is self._jobs[0] and index == job.current
                if not is_current and self._buffered >= self.buffer_rows:
                    return None
                chain.started = True
                return job, chain
        return None

    def _plan(self, job: _Job) -> None:
        with self._cond:
            if job.state == "planning":
                job.chains, job.state = [_Chain(job.params, split=True)], "ready"
            self._cond.notify_all()

    def _fetch(self, job: _Job, chain: _Chain) -> None:
        stream = job.stream
        url: str | None = stream.get_url(job.context)
        params: dict[str, Any] | None = chain.params
        paginator = stream.get_new_paginator()
        stop: Split | None = None
        try:
            while url is not None:
                if not self._wait_for_room(job, chain):
                    return
                response = send(stream, url, params, job.context)
                rows = list(stream.parse_response(response))
                url = paginator.get_next_url(response) if rows else None
                if url is not None:
                    stream.check_same_origin(url)
                if stop is not None:
                    kept = [row for row in rows if stop.before(row)]
                    url = url if len(kept) == len(rows) else None
                    rows = kept
                elif chain.split and url is not None and params is not None:
                    stop = self._split(job, rows)
                params = None  # next_page links are followed verbatim
                with self._cond:
                    if job.state == "cancelled" or self._closed:
                        return
                    if rows:
                        chain.pages.append(rows)
                        self._buffered += len(rows)
                    self._cond.notify_all()
        except BaseException as exc:  # re-raised in the sync thread
            with self._cond:
                chain.error = exc
                self._cond.notify_all()
            return
        with self._cond:
            chain.done = True
            self._cond.notify_all()

    def _split(self, job: _Job, first_page: list[dict]) -> Split | None:
        """After a full first page: queue the rest of the stream as key ranges, if it pays.

        The first chain keeps following its links but ends at the first range's start.
        """
        split = plan_split(job.stream, job.context, job.params, first_page)
        if split is None:
            return None
        with self._cond:
            if job.state != "cancelled":
                job.chains.extend(_Chain(p) for p in split.later)
            self._cond.notify_all()
        return split

    def _wait_for_room(self, job: _Job, chain: _Chain) -> bool:
        """Block while the row budget is spent, unless this chain is the one being emitted."""
        with self._cond:
            while True:
                if job.state == "cancelled" or self._closed:
                    return False
                current = bool(self._jobs) and self._jobs[0] is job and job.chains[job.current] is chain
                if current or self._buffered < self.buffer_rows:
                    return True
                self._cond.wait()


def send(
    stream: WMSStream, url: str, params: dict[str, Any] | None, context: Context | None
) -> requests.Response:
    """One GET with the stream's auth, validation and retries (the SDK's decorated `_request`)."""
    request = stream.build_prepared_request(method="GET", url=url, params=params, headers=stream.http_headers)
    return stream.request_decorator(stream._request)(request, context)  # the SDK's own retry path


# --- partitions -------------------------------------------------------------------------


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


def plan_split(
    stream: WMSStream, context: Context | None, params: dict[str, Any], first_page: list[dict]
) -> Split | None:
    """Ranges of the first `ordering` key (id, or mod_ts when incremental) after the first page.

    Read one after the other, the ranges give the same order as one sequential listing, so
    bookmarks stay resumable. One paged-mode probe (page_size 1, descending) gives the row
    count and the highest key. Only when the server is known to honour `ordering`, and no user
    filter constrains the key; small remainders stay one listing.
    """
    key = str(params.get("ordering", "")).split(",")[0]
    if key not in {"id", stream.replication_key} or not first_page or not stream.ordering_honoured():
        return None
    user_filters = stream.config.get("stream_filters", {}).get(stream.name, {})
    if any(name == key or name.startswith(f"{key}__") for name in user_filters):
        return None
    high = probe(stream, context, params, f"-{key}")
    if high is None:
        return None
    count, last = high
    page_size = int(params["page_size"])
    parts = min(MAX_PARTITIONS, math.ceil((count - len(first_page)) / (page_size * PAGES_PER_PARTITION)))
    if parts < 2:  # one range is the plain listing
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
    stream: WMSStream, context: Context | None, params: dict[str, Any], ordering: str
) -> tuple[int, Any] | None:
    """(row count, first key value) of the stream's query in `ordering`; None when empty."""
    key = ordering.lstrip("-")
    query = {
        **params,
        "page_mode": "paged",
        "page_size": 1,
        "ordering": ordering,
        "fields": ",".join(dict.fromkeys(["id", key])),
    }
    response = send(stream, stream.get_url(context), query, context)
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


# --- one prefetcher per tap run -----------------------------------------------------------


def start(run: object, concurrency: int, page_size: int, upcoming: list[WMSStream]) -> Prefetcher:
    """The run's prefetcher: `concurrency` requests in flight, ~concurrency partitions buffered."""
    prefetcher = Prefetcher(concurrency, concurrency * PAGES_PER_PARTITION * page_size, upcoming)
    with _registry_lock:
        _registry[id(run)] = prefetcher
    return prefetcher


def stop(run: object) -> None:
    """Close and forget the run's prefetcher."""
    with _registry_lock:
        prefetcher = _registry.pop(id(run), None)
    if prefetcher is not None:
        prefetcher.close()


def stream_records(stream: WMSStream, context: Context | None, params: dict[str, Any]) -> Iterator[dict]:
    """Rows of one stream through the run's prefetcher, or a private one when none is running."""
    with _registry_lock:
        prefetcher = _registry.get(id(stream.run))
    if prefetcher is not None:
        yield from prefetcher.records(stream, context, params)
        return
    own = Prefetcher(
        int(stream.config["concurrency"]),
        buffer_rows=int(stream.config["concurrency"]) * PAGES_PER_PARTITION * int(stream.config["page_size"]),
    )
    try:
        yield from own.records(stream, context, params)
    finally:
        own.close()
