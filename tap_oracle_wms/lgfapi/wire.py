"""What the lgfapi wire format means: JSON, timestamps, links, Retry-After, error bodies (docs/lgfapi.md).

The bottom module: it imports nothing of this package, so any module may use it
(facts in docs/lgfapi.md).
"""

from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
import json
import logging
import math
import re
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlparse

import msgspec

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    import requests

UTC = dt.UTC
DecodeError = msgspec.DecodeError
# Decimals arrive as strings; the few JSON numbers with a fraction are kept exact too.
_decoder = msgspec.json.Decoder(float_hook=decimal.Decimal)


# --- JSON -----------------------------------------------------------------------------------


# A \uD800-\uDFFF escape: half of a UTF-16 pair, which msgspec refuses and no UTF-8 output can hold.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
logger = logging.getLogger("tap-oracle-wms")


def decode(content: bytes) -> Any:
    """A JSON body, decimals exact; too deep a nesting is a DecodeError like any bad JSON.

    A string holding a lone UTF-16 surrogate escape would make its whole page undecodable on
    every run (a poison row): it is decoded anyway, each lone surrogate replaced by U+FFFD.
    """
    try:
        return _decoder.decode(content)
    except RecursionError:  # msgspec's own limit on nesting depth
        raise DecodeError("JSON nested too deeply") from None
    except DecodeError:
        if not _SURROGATE_ESCAPE.search(content):
            raise
    try:
        payload = json.loads(content, parse_float=decimal.Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise DecodeError("invalid JSON") from None
    logger.warning("A page holds text with a lone UTF-16 surrogate escape; each is read as U+FFFD.")
    return _replace_surrogates(payload)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is no JSON value")


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


# --- timestamps (docs/lgfapi.md 2.8) ---------------------------------------------------------


def filter_timestamp(value: dt.datetime) -> str:
    """A filter value: whole seconds with an explicit offset (sub-seconds may be refused, 2.8 GAP)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


def filter_text(value: Any) -> str:
    """A filter value as lgfapi reads it: booleans true/false, lists comma-separated (2.10)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(filter_text(v) for v in value)
    return str(value)


def integer_id(value: Any) -> int | None:
    """An id as the integer it names (an integer sent as text too); None for one that is no integer."""
    if type(value) is str and value.strip().isdigit():
        return int(value)
    return value if type(value) is int else None


def parse_timestamp(value: Any, tz: ZoneInfo | dt.tzinfo) -> dt.datetime | None:
    """An API date-time as an aware datetime (naive ones are in the tenant's zone); None if not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


# --- links (docs/lgfapi.md 1.1) -------------------------------------------------------------


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


def catalog_entity_names(payload: Any) -> list[str]:
    """Entity names from `GET entity/`: a flat object or a list (docs/lgfapi.md 1.4 GAP)."""
    if isinstance(payload, dict):
        # An envelope such as {"results": [...]} is as plausible as the flat {name: url} object.
        inner = payload.get("results")
        if isinstance(inner, list):
            return catalog_entity_names(inner)
        return sorted(name for name in payload if isinstance(name, str))
    if isinstance(payload, list):
        names = []
        for item in payload:
            if isinstance(item, str):
                names.append(item)
            elif isinstance(item, dict) and isinstance(item.get("name"), str):
                names.append(item["name"])
        return sorted(names)
    msg = f"entity catalog has an unexpected shape: {type(payload).__name__}"
    raise ValueError(msg)


def is_loopback(host: str | None) -> bool:
    """A host of this machine (the sandbox): http:// is allowed there, and no proxy is used."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
