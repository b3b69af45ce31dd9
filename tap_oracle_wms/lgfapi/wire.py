"""What the lgfapi wire format means, for every layer of the tap: timestamps, JSON, error answers.

The bottom module: it imports nothing of this package, so any module may use it
(facts in docs/lgfapi.md).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlparse

import msgspec
from singer_sdk.exceptions import FatalAPIError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    import requests

UTC = dt.UTC
DecodeError = msgspec.DecodeError
# Decimals arrive as strings; the few JSON numbers with a fraction are kept exact too.
_decoder = msgspec.json.Decoder(float_hook=decimal.Decimal)
_MISSING = object()
_SECRET_NAME = re.compile(r"(?i)(password|secret|token|authorization|private_key|credential)")


class AccessDeniedError(FatalAPIError):
    """403/405: the API user may not read this entity; discovery skips such entities."""


class RunFatalError(FatalAPIError):
    """A failure no stream can get past (rejected credentials, TLS, a wrong base_url): the run stops."""


class OrderingRejectedError(FatalAPIError):
    """A 400 VALIDATION_ERROR naming `ordering`: this entity refuses that ordering (docs/lgfapi.md 2.6)."""


# --- JSON -----------------------------------------------------------------------------------


def decode(content: bytes) -> Any:
    """A JSON body, decimals exact; too deep a nesting is a DecodeError like any bad JSON."""
    try:
        return _decoder.decode(content)
    except RecursionError:  # msgspec's own limit on nesting depth
        raise DecodeError("JSON nested too deeply") from None


# --- timestamps (docs/lgfapi.md 2.8) ---------------------------------------------------------


def filter_timestamp(value: dt.datetime) -> str:
    """A filter value: whole seconds with an explicit offset (sub-seconds may be refused, 2.8 GAP)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_timestamp(value: Any, tz: ZoneInfo | dt.tzinfo) -> dt.datetime | None:
    """An API date-time as an aware datetime (naive ones are in the tenant's zone); None if not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


# --- pages (docs/lgfapi.md 2.2) ------------------------------------------------------------------


def page_rows(payload: Any, *, entity: str) -> list[dict[str, Any]]:
    """The `results` of a list page, checked: a list of objects, and a `next_page` that is a link."""
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list):
        raise FatalAPIError(f"Stream '{entity}': the page has no 'results' list; is base_url right?")
    odd = next((row for row in results if not isinstance(row, dict)), _MISSING)
    if odd is not _MISSING:
        kind = type(odd).__name__
        raise FatalAPIError(f"Stream '{entity}': the page's 'results' holds a {kind}, not an object.")
    next_page = payload.get("next_page")
    if next_page is not None and not isinstance(next_page, str):
        kind = type(next_page).__name__
        raise FatalAPIError(f"Stream '{entity}': the page's 'next_page' is a {kind}, not a link.")
    return results


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in."""
    parts = urlparse(url)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def on_origin(base_url: str, link: str) -> str:
    """A server link's path and query, sent to base_url's origin and nowhere else (docs/lgfapi.md 1.1).

    Behind proxies, aliases and private endpoints the server names itself differently (another
    host, port form or scheme); its path and query are what matter, and credentials only ever
    go to the configured host.
    """
    base, other = urlparse(base_url), urlparse(link)
    return base._replace(path=other.path, params=other.params, query=other.query, fragment="").geturl()


def redirect_target(base_url: str, response: requests.Response) -> str:
    """Where a 3xx may be followed: the same origin only, never plain http or another host."""
    location = response.headers.get("Location", "")
    target = urljoin(response.url, location)
    if not location or origin(target) != origin(base_url):
        where = f"GET {redacted_query(response.url)}"
        to = f"{urlparse(target).scheme}://{urlparse(target).netloc}" if location else "nowhere"
        msg = (
            f"HTTP {response.status_code} from {where} redirects to {to}; the tap follows redirects only "
            "within base_url's origin (never to another host or to plain http); check base_url."
        )
        raise RunFatalError(msg)
    return target


def retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for; None when absent or meaningless (-1, NaN, inf, junk)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or dt.datetime.now(UTC))).total_seconds()
        return max(0.0, seconds)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def rejects_ordering(response: requests.Response) -> bool:
    """A 400 to a request carrying `ordering` whose error names ordering (docs/lgfapi.md 2.6)."""
    if response.status_code != HTTPStatus.BAD_REQUEST:
        return False
    query = dict(parse_qsl(urlparse(response.url).query))
    body = error_body(response)
    return "ordering" in query and body is not None and "ordering" in str(body).lower()


# --- secrets ----------------------------------------------------------------------------------


def is_secret_name(name: str) -> bool:
    """A setting, query key or JSON key that holds a credential (a URL or path setting does not)."""
    return bool(_SECRET_NAME.search(name)) and not name.endswith(("_url", "_dir", "_path", "_file"))


def redacted_query(url: str) -> str:
    """Path and query of a URL with anything credential-like masked, for error messages."""
    parts = urlparse(url)
    pairs = [(k, "***" if is_secret_name(k) else v) for k, v in parse_qsl(parts.query)]
    return parts.path + ("?" + urlencode(pairs) if pairs else "")


# --- error answers (docs/lgfapi.md 4.1, 4.2) ---------------------------------------------------


def looks_like_json(response: requests.Response) -> bool:
    """A proxy or login page answers HTML with a 200; say so rather than fail to decode."""
    ctype = response.headers.get("Content-Type", "")
    head = response.content[:64].lstrip()
    return "html" not in ctype.lower() and not head.startswith(b"<")


def error_body(response: requests.Response) -> dict[str, Any] | None:
    """The lgfapi error object {reference, code, message, details}, if that is the body."""
    try:
        body = decode(response.content)
    except DecodeError:
        return None
    if isinstance(body, dict) and ("code" in body or "message" in body or "detail" in body):
        return body
    return None


def tls_failure(host: str) -> str:
    """A certificate that does not verify: what to do about it."""
    return (
        f"TLS certificate verification failed for {host}; if a proxy re-signs TLS traffic, "
        "set ca_bundle to its CA certificate file"
    )


def failure_text(response: requests.Response, *, entity: str, auth_method: str) -> str:
    """One line for an HTTP answer the sync cannot use: status, path and query, what to do."""
    status = response.status_code
    where = f"GET {redacted_query(response.url)}"
    body = error_body(response)
    server = ""
    if body:
        server = " server said: " + " ".join(
            str(body[k]) for k in ("code", "message", "detail", "details") if body.get(k)
        )
    if status == HTTPStatus.UNAUTHORIZED:
        who = (
            "the OAuth2 access token was rejected by the API (the token request itself "
            "succeeded); check the client's WMS user mapping"
            if auth_method == "oauth2"
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
        return f"HTTP 405 from {where}: entity '{entity}' does not support listing."
    if status < HTTPStatus.BAD_REQUEST and not looks_like_json(response):
        return f"HTTP {status} from {where} answered HTML, not JSON: a proxy or login page? Check base_url."
    if status == HTTPStatus.BAD_REQUEST:
        return f"HTTP 400 from {where}: the API refused the request;{server}"
    try:  # HTTP/2 and some proxies send no reason phrase
        reason = response.reason or HTTPStatus(status).phrase
    except ValueError:
        reason = "unexpected status"
    return f"HTTP {status} from {where}:{server or ' ' + reason}"
