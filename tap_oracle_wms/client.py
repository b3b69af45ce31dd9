"""The lgfapi base stream: one entity listed in `page_mode=sequenced`, every HTTP concern in SDK hooks."""

from __future__ import annotations

import contextlib
import random
import threading
from functools import cached_property
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from typing_extensions import override

from tap_oracle_wms import lgfapi, ordering, query
from tap_oracle_wms.auth import WMSOAuthAuthenticator
from tap_oracle_wms.bookmarks import starting_bound
from tap_oracle_wms.engine import Page
from tap_oracle_wms.engine.throttle import THROTTLED
from tap_oracle_wms.records import RecordShaper
from tap_oracle_wms.run import SyncRun

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable

    from singer_sdk.authenticators import BasicAuthenticator
    from singer_sdk.helpers.types import Context
    from singer_sdk.singerlib import Catalog
    from singer_sdk.tap_base import Tap

    from tap_oracle_wms.engine import Throttle


class WMSStream(RESTStream[Any]):
    """One lgfapi entity, listed in `page_mode=sequenced` and shaped for relational targets."""

    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key: str | None = "mod_ts"
    is_timestamp_replication_key = True
    # Waits are exponential from this base; Retry-After wins when the server sends one.
    backoff_base_seconds: ClassVar[float] = 1.0
    backoff_cap_seconds: ClassVar[float] = 120.0
    # A STATE message every this many records (SDK default 10,000): a killed sorted run
    # resumes from its last checkpoint, so it redoes at most this many rows.
    STATE_MSG_FREQUENCY = 1000
    # post_process builds every value to the catalog schema and drops unknown fields, so the
    # SDK's per-value conformance pass (about half the CPU of a sync, measured) is redundant.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(
        self,
        tap: Tap,
        name: str | None = None,
        schema: dict[str, Any] | None = None,
        *,
        run: SyncRun | None = None,
    ) -> None:
        name = name or self.name
        super().__init__(tap, name=name, schema=schema, path=f"entity/{name}/")
        self.run = run or SyncRun(tap.config)
        self.requests_session.verify = self.config.get("ca_bundle") or True
        self._decoded = threading.local()  # the last response each thread decoded, and its JSON

    # --- HTTP -------------------------------------------------------------------------

    @property
    @override
    def url_base(self) -> str:
        base = self.config["base_url"].rstrip("/")
        return f"{base}/wms/lgfapi/{self.config['api_version']}/"

    @property
    @override
    def authenticator(self) -> BasicAuthenticator | WMSOAuthAuthenticator:
        return self.run.authenticator

    @property
    @override
    def timeout(self) -> int:
        return int(self.config["request_timeout"])

    @override
    def get_url_params(self, context: Context | None, next_page_token: Any | None) -> dict[str, Any]:
        """The first page's query; later pages follow the server's `next_page` links."""
        props = self.schema.get("properties", {})
        selected = [name for name in props if self.mask.get(("properties", name), True)]
        keys = [*self.primary_keys, *([self.replication_key] if self.replication_key else [])]
        params: dict[str, Any] = {
            "page_mode": "sequenced",
            "page_size": self.config["page_size"],
            "ordering": f"{self.replication_key},id" if self.incremental else "id",
            "fields": ",".join(query.requested_fields(props, selected, keys)),
            **query.scope_filters(self.config, props),
            **self.config["stream_filters"].get(self.name, {}),
        }
        if self.incremental and self.replication_key:
            start = starting_bound(self, context)
            params.update(
                query.bounds(
                    self.replication_key, start, self.config["lookback_seconds"], self.run.started_at
                )
            )
        params.update(self.partition_filters(context))
        return params

    def first_page_params(self, context: Context | None) -> dict[str, Any]:
        """The engine's name for the first page's query."""
        return self.get_url_params(context, None)

    def probe_filters(self) -> dict[str, Any] | None:
        """Filters an unfiltered list needs (docs/lgfapi.md 6.1); None when it cannot be listed at all."""
        return {}

    def partition_filters(self, context: Context | None) -> dict[str, Any]:
        """The list filters that select one partition; a partition is its filters by default."""
        return dict(context or {})

    def check_same_origin(self, url: str) -> None:
        """Refuse to send credentials to a host other than the configured tenant."""
        lgfapi.check_same_origin(self.url_base, url, entity=self.name)

    # --- sending ----------------------------------------------------------------------------

    def send(
        self,
        url: str,
        params: dict[str, Any] | None,
        context: Context | None = None,
        throttle: Throttle | None = None,
    ) -> requests.Response:
        """One GET with this stream's auth, validation and retries; each attempt holds a throttle slot."""
        prepared = self.build_prepared_request(
            method="GET", url=url, params=params or {}, headers=self.http_headers
        )

        def attempt() -> requests.Response:
            slot = throttle.slot() if throttle is not None else contextlib.nullcontext()
            with slot as held:
                try:
                    response = self.requests_session.send(
                        self.authenticator(prepared),
                        timeout=self.timeout,
                        allow_redirects=self.allow_redirects,
                    )
                    self.validate_response(response)
                except RetriableAPIError as exc:
                    if held is not None and getattr(exc.response, "status_code", None) in THROTTLED:
                        held.throttled = True
                    raise
                return response

        return self.request_decorator(attempt)()

    def fetch_page(
        self, url: str, params: dict[str, Any] | None, context: Context | None, throttle: Throttle | None
    ) -> Page:
        """One page of a listing and the link to the next; a list 404 is an empty page."""
        response = self.send(url, params, context, throttle)
        rows = list(self.parse_response(response))
        return Page(rows, self.next_link(response) if rows else None)

    def next_link(self, response: requests.Response) -> str | None:
        """The page's `next_page` link, checked; None on the last page (docs/lgfapi.md 2.2)."""
        if response.status_code == HTTPStatus.NOT_FOUND:
            return None
        link = self.payload(response).get("next_page") or None
        if link is not None:
            self.check_same_origin(link)
        return link

    def fetch_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """One GET outside paging (catalog, describe) with the same auth, retries and checks."""
        response = self.send(self.url_base + path, params)
        if response.status_code == HTTPStatus.NOT_FOUND:
            raise FatalAPIError(self.response_error_message(response))
        return self.payload(response)

    def list_rows(self, entity: str, fields: str) -> list[dict[str, Any]]:
        """Every row of a small entity, raw (e.g. the facilities the user sees, with their codes)."""
        url: str | None = f"{self.url_base}entity/{entity}/"
        params: dict[str, Any] | None = {"page_mode": "sequenced", "page_size": 1250, "fields": fields}
        rows: list[dict[str, Any]] = []
        while url is not None:
            page = self.fetch_page(url, params, None, None)
            rows.extend(page.rows)
            url, params = page.next_url, None
        return rows

    @override
    def request_records(self, context: Context | None) -> Iterable[dict]:
        """Rows from pages the run's engine fetches ahead, handed over strictly in order.

        The SDK's version sends one request at a time and only after the previous page was
        emitted; the engine keeps `concurrency` requests in flight (next pages, key ranges,
        following streams) through this stream's own `fetch_page`.
        """
        with self.get_http_request_counter() as counter:
            counter.with_context(context)
            for page in self.run.engine.pages(self, context, self.get_url_params(context, None)):
                counter.increment()
                yield from page

    # --- responses ----------------------------------------------------------------------

    def payload(self, response: requests.Response) -> Any:
        """Decoded JSON body, decoded once per response (per thread) and shared by every hook."""
        cache = self._decoded
        if getattr(cache, "response", None) is not response:
            cache.payload = lgfapi.decode(response.content)
            cache.response = response
        return cache.payload

    @override
    def validate_response(self, response: requests.Response) -> None:
        """Classify only: fatal or retriable; the backoff hooks do all the waiting."""
        status = response.status_code
        if status == HTTPStatus.NOT_FOUND and lgfapi.error_body(response) is not None:
            return  # a list that matches nothing (docs/lgfapi.md 2.11)
        if status in {408, 409, 429} or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableAPIError(self.response_error_message(response), response)
        if status == HTTPStatus.UNAUTHORIZED and self.retry_with_new_token(response):
            raise RetriableAPIError(self.response_error_message(response), response)
        if status in {HTTPStatus.FORBIDDEN, HTTPStatus.METHOD_NOT_ALLOWED}:
            raise lgfapi.AccessDeniedError(self.response_error_message(response))
        if status >= HTTPStatus.BAD_REQUEST:
            raise FatalAPIError(self.response_error_message(response))
        if isinstance(self.authenticator, WMSOAuthAuthenticator):
            self.authenticator.accepted()
        if not lgfapi.looks_like_json(response):
            raise FatalAPIError(self.response_error_message(response))
        try:
            self.payload(response)
        except lgfapi.DecodeError as exc:
            msg = f"Stream '{self.name}': incomplete or invalid JSON page ({exc}); retrying."
            raise RetriableAPIError(msg, response) from None

    def retry_with_new_token(self, response: requests.Response) -> bool:
        """On a 401 with OAuth2, retry with a fresh token, once per token (never with Basic)."""
        auth = self.authenticator
        if not isinstance(auth, WMSOAuthAuthenticator):
            return False
        return auth.retry_after_401(response.request.headers.get("Authorization"))

    @override
    def response_error_message(self, response: requests.Response) -> str:
        """One line for an HTTP answer the sync cannot use, no credential in it (lgfapi.py)."""
        return lgfapi.failure_text(response, entity=self.name, auth_method=self.config["auth_method"])

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        """The page's rows; a list 404 has none (docs/lgfapi.md 2.11)."""
        if response.status_code == HTTPStatus.NOT_FOUND:
            return []
        return lgfapi.page_rows(self.payload(response), entity=self.name)

    # --- retries --------------------------------------------------------------------------

    @override
    def request_decorator(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """The SDK's retries, minus TLS failures: a certificate does not heal by waiting."""

        def no_retry_on_tls(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except requests.exceptions.SSLError:
                raise FatalAPIError(lgfapi.tls_failure(urlparse(self.url_base).netloc)) from None

        return super().request_decorator(no_retry_on_tls)

    @override
    def backoff_max_tries(self) -> int:
        return int(self.config["max_retries"]) + 1

    @override
    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        """Exponential waits, replaced by the server's Retry-After when it sends one."""
        exc = yield  # type: ignore[misc]
        attempt = 0
        while True:
            wait = min(self.backoff_cap_seconds, self.backoff_base_seconds * 2**attempt)
            response = getattr(exc, "response", None)
            retry_after = response.headers.get("Retry-After") if response is not None else None
            if retry_after:
                with contextlib.suppress(ValueError):  # an HTTP-date: keep the exponential wait
                    wait = float(retry_after)
            attempt += 1
            exc = yield wait

    @override
    def backoff_jitter(self, value: float) -> float:
        """Never wait less than asked; spread retries by up to 10%."""
        return value * (1 + 0.1 * random.random())

    # --- bookmarks ----------------------------------------------------------------------

    @property
    @override
    def is_sorted(self) -> bool:
        """Resumable mid-stream only when the server is known to honour `ordering`."""
        return self.incremental and self.ordering_honoured()

    @property
    @override
    def check_sorted(self) -> bool:
        """Off for sorted runs: they re-read rows older than the bookmark on purpose.

        The lower bound is the bookmark minus lookback_seconds, truncated to the second, so a
        sorted run starts below the input bookmark and the SDK's check (against that bookmark)
        would fail every incremental run. Ordering is verified by the probe instead. Unsorted
        runs keep the check on: with it the SDK keeps the greatest value seen.
        """
        return not self.is_sorted

    @property
    def incremental(self) -> bool:
        """Bounded by mod_ts; a FULL_TABLE sync (e.g. for ACTIVATE_VERSION) reads every row by id."""
        return bool(self.replication_key) and self.replication_method == "INCREMENTAL"

    @override
    def apply_catalog(self, catalog: Catalog) -> None:
        """The SDK's, except that FULL_TABLE forced in the stream's metadata always wins.

        Discovery writes replication_method INCREMENTAL on every entry and the SDK prefers that
        field to the metadata's forced-replication-method, so a catalog forcing a full sync only
        through metadata (a weekly full sync for ACTIVATE_VERSION) would stay incremental.
        """
        super().apply_catalog(catalog)
        entry = catalog.get_stream(self.name)
        root = entry.metadata.get(()) if entry else None
        if getattr(root, "forced_replication_method", None) == "FULL_TABLE":
            self.forced_replication_method = "FULL_TABLE"

    @property
    def timezone(self) -> ZoneInfo:
        """Zone of naive date-times the API may send (the API user's facility zone)."""
        return ZoneInfo(self.config["tenant_timezone"])

    def ordering_honoured(self) -> bool:
        """Whether sequenced mode keeps our `ordering` (docs/lgfapi.md 2.2 GAP), probed once a run."""
        setting = self.config["sequenced_ordering"]
        if setting != "auto":
            return setting == "honoured"
        with self.run.lock:
            if not self.run.ordering_probed:
                self.run.ordering_honoured = self.probe_ordering()
                self.run.ordering_probed = self.run.ordering_honoured is not None
            return bool(self.run.ordering_honoured)

    def probe_ordering(self) -> bool | None:
        """Whether this entity's sequenced pages keep the ordering asked for (ordering.py)."""
        filters = self.probe_filters()
        if filters is None:
            return None
        return ordering.probe(
            self.name,
            lambda probe: self.fetch_page(self.get_url(None), {**probe, **filters}, None, None).rows,
        )

    def split_key(self, params: dict[str, Any]) -> str | None:
        """The key the listing may be read in ranges on (ordering.py), for the engine."""
        user_filters = self.config["stream_filters"].get(self.name, {})
        return ordering.split_key(
            params, self.replication_key, user_filters, honoured=self.ordering_honoured()
        )

    def count_rows(
        self, params: dict[str, Any], order: str, context: Context | None, throttle: Throttle
    ) -> tuple[int, Any] | None:
        """(row count, first key value in `order`) of the listing, for the engine's key ranges."""
        response = self.send(self.get_url(context), query.count_query(params, order), context, throttle)
        if response.status_code == HTTPStatus.NOT_FOUND:
            return None
        return query.count_of(self.payload(response), order.lstrip("-"))

    # --- record shaping -------------------------------------------------------------------

    @cached_property
    def shaper(self) -> RecordShaper:
        """Per-field shaping and schema checks derived from the catalog schema (records.py)."""
        return RecordShaper(
            self.name,
            self.schema,
            replication_key=self.replication_key,
            tz=self.timezone,
            strict=bool(self.config["strict_schema"]),
            logger=self.logger,
        )

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Shape the decoded row in place to the catalog schema; None skips it."""
        return self.shaper.shape(row)
