"""What the engine needs from a stream: the narrow interface between paging and the SDK's streams."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from singer_sdk.exceptions import FatalAPIError

if TYPE_CHECKING:
    import datetime as dt

    from tap_oracle_wms.lgfapi.throttle import Throttle

Context = Mapping[str, Any]


class PageMissingError(FatalAPIError):
    """A page after the first answered "no records": the listing resumes from its last row, or fails."""


@dataclass
class Resume:
    """How to continue a listing after a lost page: the source's own query, and which rows are new."""

    params: dict[str, Any]
    keep: Callable[[dict[str, Any]], bool]


@dataclass
class Page:
    """One page of a listing: its rows, and the link to the next page (None at the end)."""

    rows: list[dict[str, Any]]
    next_url: str | None


class Source(Protocol):
    """A listing the engine can read: one entity stream of the tap (client.WMSStream)."""

    name: str

    def get_url(self, context: Context | None) -> str:
        """The listing's URL, without query."""
        ...

    def first_page_params(self, context: Context | None) -> dict[str, Any]:
        """The query of the listing's first page."""
        ...

    def fetch_page(
        self, url: str, params: dict[str, Any] | None, context: Context | None, throttle: Throttle
    ) -> Page:
        """One page, with the source's own retries, each attempt holding a throttle slot."""
        ...

    def first_page(self, context: Context | None, params: dict[str, Any], throttle: Throttle) -> Page:
        """The listing's first page, kept so that reading the listing does not ask for it again."""
        ...

    def resume(self, params: dict[str, Any], last_row: dict[str, Any]) -> Resume | None:
        """The query that continues `params`'s listing after `last_row`, or None if none can."""
        ...

    def split_key(self, params: dict[str, Any]) -> str | None:
        """The key the listing may be read in ranges on, or None when that is unsafe."""
        ...

    def count_rows(
        self, params: dict[str, Any], ordering: str, context: Context | None, throttle: Throttle
    ) -> tuple[int, Any] | None:
        """(rows the listing holds, first key value in `ordering`), None when empty or unknown."""
        ...

    @property
    def timezone(self) -> dt.tzinfo:
        """Zone of naive timestamps in the listing's keys."""
        ...
