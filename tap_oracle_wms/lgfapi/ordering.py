"""Whether a tenant returns rows in the order asked for, and when a listing may be read in ranges.

Whether sequenced mode honours `ordering` is undocumented (docs/lgfapi.md 2.2 GAP), and a sorted
run is resumable mid-stream only if it does; so it is probed once per run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

logger = logging.getLogger("tap-oracle-wms")

# Two rows in descending id order: ascending ids mean `ordering` was ignored.
PROBE = {"page_mode": "sequenced", "page_size": 2, "ordering": "-id", "fields": "id"}


def probe(entity: str, rows_of: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> bool | None:
    """Ask for two rows by descending id; None when the entity has too few rows to tell."""
    rows = rows_of(dict(PROBE))
    if len(rows) < 2:
        logger.info("Too few rows in '%s' to probe ordering; assuming unsorted.", entity)
        return None
    honoured = bool(rows[0]["id"] > rows[1]["id"])
    logger.info(
        "Sequenced pages %s the requested ordering; incremental syncs are %s.",
        "honour" if honoured else "ignore",
        "resumable mid-stream" if honoured else "bookmarked only at stream end",
    )
    return honoured


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
