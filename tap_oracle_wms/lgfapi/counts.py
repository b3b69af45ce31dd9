"""Counting a listing's rows: a one-row page in paged mode says how many rows match (`result_count`, 2.2).

Sequenced mode does not count, so a count is its own request. `result_count` is read here only,
and strictly: a paged answer without an integer count is an error, never a zero.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tap_oracle_wms.lgfapi.errors import FatalError, redacted_query

if TYPE_CHECKING:
    from collections.abc import Mapping


def count_query(params: Mapping[str, Any], ordering: str | None) -> dict[str, Any]:
    """One row of the listing in paged mode, which counts the rows (`result_count`); sequenced does not.

    Without `ordering` none is sent: a count needs none, and some entities refuse any (2.6).
    """
    key = (ordering or "id").lstrip("-")
    out = {**params, "page_mode": "paged", "page_size": 1, "fields": ",".join(dict.fromkeys(["id", key]))}
    return {**out, "ordering": ordering} if ordering else out


def result_count(payload: Any, url: str) -> int:
    """The page's `result_count`; a paged answer without an integer one is an error (never a zero)."""
    count = payload.get("result_count") if isinstance(payload, dict) else None
    if not isinstance(count, int) or isinstance(count, bool):
        entity = url.split("/entity/", 1)[-1].split("/", 1)[0]
        msg = (
            f"the count query of '{entity}' answered without an integer result_count "
            f"(GET {redacted_query(url)})"
        )
        raise FatalError(msg)
    return count


def count_and_first_key(payload: Any, key: str, url: str) -> tuple[int, Any] | None:
    """(result_count, the first row's `key`) of a count query's page; None when no row has a key."""
    count = result_count(payload, url)
    rows = payload.get("results")
    if not rows or not isinstance(rows, list) or not isinstance(rows[0], dict) or rows[0].get(key) is None:
        return None
    return count, rows[0][key]
