"""What to tell the user about an HTTP answer the sync cannot use: one line, no credential."""

from __future__ import annotations

import decimal
import re
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlparse

import msgspec
from singer_sdk.exceptions import FatalAPIError

if TYPE_CHECKING:
    import requests

_decoder = msgspec.json.Decoder(float_hook=decimal.Decimal)
_REDACT = re.compile(r"(?i)(password|secret|token|authorization)")


class AccessDeniedError(FatalAPIError):
    """403/405: the API user may not read this entity; discovery skips such entities."""


def redacted_query(url: str) -> str:
    """Path and query of a URL with anything credential-like masked, for error messages."""
    parts = urlparse(url)
    pairs = [(k, "***" if _REDACT.search(k) else v) for k, v in parse_qsl(parts.query)]
    return parts.path + ("?" + urlencode(pairs) if pairs else "")


def looks_like_json(response: requests.Response) -> bool:
    """A proxy or login page answers HTML with a 200; say so rather than fail to decode."""
    ctype = response.headers.get("Content-Type", "")
    head = response.content[:64].lstrip()
    return "html" not in ctype.lower() and not head.startswith(b"<")


def error_body(response: requests.Response) -> dict | None:
    """The lgfapi error object {reference, code, message, details}, if that is the body."""
    try:
        body = _decoder.decode(response.content)
    except (msgspec.DecodeError, RecursionError):
        return None
    if isinstance(body, dict) and ("code" in body or "message" in body or "detail" in body):
        return body
    return None


def describe(response: requests.Response, *, entity: str, auth_method: str) -> str:
    """One line: status, request path and query (credentials masked), what to do."""
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
