"""Credentials on every request: HTTP Basic, or OAuth2 client credentials (docs/lgfapi.md 3).

Both are requests auth callables shared by every request of a run, with the same small interface
the client uses after an answer: `retry_after_401` (may a 401 be retried?) and `accepted`.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlparse

import requests

from tap_oracle_wms.lgfapi import transport
from tap_oracle_wms.lgfapi.errors import RunFatalError
from tap_oracle_wms.lgfapi.secrets import register_secret
from tap_oracle_wms.lgfapi.transport import close_session
from tap_oracle_wms.lgfapi.wire import DecodeError, decode, looks_like_json

if TYPE_CHECKING:
    from collections.abc import Mapping

# Refresh this long before the token's stated expiry, so a page request never races it.
REFRESH_MARGIN_SECONDS = 60
# IDCS default lifetime when the answer has no expires_in (docs/lgfapi.md 3.2 INF).
DEFAULT_EXPIRES_IN = 3600
# What to check when the token endpoint refuses the client (docs/lgfapi.md 3.2).
HINTS = {
    400: "check oauth_scope and that the client has the client_credentials grant",
    401: "check oauth_client_id and oauth_client_secret",
}
TOKEN_MAX_BYTES = 1024 * 1024
# A bearer token is printable ASCII without spaces (RFC 6750 b64token, loosely).
_TOKEN_TEXT = re.compile(r"[\x21-\x7e]+")


class BasicAuth(requests.auth.AuthBase):
    """HTTP Basic with the API user's credentials; a 401 is never retried (the password will not change)."""

    def __init__(self, username: str, password: str) -> None:
        self.header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        register_secret(self.header.split(" ", 1)[1])

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Every request carries the same header."""
        request.headers["Authorization"] = self.header
        return request

    def retry_after_401(self, authorization: str | None) -> bool:
        """Never: the same credentials get the same answer."""
        return False

    def accepted(self) -> None:
        """Nothing to remember."""

    def close(self) -> None:
        """No connection of its own."""


class ClientCredentials(requests.auth.AuthBase):
    """Client-credentials token, cached until shortly before `expires_in`, refreshed once on a 401."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
        verify: bool | str = True,
        timeout: float = 60,
    ) -> None:
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        # Client credentials go in a Basic header, as IDCS expects for confidential apps.
        self.token_headers = {"Authorization": f"Basic {basic}"}
        register_secret(basic)
        self.token_url = token_url
        self.scope = scope
        self.verify = verify  # the token request trusts the same CAs as the API calls
        self.timeout = timeout
        self.token_session = transport.bounded(requests.Session())
        self.access_token: str | None = None
        self.expires_in: int | None = None
        self.last_refreshed: dt.datetime | None = None
        self._lock = threading.RLock()
        self._renewed_after_401 = False

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Requests sent concurrently share the token; only one of them refreshes it."""
        with self._lock:
            if not self.is_token_valid():
                self.update_access_token()
            request.headers["Authorization"] = f"Bearer {self.access_token}"
        return request

    def update_access_token(self) -> None:
        """Fetch a token; `verify` goes with the request, so ca_bundle beats REQUESTS_CA_BUNDLE.

        requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE replace a session's own bundle, but not
        one passed per request. A redirect is not followed: client credentials go to
        oauth_token_url only. The token is registered for redaction before it is kept.
        """
        requested_at = dt.datetime.now(dt.UTC)
        deadline = time.monotonic() + self.timeout
        response = self.token_session.post(
            self.token_url,
            headers=self.token_headers,
            data={"grant_type": "client_credentials", "scope": self.scope},
            timeout=self.timeout,
            verify=self.verify,
            allow_redirects=False,
            stream=True,
            **transport.proxy_options(self.token_url),
        )
        # A trickling or endless answer cannot hang the run (a token answer is a few KB).
        transport.read_body(response, deadline, self.timeout, TOKEN_MAX_BYTES)
        if response.is_redirect:
            parts = urlparse(urljoin(self.token_url, response.headers.get("Location", "")))
            where = f"redirects to {parts.scheme}://{parts.netloc} (HTTP {response.status_code})"
            raise RunFatalError(_token_failure(where, "set it to the token endpoint itself"))
        if response.status_code >= requests.codes.bad_request:
            hint = HINTS.get(response.status_code, "check oauth_token_url")
            raise RunFatalError(_token_failure(f"was rejected (HTTP {response.status_code})", hint))
        token, expires_in = _token_of(response)
        register_secret(token)
        self.access_token = token
        self.expires_in = expires_in
        self.last_refreshed = requested_at

    def is_token_valid(self) -> bool:
        """Treat a token as stale a margin before it really expires."""
        if self.last_refreshed is None or self.access_token is None:
            return False
        if not self.expires_in:
            return True
        age = (dt.datetime.now(dt.UTC) - self.last_refreshed).total_seconds()
        return age < self.expires_in - min(REFRESH_MARGIN_SECONDS, self.expires_in / 2)

    def retry_after_401(self, authorization: str | None) -> bool:
        """Decide whether a request that got a 401 with `authorization` is retried.

        Retry when another request already replaced that token, or after dropping it so the
        next request fetches a fresh one; give up when a token fetched after a 401 is
        rejected too (the client is not mapped to a WMS user). Safe across threads.
        """
        with self._lock:
            if authorization != f"Bearer {self.access_token}":
                return True
            if self._renewed_after_401:
                return False
            self._renewed_after_401 = True
            self.access_token = None
            self.last_refreshed = None
            return True

    def accepted(self) -> None:
        """The API accepted the current token: a later 401 may renew it once again."""
        self._renewed_after_401 = False

    def close(self) -> None:
        """The run is over: close the token request's connections."""
        close_session(self.token_session)


def _token_failure(what: str, hint: str = "check oauth_token_url") -> str:
    return f"OAuth2 token request to oauth_token_url {what}: {hint}."


def _token_of(response: requests.Response) -> tuple[str, int]:
    """The access token and its lifetime from a token answer, or one line naming oauth_token_url."""
    status = f"(HTTP {response.status_code})"
    if not looks_like_json(response):
        raise RunFatalError(_token_failure(f"answered HTML, not JSON {status}"))
    try:
        body = decode(response.content)
    except DecodeError:
        raise RunFatalError(_token_failure(f"answered invalid JSON {status}")) from None
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise RunFatalError(_token_failure(f"answered no access_token {status}"))
    if not _TOKEN_TEXT.fullmatch(token):  # it goes in a header: no space, newline or other control
        raise RunFatalError(_token_failure(f"answered an access_token that is not one word of text {status}"))
    try:
        expires_in = int(body.get("expires_in") or DEFAULT_EXPIRES_IN)
    except (TypeError, ValueError):
        expires_in = DEFAULT_EXPIRES_IN
    return token, expires_in if expires_in > 0 else DEFAULT_EXPIRES_IN


def make_auth(config: Mapping[str, Any]) -> BasicAuth | ClientCredentials:
    """Basic auth, or an OAuth2 client-credentials token, from the declared settings."""
    if config["auth_method"] == "oauth2":
        return ClientCredentials(
            token_url=config["oauth_token_url"],
            client_id=config["oauth_client_id"],
            client_secret=config["oauth_client_secret"],
            scope=config["oauth_scope"],
            verify=config.get("ca_bundle") or True,
            timeout=config["request_timeout"],
        )
    return BasicAuth(config["username"], config["password"])
