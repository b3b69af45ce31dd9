"""Concurrent page fetching: background threads fetch pages ahead, the sync thread emits in order.

The SDK's `request_records` sends a request only after every record of the previous page was
emitted, so a run spends (pages x latency) waiting. Here a `Prefetcher` shared by a tap run
keeps up to `concurrency` requests in flight: the next page of the stream being emitted, the
key-range partitions of a large stream, and the first pages of the streams that follow. The
sync thread still pulls pages strictly in order (stream after stream, partition after partition,
page after page), so Singer messages are never interleaved and a sequential run's order and
STATE are kept. Buffered rows are capped, so memory stays flat however large a table is.

Every request goes through the stream's own `request_decorator(_request)`, so `validate_response`
and every retry rule (429 Retry-After, 5xx, truncated JSON, OAuth refresh) apply unchanged. Each
attempt also takes a slot from a `Throttle`, which lowers the requests in flight when the server
answers 429 or 503, so a tenant's throttle is not hit again and again.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tap_oracle_wms import ranges
from tap_oracle_wms.throttle import PrefetchStoppedError, Throttle, send

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import requests
    from singer_sdk.helpers.types import Context

    from tap_oracle_wms.client import WMSStream

# Buffered rows: this many pages per request in flight.
BUFFER_PAGES = 4

_registry: dict[int, Prefetcher] = {}
_registry_lock = threading.Lock()


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
    key: str | None = None  # the key its listing may be split on


class Prefetcher:
    """Worker threads fetching the pages of queued streams ahead of the sync thread."""

    def __init__(self, concurrency: int, buffer_rows: int, upcoming: list[WMSStream] | None = None) -> None:
        self.concurrency = max(1, concurrency)
        self.buffer_rows = buffer_rows
        self.upcoming = list(upcoming or [])
        self.throttle = Throttle(self.concurrency)
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
        self.throttle.close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=30)

    def _queue_following(self, stream: WMSStream) -> None:
        """Queue the next `concurrency` streams the SDK will sync, so their first pages arrive early.

        Their first-page query needs the starting bookmark, which the SDK writes into state
        only when it reaches the stream; writing it now, in this thread and from the same
        state, gives the same value (the SDK's later write repeats it).
        """
        if stream not in self.upcoming:
            return
        index = self.upcoming.index(stream)
        for following in self.upcoming[index + 1 : index + 1 + self.concurrency]:
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
            if chain == "plan":
                self._plan(job)
            else:
                self._fetch(job, chain)

    def _next_task(self) -> tuple[_Job, _Chain | str] | None:
        """In sync order: a job to plan, or the first unstarted chain.

        Chains start strictly in sync order, so the chain being emitted has always been
        started before any later one could hold a worker: no deadlock on a full buffer.
        """
        if self._closed:
            return None
        full = False
        for job in self._jobs:
            if job.state == "new":
                job.state = "planning"
                return job, "plan"
            if job.state != "ready":
                return None  # planning, failed or cancelled: later jobs wait
            for index, chain in enumerate(job.chains):
                if full or chain.started:
                    continue
                is_current = job is self._jobs[0] and index == job.current
                if not is_current and self._buffered >= self.buffer_rows:
                    full = True
                    continue
                chain.started = True
                return job, chain
        return None

    def _plan(self, job: _Job) -> None:
        """One chain for the whole listing, and the key it may be split on."""
        try:
            key = ranges.split_key(job.stream, job.params)
        except BaseException as exc:  # e.g. the ordering probe failed: re-raised in the sync thread
            with self._cond:
                job.error, job.state = exc, "failed"
                self._cond.notify_all()
            return
        with self._cond:
            if job.state == "planning":
                job.chains, job.state, job.key = [_Chain(job.params, split=True)], "ready", key
            self._cond.notify_all()

    def sender(self, job: _Job) -> Callable[[str, dict[str, Any] | None], requests.Response]:
        """GET for the job's stream, through its retries and this run's throttle."""
        return lambda url, params: send(job.stream, url, params, job.context, self.throttle)

    def _fetch(self, job: _Job, chain: _Chain) -> None:
        stream = job.stream
        url: str | None = stream.get_url(job.context)
        params: dict[str, Any] | None = chain.params
        paginator = stream.get_new_paginator()
        stop: ranges.Split | None = None
        try:
            while url is not None:
                if not self._wait_for_room(job, chain):
                    return
                response = send(stream, url, params, job.context, self.throttle)
                rows = list(stream.parse_response(response))
                url = paginator.get_next_url(response) if rows else None
                if url is not None:
                    stream.check_same_origin(url)
                if stop is not None:
                    kept = [row for row in rows if stop.before(row)]
                    url = url if len(kept) == len(rows) else None
                    rows = kept
                first = chain.split and url is not None and params is not None
                params = None  # next_page links are followed verbatim
                with self._cond:
                    if job.state == "cancelled" or self._closed:
                        return
                    if rows:
                        chain.pages.append(rows)
                        self._buffered += len(rows)
                    self._cond.notify_all()
                if first:
                    stop = self._split(job, rows)
        except BaseException as exc:  # re-raised in the sync thread
            with self._cond:
                chain.error = exc
                self._cond.notify_all()
            return
        with self._cond:
            chain.done = True
            self._cond.notify_all()

    def _split(self, job: _Job, first_page: list[dict]) -> ranges.Split | None:
        """After a full first page: queue the rest of the stream as key ranges, if it pays.

        The first chain keeps following its links but ends at the first range's start. The
        count probe is sent only now, so one-page streams cost none.
        """
        if job.key is None:
            return None
        high = ranges.probe(self.sender(job), job.stream, job.context, job.params, f"-{job.key}")
        split = ranges.plan_split(job.stream, job.key, job.params, first_page, high)
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


# --- one prefetcher per tap run -----------------------------------------------------------


def start(run: object, concurrency: int, page_size: int, upcoming: list[WMSStream]) -> Prefetcher:
    """The run's prefetcher: `concurrency` requests in flight, ~concurrency partitions buffered."""
    prefetcher = Prefetcher(concurrency, concurrency * BUFFER_PAGES * page_size, upcoming)
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
        buffer_rows=int(stream.config["concurrency"]) * BUFFER_PAGES * int(stream.config["page_size"]),
    )
    try:
        yield from own.records(stream, context, params)
    finally:
        own.close()
