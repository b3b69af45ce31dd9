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

import json
import threading
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlparse

from tap_oracle_wms.lgfapi import counts, ordering
from tap_oracle_wms.lgfapi.errors import (
    FatalError,
    OrderingRejectedError,
    PageMissingError,
    PageTimeoutError,
    redacted_query,
)
from tap_oracle_wms.lgfapi.loops import LoopGuard
from tap_oracle_wms.lgfapi.wire import filter_timestamp, integer_id, on_origin, origin, parse_timestamp

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Mapping, Sequence

    import requests

    from tap_oracle_wms.lgfapi.client import Client
    from tap_oracle_wms.lgfapi.throttle import Throttle

# The smallest page a timeout can shrink a listing to (a connector run against real tenants
# halves down to 25, docs/lgfapi.md 4.4).
MIN_PAGE_SIZE = 25
_UNSET = object()


@dataclass
class Page:
    """One page of a listing: its rows, and the link to the next page (None at the end)."""

    rows: list[dict[str, Any]]
    next_url: str | None


@dataclass
class Resume:
    """How to continue a listing after a lost page: the listing's own query, and which rows are new."""

    params: dict[str, Any]
    keep: Callable[[dict[str, Any]], bool]


@dataclass
class AfterRow:
    """Which rows of a listing resumed at the last row's second are new: those after that row.

    Rows come in (key, id) order, so once one lies after the last row read (or is that row),
    every later one does too. A row before that whose key or id cannot be read was read before
    the page was lost, by its place: keeping it would emit it twice.
    """

    key: str
    tz: dt.tzinfo
    last: dt.datetime
    last_id: int
    passed: bool = False

    def __call__(self, row: dict[str, Any]) -> bool:
        """Whether the row is new (rows must be given in the listing's order)."""
        if self.passed:
            return True
        ident = integer_id(row.get("id"))
        if ident == self.last_id:
            self.passed = True
            return False
        value = parse_timestamp(row.get(self.key), self.tz)
        self.passed = value is not None and ident is not None and (value, ident) > (self.last, self.last_id)
        return self.passed


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
    """One entity's listing for a run: its ordering, its page size, its first pages kept, its resume rule.

    A stream describes what it wants (orderings to try, its replication key, the user's filters);
    the engine reads it through `ordered`, `first_page`, `fetch`, `count`, `split_key` and `resume`.
    Each of its requests holds a slot of the run's throttle while on the wire.
    """

    def __init__(
        self,
        client: Client,
        entity: str,
        *,
        orderings: Sequence[str | None],
        replication_key: str | None,
        user_filters: Mapping[str, Any],
        probe_filters: Mapping[str, Any] | None,
        throttle: Throttle | None = None,
    ) -> None:
        self.client = client
        # The run's requests in flight: every request of the listing takes a slot of it, the
        # ordering negotiation and the catalog check too (outside it they hammer a throttled tenant).
        self.throttle = throttle
        self.entity = entity
        self.url = f"{client.url_base}entity/{entity}/"
        self.orderings = tuple(orderings)
        self.replication_key = replication_key
        self.user_filters = dict(user_filters)
        # Filters an unfiltered list needs (docs/lgfapi.md 6.1); None when it cannot be listed at all.
        self.probe_filters = None if probe_filters is None else dict(probe_filters)
        self.page_size = client.page_size
        self.timezone = client.timezone
        self._lock = threading.RLock()  # the ordering negotiation and the page size
        self._cache_lock = threading.Lock()  # the first pages kept
        self._ordering: Any = _UNSET
        self._failure: BaseException | None = None
        self._first_pages: dict[str, Page] = {}
        self._noted: set[str] = set()

    # --- ordering -----------------------------------------------------------------------

    def ordered(self, base: dict[str, Any]) -> dict[str, Any]:
        """`base` with the first ordering the entity accepts; asked once, kept for the run."""
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._ordering is _UNSET:
                try:
                    self._ordering = self._negotiate(base)
                except Exception as exc:
                    self._failure = exc
                    raise
        return {**base, "ordering": self._ordering} if self._ordering else dict(base)

    def _negotiate(self, base: dict[str, Any]) -> str | None:
        candidates = self.orderings
        for candidate in candidates:
            params = {**base, "ordering": candidate} if candidate else dict(base)
            try:
                page = self.fetch(self.url, params)
            except OrderingRejectedError:
                fallback = candidates[candidates.index(candidate) + 1]
                self.client.hooks.note(
                    self.entity,
                    f"ordering={candidate} refused, read " + (f"by {fallback}" if fallback else "unordered"),
                )
                self.client.logger.warning(
                    "Entity '%s' refuses ordering=%s; it is read %s, bookmarked at stream end.",
                    self.entity,
                    candidate,
                    f"with ordering={fallback}" if fallback else "without ordering",
                )
                continue
            with self._cache_lock:
                self._first_pages[query_key(self.url, params)] = page
            return candidate
        return None

    def split_key(self, params: dict[str, Any]) -> str | None:
        """The key the listing may be read in ranges on (ordering.py), for the engine."""
        honoured = self.client.probe.honoured(self.entity, self.probe_rows)
        return ordering.split_key(params, self.replication_key, self.user_filters, honoured=honoured)

    def count(self, params: dict[str, Any], order: str) -> tuple[int, Any] | None:
        """(row count, first key value in `order`) of the listing, for the engine's key ranges."""
        response = self.client.send(self.url, counts.count_query(params, order), self.entity, self.throttle)
        if response.status_code == HTTPStatus.NOT_FOUND:
            return None
        found = counts.count_and_first_key(self.client.payload(response), order.lstrip("-"), response.url)
        if found is not None:
            self.client.hooks.counted(self.entity, found[0])
        return found

    def total(self, params: dict[str, Any], *, tally_as: str | None = None) -> int:
        """Rows the query matches: one paged request of one row, no ordering (a 404 is none, 2.11).

        `tally_as` names whose requests it counts in (wms_row_counts', not the counted entity's).
        """
        response = self.client.send(
            self.url, counts.count_query(params, None), self.entity, self.throttle, tally_as=tally_as
        )
        if response.status_code == HTTPStatus.NOT_FOUND:
            return 0
        return counts.result_count(self.client.payload(response), response.url)

    def mod_ts_values(self, params: dict[str, Any]) -> list[dt.datetime]:
        """The mod_ts of every row the query matches: sequenced pages of id and mod_ts, no ordering.

        Fewer requests than a count per hour when the hours hold few rows (drift.py); a row whose
        mod_ts is no date-time is left out, as no mod_ts filter would match it either.
        """
        first = {**params, "page_mode": "sequenced", "page_size": self.page_size, "fields": "id,mod_ts"}
        query: dict[str, Any] | None = first
        url: str | None = self.url
        seen: set[str] = set()
        guard = LoopGuard(self.entity)  # links that loop with fresh URLs: counts would grow for ever
        out: list[dt.datetime] = []
        while url is not None:
            if query is None and url in seen:
                msg = (
                    f"Stream '{self.entity}': the server's next_page link points back to a page already read"
                )
                raise FatalError(f"{msg} (GET {redacted_query(url)}); stopping instead of looping.")
            seen.add(url)
            page = self.fetch(url, query)
            url, query = page.next_url, None
            if guard.check(page.rows, page.rows, url):
                out += [t for row in page.rows if (t := parse_timestamp(row.get("mod_ts"), self.timezone))]
        return out

    def probe_rows(self, probe: dict[str, Any]) -> list[dict[str, Any]]:
        """The rows of the ordering probe's page (ordering.PROBE), with the filters a list needs."""
        return self.fetch(self.url, {**probe, **(self.probe_filters or {})}).rows

    # --- pages --------------------------------------------------------------------------

    def first_page(self, params: dict[str, Any]) -> Page:
        """The listing's first page, kept for the `fetch` that reads it (asked once either way)."""
        key = query_key(self.url, params)
        with self._cache_lock:
            kept = self._first_pages.get(key)
        if kept is None:
            kept = self.fetch(self.url, params)
            with self._cache_lock:
                self._first_pages[key] = kept
        return kept

    def fetch(self, url: str, params: dict[str, Any] | None) -> Page:
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
                response = self.client.send(
                    sized_url, sized_params, self.entity, self.throttle, shrink=shrink
                )
            except PageTimeoutError:
                self.halve(asked or MIN_PAGE_SIZE)
                continue
            break
        if response.status_code == HTTPStatus.NOT_FOUND:
            if params is None:
                msg = (
                    f"Stream '{self.entity}': a page after the first answered 404 (no records) "
                    f"at GET {redacted_query(response.url)}, and the listing cannot be resumed "
                    "from its last row (it has no ordering, or the page stays lost); run the sync again."
                )
                raise PageMissingError(msg)
            # An empty first page: base_url and the entity must exist.
            self.client.check_api(self.entity, self.throttle)
            return Page([], None)
        # Only next_page says whether more follows: an empty or short page is no end (docs/lgfapi.md 4.4).
        page = Page(self.client.page_rows(response, self.entity), self.next_link(response))
        self.client.forget(response)
        return page

    def halve(self, timed_out: int) -> None:
        """Pages of `timed_out` rows time out: use half as many from now on (once per size)."""
        with self._lock:
            if self.page_size < timed_out:
                return  # another request already shrank it
            self.page_size = max(MIN_PAGE_SIZE, timed_out // 2)
            self.client.hooks.note(self.entity, f"pages timed out, down to {self.page_size} rows")
            self.note(
                "halved",
                "Stream '%s': a page of %d rows timed out; reading it in pages of %d rows from now on "
                "(halved again on each further timeout, down to %d).",
                self.entity,
                timed_out,
                self.page_size,
                MIN_PAGE_SIZE,
            )

    def next_link(self, response: requests.Response) -> str | None:
        """The page's `next_page` link, sent to base_url's origin; None on the last page."""
        link = self.client.payload(response).get("next_page") or None
        if link is None:
            return None
        # A relative link (`?cursor=2`) continues the page it came with, not the host's root.
        local = on_origin(self.client.url_base, urljoin(response.url, link))
        if not urlparse(local).path.startswith(urlparse(self.client.url_base).path):
            msg = (
                f"Stream '{self.entity}': the page's next_page link leads outside base_url's entity API "
                f"(GET {redacted_query(local)}); the tap follows links only under "
                f"{urlparse(self.client.url_base).path}."
            )
            raise FatalError(msg)
        if origin(link) != origin(local):
            scheme, host, port = origin(link)
            self.note(
                "origin",
                "Stream '%s': next_page links name %s://%s:%s; their path and query are sent to "
                "base_url's host, as credentials never go anywhere else.",
                self.entity,
                scheme,
                host,
                port,
            )
        return local

    def note(self, topic: str, message: str, *args: Any) -> None:
        """Log a fact about this listing once per run."""
        if topic not in self._noted:
            self._noted.add(topic)
            self.client.logger.info(message, *args)

    # --- resuming -----------------------------------------------------------------------

    def resume(self, params: dict[str, Any], last_row: dict[str, Any]) -> Resume | None:
        """The keyset query continuing `params`'s listing after `last_row` (ordering id, or key,id)."""
        order = params.get("ordering")
        last_id = integer_id(last_row.get("id"))
        key = self.replication_key
        if last_id is None:
            return None
        if order == "id":
            return Resume({**params, "id__gt": last_id}, lambda row: True)
        if not key or order != f"{key},id":
            return None
        last = parse_timestamp(last_row.get(key), self.timezone)
        if last is None:
            return None
        start = filter_timestamp(last.replace(microsecond=0))  # filters take whole seconds
        return Resume({**params, f"{key}__gte": start}, AfterRow(key, self.timezone, last, last_id))


def list_rows(client: Client, entity: str, fields: str, throttle: Throttle | None) -> list[dict[str, Any]]:
    """Every row of a small entity, raw (e.g. the facilities the user sees, with their codes)."""
    listing = Listing(
        client,
        entity,
        orderings=(None,),
        replication_key=None,
        user_filters={},
        probe_filters={},
        throttle=throttle,
    )
    url: str | None = listing.url
    params: dict[str, Any] | None = {"page_mode": "sequenced", "page_size": 1250, "fields": fields}
    rows: list[dict[str, Any]] = []
    guard = LoopGuard(entity)  # a looping next_page would grow `rows` for ever
    while url is not None:
        page = listing.fetch(url, params)
        url, params = page.next_url, None
        if guard.check(page.rows, page.rows, url):
            rows.extend(page.rows)
    return rows
