"""Where an incremental listing starts: the stream's bookmark (or start_date), read before the SDK does.

The engine asks for a stream's first page before the SDK reaches that stream, so the lower bound
is computed here from the run's input state by the SDK's own rule (the bookmark if it belongs to
the replication key, start_date when later or alone). tests/test_bookmarks.py checks that it
equals the SDK's `get_starting_timestamp` for every state shape, so an SDK change fails loudly.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from dateutil.parser import isoparse

from tap_oracle_wms.lgfapi import UTC

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
    start_date = stream.config.get("start_date")
    candidates = [aware(v) for v in (value, start_date) if v]
    return max(candidates) if candidates else None


def aware(value: Any) -> dt.datetime:
    """A bookmark or start_date as an aware datetime (naive means UTC, as the SDK reads it)."""
    parsed = value if isinstance(value, dt.datetime) else isoparse(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
