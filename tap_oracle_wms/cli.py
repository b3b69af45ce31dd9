"""The `tap-oracle-wms` command: the SDK's CLI, input files checked first, every failure one line.

Exit codes: 0 done; 2 the run never started (bad settings, unreadable --config/--state/--catalog
file, unknown entity names at discovery); 1 the run failed while talking to the API (rejected
credentials, HTTP errors, network, TLS, a closed stdout); 128+N stopped by signal N (a sync writes
its STATE first).
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import json
import logging
import logging.config
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import requests
from dotenv import load_dotenv
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError

from tap_oracle_wms.inputs import check_catalog, check_state, read_json_object
from tap_oracle_wms.lgfapi.errors import ApiError, RetriableError, host_of, network_failure, tls_failure
from tap_oracle_wms.lgfapi.secrets import is_secret_name, redact, register_secret, register_secrets
from tap_oracle_wms.output import OutputClosedError
from tap_oracle_wms.records import SchemaBreakError
from tap_oracle_wms.settings_checks import SettingsError, env_value_problem, shown, unknown_settings
from tap_oracle_wms.tap import Interrupted, TapOracleWMS, handle_signals, ignore_signals

PROG = "tap-oracle-wms"
logger = logging.getLogger(PROG)
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


def env_errors(args: list[str]) -> list[str]:
    """--config ENV: values the SDK would read wrongly from TAP_ORACLE_WMS_* variables, named."""
    if "ENV" not in option_values(args, "--config"):
        return []
    prefix = TapOracleWMS.name.upper().replace("-", "_") + "_"
    errors = []
    for name, prop in TapOracleWMS.config_jsonschema.get("properties", {}).items():
        raw = os.environ.get(prefix + name.upper())
        if raw is not None and (problem := env_value_problem(name, prop, raw)):
            errors.append(f"{name} (env {prefix}{name.upper()}) must be {problem}, got {shown(name, raw)}")
    return errors


def known_settings() -> list[str]:
    """The tap's settings and those the SDK adds (stream maps, flattening, batches)."""
    schema = copy.deepcopy(TapOracleWMS.config_jsonschema)
    TapOracleWMS.append_builtin_config(schema)
    return list(schema.get("properties", {}))


def warn_unknown_settings(config: dict[str, Any]) -> None:
    """One warning per unknown setting; a misspelt secret setting's value is masked all the same."""
    known = known_settings()
    for name, value in config.items():
        close = difflib.get_close_matches(name, known, n=1)
        if name not in known and close and is_secret_name(close[0]) and isinstance(value, str):
            register_secret(value)
    for line in unknown_settings(config, known):
        logger.warning(line)


def preflight(args: list[str]) -> None:
    """Check the input files and environment values before the SDK starts (and before any request).

    With --config ENV, ./.env of the working directory is read first (the SDK only looks beside
    its own package); variables already in the environment win.
    """
    config: dict[str, Any] = {}
    for path in option_values(args, "--config"):
        if path != "ENV":
            data = read_json_object("--config", path)
            register_secrets(data)
            config.update(data)
    warn_unknown_settings(config)
    for path in option_values(args, "--state"):
        check_state(path)
    for path in option_values(args, "--catalog"):
        check_catalog(path)
    if "ENV" in option_values(args, "--config"):
        load_dotenv(Path.cwd() / ".env", override=False)
    if errors := env_errors(args):
        raise SettingsError(errors)


def debug_logging() -> bool:
    """Debug logging asked for: keep tracebacks (redacted) after the one-line message."""
    names = ("TAP_ORACLE_WMS_LOGLEVEL", "TAP_ORACLE_WMS_LOG_LEVEL", "LOGLEVEL")
    return any(os.environ.get(name, "").strip().lower() == "debug" for name in names)


# Failures that end a run with a line of their own (failure_line); any other exception may be one a
# library raised and handles itself (a FileNotFoundError suppressed while it reads package metadata).
REPORTED = (
    SettingsError,
    ConfigValidationError,
    SchemaBreakError,
    OutputClosedError,
    RetriableAPIError,
    FatalAPIError,
    RetriableError,
    ApiError,
    requests.exceptions.RequestException,
)


def verdict(exc: BaseException) -> BaseException:
    """The failure to report: a signal that arrived while a failure was on its way out keeps that failure.

    Only a failure this tap reports: a signal landing where a library handles an exception of
    its own is the stop it is.
    """
    context = exc.__context__
    if isinstance(exc, Interrupted) and isinstance(context, REPORTED):
        return context
    return exc


def failure_line(exc: BaseException) -> tuple[str, int]:
    """The one-line message and exit code for an exception that ends a run."""
    if isinstance(exc, SettingsError):
        return exc.line, EXIT_BAD_INPUT
    if isinstance(exc, ConfigValidationError):
        return "configuration error: " + ("; ".join(exc.errors) or str(exc)), EXIT_BAD_INPUT
    if isinstance(exc, SchemaBreakError):
        return f"sync failed: {exc}", EXIT_SYNC_FAILED
    if isinstance(exc, Interrupted) and exc.state_written:
        return f"{exc}: STATE was written for every record emitted; run again to continue", 128 + exc.signum
    if isinstance(exc, Interrupted):
        return f"{exc} before the command completed; run it again", 128 + exc.signum
    if isinstance(exc, OutputClosedError):
        return (
            "sync failed: stdout was closed by its reader (broken pipe); the run stopped, "
            "and only the STATE lines the reader got are valid"
        ), EXIT_SYNC_FAILED
    if isinstance(exc, (RetriableAPIError, RetriableError)):
        return f"sync failed after retrying: {exc}", EXIT_SYNC_FAILED
    if isinstance(exc, (FatalAPIError, ApiError)):
        return f"sync failed: {exc}", EXIT_SYNC_FAILED
    if isinstance(exc, requests.exceptions.SSLError):  # the token request (the API's are RunFatalError)
        return f"sync failed: {tls_failure(host_of(exc), exc)}", EXIT_SYNC_FAILED
    if isinstance(exc, requests.exceptions.RequestException):  # no answer, or one cut short, each time
        return f"sync failed: {network_failure(exc)}", EXIT_SYNC_FAILED
    return (
        f"unexpected error ({type(exc).__name__}): {exc}; rerun with "
        "TAP_ORACLE_WMS_LOGLEVEL=debug for the traceback"
    ), EXIT_SYNC_FAILED


def main(argv: list[str] | None = None, tap_class: type[TapOracleWMS] = TapOracleWMS) -> None:
    """Console entry point: the SDK's CLI, with files checked first and every failure shown as one line."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        handle_signals()
        if not {"--about", "--version", "--help"} & set(args):
            preflight(args)
        tap_class.cli.main(args=args, prog_name=PROG, standalone_mode=True)
    except (SystemExit, KeyboardInterrupt):
        raise
    except (Exception, Interrupted, OutputClosedError) as exc:
        ignore_signals()  # the verdict is in: a later signal must not replace it
        failure = verdict(exc)
        if isinstance(failure, OutputClosedError):
            _silence_stdout()
        message, code = failure_line(failure)
        _fail(message, code, with_traceback=debug_logging(), at_once=isinstance(failure, Interrupted))


def _silence_stdout() -> None:
    """The reader of stdout is gone: send what Python still flushes at exit nowhere, not to a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _final_line(line: str) -> None:
    """The run's verdict on stderr: an ERROR record under Meltano's structured logging, else plain text.

    Meltano passes SINGER_SDK_LOG_CONFIG (JSON records it parses) and shows a plain line as [info];
    when the failure came before the SDK applied that config, it is applied here.
    """
    if config_path := os.environ.get("SINGER_SDK_LOG_CONFIG"):
        root = logging.getLogger()
        if not root.handlers:
            with contextlib.suppress(OSError, ValueError, TypeError, AttributeError, ImportError):
                logging.config.dictConfig(json.loads(Path(config_path).read_text()))
        if root.handlers:
            logger.error("%s", line)
            logging.shutdown()
            return
    logging.shutdown()
    sys.stderr.write(line + "\n")


def _fail(message: str, code: int, *, with_traceback: bool = False, at_once: bool = False) -> None:
    """Write the one line and exit; ``at_once`` (a signal) waits for no thread still in a request."""
    if with_traceback:
        logging.shutdown()
        sys.stderr.write(redact(traceback.format_exc()))
    _final_line(redact(f"{PROG}: {message}").replace("\n", " "))
    if at_once:
        # A describe in a worker thread may take request_timeout and its retries, and interpreter
        # shutdown joins such threads (the hang after Ctrl-C). Output is flushed first.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)
