"""The lgfapi REST base stream: auth, paging, retries, bookmarks and record shaping."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import random
import re
import threading
from dataclasses import dataclass, field
from functools import cached_property
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlparse
from zoneinfo import ZoneInfo

import msgspec
import requests
from singer_sdk import RESTStream
from singer_sdk.authenticators import BasicAuthenticator
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.types import Context
from singer_sdk.pagination import BaseHATEOASPaginator
from typing_extensions import override

from tap_oracle_wms.auth import WMSOAuthAuthenticator

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Mapping
    from urllib.parse import ParseResult

    from singer_sdk.streams.rest import HTTPRequest, PageContext
    from singer_sdk.tap_base import Tap

UTC = dt.timezone.utc
_decoder = msgspec.json.Decoder(float_hook=decimal.Decimal)
_HAS_OFFSET = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")
_MISSING = object()
# Always present self link (wms-api.md 2.10); kept only when describe lists it.
_SELF_LINK = "url"
# Columns whose describe type the tap does not know carry any JSON value, emitted as JSON text.
JSON_TEXT = {"type": "string", "contentMediaType": "application/json"}
_REDACT = re.compile(r"(?i)(password|secret|token|authorization)")


class AccessDeniedError(FatalAPIError):
    """403/405: the API user may not read this entity; discovery skips such entities."""


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
        )
    return BasicAuthenticator(username=config["username"], password=config["password"])


def api_timestamp(value: dt.datetime) -> str:
    """Format a filter value: whole seconds with an explicit offset (wms-api.md 2.8 GAP)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


def redacted_query(url: str) -> str:
    """Path and query of a URL with anything credential-like masked, for error messages."""
    parts = urlparse(url)
    pairs = [(k, "***" if _REDACT.search(k) else v) for k, v in parse_qsl(parts.query)]
    return parts.path + ("?" + urlencode(pairs) if pairs else "")


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
        self._401_retried = False

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
    def get_url_params(
        self, context: Context | None, next_page_token: ParseResult | None
    ) -> dict[str, Any]:
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
        if context:
            params.update(context)
        return params

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
            link.scheme, link.hostname, link.port or default.get(link.scheme)
        ):
            msg = (
                f"Stream '{self.name}': the server's next_page link points to "
                f"{link.scheme}://{link.hostname}, not to base_url's host; refusing to follow it."
            )
            raise FatalAPIError(msg)

    def requested_fields(self) -> list[str] | None:
        """`fields=` for a partial selection; None when every property is wanted."""
        props = self.schema.get("properties", {})
        selected = [
            name for name in props if self.mask.get(("properties", name), True)
        ]
        if len(selected) == len(props):
            return None
        wanted = {name[: -len("_key")] if name.endswith("_key") and name[:-4] in props else name
                  for name in selected}
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

    def fetch_json(self, path: str) -> Any:
        """One GET outside paging (catalog, describe) with the same auth, retries and checks."""
        request = self.build_prepared_request(
            method="GET", url=self.url_base + path, headers=self.http_headers
        )
        response = self.request_decorator(self._request)(request, None)
        if response.status_code == HTTPStatus.NOT_FOUND:
            raise FatalAPIError(self.error_message(response))
        return self.payload(response)

    # --- responses ----------------------------------------------------------------------

    def payload(self, response: requests.Response) -> Any:
        """Decoded JSON body, decoded once per response and shared by every hook."""
        cached_response, cached = self._decoded
        if cached_response is not response:
            cached = _decoder.decode(response.content)
            self._decoded = (response, cached)
        return cached

    @override
    def validate_response(self, response: requests.Response) -> None:
        """Classify only: fatal or retriable; the backoff hooks do all the waiting."""
        status = response.status_code
        if status == HTTPStatus.NOT_FOUND and self.error_body(response) is not None:
            return  # a list that matches nothing (wms-api.md 2.11)
        if status in {408, 409, 429} or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableAPIError(self.error_message(response), response)
        if status == HTTPStatus.UNAUTHORIZED and self.refresh_token_once():
            raise RetriableAPIError(self.error_message(response), response)
        if status in {HTTPStatus.FORBIDDEN, HTTPStatus.METHOD_NOT_ALLOWED}:
            raise AccessDeniedError(self.error_message(response))
        if status >= HTTPStatus.BAD_REQUEST:
            raise FatalAPIError(self.error_message(response))
        self._401_retried = False
        if not self.looks_like_json(response):
            raise FatalAPIError(self.error_message(response))
        try:
            self.payload(response)
        except msgspec.DecodeError as exc:
            msg = f"Stream '{self.name}': incomplete or invalid JSON page ({exc}); retrying."
            raise RetriableAPIError(msg, response) from None

    def refresh_token_once(self) -> bool:
        """On a 401 with OAuth2, drop the token and retry once with a fresh one."""
        auth = self.authenticator
        if not isinstance(auth, WMSOAuthAuthenticator) or self._401_retried:
            return False
        self._401_retried = True
        auth.invalidate()
        return True

    @staticmethod
    def looks_like_json(response: requests.Response) -> bool:
        """A proxy or login page answers HTML with a 200; say so rather than fail to decode."""
        ctype = response.headers.get("Content-Type", "")
        head = response.content[:64].lstrip()
        return "html" not in ctype.lower() and not head.startswith(b"<")

    def error_body(self, response: requests.Response) -> dict | None:
        """The lgfapi error object {reference, code, message, details}, if that is the body."""
        try:
            body = _decoder.decode(response.content)
        except msgspec.DecodeError:
            return None
        if isinstance(body, dict) and ("code" in body or "message" in body or "detail" in body):
            return body
        return None

    def error_message(self, response: requests.Response) -> str:
        """One line: status, request path and query (credentials masked), what to do."""
        status = response.status_code
        where = f"GET {redacted_query(response.url)}"
        body = self.error_body(response)
        server = ""
        if body:
            server = " server said: " + " ".join(
                str(body[k]) for k in ("code", "message", "detail", "details") if body.get(k)
            )
        if status == HTTPStatus.UNAUTHORIZED:
            who = (
                "the OAuth2 access token was rejected by the API (the token request itself "
                "succeeded); check the client's WMS user mapping"
                if self.config["auth_method"] == "oauth2"
                else "the API rejected the credentials; check username and password"
            )
            return f"HTTP 401 from {where}: {who}."
        if status == HTTPStatus.FORBIDDEN:
            return (
                f"HTTP 403 from {where}: the API user lacks lgfapi_read_access or is not "
                f"eligible for this entity's facility/company.{server}"
            )
        if status == HTTPStatus.NOT_FOUND:
            return f"HTTP 404 from {where}: not found; check base_url and api_version."
        if status == HTTPStatus.METHOD_NOT_ALLOWED:
            return f"HTTP 405 from {where}: entity '{self.name}' does not support listing."
        if status < HTTPStatus.BAD_REQUEST and not self.looks_like_json(response):
            return (
                f"HTTP {status} from {where} answered HTML, not JSON: a proxy or login page? "
                "Check base_url."
            )
        if status == HTTPStatus.BAD_REQUEST:
            return f"HTTP 400 from {where}: the API refused the request;{server}"
        return f"HTTP {status} from {where}:{server or ' ' + response.reason}"

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        if response.status_code == HTTPStatus.NOT_FOUND:
            return []
        payload = self.payload(response)
        results = payload.get("results") if isinstance(payload, dict) else None
        if not isinstance(results, list):
            msg = f"Stream '{self.name}': the page has no 'results' list; is base_url right?"
            raise FatalAPIError(msg)
        return results

    # --- retries --------------------------------------------------------------------------

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
                try:
                    wait = float(retry_after)
                except ValueError:
                    pass
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
    def incremental(self) -> bool:
        """Bounded by mod_ts; a FULL_TABLE sync (e.g. for ACTIVATE_VERSION) reads every row by id."""
        return bool(self.replication_key) and self.replication_method == "INCREMENTAL"

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
        request = self.build_prepared_request(
            method="GET",
            url=self.get_url(None),
            params={"page_mode": "sequenced", "page_size": 2, "ordering": "-id", "fields": "id"},
            headers=self.http_headers,
        )
        response = self.request_decorator(self._request)(request, None)
        rows = list(self.parse_response(response))
        if len(rows) < 2:  # noqa: PLR2004 - two rows make an order
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
    def converters(self) -> dict[str, Callable[[dict, str, Any], None] | None]:
        """Per-property shaping derived from the schema: the catalog is the source of truth."""
        props: dict[str, Any] = self.schema.get("properties", {})
        tz = ZoneInfo(self.config["tenant_timezone"])
        table: dict[str, Callable[[dict, str, Any], None] | None] = {}
        for name, prop in props.items():
            types = prop.get("type", [])
            types = types if isinstance(types, list) else [types]
            fmt = prop.get("format")
            if name.endswith("_key") and name[:-4] in props:
                continue
            if "integer" in types and name.endswith("_id") and name not in {"status_id"}:
                table[name] = _fk_with_key if f"{name}_key" in props else _fk_id
            elif "number" in types:
                table[name] = _decimal
            elif fmt == "date-time" and name == self.replication_key:
                table[name] = _utc_timestamp(tz)
            elif fmt == "date-time":
                table[name] = _aware_timestamp(tz)
            elif prop.get("contentMediaType") == JSON_TEXT["contentMediaType"]:
                table[name] = _json_text
            else:
                table[name] = None
        return table

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        out: dict[str, Any] = {}
        converters = self.converters
        for name, value in row.items():
            convert = converters.get(name, _MISSING)
            if convert is None:
                out[name] = value
            elif convert is _MISSING:
                self.note_unknown_field(name)
            else:
                convert(out, name, value)  # type: ignore[operator]
        return out

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


def _json_text(out: dict, name: str, value: Any) -> None:
    out[name] = value if value is None or type(value) is str else json.dumps(value, default=str)


def _fk_id(out: dict, name: str, value: Any) -> None:
    out[name] = value.get("id") if type(value) is dict else value


def _fk_with_key(out: dict, name: str, value: Any) -> None:
    if type(value) is dict:
        out[name] = value.get("id")
        out[f"{name}_key"] = value.get("key")
    else:
        out[name] = value
        out[f"{name}_key"] = None


def _decimal(out: dict, name: str, value: Any) -> None:
    if type(value) is str:
        try:
            out[name] = decimal.Decimal(value) if value else None
        except decimal.InvalidOperation:
            out[name] = value
    else:
        out[name] = value


def _aware_timestamp(tz: ZoneInfo) -> Callable[[dict, str, Any], None]:
    """Keep the offset the API sends; give naive values the tenant's zone (wms-api.md 2.8 GAP)."""

    def convert(out: dict, name: str, value: Any) -> None:
        if type(value) is str and value and not _HAS_OFFSET.search(value):
            try:
                value = dt.datetime.fromisoformat(value).replace(tzinfo=tz).isoformat()
            except ValueError:
                pass
        out[name] = value

    return convert


def _utc_timestamp(tz: ZoneInfo) -> Callable[[dict, str, Any], None]:
    """The bookmark column in UTC: the SDK compares bookmarks as text, across DST changes too."""

    def convert(out: dict, name: str, value: Any) -> None:
        if type(value) is str and value:
            try:
                parsed = dt.datetime.fromisoformat(value)
            except ValueError:
                out[name] = value
                return
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=tz)
            value = parsed.astimezone(UTC).isoformat()
        out[name] = value

    return convert
