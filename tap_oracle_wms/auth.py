"""Credentials on every request: HTTP Basic, or OAuth2 client credentials (docs/lgfapi.md 3)."""

from __future__ import annotations

import base64
import datetime as dt
import threading
from typing import TYPE_CHECKING, Any

from singer_sdk.authenticators import BasicAuthenticator, OAuthAuthenticator
from singer_sdk.exceptions import FatalAPIError
from typing_extensions import override

if TYPE_CHECKING:
    from collections.abc import Mapping

# Refresh this long before the token's stated expiry, so a page request never races it.
REFRESH_MARGIN_SECONDS = 60


class WMSOAuthAuthenticator(OAuthAuthenticator):
    """Client-credentials token, cached until shortly before `expires_in`, refreshed once on a 401."""

    def __init__(
        self,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
        verify: bool | str = True,
        **kwargs: Any,
    ) -> None:
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        super().__init__(
            auth_endpoint=token_url,
            oauth_scopes=scope,
            client_id=client_id,
            client_secret=client_secret,
            oauth_headers={"Authorization": f"Basic {basic}"},
            default_expiration=3600,  # IDCS default when expires_in is missing (docs/lgfapi.md 3.2 INF)
            **kwargs,
        )
        self._lock = threading.RLock()
        self._renewed_after_401 = False
        self._session.verify = verify  # the token request trusts the same CAs as the API calls

    @override
    def authenticate_request(self, request: Any) -> Any:
        """Streams fetching concurrently share the token; only one of them refreshes it."""
        with self._lock:
            return super().authenticate_request(request)

    @property
    @override
    def oauth_request_body(self) -> dict:
        """Client credentials go in the Basic header, as IDCS expects for confidential apps."""
        return {"grant_type": "client_credentials", "scope": self.oauth_scopes}

    @override
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

    @override
    def handle_error(self, *, content: str, status_code: int | None) -> None:
        """Say which half failed: the token request, not the API call (the body is not logged)."""
        hint = {
            400: "check oauth_scope and that the client has the client_credentials grant",
            401: "check oauth_client_id and oauth_client_secret",
        }.get(status_code or 0, "check oauth_token_url")
        msg = f"OAuth2 token request to oauth_token_url was rejected (HTTP {status_code}): {hint}."
        raise FatalAPIError(msg)


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
