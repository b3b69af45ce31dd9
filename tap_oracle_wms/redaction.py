"""Secret redaction: no password, client secret, token or Authorization header in any log line.

Every log record of the process (SDK, requests, urllib3, ours), its traceback included, passes
through `redact` once the first config has been seen.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable


from tap_oracle_wms.lgfapi import is_secret_name

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
        if isinstance(value, str) and is_secret_name(name):
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
