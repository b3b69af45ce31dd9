"""The concurrent page engine (tap_oracle_wms.engine): order, shutdown, errors, bounds, equal output."""

from __future__ import annotations

import threading
import time

import pytest
from tapruns import sync, tap_config

from tap_oracle_wms.lgfapi import throttle
from tap_oracle_wms.lgfapi.errors import RetriableError
from tap_oracle_wms.streams import EntityStream
from tap_oracle_wms.tap import TapOracleWMS

# Small pages, so the sandbox's ~50 inventory rows span many pages and key-range partitions.
PAGED = {"page_size": 5, "sequenced_ordering": "honoured"}


def inventory(sandbox, **overrides) -> EntityStream:
    tap = TapOracleWMS(config=tap_config(sandbox, "inventory", **PAGED, **overrides), validate_config=True)
    return tap.streams["inventory"]


def page_threads(wait: float = 5.0) -> list[threading.Thread]:
    """The engine's worker threads still alive after up to `wait` seconds (they end when idle)."""
    deadline = time.monotonic() + wait
    while True:
        alive = [t for t in threading.enumerate() if t.name.startswith("wms-pages")]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.02)


def one_page_at_a_time(stream: EntityStream) -> list[int]:
    """The listing read the plain way: first page, then each next_page link, one request at a time."""
    url, params, ids = stream.listing.url, stream.first_query(None), []
    while url is not None:
        page = stream.listing.fetch(url, params, None)
        ids += [row["id"] for row in page.rows]
        url, params = page.next_url, None
    return ids


def test_pages_come_out_in_order(sandbox):
    """Prefetched pages (and partitions) yield exactly the sequential listing, in its order."""
    stream = inventory(sandbox)
    sequential = one_page_at_a_time(stream)
    sandbox.clear_requests()
    prefetched = [row["id"] for row in stream.get_records(None)]
    assert prefetched == sequential
    assert any("mod_ts__lt" in r.query and "mod_ts__gte" in r.query for r in sandbox.requests), (
        "expected key-range partitions"
    )


def test_prefetch_stops_when_consumer_stops(sandbox):
    """Closing the record generator early ends every background fetcher."""
    stream = inventory(sandbox)
    records = iter(stream.get_records(None))
    next(records)
    records.close()  # what the SDK's loop does on a record limit or an exception
    assert page_threads() == []


def test_background_http_error_surfaces_in_sync_thread(sandbox):
    """A fetch that fails in a worker raises the same error where records are read."""
    stream = inventory(sandbox, max_retries=0)
    params = stream.first_query(None)  # the first page is read (and kept) here
    sandbox.configure(fault_rate=1.0, faults=("500",))
    with pytest.raises(RetriableError, match="HTTP 500"):
        list(stream.run.engine.pages(stream.listing, params))
    assert page_threads() == []


def test_concurrency_bound_is_respected(sandbox):
    """With concurrency 2, a tenant that answers 429 above 2 requests in flight never has to."""
    sandbox.configure(max_concurrency=2, latency_ms=20)
    config = tap_config(
        sandbox, "inventory", "order_dtl", "allocation", concurrency=2, describe_concurrency=2, **PAGED
    )
    out = sync(config)
    assert out.records("inventory")
    assert [r for r in sandbox.requests if r.status == 429] == []


def test_concurrent_sync_equals_sequential(sandbox):
    """Several streams fetched concurrently emit the same records, order and bookmarks as one at a time."""
    config = tap_config(sandbox, "inventory", "order_dtl", "allocation", "wave", **PAGED)
    concurrent = sync(config)
    sequential = sync({**config, "concurrency": 1, "page_size": 1250})  # one request at a time
    for name in ("inventory", "order_dtl", "allocation", "wave"):
        assert concurrent.records(name) == sequential.records(name)
        assert concurrent.bookmark(name) == sequential.bookmark(name)
    order = [m["stream"] for m in concurrent.messages if m["type"] == "RECORD"]
    assert order == sorted(order, key=order.index), "streams must not interleave"


def throttled_sync(sandbox) -> tuple[list, int]:
    """Concurrency 4 against a tenant that answers 429 above 2 requests in flight."""
    sandbox.configure(max_concurrency=2, latency_ms=20, retry_after_s=0)
    config = tap_config(
        sandbox, "inventory", "order_dtl", concurrency=4, describe_concurrency=2, max_retries=200, **PAGED
    )
    sandbox.clear_requests()
    out = sync(config)
    return out.records("order_dtl"), sum(1 for r in sandbox.requests if r.status == 429)


def test_throttled_server_lowers_requests_in_flight(sandbox, monkeypatch):
    """On 429 the requests in flight are lowered, so far fewer requests are refused than at a fixed 4."""
    adaptive_rows, adaptive = throttled_sync(sandbox)
    monkeypatch.setattr(throttle.Throttle, "lower", lambda self, epoch: None)
    fixed_rows, fixed = throttled_sync(sandbox)
    assert adaptive_rows == fixed_rows
    assert adaptive * 10 <= fixed, (adaptive, fixed)  # measured: ~4 vs ~240


def test_throttle_halves_once_per_burst_and_recovers_slowly():
    """One burst of 429s halves the limit once; it climbs back by one per calm spell, up to the setting."""
    limiter = throttle.Throttle(4)
    epochs = [limiter.acquire() for _ in range(4)]
    for epoch in epochs:
        limiter.release(epoch, throttled=True)
    assert limiter.limit == 2
    for _ in range(throttle.RAISE_AFTER):
        limiter.release(limiter.acquire(), throttled=False)
    assert limiter.limit == 3
    for _ in range(10):
        limiter.release(limiter.acquire(), throttled=True)
    assert limiter.limit == 1
    for _ in range(10 * throttle.RAISE_AFTER):
        limiter.release(limiter.acquire(), throttled=False)
    assert limiter.limit == 4
