"""Whether a tenant returns rows in the order asked for, and when a listing may be read in ranges.

Whether sequenced mode honours `ordering` is undocumented (docs/lgfapi.md 2.2 GAP), and a sorted
run is resumable mid-stream only if it does; so it is probed once per run.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any

import requests

from tap_oracle_wms.lgfapi.errors import ApiError
from tap_oracle_wms.lgfapi.wire import integer_id

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

logger = logging.getLogger("tap-oracle-wms")

# How long the end of a run waits for a probe still on the wire (as for the engine's workers).
CLOSE_WAIT_SECONDS = 30
# Two rows in descending id order: ascending ids mean `ordering` was ignored.
PROBE = {"page_mode": "sequenced", "page_size": 2, "ordering": "-id", "fields": "id"}


def probe(entity: str, rows_of: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> bool | None:
    """Ask for two rows by descending id; None when the entity has too few rows to tell."""
    rows = rows_of(dict(PROBE))
    if len(rows) < 2:
        logger.info("Too few rows in '%s' to probe ordering; assuming unsorted.", entity)
        return None
    first, second = (integer_id(row.get("id")) for row in rows[:2])
    if first is None or second is None:  # an odd id ("abc", 12.5) orders nothing we can read
        logger.info("The ids of '%s' are no integers, so cannot probe ordering; assuming unsorted.", entity)
        return None
    honoured = first > second
    if honoured:  # whether each stream is resumable also depends on its ordering and passes
        logger.info(
            "Sequenced pages honour the requested ordering; each stream's start line says if it resumes."
        )
    else:
        logger.warning(
            "Sequenced pages ignore the requested ordering; "
            "incremental syncs are bookmarked only at stream end."
        )
    return honoured


class Probe:
    """The run's answer to "does sequenced mode keep `ordering`?": the setting's, or probed once.

    The tap starts the probe before the sync (`start`), in the background; the first listing that
    needs the answer waits for it. A failed probe leaves it undecided: the next one probes again.
    """

    def __init__(self, setting: str) -> None:
        self.setting = setting  # auto | honoured | ignored
        self._lock = threading.Lock()
        self._honoured: bool | None = None
        self._pending: Future[bool | None] | None = None
        self._pool: ThreadPoolExecutor | None = None

    def start(self, entity: str, rows_of: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> None:
        """Probe now, in the background (nothing to ask when the setting says it)."""
        if self.setting != "auto":
            return
        with self._lock:
            if self._pending is None and self._honoured is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wms-probe")
                self._pending = self._pool.submit(probe, entity, rows_of)

    def honoured(self, entity: str, rows_of: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> bool:
        """The answer: the setting's, the started probe's, or a probe of `entity` now."""
        if self.setting != "auto":
            return self.setting == "honoured"
        with self._lock:
            pending, self._pending = self._pending, None
            if pending is not None:
                with contextlib.suppress(ApiError, requests.exceptions.RequestException):
                    self._honoured = pending.result()
            if self._honoured is None:
                with contextlib.suppress(ApiError, requests.exceptions.RequestException):
                    self._honoured = probe(entity, rows_of)
            return bool(self._honoured)

    def close(self) -> None:
        """The run is over: a probe still on the wire gets a moment to end (its connection closes)."""
        with self._lock:
            pending = self._pending
        if pending is not None:
            wait([pending], timeout=CLOSE_WAIT_SECONDS)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


def split_key(
    params: Mapping[str, Any], replication_key: str | None, user_filters: Mapping[str, Any], *, honoured: bool
) -> str | None:
    """The key a listing can be read in ranges on: its first `ordering` key, if that is safe.

    Only when the server is known to honour `ordering` (else ranges would not concatenate in
    order), and no user filter constrains the key.
    """
    key = str(params.get("ordering", "")).split(",")[0]
    if key not in {"id", replication_key} or not honoured:
        return None
    if any(name == key or name.startswith(f"{key}__") for name in user_filters):
        return None
    return key
