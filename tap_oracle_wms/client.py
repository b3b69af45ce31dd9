"""Talking to lgfapi: WMSStream owns every HTTP concern (auth, sending, validation, retries) in SDK hooks."""

from __future__ import annotations

import contextlib
import random
import threading
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import requests
from singer_sdk import RESTStream, metrics
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from typing_extensions import override

from tap_oracle_wms.engine import Page
from tap_oracle_wms.lgfapi import transport
from tap_oracle_wms.lgfapi import wire as lgfapi
from tap_oracle_wms.lgfapi.auth import WMSOAuthAuthenticator
from tap_oracle_wms.lgfapi.paging import Listing, PageTimeoutError
from tap_oracle_wms.lgfapi.throttle import THROTTLED
from tap_oracle_wms.run import SyncRun

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable

    from backoff.types import Details
    from singer_sdk.authenticators import BasicAuthenticator
    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

    from tap_oracle_wms.engine import Throttle


class WMSStream(RESTStream[Any]):
    """An lgfapi client as an SDK stream: what every entity stream (streams.py) sends requests with."""

    # Waits are exponential from this base; Retry-After wins when the server sends one.
    backoff_base_seconds: ClassVar[float] = 1.0
    backoff_cap_seconds: ClassVar[float] = 120.0

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
        self.listing = Listing(self, int(self.config["page_size"]), self.timezone)

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

    # --- sending ----------------------------------------------------------------------------

    def send(
        self,
        url: str,
        params: dict[str, Any] | None,
        context: Context | None = None,
        throttle: Throttle | None = None,
        *,
        shrink: bool = False,
    ) -> requests.Response:
        """One GET with this stream's auth, validation and retries; each attempt holds a throttle slot.

        With `shrink`, a read timeout is not retried as is: the listing asks for smaller pages.
        """
        prepared = self.build_prepared_request(
            method="GET", url=url, params=params or {}, headers=self.http_headers
        )

        def attempt() -> requests.Response:
            slot = throttle.slot() if throttle is not None else contextlib.nullcontext()
            with slot as held:
                try:
                    self.run.progress.request(self.name)
                    response = transport.exchange(
                        self.requests_session,
                        prepared,
                        self.authenticator,
                        timeout=self.timeout,
                        base_url=self.url_base,
                    )
                    self.log_request(response)
                    self.validate_response(response)
                except RetriableAPIError as exc:
                    if held is not None and getattr(exc.response, "status_code", None) in THROTTLED:
                        held.throttled = True
                    raise
                except requests.exceptions.ReadTimeout as exc:
                    if shrink:
                        raise PageTimeoutError(str(exc)) from exc
                    raise
                return response

        return self.request_decorator(attempt)()

    def fetch_page(
        self, url: str, params: dict[str, Any] | None, context: Context | None, throttle: Throttle | None
    ) -> Page:
        """One page of a listing and the link to the next (paging.py)."""
        return self.listing.fetch(url, params, context, throttle)

    def log_request(self, response: requests.Response) -> None:
        """The SDK's request-duration metric, tagged with the entity asked for (describe calls too)."""
        path = urlparse(response.url).path
        endpoint = path.split("/wms/lgfapi/", 1)[-1].split("/", 1)[-1]
        parts = endpoint.split("/")
        stream = parts[1] if self.name == "entity" and len(parts) > 1 and parts[1] else self.name
        ok = response.status_code < HTTPStatus.BAD_REQUEST or response.status_code == HTTPStatus.NOT_FOUND
        point = metrics.Point(
            "timer",
            metric=metrics.Metric.HTTP_REQUEST_DURATION,
            value=response.elapsed.total_seconds(),
            tags={
                metrics.Tag.STREAM: stream,
                metrics.Tag.ENDPOINT: endpoint,
                metrics.Tag.HTTP_STATUS_CODE: response.status_code,
                metrics.Tag.STATUS: metrics.Status.SUCCEEDED if ok else metrics.Status.FAILED,
            },
        )
        metrics.log(metrics.get_metrics_logger(), point)

    def note(self, text: str) -> None:
        """Something special about this stream, for the run's closing summary."""
        self.run.progress.note(self.name, text)

    def fetch_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """One GET outside paging (catalog, describe) with the same auth, retries and checks."""
        response = self.send(self.url_base + path, params)
        if response.status_code == HTTPStatus.NOT_FOUND:
            raise FatalAPIError(self.response_error_message(response))
        return self.payload(response)

    def check_api(self) -> None:
        """Once a run: the entity API answers at base_url (a wrong one is no empty tenant)."""

        def fetch(path: str) -> None:
            try:
                response = self.send(self.url_base + path, None)
            except lgfapi.RunFatalError:
                raise
            except (FatalAPIError, RetriableAPIError) as exc:
                raise lgfapi.RunFatalError(f"the entity API at base_url does not answer: {exc}") from exc
            if response.status_code == HTTPStatus.NOT_FOUND:
                msg = (
                    f"base_url does not serve the lgfapi entity API: HTTP 404 from GET "
                    f"{lgfapi.redacted_query(response.url)}; check base_url and api_version."
                )
                raise lgfapi.RunFatalError(msg)

        self.run.check_api(fetch)

    def list_rows(self, entity: str, fields: str) -> list[dict[str, Any]]:
        """Every row of a small entity, raw (e.g. the facilities the user sees, with their codes)."""
        url: str | None = f"{self.url_base}entity/{entity}/"
        params: dict[str, Any] | None = {"page_mode": "sequenced", "page_size": 1250, "fields": fields}
        rows: list[dict[str, Any]] = []
        while url is not None:
            page = self.listing.fetch(url, params, None, None)
            rows.extend(page.rows)
            url, params = page.next_url, None
        return rows

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
        if status == HTTPStatus.UNAUTHORIZED:
            raise lgfapi.RunFatalError(self.response_error_message(response))
        if lgfapi.rejects_ordering(response):
            raise lgfapi.OrderingRejectedError(self.response_error_message(response))
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

    @property
    def timezone(self) -> ZoneInfo:
        """Zone of naive date-times the API may send (the API user's facility zone)."""
        return ZoneInfo(self.config["tenant_timezone"])

    # --- retries --------------------------------------------------------------------------

    @override
    def request_decorator(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """The SDK's retries, minus TLS failures: a certificate does not heal by waiting."""

        def no_retry_on_tls(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except requests.exceptions.SSLError:
                raise lgfapi.RunFatalError(lgfapi.tls_failure(urlparse(self.url_base).netloc)) from None

        return super().request_decorator(no_retry_on_tls)

    @override
    def backoff_max_tries(self) -> int:
        return int(self.config["max_retries"]) + 1

    @override
    def backoff_wait_generator(self) -> Generator[float, Any, None]:
        """Exponential waits, or the server's Retry-After; a wait over max_wait_seconds fails instead."""
        exc = yield  # type: ignore[misc]
        attempt, cap = 0, float(self.config["max_wait_seconds"])
        while True:
            wait = min(self.backoff_cap_seconds, cap, self.backoff_base_seconds * 2**attempt)
            response = getattr(exc, "response", None)
            asked = lgfapi.retry_after(response.headers.get("Retry-After")) if response is not None else None
            if asked is not None and asked > cap:
                msg = (
                    f"Stream '{self.name}': the server asks to wait {asked:g} s before retrying "
                    f"(Retry-After), more than max_wait_seconds ({cap:g} s); try again later."
                )
                raise FatalAPIError(msg) from exc
            if asked is not None:
                wait = asked
            attempt += 1
            exc = yield wait

    @override
    def backoff_handler(self, details: Details) -> None:
        """The SDK's retry line, and one more retry in this stream's count."""
        self.run.progress.request(self.name, retry=True)
        super().backoff_handler(details)

    @override
    def backoff_jitter(self, value: float) -> float:
        """Never wait less than asked; spread retries by up to 10%."""
        return value * (1 + 0.1 * random.random())
