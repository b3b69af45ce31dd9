"""The `tap-oracle-wms` command: input files and settings checked first, every failure one line.

Exit codes: 0 done; 2 the run never started (bad settings, unreadable --config/--state/--catalog
file, unknown entity names at discovery); 1 the run failed while talking to the API (rejected
credentials, HTTP errors, network, TLS).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import requests
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError
from singer_sdk.singerlib import Catalog

if TYPE_CHECKING:
    from collections.abc import Callable

    from singer_sdk import Tap

from tap_oracle_wms.config import (
    EXPECTED,
    UserError,
    shown,
    validate_settings,
)
from tap_oracle_wms.redaction import redact, register_secrets

PROG = "tap-oracle-wms"
EXIT_BAD_INPUT = 2
EXIT_SYNC_FAILED = 1


def option_values(args: list[str], option: str) -> list[str]:
    """Values given to a long option as `--opt value` or `--opt=value`, in order."""
    values = []
    for i, arg in enumerate(args):
        if arg == option and i + 1 < len(args):
            values.append(args[i + 1])
        elif arg.startswith(option + "="):
            values.append(arg[len(option) + 1 :])
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
                raise UserError(
                    f"configuration error: {name} (env {prefix}{name.upper()}) must be "
                    f"{EXPECTED.get(name, 'an integer')}, got {shown(name, raw)}"
                )
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
        return (
            f"sync failed: TLS certificate verification failed for {_host_of(exc)}; if a proxy "
            "re-signs TLS traffic, set ca_bundle to its CA certificate file"
        ), EXIT_SYNC_FAILED
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return (
            f"sync failed: cannot reach {_host_of(exc)} ({type(exc).__name__}) after retrying; "
            "check base_url, oauth_token_url and the network"
        ), EXIT_SYNC_FAILED
    return (
        f"unexpected error ({type(exc).__name__}): {exc}; rerun with "
        "TAP_ORACLE_WMS_LOGLEVEL=debug for the traceback"
    ), EXIT_SYNC_FAILED


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
