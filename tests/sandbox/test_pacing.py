"""Held-back answers: slow pages and trickling bodies end when the client leaves or the server stops."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from sandbox_helpers import API

from tap_oracle_wms_sandbox import Sandbox

AUTH = ("admin", "admin-password")


def wait_until(predicate, seconds: float = 3.0) -> bool:
    """Poll `predicate` until true or `seconds` passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def timed(client, url: str) -> tuple[int, float]:
    """(status, seconds) of one GET."""
    start = time.monotonic()
    status = client.get(url).status_code
    return status, time.monotonic() - start


def test_slow_page_waits_above_slow_page_rows(client, state):
    """slow_page_rows=10: page_size 11 waits slow_page_delay_s, page_size 10 answers at once."""
    state.configure(slow_page_rows=10, slow_page_delay_s=1.0)
    status, slow = timed(client, API + "entity/wave/?page_size=11")
    assert status == 200
    assert slow >= 1.0
    status, fast = timed(client, API + "entity/wave/?page_size=10")
    assert status == 200
    assert fast < 0.8


def test_slow_page_counts_the_default_page_size(client, state):
    """slow_page_rows: without page_size the page has rows_per_page (25) rows, so it is slow."""
    state.configure(slow_page_rows=10, slow_page_delay_s=1.0)
    assert timed(client, API + "entity/wave/")[1] >= 1.0


def test_slow_page_entities_limits_the_slowness(client, state):
    """slow_page_entities=order_dtl: big pages of other entities answer at once."""
    state.configure(slow_page_rows=1, slow_page_delay_s=1.0, slow_page_entities="order_dtl")
    assert timed(client, API + "entity/wave/?page_size=50")[1] < 0.8
    assert timed(client, API + "entity/order_dtl/?page_size=50")[1] >= 1.0


def test_slow_page_fires_a_read_timeout_and_is_dropped_when_the_client_leaves(sandbox):
    """slow_page_*: a client's read timeout fires; the held request ends soon after it leaves."""
    sandbox.configure(slow_page_rows=5, slow_page_delay_s=30)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(sandbox.api_url + "entity/wave/?page_size=6", auth=AUTH, timeout=httpx.Timeout(5, read=0.3))
    assert wait_until(lambda: sandbox.state.inflight == 0)
    assert sandbox.requests[-1].status == -1
    small = httpx.get(sandbox.api_url + "entity/wave/?page_size=5", auth=AUTH, timeout=5)
    assert small.status_code == 200


def test_trickle_sends_the_body_at_the_rate(sandbox):
    """trickle_bytes_per_s: the whole body arrives, no faster than the rate allows."""
    url = sandbox.api_url + "entity/wave/?page_size=3&fields=id"
    plain = httpx.get(url, auth=AUTH, timeout=5).content
    sandbox.configure(trickle_bytes_per_s=len(plain) * 2.5)
    start = time.monotonic()
    r = httpx.get(url, auth=AUTH, timeout=5)
    assert r.content == plain
    assert time.monotonic() - start >= 0.3
    assert httpx.get(sandbox.api_url + "entity/wave/1/", auth=AUTH, timeout=5).status_code == 200


def test_trickle_defeats_a_per_read_timeout_and_stops_when_the_client_leaves(sandbox):
    """trickle_bytes_per_s=20: every read gets bytes in time, the body never ends; leaving ends it."""
    sandbox.configure(trickle_bytes_per_s=20)
    received = 0
    with (
        httpx.Client(auth=AUTH, timeout=httpx.Timeout(5, read=0.5)) as http,
        http.stream("GET", sandbox.api_url + "entity/wave/") as r,
    ):
        declared = int(r.headers["content-length"])
        deadline = time.monotonic() + 1.0
        for chunk in r.iter_raw():
            received += len(chunk)
            if time.monotonic() > deadline:
                break
    assert 0 < received < declared
    assert wait_until(lambda: sandbox.state.inflight == 0)


def test_trickle_stops_promptly_when_the_server_stops():
    """trickle_bytes_per_s=1: stopping the sandbox drops the trickling answer within a second."""
    sb = Sandbox(scale=100, trickle_bytes_per_s=1).start()
    outcome: list[object] = []

    def read() -> None:
        try:
            with httpx.stream("GET", sb.api_url + "entity/wave/", auth=AUTH, timeout=10) as r:
                outcome.append(r.read())
        except httpx.HTTPError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert wait_until(lambda: sb.state.inflight == 1)
    finally:
        start = time.monotonic()
        sb.stop()
        stopped = time.monotonic() - start
    reader.join(timeout=5)
    assert stopped < 1.5
    assert isinstance(outcome[0], httpx.RemoteProtocolError)
