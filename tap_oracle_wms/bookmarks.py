"""Where an incremental listing starts: the stream's bookmark (or start_date), read before the SDK does.

The engine asks for a stream's first page before the SDK reaches that stream, so the lower bound
is computed here from the run's input state by the SDK's own rule (the bookmark if it belongs to
the replication key, start_date when later or alone). tests/test_bookmarks.py checks that it
equals the SDK's `get_starting_timestamp` for every state shape, so an SDK change fails loudly.
A bookmark that is no date-time, or lies in the future (the stream would never read a row), stops
the run before the listing (`StateError`, exit code 2; the rule is in inputs.py).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from tap_oracle_wms.inputs import StateError, aware, bookmark_problem
from tap_oracle_wms.lgfapi.wire import UTC

if TYPE_CHECKING:
    from collections.abc import Mapping

    from singer_sdk import Stream


def context_state(stream: Stream, context: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The stream's (or the partition's) bookmark object in the input state, read only."""
    state = stream.tap_state.get("bookmarks", {}).get(stream.name, {})
    if not context:
        return state
    wanted = dict(context)
    if stream.state_partitioning_keys is not None:
        wanted = {k: v for k, v in wanted.items() if k in stream.state_partitioning_keys}
    return next((p for p in state.get("partitions", []) if p.get("context") == wanted), {})


def stream_state(stream: Stream) -> dict[str, Any]:
    """The stream's bookmark object in the run's STATE, to write in before the SDK reaches the stream.

    The same object the SDK's `get_context_state(None)` returns, without building its state
    manager: that asks `is_sorted`, so the entity's ordering (a request) in the calling thread,
    one stream after the other, before the engine could ask them all at once.
    """
    bookmarks = stream.tap_state.setdefault("bookmarks", {})
    return bookmarks.setdefault(stream.name, {})


def starting_bound(stream: Stream, context: Mapping[str, Any] | None) -> dt.datetime | None:
    """The instant the stream's listing starts at (before the look-back window), or None for all."""
    state = context_state(stream, context)
    value = state.get("replication_key_value")
    if not value or state.get("replication_key") != stream.replication_key:
        value = None
    if value:
        run = getattr(stream, "run", None)  # the tap's streams share their run's start (run.py)
        started_at = run.started_at if run is not None else dt.datetime.now(UTC)
        if problem := bookmark_problem(stream.name, value, started_at):
            raise StateError([f"state: {problem}"])
    start_date = stream.config.get("start_date")
    candidates = [aware(v) for v in (value, start_date) if v]
    return max(candidates) if candidates else None


def keep_forward(stream: Stream) -> None:
    """An unsorted stream ends with its bookmark never below the one it started from.

    Its bookmark is the greatest replication key of this run's rows (the SDK's progress
    markers); rows of a second pass or hours read again carry older ones, so when they are the
    only rows of the run, that maximum lies before the input bookmark.
    """
    start = context_state(stream, None).get("replication_key_value")
    markers = stream.get_context_state(None).get("progress_markers") or {}
    value = markers.get("replication_key_value")
    same_key = markers.get("replication_key") == stream.replication_key
    if start and value and same_key and aware(value) < aware(start):
        markers["replication_key_value"] = start
