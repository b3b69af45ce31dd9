"""Requests on the wire: at most `concurrency` at once, fewer while the server throttles.

A tenant's throttle is unknown. Retrying at full concurrency keeps hitting it, and every 429
costs its Retry-After wait, so each attempt takes a slot from a `Throttle` that halves the
requests in flight on a 429 or 503 and adds one back after a calm spell (AIMD).
"""

from __future__ import annotations

import logging
import threading
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from singer_sdk.exceptions import RetriableAPIError

if TYPE_CHECKING:
    import requests
    from singer_sdk.helpers.types import Context

    from tap_oracle_wms.client import WMSStream

logger = logging.getLogger("tap-oracle-wms")

# After a throttled answer, one more request in flight per this many answered in a row.
RAISE_AFTER = 16
THROTTLED = {HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE}


class PrefetchStoppedError(Exception):
    """The prefetcher was closed while a sync thread or a request still waited on it."""


class Throttle:
    """Requests in flight, halved on a 429/503 answer and raised by one after a calm spell (AIMD).

    A tenant's throttle is unknown: retrying at full concurrency keeps hitting it, and every
    429 costs its Retry-After wait. Answers to requests sent before the last decrease do not
    lower it again, so one burst of 429s halves it once. Never below 1, never above `ceiling`.
    """

    def __init__(self, ceiling: int) -> None:
        self.ceiling = self.limit = max(1, ceiling)
        self._cond = threading.Condition()
        self._in_flight = 0
        self._calm = 0  # answered requests since the last change
        self._epoch = 0  # bumped by every decrease
        self._closed = False

    def acquire(self) -> int:
        """Wait for a free slot; returns the epoch the request is sent in."""
        with self._cond:
            while self._in_flight >= self.limit and not self._closed:
                self._cond.wait()
            if self._closed:
                raise PrefetchStoppedError
            self._in_flight += 1
            return self._epoch

    def release(self, epoch: int, *, throttled: bool) -> None:
        """Free the slot; adapt the limit to the answer."""
        with self._cond:
            self._in_flight -= 1
            if throttled:
                self.lower(epoch)
            elif self.limit < self.ceiling:
                self._calm += 1
                if self._calm >= RAISE_AFTER:
                    self._set(self.limit + 1, "no throttling for a while")
            self._cond.notify_all()

    def lower(self, epoch: int) -> None:
        """Halve the limit, once per burst of throttled answers (caller holds the lock)."""
        if epoch == self._epoch:
            self._epoch += 1
            self._set(max(1, (self.limit + 1) // 2), "the server throttles (HTTP 429/503)")

    def _set(self, limit: int, why: str) -> None:
        self._calm = 0
        if limit != self.limit:
            self.limit = limit
            logger.info("Requests in flight: %d of %d (%s).", limit, self.ceiling, why)

    def close(self) -> None:
        """Wake every waiting request; none is sent any more."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def send(
    stream: WMSStream,
    url: str,
    params: dict[str, Any] | None,
    context: Context | None,
    throttle: Throttle,
) -> requests.Response:
    """One GET with the stream's auth, validation and retries (the SDK's decorated `_request`).

    Each attempt holds a throttle slot only while it is on the wire, not while it backs off.
    """
    request = stream.build_prepared_request(method="GET", url=url, params=params, headers=stream.http_headers)

    def attempt(prepared: requests.PreparedRequest, context: Context | None) -> requests.Response:
        epoch, throttled = throttle.acquire(), False
        try:
            return stream._request(prepared, context)  # the SDK's own request and validation
        except RetriableAPIError as exc:
            throttled = getattr(exc.response, "status_code", None) in THROTTLED
            raise
        finally:
            throttle.release(epoch, throttled=throttled)

    return stream.request_decorator(attempt)(request, context)
