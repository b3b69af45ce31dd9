"""The concurrent page engine: background threads fetch pages ahead, the sync thread emits in order.

The SDK's `request_records` sends a request only after every record of the previous page was
emitted, so a run spends (pages x latency) waiting. The `Engine` of a tap run (owned by its
`SyncRun`) keeps up to `concurrency` requests in flight: the next page of the listing being
emitted, the key-range partitions of a large listing, and the first pages of the streams that
follow. The sync thread still takes pages strictly in order (stream after stream, partition
after partition, page after page), so Singer messages never interleave and a sequential run's
order and STATE are kept. Buffered rows are capped, so memory stays flat however large a table is.

Pages come from the lgfapi client's `Listing` (its retries, validation and paging rules); each
attempt takes a slot from the engine's `Throttle`, which lowers the requests in flight when the
server answers 429 or 503. The run's prepare step tells the engine the listings in sync order
(`prepare`); workers start with the first listing and end when no listing is left, so no thread
outlives a run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from tap_oracle_wms.engine import ranges
from tap_oracle_wms.engine.work import Chain, Job, drop_repeats, plan_chains
from tap_oracle_wms.lgfapi.errors import PageMissingError, redacted_query
from tap_oracle_wms.lgfapi.loops import LinkLoopError, LoopGuard
from tap_oracle_wms.lgfapi.throttle import EngineStoppedError, Throttle

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from tap_oracle_wms.lgfapi.paging import Listing


logger = logging.getLogger("tap-oracle-wms")

# Buffered rows: this many pages of the API's largest (MAX_PAGE_SIZE rows) per request in flight.
BUFFER_PAGES = 4
# Longest wait, in all, for workers to end when the engine closes (a worker mid-request may
# hold its socket for request_timeout; it dies with the process, holding no output).
SHUTDOWN_WAIT_SECONDS = 5.0
# A listing whose later page is lost resumes from its last row; this many times at one row.
MAX_RESUMES = 3


class Engine:
    """Worker threads fetching the pages of queued listings ahead of the sync thread."""

    def __init__(self, concurrency: int, buffer_rows: int) -> None:
        self.concurrency = max(1, concurrency)
        self.buffer_rows = buffer_rows
        self.throttle = Throttle(self.concurrency)
        self._order: list[Listing] = []
        self._bases: dict[int, dict[str, Any]] = {}  # id(listing) -> its first page's unordered query
        self._cond = threading.Condition()
        self._jobs: deque[Job] = deque()
        self._buffered = 0
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._workers = 0  # workers not yet returned; counted under the lock
        self._idle = 0  # workers waiting for a task
        self._handoff: deque[tuple[Job, Chain]] = deque()  # split-off chains, each for an idle worker

    # --- sync thread ----------------------------------------------------------------------

    def prepare(self, upcoming: Sequence[tuple[Listing, dict[str, Any]]]) -> None:
        """The listings the sync will read, in order, each with its first page's unordered query.

        Planning of the first `concurrency` + 1 starts now; later ones start as the sync reaches
        the listings before them (`pages`).
        """
        self._order = [listing for listing, _ in upcoming]
        self._bases = {id(listing): base for listing, base in upcoming}
        if self._order:
            self.queue_from(self._order[0])

    def pages(
        self, listing: Listing, params: dict[str, Any], partition: Mapping[str, Any] | None = None
    ) -> Iterator[list[dict]]:
        """The listing's pages in order; jobs queued before it are dropped (the SDK skipped them).

        If the consumer stops early (an error, a record limit), every queued listing is
        dropped too and the workers end: the next listing asked for starts afresh.
        """
        job = self._take(listing, partition, params)
        self.queue_from(listing)
        finished = False
        doubtful: list[dict[str, Any]] = []  # rows ending a range that the next may hold again
        try:
            for chain in self._chains_of(job):
                while (page := self._next_page(chain)) is not None:
                    if page := drop_repeats(page, doubtful):
                        yield page
                doubtful.extend(chain.trailing)
            finished = True
        finally:
            with self._cond:
                if finished:
                    if self._jobs and self._jobs[0] is job:
                        self._jobs.popleft()
                else:
                    self._drop(list(self._jobs))
                    self._jobs.clear()
                self._cond.notify_all()

    def close(self) -> None:
        """Stop every worker promptly: no new request starts, blocked workers wake and exit."""
        with self._cond:
            self._closed = True
            self._drop(list(self._jobs))
            self._jobs.clear()
            self._cond.notify_all()
        self.throttle.close()
        # Workers stuck in a request end with it (daemon threads): wait a bounded time in all.
        deadline = time.monotonic() + SHUTDOWN_WAIT_SECONDS
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _drop(self, jobs: list[Job]) -> None:
        """Cancel jobs and forget their buffered rows (caller holds the lock)."""
        for job in jobs:
            job.state = "cancelled"
            self._buffered -= sum(len(p) for c in job.chains for p in c.pages)
            for chain in job.chains:
                chain.pages.clear()

    def queue_from(self, listing: Listing) -> None:
        """Plan `listing` and the `concurrency` listings after it now, before the sync reaches them.

        Planning (the first page, the row count, the key ranges) is a chain of round trips;
        done ahead, it keeps every request slot busy when a stream's last pages are in flight.
        """
        if listing not in self._order:
            return
        index = self._order.index(listing)
        for following in self._order[index : index + 1 + self.concurrency]:
            with self._cond:
                if self._closed or any(job.listing is following for job in self._jobs):
                    continue
                self._jobs.append(Job(following, None, None, self._bases[id(following)]))
                self._start_workers()
                self._cond.notify_all()

    def _take(self, listing: Listing, partition: Mapping[str, Any] | None, params: dict[str, Any]) -> Job:
        """The job for this listing: the one queued ahead if it asked the same query, else a new one.

        Jobs of listings the SDK has passed (it skipped them) are dropped; jobs of listings still
        to come stay queued behind this one (a stream's second pass, or a partition, comes first).
        """
        with self._cond:
            if self._closed:
                raise EngineStoppedError
            while self._jobs and self._passed(self._jobs[0].listing, listing):
                self._drop([self._jobs.popleft()])
            head = self._jobs[0] if self._jobs else None
            if head is not None and head.listing is listing and head.partition == partition:
                while head.params is None and head.state in {"new", "planning"} and not self._closed:
                    self._cond.wait()
                if head.params != params and head.state != "failed":
                    self._drop([self._jobs.popleft()])
                    head = None
            else:
                head = None
            if head is None:
                self._jobs.appendleft(Job(listing, partition, params))
            self._start_workers()
            self._cond.notify_all()
            return self._jobs[0]

    def _passed(self, queued: Listing, current: Listing) -> bool:
        """Whether the sync has gone past `queued` to reach `current` (so it skipped it)."""
        order = self._order
        if queued is current or queued not in order or current not in order:
            return False
        return order.index(queued) < order.index(current)

    def _start_workers(self) -> None:
        """Top the workers up to `concurrency` (caller holds the lock)."""
        self._threads = [t for t in self._threads if t.is_alive()]
        for _ in range(self.concurrency - self._workers):
            self._workers += 1
            thread = threading.Thread(target=self._work, name="wms-pages", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _chains_of(self, job: Job) -> Iterator[Chain]:
        with self._cond:
            while job.state in {"new", "planning"} and not self._closed:
                self._cond.wait()
            if job.error is not None:
                raise job.error
            if self._closed:
                raise EngineStoppedError
        index = 0
        while True:
            with self._cond:
                if index >= len(job.chains):
                    return
                job.current, chain = index, job.chains[index]
                self._cond.notify_all()
            yield chain
            index += 1

    def _next_page(self, chain: Chain) -> list[dict] | None:
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
                raise EngineStoppedError
            return None

    # --- workers --------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                task = self._next_task()
                while task is None:
                    if self._closed or not self._jobs:
                        self._workers -= 1
                        return  # nothing left to read: the worker ends with the listings
                    self._idle += 1
                    try:
                        self._cond.wait()
                    finally:
                        self._idle -= 1
                    task = self._next_task()
            job, chain = task
            if chain is None:
                self._plan(job)
            else:
                self._fetch(job, chain)

    def _next_task(self) -> tuple[Job, Chain | None] | None:
        """Split-off chains, then planning (any queued listing, in order), then the first unstarted chain.

        Planning is a few requests that unblock a whole listing's ranges, so it never waits
        behind chains. Chains start strictly in sync order, so the chain being emitted has always
        been started before any later one could hold a worker: no deadlock on a full buffer. A
        chain split off a running one is started when it is made (`_rebalance`), which keeps
        that order, and handed to a worker that was idle.
        """
        if self._closed:
            return None
        while self._handoff:
            job, chain = self._handoff.popleft()
            if job.state == "ready":
                return job, chain
        for job in self._jobs:
            if job.state == "new":
                job.state = "planning"
                return job, None
        full = False
        for job in self._jobs:
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

    def _plan(self, job: Job) -> None:
        """The listing's first query, and its chains: one (always at concurrency 1), or key ranges."""
        try:
            listing = job.listing
            params = job.params if job.params is not None else listing.ordered(job.base or {})
            chains, end = [Chain(params)], None
            key = listing.split_key(params) if self.concurrency > 1 else None  # 1: ranges cannot overlap
            if key is not None:
                chains, end = plan_chains(listing, params, key, self.concurrency, self.buffer_rows)
        except BaseException as exc:  # e.g. the ordering probe failed: re-raised in the sync thread
            with self._cond:
                job.error, job.state = exc, "failed"
                self._cond.notify_all()
            return
        with self._cond:
            if job.state == "planning":
                job.params, job.chains, job.state, job.key, job.end = params, chains, "ready", key, end
            self._cond.notify_all()

    def _fetch(self, job: Job, chain: Chain) -> None:
        try:
            self._read_chain(job, chain)
        except BaseException as exc:  # re-raised in the sync thread
            with self._cond:
                chain.error = exc
                self._cond.notify_all()
            return
        with self._cond:
            chain.done = True
            self._cond.notify_all()

    def _read_chain(self, job: Job, chain: Chain) -> None:
        """Follow the chain's links; after a lost page resume from the last row; never loop."""
        listing = job.listing
        url: str | None = listing.url
        params: dict[str, Any] | None = chain.params
        visited: set[str] = set()
        last_row: dict[str, Any] | None = None  # the last row to emit: a lost page resumes after it
        keep: Callable[[dict[str, Any]], bool] | None = None
        seen = lost_at = None  # the last row of the last page read; where the last page was lost
        retries = 0
        guard = LoopGuard(listing.entity)
        while url is not None:
            if not self._wait_for_room(job, chain):
                return
            if params is None and url in visited:
                msg = (
                    f"Stream '{listing.entity}': the server's next_page link points back to a page already "
                    f"read (GET {redacted_query(url)}); stopping instead of looping."
                )
                raise LinkLoopError(msg)
            try:
                page = listing.fetch(url, params)
            except PageMissingError:
                # A page lost again and again at the same place is a real failure, not a blip.
                retries, lost_at = (retries + 1 if seen == lost_at else 0), seen
                resume = listing.resume(chain.params, last_row) if last_row is not None else None
                if resume is None or retries >= MAX_RESUMES:
                    raise
                url, params, keep = listing.url, resume.params, resume.keep
                visited.clear()  # a new listing: resumed at the same second, its links repeat the lost one's
                guard.resumed()
                continue
            if params is None:
                visited.add(url)
            rows, url, seen = page.rows, page.next_url, page.rows[-1] if page.rows else seen
            if keep is not None:  # a resumed listing: rows before the last one read are not new
                rows = [row for row in rows if keep(row)]
            last_row = rows[-1] if rows else last_row  # where a lost page resumes: never back
            rows = rows if guard.check(page.rows, rows, url) else []  # all served before: emitted already
            if chain.range is not None:
                # Rows come in key order: from the first row past the range on, all are the next range's.
                cut = next((i for i, row in enumerate(rows) if chain.range.past(row)), None)
                if cut is not None:
                    rows, url = rows[:cut], None
            params = None  # later pages follow the server's links
            with self._cond:
                if job.state == "cancelled" or self._closed:
                    return
                if rows:
                    chain.pages.append(rows)
                    self._buffered += len(rows)
                    chain.note(rows)
                if rows and url is not None and len(page.rows) >= listing.page_size:
                    self._rebalance(job, chain, listing)
                self._cond.notify_all()

    def _rebalance(self, job: Job, chain: Chain, listing: Listing) -> None:
        """A range still long after a full page, while workers idle: split its remainder among them.

        The chain keeps its rows up to a new bound after its last key; each new range (inserted
        right after it, so pages are still emitted in key order) goes to an idle worker now.
        Caller holds the lock.
        """
        idle = self._idle - len(self._handoff)
        if chain.range is None or idle < 1 or self._buffered >= self.buffer_rows or job.state != "ready":
            return
        end = chain.range.high if chain.range.high is not None else job.end
        room = ranges.MAX_PARTITIONS + 1 - len(job.chains)
        head, *rest = ranges.rebalance(chain.range, chain.keys, end, min(idle + 1, room))
        if not rest:
            return
        chain.range = head
        index = job.chains.index(chain)
        split_off = [Chain(r.query(chain.params), range=r, started=True) for r in rest]
        job.chains[index + 1 : index + 1] = split_off
        self._handoff.extend((job, c) for c in split_off)
        logger.debug(
            "Stream '%s': keys after %s read as %d more ranges.", listing.entity, chain.keys[1], len(rest)
        )

    def _wait_for_room(self, job: Job, chain: Chain) -> bool:
        """Block while the row budget is spent, unless this chain is the one being emitted."""
        with self._cond:
            while True:
                if job.state == "cancelled" or self._closed:
                    return False
                current = bool(self._jobs) and self._jobs[0] is job and job.chains[job.current] is chain
                if current or self._buffered < self.buffer_rows:
                    return True
                self._cond.wait()
