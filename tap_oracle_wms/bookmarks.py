"""Where an incremental listing starts: the stream's bookmark (or start_date), read before the SDK does.

The engine asks for a stream's first page before the SDK reaches that stream, so the lower bound
is computed here from the run's input state by the SDK's own rule (the bookmark if it belongs to
the replication key, start_date when later or alone). tests/test_bookmarks.py checks that it
equals the SDK's `get_starting_timestamp` for every state shape, so an SDK change fails loudly.
A bookmark that is no date-time, or lies in the future (the stream would never read a row), stops
the run before the listing (`StateError`, exit code 2).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from dateutil.parser import isoparse

from tap_oracle_wms.drift import KEY, decode
from tap_oracle_wms.lgfapi.wire import UTC
from tap_oracle_wms.settings_checks import StateError

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


def aware(value: Any) -> dt.datetime:
    """A bookmark or start_date as an aware datetime (naive means UTC, as the SDK reads it)."""
    parsed = value if isinstance(value, dt.datetime) else isoparse(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# The replication keys this tap bookmarks on; a state bookmarked on another key is another tap's.
REPLICATION_KEYS = ("mod_ts", "create_ts")
# Clock skew tolerated between the tenant and this machine before a bookmark counts as future.
MAX_AHEAD = dt.timedelta(days=1)


def bookmark_problem(stream: str, value: Any, started_at: dt.datetime) -> str | None:
    """Why a bookmark cannot start a listing (no date-time, or in the future), or None."""
    try:
        instant = aware(value) if isinstance(value, str) else None
    except (ValueError, OverflowError):
        instant = None
    if instant is None:
        return (
            f"stream '{stream}' has bookmark {value!r}, which is not an ISO-8601 date-time; fix or remove it"
        )
    if instant > started_at + MAX_AHEAD:
        return (
            f"stream '{stream}' has bookmark {value!r}, more than a day after the run's start: "
            "no row would ever be read; fix or remove it"
        )
    return None


def state_problems(bookmarks: Mapping[str, Any], started_at: dt.datetime) -> list[str]:
    """Problems of a whole input state: another tap's bookmarks, or ones no listing can start from.

    Each is worded to follow the state's name ("--state file 'x'" + problem).
    """
    problems = []
    for stream, bookmark in bookmarks.items():
        partitions = bookmark.get("partitions", [])
        if not isinstance(partitions, list) or not all(isinstance(p, dict) for p in partitions):
            problems.append(f" is not Singer state: stream '{stream}' has 'partitions' that are not objects")
            continue
        for entry in [bookmark, *partitions]:
            key, value = entry.get("replication_key"), entry.get("replication_key_value")
            if key is not None and key not in REPLICATION_KEYS:
                problems.append(
                    f" is not this tap's state: stream '{stream}' is bookmarked on {key!r}, "
                    f"not {' or '.join(REPLICATION_KEYS)}"
                )
            elif value is not None and (problem := bookmark_problem(stream, value, started_at)):
                problems.append(f": {problem}")
        if KEY in bookmark:
            try:
                decode(bookmark[KEY])
            except ValueError as exc:
                problems.append(f": stream '{stream}' has {exc}; fix or remove it")
    return problems
