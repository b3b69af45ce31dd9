"""Reading one entity's listing the way real tenants need it, page by page.

- `ordering`: the first page is asked with the ordering the tap prefers; an entity that refuses
  it (400 naming ordering, docs/lgfapi.md 2.6) is read with the next one (`id`, then none), and
  the choice is kept for the run. The accepted first page is kept and handed to the engine, so
  the negotiation costs no request.
- page size: a page that times out is asked again at the same position with half as many rows,
  down to 25, and the smaller size is kept for the rest of the stream (docs/lgfapi.md 4.4).
- a later page answering 404 "no records" is not the end: the engine resumes the listing from
  its last row with the tap's own keyset query (`resume`), or the stream fails clearly.
- `next_page` links keep their path and query but go to base_url's origin (docs/lgfapi.md 1.1).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlparse

from tap_oracle_wms.engine import Page, PageMissingError, Resume
from tap_oracle_wms.lgfapi import wire as lgfapi

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import requests

    from tap_oracle_wms.engine import Throttle
    from tap_oracle_wms.engine.source import Context

# The smallest page a timeout can shrink a listing to (a connector run against real tenants
# halves down to 25, docs/lgfapi.md 4.4).
MIN_PAGE_SIZE = 25
_UNSET = object()


class PageTimeoutError(Exception):
    """A list page timed out while a smaller page size is still possible (not retried as is)."""


class Lister(Protocol):
    """What a Listing needs from its stream (client.WMSStream)."""

    name: str

    @property
    def url_base(self) -> str:
        """The API's base URL: links are sent to its origin."""
        ...

    @property
    def logger(self) -> logging.Logger:
        """Where the listing's notes go."""
        ...

    def send(
        self,
        url: str,
        params: dict[str, Any] | None,
        context: Context | None = None,
        throttle: Throttle | None = None,
        *,
        shrink: bool = False,
    ) -> requests.Response:
        """One GET with the stream's auth, validation and retries."""
        ...

    def payload(self, response: requests.Response) -> Any:
        """The response's decoded JSON."""
        ...

    def parse_response(self, response: requests.Response) -> Any:
        """The page's rows."""
        ...

    def note(self, text: str) -> None:
        """Something special about the stream, for the run's summary."""
        ...

    def check_api(self) -> None:
        """Once a run: fail if base_url serves no entity API (an empty answer proves nothing)."""
        ...


def query_key(url: str, params: Mapping[str, Any] | None) -> str:
    """A hashable identity of one request."""
    return url + "?" + json.dumps(params, sort_keys=True, default=str)


def with_page_size(url: str, params: dict[str, Any] | None, size: int) -> tuple[str, dict[str, Any] | None]:
    """The request asking for at most `size` rows: in its params, or in the link's query."""
    if params is not None:
        if int(params.get("page_size", 0)) > size:
            params = {**params, "page_size": size}
        return url, params
    parts = urlparse(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(k == "page_size" and v.isdigit() and int(v) > size for k, v in query):
        return url, None
    query = [(k, str(size) if k == "page_size" else v) for k, v in query]
    return parts._replace(query=urlencode(query, safe=",:!")).geturl(), None


def requested_rows(url: str, params: Mapping[str, Any] | None) -> int | None:
    """The page_size a request asks for, in its params or in its link's query."""
    if params is not None:
        value = params.get("page_size")
    else:
        value = dict(parse_qsl(urlparse(url).query)).get("page_size")
    return int(value) if value is not None and str(value).isdigit() else None


class Listing:
    """One stream's paging state for a run: its ordering, its page size, its first page."""

    def __init__(self, stream: Lister, page_size: int, timezone: dt.tzinfo) -> None:
        self.stream = stream
        self.page_size = page_size
        self.timezone = timezone
        self._lock = threading.RLock()  # the ordering negotiation and the page size
        self._cache_lock = threading.Lock()  # the first pages kept
        self._ordering: Any = _UNSET
        self._failure: BaseException | None = None
        self._first_pages: dict[str, Page] = {}
        self._noted: set[str] = set()

    # --- ordering -----------------------------------------------------------------------

    def ordering(
        self,
        url: str,
        base: dict[str, Any],
        candidates: Sequence[str | None],
        context: Mapping[str, Any] | None,
    ) -> str | None:
        """The first candidate ordering the entity accepts; asked once, kept for the run."""
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._ordering is _UNSET:
                try:
                    self._ordering = self._negotiate(url, base, candidates, context)
                except Exception as exc:
                    self._failure = exc
                    raise
            return self._ordering

    def _negotiate(
        self,
        url: str,
        base: dict[str, Any],
        candidates: Sequence[str | None],
        context: Mapping[str, Any] | None,
    ) -> str | None:
        for candidate in candidates:
            params = {**base, "ordering": candidate} if candidate else dict(base)
            try:
                page = self.fetch(url, params, context, None)
            except lgfapi.OrderingRejectedError:
                fallback = candidates[candidates.index(candidate) + 1]
                self.stream.note(
                    f"ordering={candidate} refused, read " + (f"by {fallback}" if fallback else "unordered")
                )
                self.stream.logger.warning(
                    "Entity '%s' refuses ordering=%s; it is read %s, bookmarked at stream end.",
                    self.stream.name,
                    candidate,
                    f"with ordering={fallback}" if fallback else "without ordering",
                )
                continue
            with self._cache_lock:
                self._first_pages[query_key(url, params)] = page
            return candidate
        return None

    # --- pages --------------------------------------------------------------------------

    def first_page(
        self, url: str, params: dict[str, Any], context: Context | None, throttle: Throttle | None
    ) -> Page:
        """The listing's first page, kept for the `fetch` that reads it (asked once either way)."""
        key = query_key(url, params)
        with self._cache_lock:
            kept = self._first_pages.get(key)
        if kept is None:
            kept = self.fetch(url, params, context, throttle)
            with self._cache_lock:
                self._first_pages[key] = kept
        return kept

    def fetch(
        self,
        url: str,
        params: dict[str, Any] | None,
        context: Mapping[str, Any] | None,
        throttle: Throttle | None,
    ) -> Page:
        """One page and the link to the next; smaller pages after a timeout; a later 404 is no end."""
        if params is not None:
            with self._cache_lock:
                kept = self._first_pages.pop(query_key(url, params), None)
            if kept is not None:
                return kept
        while True:
            sized_url, sized_params = with_page_size(url, params, self.page_size)
            asked = requested_rows(sized_url, sized_params)
            shrink = asked is not None and asked > MIN_PAGE_SIZE  # a small page timing out is no size issue
            try:
                response = self.stream.send(sized_url, sized_params, context, throttle, shrink=shrink)
            except PageTimeoutError:
                self.halve(asked or MIN_PAGE_SIZE)
                continue
            break
        if response.status_code == HTTPStatus.NOT_FOUND:
            if params is None:
                msg = (
                    f"Stream '{self.stream.name}': a page after the first answered 404 (no records) "
                    f"at GET {lgfapi.redacted_query(response.url)}, and the listing cannot be resumed "
                    "from its last row (it has no ordering, or the page stays lost); run the sync again."
                )
                raise PageMissingError(msg)
            self.stream.check_api()  # an empty first page: make sure base_url serves the API at all
            return Page([], None)
        rows = list(self.stream.parse_response(response))
        return Page(rows, self.next_link(response) if rows else None)

    def halve(self, timed_out: int) -> None:
        """Pages of `timed_out` rows time out: use half as many from now on (once per size)."""
        with self._lock:
            if self.page_size < timed_out:
                return  # another request already shrank it
            self.page_size = max(MIN_PAGE_SIZE, timed_out // 2)
            self.stream.note(f"pages timed out, down to {self.page_size} rows")
            self.note(
                "halved",
                "Stream '%s': a page of %d rows timed out; reading it in pages of %d rows from now on "
                "(halved again on each further timeout, down to %d).",
                self.stream.name,
                timed_out,
                self.page_size,
                MIN_PAGE_SIZE,
            )

    def next_link(self, response: requests.Response) -> str | None:
        """The page's `next_page` link, sent to base_url's origin; None on the last page."""
        if response.status_code == HTTPStatus.NOT_FOUND:
            return None
        link = self.stream.payload(response).get("next_page") or None
        if link is None:
            return None
        local = lgfapi.on_origin(self.stream.url_base, link)
        if lgfapi.origin(link) != lgfapi.origin(local):
            scheme, host, port = lgfapi.origin(link)
            self.note(
                "origin",
                "Stream '%s': next_page links name %s://%s:%s; their path and query are sent to "
                "base_url's host, as credentials never go anywhere else.",
                self.stream.name,
                scheme,
                host,
                port,
            )
        return local

    def note(self, topic: str, message: str, *args: Any) -> None:
        """Log a fact about this listing once per run."""
        if topic not in self._noted:
            self._noted.add(topic)
            self.stream.logger.info(message, *args)

    # --- resuming -----------------------------------------------------------------------

    def resume(
        self, params: dict[str, Any], last_row: dict[str, Any], replication_key: str | None
    ) -> Resume | None:
        """The keyset query continuing `params`'s listing after `last_row` (ordering id, or key,id)."""
        ordering = params.get("ordering")
        last_id = last_row.get("id")
        if not isinstance(last_id, int):
            return None
        if ordering == "id":
            return Resume({**params, "id__gt": last_id}, lambda row: True)
        if not replication_key or ordering != f"{replication_key},id":
            return None
        last = lgfapi.parse_timestamp(last_row.get(replication_key), self.timezone)
        if last is None:
            return None
        start = lgfapi.filter_timestamp(last.replace(microsecond=0))  # filters take whole seconds

        def after_last(row: dict[str, Any]) -> bool:
            value = lgfapi.parse_timestamp(row.get(replication_key), self.timezone)
            return value is None or (value, row.get("id", 0)) > (last, last_id)

        return Resume({**params, f"{replication_key}__gte": start}, after_last)
