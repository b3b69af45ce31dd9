"""next_page links that loop: back to a page already read, or on and on without new rows."""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

from tap_oracle_wms.lgfapi.errors import FatalError, redacted_query

# Pages in a row that bring no row unseen in the last RECENT_PAGES pages: a loop, not a listing.
MAX_IDLE_PAGES = 3
RECENT_PAGES = 32


class LinkLoopError(FatalError):
    """The server's next_page links lead back to a page of the same listing."""


class LoopGuard:
    """Catches next_page links that loop without repeating a URL: fresh cursors, changing parameters.

    A page whose rows were all served by one of the recent pages (or that has none) brings
    nothing new; a few such pages in a row are a loop. Only the recent pages' ids are kept, so
    memory stays flat however long the listing; after a resume, rows read again are expected.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.recent: deque[list[Any]] = deque()
        self.counts: Counter[Any] = Counter()
        self.idle = 0
        self.catching_up = False

    def resumed(self) -> None:
        """A resumed listing reads rows again on purpose until it passes its last row."""
        self.catching_up = True

    def check(self, rows: list[dict[str, Any]], kept: list[dict[str, Any]], url: str | None) -> bool:
        """Note a page's rows (`kept`: those to emit); fail when pages keep bringing nothing new.

        False for a page that brings nothing new: its rows came with recent pages, so were
        emitted already; the caller emits none of them, even before the loop is called one.
        """
        ids = [_ident(row) for row in rows]
        if kept:
            self.catching_up = False
        new = any(self.counts[i] == 0 for i in ids)
        self.idle = 0 if new or self.catching_up else self.idle + 1
        self.recent.append(ids)
        self.counts.update(ids)
        if len(self.recent) > RECENT_PAGES:
            self.counts.subtract(self.recent.popleft())
        if self.idle >= MAX_IDLE_PAGES and url is not None:
            msg = (
                f"Stream '{self.name}': {self.idle} pages in a row brought no row that was not already "
                f"read, yet next_page links on (GET {redacted_query(url)}); stopping instead of looping."
            )
            raise LinkLoopError(msg)
        return self.idle == 0


def _ident(row: dict[str, Any]) -> Any:
    value = row.get("id")
    return value if isinstance(value, (int, str)) else repr(value)
