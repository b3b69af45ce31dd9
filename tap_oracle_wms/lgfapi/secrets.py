"""Secret redaction: no password, client secret, token or Authorization header in any log line.

Every log record of the process (SDK, requests, urllib3, ours), its traceback included, passes
through `redact` once the first config has been seen. A secret is masked in every form output
can carry it in: raw, JSON- or repr-escaped (an echoed error body), URL-encoded, inside a Basic
header, or with its line breaks flattened into a one-line message.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable


# Forms of secrets this long are masked wherever they appear; shorter ones would blank out
# ordinary words, so they are masked only where they stand as a whole value (see `_value_patterns`).
_MIN_SECRET_LENGTH = 4
_SECRETS: set[str] = set()
_SHORT: set[str] = set()
_lock = threading.Lock()
_AUTH_VALUE = re.compile(r"\b(Basic|Bearer)(\s+)([A-Za-z0-9._~+/-]{8,}=*)")
_KEY = r"""\b[\w-]*(?:password|passwd|secret|token|authorization|credential)[\w-]*["']?\s*[:=]\s*["']?"""
_KEYED_SECRET = re.compile(
    r"""(?ix)(["']?\b[\w-]*(?:token|secret|password|passwd|authorization)\b["']?
    \s*[:=]\s*["']?)(?!\*\*\*|(?:Basic|Bearer)\s)([^"'&\s,;}]+)"""
)
_value_patterns: tuple[re.Pattern[str], ...] = ()
_previous_factory: Callable[..., logging.LogRecord] | None = None
_SECRET_NAME = re.compile(r"(?i)(password|secret|token|authorization|private_key|credential)")


def is_secret_name(name: str) -> bool:
    """A setting, query key or JSON key that holds a credential (a URL or path setting does not)."""
    return bool(_SECRET_NAME.search(name)) and not name.endswith(("_url", "_dir", "_path", "_file"))


def without_userinfo(url: str) -> str:
    """`url` with all before its last '@' hidden (but a scheme): a password may hold '/' or ':'."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme = head[: head.index("://") + 3] if "://" in head else ""
    return f"{scheme}***@{tail}"


def register_secrets(config: Mapping[str, Any]) -> None:
    """Remember this run's secret values (and their Basic-header encodings) for redaction."""
    for name, value in config.items():
        if isinstance(value, str) and is_secret_name(name):
            register_secret(value)
    for user, secret in (("username", "password"), ("oauth_client_id", "oauth_client_secret")):
        if config.get(user) and config.get(secret):
            for basic in basic_credentials(str(config[user]), str(config[secret])):
                register_secret(basic)
    install_log_redaction()


def register_secret(value: str) -> None:
    """Remember one secret value (a setting, an access token once obtained) in all its forms."""
    if not value:
        return
    with _lock:
        target = _SECRETS if len(value) >= _MIN_SECRET_LENGTH else _SHORT
        target.update(form for form in forms(value) if form)
        if target is _SHORT:
            _compile_value_patterns(_SHORT)


def forms(value: str) -> set[str]:
    """The spellings output can carry `value` in: raw, escaped, URL-encoded, flattened to one line."""
    spelled = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        value.encode("unicode_escape").decode("ascii"),
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
    }
    for flat in (value.replace("\n", " "), value.replace("\r\n", " "), re.sub(r"[\r\n]", " ", value)):
        spelled.add(flat)
    return spelled


def basic_credentials(user: str, secret: str) -> list[str]:
    """The base64 part of a Basic header for user and secret, as UTF-8 and as Latin-1."""
    encoded = [f"{user}:{secret}".encode()]
    with contextlib.suppress(UnicodeEncodeError):
        encoded.append(f"{user}:{secret}".encode("latin-1"))
    return [base64.b64encode(raw).decode("ascii") for raw in encoded]


def _compile_value_patterns(values: Iterable[str]) -> None:
    """Short secrets: masked only as a keyed value, a whole quoted string, or a URL's password."""
    global _value_patterns
    alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    _value_patterns = (
        re.compile(rf"((?i:{_KEY}))(?:{alternatives})(?=[\"'&\s,;}})\]]|$)"),
        re.compile(rf"([\"'])(?:{alternatives})(\1)"),
        re.compile(rf"(://[^/@\s:]*:)(?:{alternatives})(@)"),
    )


def _auth_value(match: re.Match[str]) -> str:
    token = match.group(3)
    looks_random = any(c.isdigit() or c in "+/=._~-" for c in token) or token[1:] != token[1:].lower()
    return f"{match.group(1)}{match.group(2)}***" if looks_random else match.group(0)


def redact(text: str) -> str:
    """Mask known secret values in all their forms, Basic/Bearer credentials and `token=...` pairs."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    keyed, quoted, userinfo = _value_patterns or (None, None, None)
    if keyed is not None and quoted is not None and userinfo is not None:
        text = keyed.sub(r"\1***", text)
        text = quoted.sub(r"\1***\2", text)
        text = userinfo.sub(r"\1***\2", text)
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
