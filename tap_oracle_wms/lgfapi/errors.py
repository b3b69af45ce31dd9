"""The client's failures, and the one line each says: status, path and query, what to do (docs/lgfapi.md 4).

Its own exception types, so nothing below the Singer side knows the SDK; streams and the CLI
decide what a failure means for the run (one stream failed, or the run stops).
"""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import parse_qsl, urlencode, urlparse

import requests
import urllib3

from tap_oracle_wms.lgfapi.secrets import is_secret_name
from tap_oracle_wms.lgfapi.wire import error_body, looks_like_json


class ApiError(Exception):
    """An lgfapi answer (or its absence) the tap cannot use."""


class RetriableError(ApiError):
    """Retried by the client; raised once `max_retries` retries have failed too."""

    def __init__(self, message: str, response: requests.Response | None = None) -> None:
        super().__init__(message)
        self.response = response


class FatalError(ApiError):
    """Not retried: waiting would not change the answer."""


class AccessDeniedError(FatalError):
    """403/405: the API user may not read this entity; discovery skips such entities."""


class RunFatalError(FatalError):
    """A failure no stream can get past (rejected credentials, TLS, a wrong base_url): the run stops."""


class OrderingRejectedError(FatalError):
    """A 400 VALIDATION_ERROR naming `ordering`: this entity refuses that ordering (docs/lgfapi.md 2.6)."""


class PageMissingError(FatalError):
    """A page after the first answered "no records": the listing resumes from its last row, or fails."""


class PageTimeoutError(Exception):
    """A list page timed out while a smaller page size is still possible (not retried as is)."""


def redacted_query(url: str) -> str:
    """Path and query of a URL with anything credential-like masked, for error messages."""
    parts = urlparse(url)
    pairs = [(k, "***" if is_secret_name(k) else v) for k, v in parse_qsl(parts.query)]
    return parts.path + ("?" + urlencode(pairs) if pairs else "")


#: OpenSSL's words when the other side answered a TLS hello with something that is not TLS.
PLAIN_HTTP_SIGNS = ("WRONG_VERSION_NUMBER", "wrong version number", "record layer failure", "http request")


def tls_failure(host: str, exc: BaseException | None = None) -> str:
    """A TLS connection that failed: a server speaking plain HTTP, or a certificate that does not verify."""
    if exc is not None and any(sign in str(exc) for sign in PLAIN_HTTP_SIGNS):
        return (
            f"{host} answered in plain HTTP, not TLS: base_url says https:// but the server is http:// "
            "(http:// is allowed for loopback hosts, or with allow_insecure_http)"
        )
    return (
        f"TLS certificate verification failed for {host}; if a proxy re-signs TLS traffic, "
        "set ca_bundle to its CA certificate file"
    )


def host_of(exc: requests.exceptions.RequestException) -> str:
    """The host and port a failed request was sent to, for its message."""
    url = getattr(getattr(exc, "request", None), "url", None)
    return urlparse(url).netloc if url else "the server"


def network_failure(exc: requests.exceptions.RequestException, *, retried: bool = True) -> str:
    """One line for a request the network failed (each retry, or this one): no host, or a cut answer.

    The proxy's URL is never shown: it may carry a user and password (HTTPS_PROXY).
    """
    after = " after retrying" if retried else ""
    host, cause = host_of(exc), _cause(exc)
    if isinstance(cause, urllib3.exceptions.NameResolutionError):
        return (
            f"the host name of {host} does not resolve (NameResolutionError){after}; "
            "check base_url, oauth_token_url and the DNS"
        )
    if isinstance(exc, requests.exceptions.ProxyError):
        return (
            f"cannot reach {host} through the proxy (ProxyError){after}; "
            "check HTTPS_PROXY, HTTP_PROXY and NO_PROXY"
        )
    if isinstance(cause, urllib3.exceptions.ProtocolError):  # connected, then hung up on
        return (
            f"{host} closed the connection without an answer ({type(exc).__name__}){after}; "
            "check the network and any proxy"
        )
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return (
            f"cannot reach {host} ({type(exc).__name__}){after}; "
            "check base_url, oauth_token_url and the network"
        )
    return (
        f"the answer from {host} broke off ({type(exc).__name__}: {exc}){after}; "
        "check the network and any proxy"
    )


def _cause(exc: requests.exceptions.RequestException) -> BaseException | None:
    """urllib3's reason a request failed (requests wraps it, often in a MaxRetryError)."""
    cause = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
    return cause.reason if isinstance(cause, urllib3.exceptions.MaxRetryError) else cause


def reason(exc: BaseException, *, retried: bool = True) -> str:
    """Why a stream failed, in one line: urllib3's text of a network failure is no line for people.

    A response over request_timeout keeps its own words (transport.late), which name the setting.
    """
    if isinstance(exc, requests.exceptions.RequestException) and not isinstance(
        exc, requests.exceptions.ReadTimeout
    ):
        return network_failure(exc, retried=retried)
    return " ".join(str(exc).split()) or repr(exc)


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
