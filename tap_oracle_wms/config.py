"""Settings rules a JSON Schema cannot say, and user errors shown as one line."""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from singer_sdk.exceptions import ConfigValidationError, FatalAPIError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

MAX_PAGE_SIZE = 1250  # wms-api.md 2.3


def _is_loopback(host: str | None) -> bool:
    if host in {"localhost", None}:
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def settings_errors(config: Mapping[str, Any]) -> list[str]:
    """Every rule broken, each naming the setting and what is expected."""
    errors: list[str] = []
    url = urlparse(str(config.get("base_url") or ""))
    if url.scheme not in {"http", "https"} or not url.hostname:
        errors.append("base_url must be an http(s) URL such as https://xx.wms.ocs.oraclecloud.com/myenv")
    elif url.scheme == "http" and not _is_loopback(url.hostname) and not config.get("allow_insecure_http"):
        errors.append(
            "base_url uses http:// on a non-loopback host; use https:// or set allow_insecure_http=true"
        )
    if "/wms/lgfapi" in url.path:
        errors.append("base_url must stop before /wms/lgfapi (e.g. https://xx.wms.ocs.oraclecloud.com/myenv)")
    method = config.get("auth_method", "basic")
    needed = {
        "basic": ["username", "password"],
        "oauth2": ["oauth_client_id", "oauth_client_secret", "oauth_token_url"],
    }.get(method, [])
    errors.extend(f"{name} is required when auth_method={method}" for name in needed if not config.get(name))
    if method == "oauth2" and config.get("oauth_token_url"):
        token = urlparse(config["oauth_token_url"])
        if token.scheme != "https" and not _is_loopback(token.hostname) and not config.get("allow_insecure_http"):
            errors.append("oauth_token_url must be https:// (or a loopback host)")
    page_size = config.get("page_size", MAX_PAGE_SIZE)
    if not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        errors.append(f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}, got {page_size!r}")
    for name in ("request_timeout", "max_retries", "describe_concurrency", "concurrency"):
        value = config.get(name)
        minimum = 0 if name == "max_retries" else 1
        if value is not None and (not isinstance(value, int) or value < minimum):
            errors.append(f"{name} must be an integer >= {minimum}, got {value!r}")
    for name in ("lookback_seconds", "discovery_cache_ttl"):
        value = config.get(name)
        if value is not None and (not isinstance(value, int) or value < 0):
            errors.append(f"{name} must be a whole number of seconds >= 0, got {value!r}")
    try:
        ZoneInfo(str(config.get("tenant_timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(f"tenant_timezone must be an IANA zone such as America/New_York, got {config.get('tenant_timezone')!r}")
    bundle = config.get("ca_bundle")
    if bundle and not os.path.isfile(bundle):
        errors.append(f"ca_bundle must be a readable file, got {bundle!r}")
    filters = config.get("stream_filters") or {}
    if not isinstance(filters, dict) or not all(isinstance(v, dict) for v in filters.values()):
        errors.append('stream_filters must map stream names to filter objects, e.g. {"order_hdr": {"status_id": 10}}')
    return errors


def validate_settings(config: Mapping[str, Any], *, raise_errors: bool = True) -> list[str]:
    """Raise one ConfigValidationError whose message already names every bad setting."""
    errors = settings_errors(config)
    if errors and raise_errors:
        raise ConfigValidationError("; ".join(errors), errors=errors)
    return errors


def run_cli(cli: Callable[[], Any]) -> None:
    """Run the SDK CLI; known user errors become one line on stderr and exit code 2.

    With debug logging (TAP_ORACLE_WMS_LOG_LEVEL / LOGLEVEL=debug) the traceback is kept.
    """
    debug = os.environ.get("TAP_ORACLE_WMS_LOG_LEVEL", os.environ.get("LOGLEVEL", "")).lower() == "debug"
    try:
        cli()
    except ConfigValidationError as exc:
        if debug:
            raise
        detail = "; ".join(exc.errors) if exc.errors else str(exc)
        _fail(f"Invalid configuration: {detail}")
    except FatalAPIError as exc:
        if debug:
            raise
        _fail(f"Sync failed: {exc}")


def _fail(message: str) -> None:
    logging.shutdown()
    sys.stderr.write(f"tap-oracle-wms: {message}\n")
    sys.exit(2)
