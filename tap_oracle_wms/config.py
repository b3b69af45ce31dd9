"""Settings rules, one-line CLI errors, and secret redaction.

A tap runs unattended with production credentials: every mistake a user can make in its
settings or input files must stop it before the first request, in one line that names the
setting and what is expected, and no secret may reach a log line or an error message.

Exit codes of the `tap-oracle-wms` command: 0 done; 2 the run never started (bad settings,
unreadable --config/--state/--catalog file, unknown entity names at discovery); 1 the run
failed while talking to the API (rejected credentials, HTTP errors, network, TLS).
"""

from __future__ import annotations

import base64
import difflib
import fnmatch
import functools
import ipaddress
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from dateutil.parser import isoparse
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError
from singer_sdk.singerlib import Catalog
from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR, extend_validator_with_defaults

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from singer_sdk import Tap

MAX_PAGE_SIZE = 1250  # wms-api.md 2.3
PROG = "tap-oracle-wms"
EXIT_BAD_INPUT = 2
EXIT_SYNC_FAILED = 1

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
    "stream_filters": 'an object mapping stream names to filter objects, '
                      'e.g. {"order_hdr": {"status_id": 10}}',
    "ca_bundle": "the path of a readable CA bundle (PEM) file",
    "sequenced_ordering": "auto, honoured or ignored",
}
_MINIMUMS = {"request_timeout": 1, "max_retries": 0, "concurrency": 1, "describe_concurrency": 1,
             "lookback_seconds": 0, "discovery_cache_ttl": 0}
_TYPE_WORDS = {"integer": "an integer", "boolean": "true or false", "array": "a list of strings",
               "object": "an object", "string": "a string", "number": "a number"}


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
        return [f"{name} must use https:// (http:// is allowed only for loopback hosts or with "
                "allow_insecure_http=true)"]
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
        errors.append(f"ca_bundle must be {EXPECTED['ca_bundle']}, got {shown('ca_bundle', bundle)} "
                      "(no such readable file)")
    filters = config.get("stream_filters")
    if filters is not None and "stream_filters" not in skipped and not (
        isinstance(filters, dict) and all(isinstance(v, dict) for v in filters.values())
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
    errors = [
        f"{name} is required when auth_method={method}" for name in needed if not config.get(name)
    ]
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
    if page_size is not None and "page_size" not in skipped and (
        isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE
    ):
        errors.append(f"page_size must be {EXPECTED['page_size']}, got {shown('page_size', page_size)}")
    for name, minimum in _MINIMUMS.items():
        value = config.get(name)
        if value is not None and name not in skipped and (
            isinstance(value, bool) or not isinstance(value, int) or value < minimum
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
        errors.append("entities_include and entities_exclude select no entity of this tenant; "
                      "widen entities_include or narrow entities_exclude")
    return errors


def check_entity_selection(names: Iterable[str], include: list[str], exclude: list[str]) -> None:
    """Raise ConfigValidationError for the errors of `entity_selection_errors` (call at discovery)."""
    errors = entity_selection_errors(names, include, exclude)
    if errors:
        raise ConfigValidationError("; ".join(errors), errors=errors)


# --- input files ------------------------------------------------------------------------------


def option_values(args: list[str], option: str) -> list[str]:
    """Values given to a long option as `--opt value` or `--opt=value`, in order."""
    values = []
    for i, arg in enumerate(args):
        if arg == option and i + 1 < len(args):
            values.append(args[i + 1])
        elif arg.startswith(option + "="):
            values.append(arg[len(option) + 1:])
    return values


def read_json_object(option: str, path: str) -> dict[str, Any]:
    """A JSON object from a --config/--state/--catalog file, or a UserError naming the file."""
    where = f"{option} file '{path}'"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{where} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"{where} is a directory, not a JSON file") from None
    except PermissionError:
        raise UserError(f"{where} cannot be read: permission denied") from None
    except OSError as exc:
        raise UserError(f"{where} cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UserError(f"{where} is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"{where} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise UserError(msg) from None
    if not isinstance(data, dict):
        raise UserError(f"{where} must hold a JSON object, not {_json_kind(data)}")
    return data


def _json_kind(value: Any) -> str:
    kinds = {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def check_state(path: str) -> None:
    """A Singer state file: an object whose `bookmarks`, if any, map stream names to objects."""
    data = read_json_object("--state", path)
    bookmarks = data.get("bookmarks", {})
    if not isinstance(bookmarks, dict) or not all(isinstance(v, dict) for v in bookmarks.values()):
        msg = f"--state file '{path}' is not Singer state: 'bookmarks' must map stream names to objects"
        raise UserError(msg)


def check_catalog(path: str) -> None:
    """A Singer catalog file: a `streams` list of entries with a tap_stream_id and a schema."""
    data = read_json_object("--catalog", path)
    where = f"--catalog file '{path}' is not a Singer catalog"
    streams = data.get("streams")
    if not isinstance(streams, list):
        raise UserError(f"{where}: it needs a 'streams' list (write one with --discover)")
    for i, entry in enumerate(streams):
        if not isinstance(entry, dict) or not isinstance(entry.get("tap_stream_id"), str):
            raise UserError(f"{where}: streams[{i}] has no 'tap_stream_id'")
        if not isinstance(entry.get("schema", {}), dict) or not isinstance(entry.get("metadata", []), list):
            name = entry["tap_stream_id"]
            raise UserError(f"{where}: streams[{i}] ('{name}') has a malformed schema or metadata")
    try:
        Catalog.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UserError(f"{where}: {type(exc).__name__}: {exc}") from None


def cli_config(tap_class: type[Tap], args: list[str]) -> dict[str, Any]:
    """The settings a CLI run will use: --config files merged in order, then TAP_ORACLE_WMS_* env vars."""
    config: dict[str, Any] = {}
    parse_env = False
    for path in option_values(args, "--config"):
        if path == "ENV":
            parse_env = True
        else:
            config.update(read_json_object("--config", path))
    if parse_env:
        schema = tap_class.config_jsonschema
        prefix = tap_class.name.upper().replace("-", "_") + "_"
        for name, prop in schema.get("properties", {}).items():
            raw = os.environ.get(prefix + name.upper())
            integer = "integer" in str(prop.get("type"))
            if raw is not None and integer and not re.fullmatch(r"\s*-?\d+\s*", raw):
                raise UserError(f"configuration error: {name} (env {prefix}{name.upper()}) must be "
                                f"{EXPECTED.get(name, 'an integer')}, got {shown(name, raw)}")
        config.update(tap_class._env_var_config)
    return config


def preflight(tap_class: type[Tap], args: list[str]) -> None:
    """Check the input files and every setting before the SDK starts (and before any request)."""
    for path in option_values(args, "--state"):
        check_state(path)
    for path in option_values(args, "--catalog"):
        check_catalog(path)
    config = cli_config(tap_class, args)
    register_secrets(config)
    schema = tap_class.config_jsonschema
    tap_class.append_builtin_config(schema)
    errors = validate_settings(config, schema, raise_errors=False)
    if errors:
        raise UserError("configuration error: " + "; ".join(errors))


# --- secret redaction -------------------------------------------------------------------------

_SECRETS: set[str] = set()
_MIN_SECRET_LENGTH = 4  # shorter values would blank out ordinary words; the patterns still apply
_AUTH_VALUE = re.compile(r"\b(Basic|Bearer)(\s+)([A-Za-z0-9._~+/-]{8,}=*)")
_KEYED_SECRET = re.compile(
    r"""(?ix)(["']?\b(?:access_token|refresh_token|id_token|client_secret|password|authorization)\b["']?
    \s*[:=]\s*["']?)(?!\*\*\*|(?:Basic|Bearer)\s)([^"'&\s,;}]+)"""
)
_previous_factory: Callable[..., logging.LogRecord] | None = None


def register_secrets(config: Mapping[str, Any]) -> None:
    """Remember this run's secret values (and their Basic-header encodings) for redaction."""
    for name, value in config.items():
        if isinstance(value, str) and is_secret_setting(name):
            _remember(value)
    for user, secret in (("username", "password"), ("oauth_client_id", "oauth_client_secret")):
        if config.get(user) and config.get(secret):
            _remember(base64.b64encode(f"{config[user]}:{config[secret]}".encode()).decode())
    install_log_redaction()


def _remember(value: str) -> None:
    if len(value) >= _MIN_SECRET_LENGTH:
        _SECRETS.add(value)


def _auth_value(match: re.Match[str]) -> str:
    token = match.group(3)
    looks_random = any(c.isdigit() or c in "+/=._~-" for c in token) or token[1:] != token[1:].lower()
    return f"{match.group(1)}{match.group(2)}***" if looks_random else match.group(0)


def redact(text: str) -> str:
    """Mask known secret values, Basic/Bearer credentials and `token=...`-style pairs."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    text = _AUTH_VALUE.sub(_auth_value, text)
    return _KEYED_SECRET.sub(r"\1***", text)


def _redacted_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _previous_factory is not None
    record = _previous_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:
        return record
    clean = redact(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def install_log_redaction() -> None:
    """Every log record of the process (SDK, requests, urllib3, ours) passes through `redact`."""
    global _previous_factory
    if _previous_factory is None:
        _previous_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_redacted_record)


# --- the command line -------------------------------------------------------------------------


def debug_logging() -> bool:
    """Debug logging asked for: keep tracebacks (redacted) after the one-line message."""
    names = ("TAP_ORACLE_WMS_LOGLEVEL", "TAP_ORACLE_WMS_LOG_LEVEL", "LOGLEVEL")
    return any(os.environ.get(name, "").strip().lower() == "debug" for name in names)


def _sdk_handler_bypassed(callback: Callable[..., Any]) -> Callable[..., Any]:
    """The SDK logs a ConfigValidationError raised during the run and exits 1; we want our line."""

    @functools.wraps(callback)
    def run(**params: Any) -> Any:
        try:
            return callback(**params)
        except ConfigValidationError as exc:
            raise UserError(config_error_line(exc)) from exc

    return run


def config_error_line(exc: ConfigValidationError) -> str:
    """All the errors of a ConfigValidationError on one line."""
    return "configuration error: " + ("; ".join(exc.errors) if exc.errors else str(exc))


def failure_line(exc: BaseException) -> tuple[str, int]:
    """The one-line message and exit code for an exception that ends a run."""
    if isinstance(exc, UserError):
        return str(exc), EXIT_BAD_INPUT
    if isinstance(exc, ConfigValidationError):
        return config_error_line(exc), EXIT_BAD_INPUT
    if isinstance(exc, RetriableAPIError):
        return f"sync failed after retrying: {exc}", EXIT_SYNC_FAILED
    if isinstance(exc, FatalAPIError):
        return f"sync failed: {exc}", EXIT_SYNC_FAILED
    if isinstance(exc, requests.exceptions.SSLError):  # the token request (the API's are FatalAPIError)
        return (f"sync failed: TLS certificate verification failed for {_host_of(exc)}; if a proxy "
                "re-signs TLS traffic, set ca_bundle to its CA certificate file"), EXIT_SYNC_FAILED
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return (f"sync failed: cannot reach {_host_of(exc)} ({type(exc).__name__}) after retrying; "
                "check base_url, oauth_token_url and the network"), EXIT_SYNC_FAILED
    return (f"unexpected error ({type(exc).__name__}): {exc}; rerun with "
            "TAP_ORACLE_WMS_LOGLEVEL=debug for the traceback"), EXIT_SYNC_FAILED


def _host_of(exc: requests.exceptions.RequestException) -> str:
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None)
    return urlparse(url).netloc if url else "the server"


def run_cli(tap_class: type[Tap], argv: list[str] | None = None) -> None:
    """The SDK's CLI, with files and settings checked first and every failure shown as one line."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        if not {"--about", "--version", "--help"} & set(args):
            preflight(tap_class, args)
        command = tap_class.cli
        command.callback = _sdk_handler_bypassed(command.callback)  # type: ignore[arg-type]
        command.main(args=args, prog_name=PROG, standalone_mode=True)
    except (SystemExit, KeyboardInterrupt):
        raise
    except Exception as exc:
        message, code = failure_line(exc)
        _fail(message, code, with_traceback=debug_logging())


def _fail(message: str, code: int, *, with_traceback: bool = False) -> None:
    logging.shutdown()
    if with_traceback:
        sys.stderr.write(redact(traceback.format_exc()))
    sys.stderr.write(redact(f"{PROG}: {message}").replace("\n", " ") + "\n")
    sys.exit(code)
