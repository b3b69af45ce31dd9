"""What is retried, how long the tap waits (Retry-After, max_wait_seconds), deadlines, when it gives up."""

from __future__ import annotations

import time

import pytest
from tapruns import assert_nothing_lost, discover, page_requests, sync, tap_config

from tap_oracle_wms.lgfapi.wire import retry_after
from tap_oracle_wms.run import StreamsFailedError

# A fatal failure, whichever side reports it: the client (the run stops) or the run (streams failed).


def list_requests(sandbox, entity: str):
    return page_requests(sandbox, entity)


# --- retries --------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["500", "503", "429", "409", "drop", "truncate"])
def test_transient_fault_is_retried_and_the_sync_completes(sandbox, waits, fault):
    """Each transient fault on every other request: the run retries and still delivers all rows."""
    sandbox.configure(fault_rate=0.5, faults=[fault], retry_after_s=0.01)
    out = sync(tap_config(sandbox, "location", page_size=25, max_retries=20))
    assert len(out.records("location")) == len(sandbox.truth("location"))
    assert waits


def test_retry_after_is_honoured(sandbox, waits):
    """429 with Retry-After: the wait is at least what the server asked for."""
    sandbox.configure(fault_rate=0.5, faults=["429"], retry_after_s=7)
    sync(tap_config(sandbox, "wave", max_retries=20))
    assert waits
    assert min(waits) >= 7


def test_waits_grow_exponentially_without_retry_after(sandbox, waits):
    """Without Retry-After, consecutive waits double."""
    from tapruns import discover

    config = tap_config(sandbox, "wave", max_retries=3, sequenced_ordering="honoured", concurrency=1)
    catalog = discover(config)
    sandbox.configure(entity_faults=("wave:500",))
    with pytest.raises(StreamsFailedError, match="HTTP 500"):
        sync(config, catalog=catalog)
    assert len(waits) >= 3
    assert waits[1] >= 1.9 * waits[0] * 0.9
    assert waits[2] >= 1.9 * waits[1] * 0.9


def test_gives_up_after_max_retries(sandbox, waits):
    """A fault that never clears fails the stream after max_retries retries, with the status."""
    from tapruns import discover

    config = tap_config(sandbox, "wave", max_retries=2, sequenced_ordering="honoured")
    catalog = discover(config)
    sandbox.configure(entity_faults=("wave:503",), retry_after_s=0.01)
    sandbox.clear_requests()
    with pytest.raises(StreamsFailedError, match="wave: HTTP 503"):
        sync(config, catalog=catalog)
    assert len(list_requests(sandbox, "wave")) == 3


# --- waits and deadlines ----------------------------------------------------------------------


@pytest.mark.parametrize("header", ["-1", "NaN", "inf", "-inf", "soon", ""])
def test_meaningless_retry_after_is_treated_as_absent(header):
    """Retry-After of -1, NaN, inf or junk asks for nothing: the exponential wait applies."""
    assert retry_after(header) is None


def test_retry_after_as_an_http_date_is_read_as_seconds_from_now():
    """Retry-After may be an HTTP-date: the wait is the time until then."""
    import datetime as dt

    now = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert retry_after("Tue, 01 Dec 2026 12:00:30 GMT", now) == 30


def test_retry_after_beyond_max_wait_fails_at_once(sandbox):
    """Retry-After: 100000 would sleep 28 hours; over max_wait_seconds it fails the stream now."""
    config = tap_config(sandbox, "wave", max_wait_seconds=60)
    catalog = discover(config)
    sandbox.configure(entity_faults=("wave:429",), retry_after="100000")
    started = time.monotonic()
    with pytest.raises(StreamsFailedError, match=r"asks to wait 100000 s .* max_wait_seconds \(60 s\)"):
        sync(config, catalog=catalog)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("header", ["-1", "NaN", "inf"])
def test_run_with_meaningless_retry_after_completes(sandbox, header):
    """Faults whose Retry-After means nothing are retried with the normal waits; no row is lost."""
    config = tap_config(sandbox, "wave", max_retries=20)
    catalog = discover(config)
    sandbox.configure(fault_rate=0.3, faults=("429",), retry_after=header)
    out = sync(config, catalog=catalog)
    assert_nothing_lost(out.records("wave"), sandbox.truth("wave"), out.schema("wave"))


def test_body_that_trickles_hits_the_response_deadline(sandbox):
    """request_timeout bounds a whole response, not each socket read: a trickling body fails."""
    config = tap_config(sandbox, "wave", request_timeout=2, max_retries=0)
    catalog = discover(config)
    sandbox.configure(trickle_bytes_per_s=20)
    started = time.monotonic()
    with pytest.raises(StreamsFailedError, match="longer than request_timeout"):
        sync(config, catalog=catalog)
    assert time.monotonic() - started < 30


def test_next_page_pointing_back_is_a_loop_and_fails_clearly(sandbox):
    """A next_page link to a page already read would loop forever: the stream fails, saying so."""
    config = tap_config(sandbox, "inventory", page_size=7)
    catalog = discover(config)
    sandbox.configure(next_page_loop="on")
    with pytest.raises(StreamsFailedError, match="points back to a page already read"):
        sync(config, catalog=catalog)
