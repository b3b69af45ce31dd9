"""Settings checks worded for people: each error one line naming the setting and what it expects.

The limits themselves are in the settings schema (settings.py); this module words the schema's
verdicts and adds the rules that tie settings together or need the world (a file, a zone).
A tap runs unattended with production credentials, so every mistake stops it before the first
request, without echoing a secret.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import os
import re
import ssl
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.parser import isoparse
from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR, extend_validator_with_defaults

from tap_oracle_wms.lgfapi.secrets import is_secret_name, without_userinfo
from tap_oracle_wms.lgfapi.wire import filter_text, is_loopback

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, MutableMapping

BASIC_SETTINGS = ("username", "password")
OAUTH_SETTINGS = ("oauth_client_id", "oauth_client_secret", "oauth_token_url")
_GLOB = re.compile(r"[*?\[]")

# What a setting expects where its JSON type alone says too little ("<setting> must be <this>").
EXPECTED: dict[str, str] = {
    "base_url": "the https URL of the WMS environment, e.g. https://xx.wms.ocs.oraclecloud.com/myenv",
    "api_version": "an lgfapi version such as v10",
    "auth_method": "basic or oauth2",
    "oauth_token_url": "the https token endpoint, e.g. https://idcs-<id>.identity.oraclecloud.com/oauth2/v1/token",
    "start_date": "an ISO-8601 date or date-time, e.g. 2024-01-31 or 2024-01-31T00:00:00Z",
    "tenant_timezone": "an IANA time zone such as America/New_York",
    "stream_filters": "an object mapping stream names to filter objects, "
    'e.g. {"order_hdr": {"status_id": 10}}',
    "ca_bundle": "the path of a readable CA bundle (PEM) file",
    "sequenced_ordering": "auto, honoured or ignored",
    "discovery_cache_dir": "a directory (created if missing)",
}
# Integer settings counted in seconds are worded so.
_SECONDS = {"request_timeout", "lookback_seconds", "discovery_cache_ttl"}
# Query keys the tap sets itself: a stream filter may not override them (docs/lgfapi.md 2).
_PAGING = "the tap orders and pages the listing itself"
_BOUNDS = "the bounds come from start_date and the bookmark"
_BOUND_LOOKUPS = ("", "__gte", "__gt", "__lt", "__lte")
RESERVED_FILTERS: dict[str, str] = {
    **dict.fromkeys(["ordering", "page_mode", "cursor", "page", "format", "values_list"], _PAGING),
    "page_size": "set the page_size setting instead",
    "fields": "select columns in the catalog instead",
    **{f"mod_ts{lookup}": _BOUNDS for lookup in _BOUND_LOOKUPS},
}
# inventory_history is bookmarked on create_ts and listed once per partition (docs/lgfapi.md 6.1).
STREAM_RESERVED_FILTERS: dict[str, dict[str, str]] = {
    "inventory_history": {
        **{f"create_ts{lookup}": _BOUNDS for lookup in _BOUND_LOOKUPS},
        "facility_id__code": "set facility_codes instead",
        "company_id__code": "set company_codes instead",
        "history_activity_id": "the tap lists every history activity",
        "status_id": "set inventory_history_status_ids instead",
    }
}
# How the SDK reads a boolean environment variable: these are true, anything else false.
ENV_TRUE = ("true", "1", "yes", "on")
ENV_FALSE = ("false", "0", "no", "off")
_TYPE_WORDS = {
    "integer": "an integer",
    "boolean": "true or false",
    "object": "an object",
    "string": "a string",
    "number": "a number",
}


class SettingsError(Exception):
    """Settings that keep the run from starting: one line naming each setting, exit code 2."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors

    @property
    def line(self) -> str:
        """What the command prints."""
        return f"configuration error: {self}"


# --- wording ------------------------------------------------------------------------------------


def shown(name: str, value: Any) -> str:
    """A setting's value for an error message; secrets are never echoed."""
    if is_secret_name(name):
        return "a hidden value"
    text = repr(_as_written(value))
    return text if len(text) <= 80 else text[:77] + "..."


class _Number:
    """A JSON number (read as a Decimal), true, false or null, shown as written (not Decimal('1.5'), True)."""

    def __init__(self, value: Decimal | bool | None) -> None:
        self.text = json.dumps(value) if value is None or isinstance(value, bool) else str(value)

    def __repr__(self) -> str:
        return self.text


def _as_written(value: Any) -> Any:
    """`value` with every Decimal (the SDK reads config numbers as Decimal) shown as the number it is."""
    if value is None or isinstance(value, (Decimal, bool)):
        return _Number(value)
    if isinstance(value, list):
        return [_as_written(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_written(v) for k, v in value.items()}
    return value


def _kinds(prop: Mapping[str, Any]) -> list[str]:
    kinds = prop.get("type", "string")
    return [kinds] if isinstance(kinds, str) else [k for k in kinds if k != "null"]


def expected(name: str, prop: Mapping[str, Any]) -> str:
    """What a setting accepts, in words, from its schema (or EXPECTED where that says too little)."""
    if name in EXPECTED:
        return EXPECTED[name]
    if prop.get("enum"):
        return "one of " + ", ".join(str(v) for v in prop["enum"] if v is not None)
    kinds = _kinds(prop)
    if kinds == ["integer"]:
        low, high = prop.get("minimum"), prop.get("maximum")
        noun = "a whole number of seconds" if name in _SECONDS else "an integer"
        if low is not None and high is not None:
            return f"{noun} from {low} to {high}"
        return f"{noun} >= {low}" if low is not None else noun
    if kinds == ["array"]:
        items = _kinds(prop.get("items", {}))
        return "a list of " + (f"{items[0]}s" if len(items) == 1 else "values")
    return " or ".join(_TYPE_WORDS.get(k, k) for k in kinds) or "a value"


def schema_errors(config: MutableMapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """The settings schema's verdict, one error per setting; fills in defaults like the SDK's check."""
    validator = extend_validator_with_defaults(DEFAULT_JSONSCHEMA_VALIDATOR)(schema)
    props = schema.get("properties", {})
    errors: dict[str, str] = {}
    for error in validator.iter_errors(config):
        if error.validator == "required" and not error.absolute_path:
            for name in error.validator_value:
                if name not in config:
                    errors.setdefault(name, f"{name} is required: {expected(name, props.get(name, {}))}")
            continue
        path = list(error.absolute_path)
        name = str(path[0]) if path else "config"
        value = config.get(name) if path else config
        errors.setdefault(
            name, f"{name} must be {expected(name, props.get(name, {}))}, got {shown(name, value)}"
        )
    return list(errors.values())


# --- rules a schema cannot say -----------------------------------------------------------------


def _url_errors(name: str, value: Any, *, allow_http: bool) -> list[str]:
    try:
        url = urlparse(str(value))
        url.port  # noqa: B018 (a port that is no number raises here, not in the first request)
    except ValueError:
        url = urlparse("")
    if url.scheme not in {"http", "https"} or not url.hostname:
        return [f"{name} must be {EXPECTED[name]}, got {shown(name, without_userinfo(str(value)))}"]
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


def rule_errors(config: Mapping[str, Any], *, skip: Iterable[str] = ()) -> list[str]:
    """Every rule the schema cannot say, each naming the setting; `skip` has already failed."""
    skipped = set(skip)
    errors: list[str] = []
    allow_http = config.get("allow_insecure_http") is True
    if config.get("base_url") and "base_url" not in skipped:
        errors += _url_errors("base_url", config["base_url"], allow_http=allow_http)
        if not errors and "/wms/lgfapi" in urlparse(config["base_url"]).path:
            example = EXPECTED["base_url"].split("e.g. ")[1]
            errors.append(f"base_url must stop before /wms/lgfapi, e.g. {example}")
    errors += _auth_errors(config, skipped, allow_http=allow_http)
    start = config.get("start_date")
    if start and "start_date" not in skipped:
        try:
            isoparse(str(start))
        except (ValueError, OverflowError):
            errors.append(f"start_date must be {EXPECTED['start_date']}, got {shown('start_date', start)}")
    zone = config.get("tenant_timezone")
    if zone is not None and "tenant_timezone" not in skipped:
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(
                f"tenant_timezone must be {EXPECTED['tenant_timezone']}, got {shown('tenant_timezone', zone)}"
            )
    errors += _filter_errors(config, skipped)
    cache_dir = config.get("discovery_cache_dir")
    if cache_dir and "discovery_cache_dir" not in skipped and (problem := _directory_problem(str(cache_dir))):
        errors.append(
            f"discovery_cache_dir must be {EXPECTED['discovery_cache_dir']}, "
            f"got {shown('discovery_cache_dir', cache_dir)} ({problem})"
        )
    bundle = config.get("ca_bundle")
    if bundle and "ca_bundle" not in skipped and (problem := _bundle_problem(str(bundle))):
        errors.append(
            f"ca_bundle must be {EXPECTED['ca_bundle']}, got {shown('ca_bundle', bundle)} ({problem})"
        )
    return errors


def _bundle_problem(path: str) -> str | None:
    """Why a file is no CA bundle TLS can use, or None (a bad one would read as a TLS failure later)."""
    if not (os.path.isfile(path) and os.access(path, os.R_OK)):
        return "no such readable file"
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, OSError, ValueError):
        return "not a PEM certificate bundle"
    return None


ENTITY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def catalog_name_errors(names: Iterable[str]) -> list[str]:
    """Catalog streams whose name is no entity name: it becomes a URL path segment (`../`, `/`)."""
    return [
        f"stream {shown('stream', name)} is not an entity name (a letter, then letters, digits or _)"
        for name in names
        if not ENTITY_NAME.fullmatch(name)
    ]


def _filter_errors(config: Mapping[str, Any], skipped: set[str]) -> list[str]:
    """stream_filters keys that would override the query the tap builds itself."""
    filters = config.get("stream_filters")
    if "stream_filters" in skipped or not isinstance(filters, dict):
        return []
    errors = []
    for stream, keys in filters.items():
        reserved = {**RESERVED_FILTERS, **STREAM_RESERVED_FILTERS.get(stream, {})}
        for key, value in (keys if isinstance(keys, dict) else {}).items():
            if key in reserved:
                errors.append(f"stream_filters for stream '{stream}' may not set '{key}': {reserved[key]}")
            elif problem := _filter_value_problem(key, value):
                errors.append(f"stream_filters for stream '{stream}': '{key}' {problem}")
    return errors


def _filter_value_problem(key: str, value: Any) -> str | None:
    """Why a filter value cannot be sent as lgfapi reads it (docs/lgfapi.md 2.10), or None.

    Only `__in` takes a list (sent comma-separated) and `__range` a pair; a list for any other
    operator would become repeated query keys, of which the API keeps the last.
    """
    lookup = key.rstrip("!").rsplit("__", 1)[-1] if "__" in key else ""
    if isinstance(value, dict):
        return "must be a value or a list, not an object"
    if not isinstance(value, list):
        return None
    if lookup not in {"in", "range"}:
        return f"takes one value, got a list (only __in takes a list, __range a pair): {shown(key, value)}"
    if not value or any(isinstance(v, (list, dict)) or v is None for v in value):
        return f"must be a non-empty list of values, got {shown(key, value)}"
    if any("," in filter_text(v) for v in value):
        return f"values may not contain a comma (the list is sent comma-separated), got {shown(key, value)}"
    if lookup == "range" and len(value) != 2:  # a range is a pair
        return f"takes two values (a pair), got {shown(key, value)}"
    return None


def _directory_problem(path: str) -> str | None:
    """Why a path cannot be (or become) a directory, or None."""
    if os.path.lexists(path) and not os.path.isdir(path):
        return "a file"
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.lexists(parent) and parent != os.path.dirname(parent):
        parent = os.path.dirname(parent)
    return None if os.path.isdir(parent) else f"inside the file '{parent}'"


def ignored_auth_settings(config: Mapping[str, Any]) -> list[str]:
    """The other method's settings that are set: auth_method wins, so a username may stay in meltano.yml."""
    other = OAUTH_SETTINGS if config.get("auth_method", "basic") == "basic" else BASIC_SETTINGS
    return [name for name in other if config.get(name)]


def _auth_errors(config: Mapping[str, Any], skipped: set[str], *, allow_http: bool) -> list[str]:
    method = config.get("auth_method", "basic")
    if method not in {"basic", "oauth2"} or "auth_method" in skipped:
        return []
    needed = BASIC_SETTINGS if method == "basic" else OAUTH_SETTINGS
    errors = [f"{name} is required when auth_method={method}" for name in needed if not config.get(name)]
    if errors and (ignored := ignored_auth_settings(config)):  # probably what was meant
        verb, them = ("is", "it") if len(ignored) == 1 else ("are", "them")
        switch = "oauth2" if method == "basic" else "basic"
        errors.append(f"{', '.join(ignored)} {verb} set: set auth_method={switch} to use {them}")
    if method == "oauth2" and config.get("oauth_token_url") and "oauth_token_url" not in skipped:
        errors += _url_errors("oauth_token_url", config["oauth_token_url"], allow_http=allow_http)
    return errors


def env_value_problem(name: str, prop: Mapping[str, Any], raw: str) -> str | None:
    """What an environment value must be when the SDK would misread it (it parses them untyped), else None.

    The SDK takes any boolean word but its true ones for false, and crashes on bad JSON.
    """
    kinds = _kinds(prop)
    if "integer" in kinds and not re.fullmatch(r"\s*-?\d+\s*", raw):
        return expected(name, prop)
    if "boolean" in kinds and raw.lower() not in ENV_TRUE + ENV_FALSE:
        return expected(name, prop)
    kind = next((k for k in kinds if k in {"array", "object"}), None)
    items = _kinds(prop.get("items", {}))
    if kind is None or (kind == "array" and items == ["string"] and not raw.lstrip().startswith("[")):
        return None  # the SDK also reads a string list written a,b,c
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    return None if isinstance(value, list if kind == "array" else dict) else f"JSON: {expected(name, prop)}"


def unknown_settings(config: Mapping[str, Any], known: Iterable[str]) -> list[str]:
    """One warning per setting nothing declares, naming the known setting it most likely meant."""
    names = sorted(known)
    warnings = []
    for name in config:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            warnings.append(f"Unknown setting '{name}' is ignored{hint}")
    return warnings


def check(config: MutableMapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """The schema's verdict and the rules together, schema errors first; defaults filled in."""
    errors = schema_errors(config, schema)
    failed = {e.split(" ", 1)[0] for e in errors}
    return errors + rule_errors(config, skip=failed)


# --- entity selection (entities_include / entities_exclude) -------------------------------------


def matches(name: str, include: Iterable[str], exclude: Iterable[str]) -> bool:
    """Whether an entity is kept by the include and exclude glob patterns."""
    return any(fnmatch.fnmatchcase(name, p) for p in include) and not any(
        fnmatch.fnmatchcase(name, p) for p in exclude
    )


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
    if not errors and not any(matches(name, include, exclude) for name in known):
        errors.append(
            "entities_include and entities_exclude select no entity of this tenant; "
            "widen entities_include or narrow entities_exclude"
        )
    return errors
