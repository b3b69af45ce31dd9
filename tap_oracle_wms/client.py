"""The lgfapi REST base stream: auth, paging, retries, bookmarks and record shaping."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import random
import threading
from dataclasses import dataclass, field
from functools import cached_property
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import msgspec
import requests
from singer_sdk import RESTStream
from singer_sdk.authenticators import BasicAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context
from singer_sdk.pagination import BaseHATEOASPaginator
from typing_extensions import override

from tap_oracle_wms import errors, records
from tap_oracle_wms.auth import WMSOAuthAuthenticator
from tap_oracle_wms.errors import AccessDeniedError
from tap_oracle_wms.schema_breaks import Converters, RecordChecker

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Mapping
    from urllib.parse import ParseResult

    from singer_sdk.singerlib import Catalog
    from singer_sdk.streams.rest import HTTPRequest, PageContext
    from singer_sdk.tap_base import Tap

UTC = dt.timezone.utc
_decoder = msgspec.json.Decoder(float_hook=decimal.Decimal)
_MISSING = object()
# Always present self link (wms-api.md 2.10); kept only when describe lists it.
_SELF_LINK = "url"


@dataclass
class SyncRun:
    """What every stream of one tap run shares: its start instant and server quirks probed once."""

    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(UTC))
    ordering_honoured: bool | None = None
    authenticator: BasicAuthenticator | WMSOAuthAuthenticator | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)


def make_authenticator(config: Mapping[str, Any]) -> BasicAuthenticator | WMSOAuthAuthenticator:
    """Basic auth, or an OAuth2 client-credentials token, from the declared settings."""
    if config["auth_method"] == "oauth2":
        return WMSOAuthAuthenticator(
            token_url=config["oauth_token_url"],
            client_id=config["oauth_client_id"],
            client_secret=config["oauth_client_secret"],
            scope=config["oauth_scope"],
            verify=config.get("ca_bundle") or True,
        )
    return BasicAuthenticator(username=config["username"], password=config["password"])


def api_timestamp(value: dt.datetime) -> str:
    """Format a filter value: whole seconds with an explicit offset (wms-api.md 2.8 GAP)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


class NextPageLinkPaginator(BaseHATEOASPaginator):
    """Follows the absolute `next_page` link the server sends (wms-api.md 2.2)."""

    def __init__(self, payload_of: Callable[[requests.Response], Any]) -> None:
        super().__init__()
        self._payload_of = payload_of

    @override
    def get_next_url(self, response: requests.Response) -> str | None:
        if response.status_code == HTTPStatus.NOT_FOUND:
            return None
        return self._payload_of(response).get("next_page") or None


class WMSStream(RESTStream["ParseResult | None"]):
    """One lgfapi entity, listed in `page_mode=sequenced` and shaped for relational targets."""

    primary_keys: ClassVar[list[str]] = ["id"]
    replication_key: str | None = "mod_ts"
    is_timestamp_replication_key = True
    # Retry-less waits are exponential from this base; Retry-After wins when the server sends it.
    backoff_base_seconds: ClassVar[float] = 1.0
    backoff_cap_seconds: ClassVar[float] = 120.0
    # A STATE message every this many records (SDK default 10,000): a killed sorted run
    # resumes from its last checkpoint, so it redoes at most this many rows (issue 6).
    STATE_MSG_FREQUENCY: ClassVar[int] = 1000
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
        self.run = run or SyncRun()
        self.requests_session.verify = self.config.get("ca_bundle") or True
        self._decoded: tuple[requests.Response | None, Any] = (None, None)
        self._unknown_fields: set[str] = set()

    # --- HTTP -------------------------------------------------------------------------

    @property
    @override
    def url_base(self) -> str:
        base = self.config["base_url"].rstrip("/")
        return f"{base}/wms/lgfapi/{self.config['api_version']}/"

    @property
    @override
    def authenticator(self) -> BasicAuthenticator | WMSOAuthAuthenticator:
        """One authenticator per run, so every stream shares one OAuth2 token."""
        with self.run.lock:
            if self.run.authenticator is None:
                self.run.authenticator = make_authenticator(self.config)
            return self.run.authenticator

    @property
    @override
    def timeout(self) -> int:
        return int(self.config["request_timeout"])

    @override
    def get_new_paginator(self) -> NextPageLinkPaginator:
        return NextPageLinkPaginator(self.payload)

    @override
    def get_url_params(self, context: Context | None, next_page_token: ParseResult | None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "page_mode": "sequenced",
            "page_size": self.config["page_size"],
            "ordering": f"{self.replication_key},id" if self.incremental else "id",
        }
        fields = self.requested_fields()
        if fields:
            params["fields"] = ",".join(fields)
        params.update(self.scope_filters())
        params.update(self.config.get("stream_filters", {}).get(self.name, {}))
        if self.incremental:
            start = self.get_starting_timestamp(context)
            if start is not None:
                lookback = dt.timedelta(seconds=self.config["lookback_seconds"])
                params[f"{self.replication_key}__gte"] = api_timestamp(start - lookback)
            # Rows changed after the run started belong to the next run, not to a page we
            # may already have passed.
            params[f"{self.replication_key}__lt"] = api_timestamp(self.run.started_at)
        params.update(self.partition_filters(context))
        return params

    def probe_filters(self) -> dict[str, Any] | None:
        """Filters an unfiltered list needs (wms-api.md 6.1); None when it cannot be listed at all."""
        return {}

    def partition_filters(self, context: Context | None) -> dict[str, Any]:
        """The list filters that select one partition; a partition is its filters by default."""
        return dict(context or {})

    @override
    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        """Later pages: the server's `next_page` link verbatim, never rebuilt (wms-api.md 1.1)."""
        request = super().get_http_request(page=page)
        token = page.next_page_token
        if token is not None:
            self.check_same_origin(token.geturl())
            request.url = token.geturl()
            request.params = {}
        return request

    def check_same_origin(self, url: str) -> None:
        """Refuse to send credentials to a host other than the configured tenant."""
        base, link = urlparse(self.url_base), urlparse(url)
        default = {"https": 443, "http": 80}
        if (base.scheme, base.hostname, base.port or default.get(base.scheme)) != (
            link.scheme,
            link.hostname,
            link.port or default.get(link.scheme),
        ):
            msg = (
                f"Stream '{self.name}': the server's next_page link points to "
                f"{link.scheme}://{link.hostname}, not to base_url's host; refusing to follow it."
            )
            raise FatalAPIError(msg)

    def requested_fields(self) -> list[str]:
        """`fields=`: always the selected columns, named explicitly.

        Some fields only come back when asked for by name (item `image_data`, ib_shipment
        `lpn_count`; wms-api.md 2.4), and a partial selection should not download the rest.
        """
        props = self.schema.get("properties", {})
        wanted = {
            name[: -len("_key")] if name.endswith("_key") and name[:-4] in props else name
            for name in props
            if self.mask.get(("properties", name), True)
        }
        wanted.update(self.primary_keys)
        if self.replication_key:
            wanted.add(self.replication_key)
        return sorted(wanted)

    def scope_filters(self) -> dict[str, str]:
        """Narrow to the configured facility/company codes where the entity has those keys."""
        props = self.schema.get("properties", {})
        filters = {}
        for setting, key in (("facility_codes", "facility_id"), ("company_codes", "company_id")):
            codes = self.config.get(setting) or []
            if codes and key in props:
                filters[f"{key}__code__in"] = ",".join(codes)
        return filters

    def fetch_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """One GET outside paging (catalog, describe) with the same auth, retries and checks."""
        return self.payload(self.fetch(self.url_base + path, params, missing_ok=False))

    def fetch(self, url: str, params: dict[str, Any] | None, *, missing_ok: bool) -> requests.Response:
        """Send one GET through the SDK's retry decorator; a 404 is an error unless `missing_ok`."""
        request = self.build_prepared_request(
            method="GET", url=url, params=params or {}, headers=self.http_headers
        )
        response = self.request_decorator(self._request)(request, None)
        if response.status_code == HTTPStatus.NOT_FOUND and not missing_ok:
            raise FatalAPIError(self.error_message(response))
        return response

    def list_rows(self, entity: str, fields: str) -> list[dict[str, Any]]:
        """Every row of a small entity, raw (e.g. the facilities the user sees, with their codes)."""
        url: str | None = f"{self.url_base}entity/{entity}/"
        params: dict[str, Any] | None = {"page_mode": "sequenced", "page_size": 1250, "fields": fields}
        values: list[dict[str, Any]] = []
        while url:
            response = self.fetch(url, params, missing_ok=True)
            values.extend(self.parse_response(response))
            found = response.status_code != HTTPStatus.NOT_FOUND
            url = self.payload(response).get("next_page") if found else None
            if url:
                self.check_same_origin(url)
            params = None
        return values

    @override
    def request_records(self, context: Context | None) -> Iterable[dict]:
        """Rows from pages fetched ahead by background threads (tap_oracle_wms.pages).

        The SDK's version sends one request at a time and only after the previous page was
        emitted, so a run waits pages x latency; the prefetcher keeps `concurrency` requests
        in flight (next pages, key-range partitions, following streams) through this
        stream's own retrying `_request`, and still hands pages over strictly in order.
        """
        from tap_oracle_wms import pages  # pages imports this module

        yield from pages.stream_records(self, context, self.get_url_params(context, None))

    # --- responses ----------------------------------------------------------------------

    def payload(self, response: requests.Response) -> Any:
        """Decoded JSON body, decoded once per response and shared by every hook."""
        cached_response, cached = self._decoded
        if cached_response is not response:
            try:
                cached = _decoder.decode(response.content)
            except RecursionError:  # msgspec's own limit on nesting depth
                raise msgspec.DecodeError("JSON nested too deeply") from None
            self._decoded = (response, cached)
        return cached

    @override
    def validate_response(self, response: requests.Response) -> None:
        """Classify only: fatal or retriable; the backoff hooks do all the waiting."""
        status = response.status_code
        if status == HTTPStatus.NOT_FOUND and errors.error_body(response) is not None:
            return  # a list that matches nothing (wms-api.md 2.11)
        if status in {408, 409, 429} or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableAPIError(self.error_message(response), response)
        if status == HTTPStatus.UNAUTHORIZED and self.retry_with_new_token(response):
            raise RetriableAPIError(self.error_message(response), response)
        if status in {HTTPStatus.FORBIDDEN, HTTPStatus.METHOD_NOT_ALLOWED}:
            raise AccessDeniedError(self.error_message(response))
        if status >= HTTPStatus.BAD_REQUEST:
            raise FatalAPIError(self.error_message(response))
        if isinstance(self.authenticator, WMSOAuthAuthenticator):
            self.authenticator.accepted()
        if not errors.looks_like_json(response):
            raise FatalAPIError(self.error_message(response))
        try:
            self.payload(response)
        except msgspec.DecodeError as exc:
            msg = f"Stream '{self.name}': incomplete or invalid JSON page ({exc}); retrying."
            raise RetriableAPIError(msg, response) from None

    def retry_with_new_token(self, response: requests.Response) -> bool:
        """On a 401 with OAuth2, retry with a fresh token, once per token (never with Basic)."""
        auth = self.authenticator
        if not isinstance(auth, WMSOAuthAuthenticator):
            return False
        return auth.retry_after_401(response.request.headers.get("Authorization"))

    def error_message(self, response: requests.Response) -> str:
        """One line for an HTTP answer the sync cannot use (errors.py)."""
        return errors.describe(response, entity=self.name, auth_method=self.config["auth_method"])

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        if response.status_code == HTTPStatus.NOT_FOUND:
            return []
        payload = self.payload(response)
        results = payload.get("results") if isinstance(payload, dict) else None
        if not isinstance(results, list):
            msg = f"Stream '{self.name}': the page has no 'results' list; is base_url right?"
            raise FatalAPIError(msg)
        odd = next((row for row in results if not isinstance(row, dict)), _MISSING)
        if odd is not _MISSING:
            msg = f"Stream '{self.name}': the page's 'results' holds a {type(odd).__name__}, not an object."
            raise FatalAPIError(msg)
        next_page = payload.get("next_page")
        if next_page is not None and not isinstance(next_page, str):
            msg = f"Stream '{self.name}': the page's 'next_page' is a {type(next_page).__name__}, not a link."
            raise FatalAPIError(msg)
        return results

    # --- retries --------------------------------------------------------------------------

    @override
    def request_decorator(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """The SDK's retries, minus TLS failures: a certificate does not heal by waiting."""

        def no_retry_on_tls(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except requests.exceptions.SSLError:
                msg = (
                    f"TLS certificate verification failed for {urlparse(self.url_base).netloc}; if a "
                    "proxy re-signs TLS traffic, set ca_bundle to its CA certificate file"
                )
                raise FatalAPIError(msg) from None

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
        would fail every incremental run (issue 6). Ordering is verified by the probe instead.
        Unsorted runs keep the check on: with it the SDK keeps the greatest value seen.
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
        through metadata (a weekly full sync for ACTIVATE_VERSION) stayed incremental (issue 6).
        """
        super().apply_catalog(catalog)
        entry = catalog.get_stream(self.name)
        root = entry.metadata.get(()) if entry else None
        if getattr(root, "forced_replication_method", None) == "FULL_TABLE":
            self.forced_replication_method = "FULL_TABLE"

    def ordering_honoured(self) -> bool:
        """Whether sequenced mode keeps our `ordering` (wms-api.md 2.2 GAP), probed once a run."""
        setting = self.config["sequenced_ordering"]
        if setting != "auto":
            return setting == "honoured"
        with self.run.lock:
            if self.run.ordering_honoured is None:
                self.run.ordering_honoured = self.probe_ordering()
            return bool(self.run.ordering_honoured)

    def probe_ordering(self) -> bool | None:
        """Ask for two rows by descending id: ids ascending means `ordering` was ignored."""
        probe = {"page_mode": "sequenced", "page_size": 2, "ordering": "-id", "fields": "id"}
        filters = self.probe_filters()
        if filters is None:
            return None
        probe.update(filters)
        rows = list(self.parse_response(self.fetch(self.get_url(None), probe, missing_ok=True)))
        if len(rows) < 2:
            self.logger.info("Too few rows in '%s' to probe ordering; assuming unsorted.", self.name)
            return None
        honoured = rows[0]["id"] > rows[1]["id"]
        self.logger.info(
            "Sequenced pages %s the requested ordering; incremental syncs are %s.",
            "honour" if honoured else "ignore",
            "resumable mid-stream" if honoured else "bookmarked only at stream end",
        )
        return honoured

    # --- record shaping -------------------------------------------------------------------

    @cached_property
    def converters(self) -> Converters:
        """Per-property shaping derived from the schema: the catalog is the source of truth."""
        tz = ZoneInfo(self.config["tenant_timezone"])
        return Converters(records.converter_table(self.schema, self.replication_key, tz))

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        """Shape the decoded row in place: drop unknown fields, convert the typed ones.

        The steps are planned once per field layout (rows of a stream share a few), so a
        row costs one tuple lookup plus its conversions, not a lookup per field.
        """
        unknown, steps = self.converters.plan(row)
        for name in unknown:
            self.note_unknown_field(name)
            del row[name]
        for name, convert in steps:
            convert(row, name, row[name])
        return self.record_checker.check(row)

    @cached_property
    def record_checker(self) -> RecordChecker:
        """Repairs or skips records that break the schema, or stops if strict (schema_breaks.py)."""
        return RecordChecker(
            self.name, self.schema, strict=bool(self.config.get("strict_schema")), logger=self.logger
        )

    def note_unknown_field(self, name: str) -> None:
        """Warn once per field that the API sends but the catalog does not know (schema drift)."""
        if name == _SELF_LINK or name.endswith("_set") or name in self._unknown_fields:
            return  # the self link and *_set links are left out by design, not drift
        self._unknown_fields.add(name)
        self.logger.warning(
            "Stream '%s': field '%s' is not in the catalog schema and is not emitted; "
            "run discovery again to add it.",
            self.name,
            name,
        )
