"""Settings rules a JSON Schema cannot say, each error one line naming the setting.

A tap runs unattended with production credentials: every mistake a user can make in its
settings must stop it before the first request, in one line that names the setting and what
is expected, without echoing a secret.
"""

from __future__ import annotations

import difflib
import fnmatch
import ipaddress
import logging
import os
import re
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.parser import isoparse
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR, extend_validator_with_defaults

if TYPE_CHECKING:
    from collections.abc import Iterable


MAX_PAGE_SIZE = 1250  # wms-api.md 2.3

BASIC_SETTINGS = ("username", "password")
OAUTH_SETTINGS = ("oauth_client_id", "oauth_client_secret", "oauth_token_url")
SECRET_SETTINGS = ("password", "oauth_client_secret")
_SECRET_NAME = re.compile(r"(?i)(password|secret|token|private_key|credential)")
_GLOB = re.compile(r"[*?\[]")

# What each setting expects, in the words an error message uses ("<setting> must be <this>").
EXPECTED: dict[str, str] = {
    "base_url": "the https URL of the WMS environment, e.g. https://xx.wms.ocs.oraclecloud.com/myenv",
    "api_version": "an lgfapi version such as v10",
    "auth_method": "basic or oauth2",
    "oauth_token_url": "the https token endpoint, e.g. https://idcs-<id>.identity.oraclecloud.com/oauth2/v1/token",
    "start_date": "an ISO-8601 date or date-time, e.g. 2024-01-31 or 2024-01-31T00:00:00Z",
    "page_size": f"an integer from 1 to {MAX_PAGE_SIZE}",
    "request_timeout": "a whole number of seconds >= 1",
    "max_retries": "an integer >= 0",
    "concurrency": "an integer >= 1",
    "describe_concurrency": "an integer >= 1",
    "lookback_seconds": "a whole number of seconds >= 0",
    "discovery_cache_ttl": "a whole number of seconds >= 0",
    "tenant_timezone": "an IANA time zone such as America/New_York",
    "stream_filters": "an object mapping stream names to filter objects, "
    'e.g. {"order_hdr": {"status_id": 10}}',
    "ca_bundle": "the path of a readable CA bundle (PEM) file",
    "sequenced_ordering": "auto, honoured or ignored",
}
_MINIMUMS = {
    "request_timeout": 1,
    "max_retries": 0,
    "concurrency": 1,
    "describe_concurrency": 1,
    "lookback_seconds": 0,
    "discovery_cache_ttl": 0,
}
_TYPE_WORDS = {
    "integer": "an integer",
    "boolean": "true or false",
    "array": "a list of strings",
    "object": "an object",
    "string": "a string",
    "number": "a number",
}


class UserError(Exception):
    """A mistake in the user's settings or input files: shown as one line, exit code 2."""


# --- settings rules ---------------------------------------------------------------------------


def is_loopback(host: str | None) -> bool:
    """Loopback hosts (the sandbox) may use http://; everything else needs TLS."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_secret_setting(name: str) -> bool:
    """Credentials by declaration or by name (a URL or path setting is not a secret)."""
    if name in SECRET_SETTINGS:
        return True
    return bool(_SECRET_NAME.search(name)) and not name.endswith(("_url", "_dir", "_path", "_file"))


def shown(name: str, value: Any) -> str:
    """A setting's value for an error message; secrets are never echoed."""
    if is_secret_setting(name):
        return "a hidden value"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _expected(name: str, prop: Mapping[str, Any]) -> str:
    if name in EXPECTED:
        return EXPECTED[name]
    if prop.get("enum"):
        return "one of " + ", ".join(str(v) for v in prop["enum"] if v is not None)
    kinds = prop.get("type", "string")
    kinds = [kinds] if isinstance(kinds, str) else [k for k in kinds if k != "null"]
    return " or ".join(_TYPE_WORDS.get(k, k) for k in kinds) or "a value"


def schema_errors(config: MutableMapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """The JSON Schema check, worded per setting; fills in defaults like the SDK's own check."""
    validator = extend_validator_with_defaults(DEFAULT_JSONSCHEMA_VALIDATOR)(schema)
    props = schema.get("properties", {})
    errors: dict[str, str] = {}
    for error in validator.iter_errors(config):
        if error.validator == "required" and not error.absolute_path:
            for name in error.validator_value:
                if name not in config:
                    errors.setdefault(name, f"{name} is required: {_expected(name, props.get(name, {}))}")
            continue
        path = list(error.absolute_path)
        name = str(path[0]) if path else "config"
        value = config.get(name) if path else config
        errors.setdefault(
            name, f"{name} must be {_expected(name, props.get(name, {}))}, got {shown(name, value)}"
        )
    return list(errors.values())


def _url_errors(name: str, value: Any, *, allow_http: bool) -> list[str]:
    url = urlparse(str(value))
    if url.scheme not in {"http", "https"} or not url.hostname:
        return [f"{name} must be {EXPECTED[name]}, got {shown(name, _without_userinfo(str(value)))}"]
    if url.username or url.password:
        return [f"{name} must not contain credentials (user:password@); use the credential settings"]
    if url.query or url.fragment:
        return [f"{name} must not have a query string or fragment, e.g. {EXPECTED[name].split('e.g. ')[-1]}"]
    if url.scheme == "http" and not is_loopback(url.hostname) and not allow_http:
        return [
            f"{name} must use https:// (http:// is allowed only for loopback hosts or with "
            "allow_insecure_http=true)"
        ]
    return []


def _without_userinfo(text: str) -> str:
    return re.sub(r"//[^/@]*@", "//***@", text)


def settings_errors(config: Mapping[str, Any], *, skip: Iterable[str] = ()) -> list[str]:
    """Every rule a JSON Schema cannot say, each naming the setting and what is expected."""
    skipped = set(skip)
    errors: list[str] = []
    allow_http = config.get("allow_insecure_http") is True
    if config.get("base_url") and "base_url" not in skipped:
        errors += _url_errors("base_url", config["base_url"], allow_http=allow_http)
        if not errors and "/wms/lgfapi" in urlparse(config["base_url"]).path:
            example = EXPECTED["base_url"].split("e.g. ")[1]
            errors.append(f"base_url must stop before /wms/lgfapi, e.g. {example}")
    errors += _auth_errors(config, skipped, allow_http=allow_http)
    errors += _number_errors(config, skipped)
    start = config.get("start_date")
    if start and "start_date" not in skipped:
        try:
            isoparse(str(start))
        except (ValueError, OverflowError):
            errors.append(f"start_date must be {EXPECTED['start_date']}, got {shown('start_date', start)}")
    version = config.get("api_version")
    if version is not None and "api_version" not in skipped and not re.fullmatch(r"v\d+", str(version)):
        errors.append(f"api_version must be {EXPECTED['api_version']}, got {shown('api_version', version)}")
    zone = config.get("tenant_timezone")
    if zone is not None and "tenant_timezone" not in skipped:
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(
                f"tenant_timezone must be {EXPECTED['tenant_timezone']}, got {shown('tenant_timezone', zone)}"
            )
    bundle = config.get("ca_bundle")
    if bundle and "ca_bundle" not in skipped and not (os.path.isfile(bundle) and os.access(bundle, os.R_OK)):
        errors.append(
            f"ca_bundle must be {EXPECTED['ca_bundle']}, got {shown('ca_bundle', bundle)} "
            "(no such readable file)"
        )
    filters = config.get("stream_filters")
    if (
        filters is not None
        and "stream_filters" not in skipped
        and not (isinstance(filters, dict) and all(isinstance(v, dict) for v in filters.values()))
    ):
        errors.append(f"stream_filters must be {EXPECTED['stream_filters']}")
    return errors


def _auth_errors(config: Mapping[str, Any], skipped: set[str], *, allow_http: bool) -> list[str]:
    method = config.get("auth_method", "basic")
    if method not in {"basic", "oauth2"} or "auth_method" in skipped:
        return []
    needed, other = BASIC_SETTINGS, OAUTH_SETTINGS
    if method == "oauth2":
        needed, other = other, needed
    errors = [f"{name} is required when auth_method={method}" for name in needed if not config.get(name)]
    conflicting = [name for name in other if config.get(name)]
    if conflicting:
        switch = "oauth2" if method == "basic" else "basic"
        verb, them = ("is", "it") if len(conflicting) == 1 else ("are", "them")
        errors.append(
            f"{', '.join(conflicting)} {verb} set but auth_method={method}; "
            f"set auth_method={switch} to use {them}, or remove {them}"
        )
    if method == "oauth2" and config.get("oauth_token_url") and "oauth_token_url" not in skipped:
        errors += _url_errors("oauth_token_url", config["oauth_token_url"], allow_http=allow_http)
    return errors


def _number_errors(config: Mapping[str, Any], skipped: set[str]) -> list[str]:
    errors = []
    page_size = config.get("page_size")
    if (
        page_size is not None
        and "page_size" not in skipped
        and (
            isinstance(page_size, bool)
            or not isinstance(page_size, int)
            or not 1 <= page_size <= MAX_PAGE_SIZE
        )
    ):
        errors.append(f"page_size must be {EXPECTED['page_size']}, got {shown('page_size', page_size)}")
    for name, minimum in _MINIMUMS.items():
        value = config.get(name)
        if (
            value is not None
            and name not in skipped
            and (isinstance(value, bool) or not isinstance(value, int) or value < minimum)
        ):
            errors.append(f"{name} must be {EXPECTED[name]}, got {shown(name, value)}")
    return errors


def validate_settings(
    config: MutableMapping[str, Any],
    schema: Mapping[str, Any],
    *,
    raise_errors: bool = True,
    logger: logging.Logger | None = None,
) -> list[str]:
    """Schema and rules together: one ConfigValidationError whose errors each name a setting."""
    errors = schema_errors(config, schema)
    failed = {e.split(" ", 1)[0] for e in errors}
    errors += settings_errors(config, skip=failed)
    if errors and raise_errors:
        raise ConfigValidationError("; ".join(errors), errors=errors)
    if errors and logger is not None:
        logger.warning("Config validation failed: %s", "; ".join(errors))
    return errors


def entity_selection_errors(names: Iterable[str], include: list[str], exclude: list[str]) -> list[str]:
    """Unknown entity names in entities_include/entities_exclude, found once the catalog is read.

    A pattern without glob characters (* ? [) must name an entity of the tenant: a typo would
    otherwise silently drop an entity, or silently keep one the user meant to exclude. Glob
    patterns may match nothing; but a selection that keeps no entity at all is an error.
    """
    known = sorted(set(names))
    errors = []
    for setting, patterns in (("entities_include", include), ("entities_exclude", exclude)):
        for pattern in patterns:
            if not _GLOB.search(pattern) and pattern not in known:
                close = difflib.get_close_matches(pattern, known, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                errors.append(
                    f"{setting} names '{pattern}', which is not an entity of this tenant{hint}; "
                    "use an exact entity name or a glob pattern such as 'order_*'"
                )

    def kept(name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in include) and not any(
            fnmatch.fnmatchcase(name, p) for p in exclude
        )

    if not errors and not any(kept(name) for name in known):
        errors.append(
            "entities_include and entities_exclude select no entity of this tenant; "
            "widen entities_include or narrow entities_exclude"
        )
    return errors


def check_entity_selection(names: Iterable[str], include: list[str], exclude: list[str]) -> None:
    """Raise ConfigValidationError for the errors of `entity_selection_errors` (call at discovery)."""
    errors = entity_selection_errors(names, include, exclude)
    if errors:
        raise ConfigValidationError("; ".join(errors), errors=errors)
