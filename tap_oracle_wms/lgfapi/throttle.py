"""Requests on the wire: at most `concurrency` at once, fewer while the server throttles.

Each attempt holds a slot only while it is on the wire, not while it backs off (the stream's
send takes and returns it around every attempt).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

logger = logging.getLogger("tap-oracle-wms")

# After a throttled answer, one more request in flight per this many answered in a row.
RAISE_AFTER = 16
THROTTLED = frozenset({HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE})


class EngineStoppedError(Exception):
    """The engine was closed while a sync thread or a request still waited on it."""


@dataclass
class Slot:
    """One request's place on the wire; the sender marks it when the server throttled it."""

    throttled: bool = False


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

    @contextlib.contextmanager
    def slot(self) -> Iterator[Slot]:
        """Hold a place on the wire for one attempt; a throttled answer lowers the limit."""
        epoch, held = self.acquire(), Slot()
        try:
            yield held
        finally:
            self.release(epoch, throttled=held.throttled)

    def acquire(self) -> int:
        """Wait for a free slot; returns the epoch the request is sent in."""
        with self._cond:
            while self._in_flight >= self.limit and not self._closed:
                self._cond.wait()
            if self._closed:
                raise EngineStoppedError
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
