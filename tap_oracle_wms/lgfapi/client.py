"""The lgfapi client of one run: one session and one credential for discovery and every stream.

`send` is the one way a request goes out: the run's credentials, same-origin redirects and a
response deadline (transport.py), each attempt holding a throttle slot, answers classified
(retriable, fatal, or usable), retries with the `backoff` library: exponential waits or the
server's Retry-After (never more than max_wait_seconds), a fresh OAuth2 token once after a 401,
no retry on a TLS failure. What the Singer side wants to know (requests, retries, notes) it
learns through `Hooks`.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import backoff
import requests

from tap_oracle_wms.lgfapi import ordering, transport
from tap_oracle_wms.lgfapi.auth import make_auth
from tap_oracle_wms.lgfapi.errors import (
    AccessDeniedError,
    ApiError,
    FatalError,
    OrderingRejectedError,
    PageTimeoutError,
    RetriableError,
    RunFatalError,
    failure_text,
    reason,
    redacted_query,
    tls_failure,
)
from tap_oracle_wms.lgfapi.throttle import THROTTLED
from tap_oracle_wms.lgfapi.wire import (
    DecodeError,
    catalog_entity_names,
    decode,
    error_body,
    looks_like_json,
    rejects_ordering,
    retry_after,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Mapping

    from tap_oracle_wms.lgfapi.throttle import Throttle

USER_AGENT = "tap-oracle-wms"
_MISSING = object()
# What is retried: answers classified retriable, and the network's transient failures.
RETRIED = (
    ConnectionResetError,
    RetriableError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def _nothing(*args: Any) -> None:
    return None


@dataclass
class Hooks:
    """What the client tells its user: each request sent (and whether a retry), each answer, notes."""

    request: Callable[[str, bool], None] = _nothing  # (entity, is a retry) for a listing's request
    answered: Callable[[str | None, requests.Response], None] = _nothing  # (entity asked about, response)
    note: Callable[[str, str], None] = _nothing  # (entity, something special about it)
    counted: Callable[[str, int], None] = _nothing  # (entity, rows a listing holds) when counted


class Client:
    """lgfapi over HTTP for one run, shared by every thread: sends, classifies, retries, decodes."""

    # Waits are exponential from this base; Retry-After wins when the server sends one.
    backoff_base_seconds = 1.0
    backoff_cap_seconds = 120.0

    def __init__(self, config: Mapping[str, Any], hooks: Hooks | None = None) -> None:
        self.config = config
        self.hooks = hooks or Hooks()
        self.logger = logging.getLogger("tap-oracle-wms")
        base = str(config["base_url"]).rstrip("/")
        self.url_base = f"{base}/wms/lgfapi/{config['api_version']}/"
        self.timeout = float(config["request_timeout"])
        self.page_size = int(config["page_size"])
        self.max_bytes = int(config["max_response_mb"]) * transport.MB
        self.timezone = ZoneInfo(config["tenant_timezone"])  # naive date-times are the facility's
        self.session = transport.bounded(requests.Session())
        self.session.verify = config.get("ca_bundle") or True
        self.session.headers["User-Agent"] = USER_AGENT
        self.auth = make_auth(config)
        self._lock = threading.Lock()
        self._decoded = threading.local()  # the last response each thread decoded, and its JSON
        self._api_checked = False
        self._entity_names: frozenset[str] | None = None  # what the entity catalog lists
        # Whether sequenced mode keeps our `ordering` (docs/lgfapi.md 2.2 GAP): asked once a run.
        self.probe = ordering.Probe(str(config["sequenced_ordering"]))

    # --- requests ---------------------------------------------------------------------------

    def send(
        self,
        url: str,
        params: dict[str, Any] | None,
        entity: str | None,
        throttle: Throttle | None = None,
        *,
        shrink: bool = False,
        tally: bool = True,
        tally_as: str | None = None,
    ) -> requests.Response:
        """One GET with the run's credentials, classified and retried; each attempt holds a throttle slot.

        `entity` is what the request is about (its metrics, its words); with `tally` it counts in
        that entity's requests, or in `tally_as`'s (wms_row_counts asks about other entities).
        With `shrink`, a read timeout is not retried as is: the listing asks for smaller pages.
        """
        prepared = requests.Request("GET", url, params=params or {}).prepare()
        label = entity or "entity"
        counted = tally_as or label

        def attempt() -> requests.Response:
            slot = throttle.slot() if throttle is not None else contextlib.nullcontext()
            with slot as held:
                try:
                    if tally:
                        self.hooks.request(counted, False)
                    response = transport.exchange(
                        self.session,
                        prepared,
                        self.auth,
                        timeout=self.timeout,
                        base_url=self.url_base,
                        max_bytes=self.max_bytes,
                    )
                    self.hooks.answered(entity, response)
                    self.classify(response, label)
                except RetriableError as exc:
                    if held is not None and getattr(exc.response, "status_code", None) in THROTTLED:
                        held.throttled = True
                    raise
                except requests.exceptions.ReadTimeout as exc:
                    if shrink:
                        raise PageTimeoutError(str(exc)) from exc
                    raise
                except requests.exceptions.SSLError as exc:
                    raise RunFatalError(tls_failure(urlparse(self.url_base).netloc, exc)) from None
                return response

        retrying = backoff.on_exception(
            lambda: self.waits(label),
            RETRIED,
            max_tries=int(self.config["max_retries"]) + 1,
            on_backoff=lambda details: self.retrying(label, details, tally=counted if tally else None),
            jitter=jitter,
            logger=None,
        )
        return retrying(attempt)()

    def get_json(self, path: str, entity: str | None = None, throttle: Throttle | None = None) -> Any:
        """One GET outside paging (catalog, describe) with the same credentials, retries and checks."""
        response = self.send(self.url_base + path, None, entity, throttle, tally=False)
        if response.status_code == HTTPStatus.NOT_FOUND:
            raise FatalError(failure_text(response, entity=entity or "entity", auth_method=self.auth_method))
        return self.payload(response)

    def check_api(self, entity: str | None = None, throttle: Throttle | None = None) -> None:
        """A first page answered 404: fine for an empty list, not for a wrong base_url or entity.

        Once a run the entity catalog is read: if it does not answer, base_url serves no entity
        API; if it does not list `entity` (a catalog entry the tenant does not have), the 404
        said "unknown entity", not "no records" (docs/lgfapi.md 2.11). The catalog request takes
        a slot of the run's throttle like any page: outside it, it hammers a throttled tenant.
        """
        self.check_base_url(entity, throttle)
        if entity is not None and self._entity_names is not None and entity not in self._entity_names:
            msg = (
                f"Stream '{entity}': entity '{entity}' is not in the tenant's entity catalog "
                f"(GET {redacted_query(self.url_base + 'entity/' + entity + '/')} answered 404); "
                "run discovery again, or deselect it."
            )
            raise FatalError(msg)

    def check_base_url(self, entity: str | None, throttle: Throttle | None = None) -> None:
        """Once a run: the entity API answers at base_url (a wrong one is no empty tenant)."""
        with self._lock:
            if self._api_checked:
                return
            try:
                response = self.send(self.url_base + "entity/", None, entity, throttle)
            except RunFatalError:
                raise
            except (ApiError, requests.exceptions.RequestException) as exc:
                raise RunFatalError(f"the entity API at base_url does not answer: {reason(exc)}") from exc
            if response.status_code == HTTPStatus.NOT_FOUND:
                msg = (
                    f"base_url does not serve the lgfapi entity API: HTTP 404 from GET "
                    f"{redacted_query(response.url)}; check base_url and api_version."
                )
                raise RunFatalError(msg)
            try:
                self._entity_names = frozenset(catalog_entity_names(self.payload(response)))
            except (DecodeError, ValueError):
                self._entity_names = None  # a catalog we cannot read proves nothing either way
            self._api_checked = True

    # --- answers ---------------------------------------------------------------------------

    @property
    def auth_method(self) -> str:
        """Basic or oauth2, for the words of a 401."""
        return str(self.config["auth_method"])

    def payload(self, response: requests.Response) -> Any:
        """Decoded JSON body, decoded once per response (per thread) and shared by every reader."""
        cache = self._decoded
        if getattr(cache, "response", None) is not response:
            cache.payload = decode(response.content)
            cache.response = response
        return cache.payload

    def forget(self, response: requests.Response) -> None:
        """The page's rows are taken: drop the body and its decoded JSON (a large page held twice)."""
        cache = self._decoded
        if getattr(cache, "response", None) is response:
            cache.response = cache.payload = None

    def page_rows(self, response: requests.Response, entity: str) -> list[dict[str, Any]]:
        """A list page's rows, checked; a list 404 has none (docs/lgfapi.md 2.11)."""
        if response.status_code == HTTPStatus.NOT_FOUND:
            return []
        return checked_rows(self.payload(response), entity=entity)

    def classify(self, response: requests.Response, entity: str) -> None:
        """Classify only: fatal or retriable (the retries do all the waiting), or usable as it is."""
        status = response.status_code
        if status == HTTPStatus.NOT_FOUND and error_body(response) is not None:
            return  # a list that matches nothing (docs/lgfapi.md 2.11)

        def message() -> str:
            return failure_text(response, entity=entity, auth_method=self.auth_method)

        if status in {408, 409, 429} or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableError(message(), response)
        if status == HTTPStatus.UNAUTHORIZED and self.auth.retry_after_401(
            response.request.headers.get("Authorization")
        ):
            raise RetriableError(message(), response)
        if status in {HTTPStatus.FORBIDDEN, HTTPStatus.METHOD_NOT_ALLOWED}:
            raise AccessDeniedError(message())
        if status == HTTPStatus.UNAUTHORIZED:
            raise RunFatalError(message())
        if rejects_ordering(response):
            raise OrderingRejectedError(message())
        if status >= HTTPStatus.BAD_REQUEST:
            raise FatalError(message())
        self.auth.accepted()
        if not looks_like_json(response):
            raise FatalError(message())
        try:
            self.payload(response)
        except DecodeError as exc:
            msg = f"Stream '{entity}': incomplete or invalid JSON page ({exc})"
            raise RetriableError(msg, response) from None

    # --- retries ---------------------------------------------------------------------------

    def waits(self, entity: str) -> Generator[float, Any, None]:
        """Exponential waits, or the server's Retry-After; a wait over max_wait_seconds fails instead."""
        exc = yield  # type: ignore[misc]
        attempt, cap = 0, float(self.config["max_wait_seconds"])
        while True:
            wait = min(self.backoff_cap_seconds, cap, self.backoff_base_seconds * 2**attempt)
            response = getattr(exc, "response", None)
            asked = retry_after(response.headers.get("Retry-After")) if response is not None else None
            if asked is not None and asked > cap:
                msg = (
                    f"Stream '{entity}': the server asks to wait {asked:g} s before retrying "
                    f"(Retry-After), more than max_wait_seconds ({cap:g} s); try again later."
                )
                raise FatalError(msg) from exc
            if asked is not None:
                wait = asked
            attempt += 1
            exc = yield wait

    def retrying(self, entity: str, details: Any, *, tally: str | None) -> None:
        """One more retry in the count of `tally` (if any), and one line saying why and how long it waits."""
        if tally is not None:
            self.hooks.request(tally, True)
        exc = details.get("exception")
        response = getattr(exc, "response", None)
        why = (
            f"status {response.status_code}: {response.reason}"
            if response is not None
            else reason(exc, retried=False)
        )
        self.logger.error(
            "Backing off %0.2f seconds after %d tries for entity '%s', failing with %s",
            details.get("wait") or 0.0,
            details.get("tries") or 0,
            entity,
            why,
        )

    def release_connections(self) -> None:
        """Close the open connections; the client stays usable (later requests connect anew)."""
        transport.close_session(self.session)

    def close(self) -> None:
        """The run is over: connections close, the probe's thread ends."""
        self.probe.close()
        transport.close_session(self.session)
        self.auth.close()


def jitter(value: float) -> float:
    """Never wait less than asked; spread retries by up to 10%."""
    return value * (1 + 0.1 * random.random())


def checked_rows(payload: Any, *, entity: str) -> list[dict[str, Any]]:
    """The `results` of a list page, checked: a list of objects, and a `next_page` that is a link (2.2)."""
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list):
        raise FatalError(f"Stream '{entity}': the page has no 'results' list; is base_url right?")
    odd = next((row for row in results if not isinstance(row, dict)), _MISSING)
    if odd is not _MISSING:
        kind = type(odd).__name__
        raise FatalError(f"Stream '{entity}': the page's 'results' holds a {kind}, not an object.")
    next_page = payload.get("next_page")
    if next_page is not None and not isinstance(next_page, str):
        kind = type(next_page).__name__
        raise FatalError(f"Stream '{entity}': the page's 'next_page' is a {kind}, not a link.")
    return results
