"""Real-tenant behaviours and hostile answers the app plays on request (all knobs off by default).

Decisions only (no web-stack imports, so listing.py can use them in a tap-only install): which
origin links name, whether an ordering is refused, whether a later page is a 404, which entity
fails, where a list request is redirected.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from tap_oracle_wms_sandbox.state import SandboxConfig, State, pairs

ALIAS_HOST = "wms-alias.invalid"  # .invalid never resolves (RFC 6761)
REDIRECT_MARK = "redirected"  # query param marking a same-origin redirect's target
EMPTIED_MARK = "emptied"  # query param marking a page whose empty answer was served (knob empty_pages)


def origin(cfg: SandboxConfig, url: Any) -> str:
    """Origin the links of an answer name (knob link_origin); `url` is the request URL.

    request: the origin the client called. alias: another host name, same scheme and port.
    port443: the tenant form https://host:443. https: the same host and port over https.
    """
    mode = cfg.link_origin
    if mode == "request":
        return f"{url.scheme}://{url.netloc}"
    host = f"[{url.hostname}]" if ":" in (url.hostname or "") else url.hostname
    port = f":{url.port}" if url.port else ""
    if mode == "alias":
        return f"{url.scheme}://{ALIAS_HOST}{port}"
    if mode == "port443":
        return f"https://{host}:443"
    return f"https://{host}{port}"


def ordering_rejected(cfg: SandboxConfig, entity: str, text: str) -> str:
    """Why `ordering=text` is refused on `entity` (knob ordering_rejects), or '' if accepted."""
    terms = [t.strip() for t in text.split(",") if t.strip()]
    if not terms:
        return ""
    for name, rule in pairs("ordering_rejects", cfg.ordering_rejects):
        if name not in (entity, "*"):
            continue
        if rule == "any":
            return f"Ordering is not supported on {entity}."
        if rule == "desc" and any(t.startswith("-") for t in terms):
            return f"Descending ordering is not supported on {entity}."
        odd = [t.lstrip("-") for t in terms if t.lstrip("-") != "id"]
        if rule == "non_id" and odd:
            return f"Ordering {entity} by '{odd[0]}' is not supported; order by id."
    return ""


def is_later_page(params: dict[str, str]) -> bool:
    """A page after the first: a sequenced cursor, or paged page > 1."""
    if params.get("page_mode", "paged") == "sequenced":
        return bool(params.get("cursor"))
    page = params.get("page", "1")
    return page.isdigit() and int(page) > 1


def empty_page_link(state: State, params: dict[str, str]) -> dict[str, str] | None:
    """The params of the same page again, when this later page answers no rows first (knob empty_pages).

    Real tenants may send a page with no rows whose next_page goes on (docs/lgfapi.md 4.4):
    only next_page says whether more follows.
    """
    if state.config.empty_pages != "on" or not is_later_page(params) or EMPTIED_MARK in params:
        return None
    return {k: v for k, v in params.items() if k in ("page", "cursor")} | {EMPTIED_MARK: "1"}


def later_page_missing(state: State, url_base: str, params: dict[str, str]) -> bool:
    """Whether this later page answers 404 "no records" (knob later_page_404).

    once: the first later-page request of each listing (same URL path and params apart from
    page/cursor) is a 404; its retry and the listing's other pages answer. A rate: a seeded draw.
    """
    mode = state.config.later_page_404
    if mode == "off" or not is_later_page(params):
        return False
    if mode == "once":
        rest = sorted((k, v) for k, v in params.items() if k not in ("page", "cursor", REDIRECT_MARK))
        key = f"{url_base}?{rest}"
        with state.lock:
            if key in state.failed_once:
                return False
            state.failed_once.add(key)
            return True
    return state.draw(float(mode))


def entity_fault(cfg: SandboxConfig, entity: str) -> int:
    """The status every request of `entity` answers (knob entity_faults), or 0."""
    for name, status in pairs("entity_faults", cfg.entity_faults):
        if name == entity:
            return int(status)
    return 0


def redirect_location(cfg: SandboxConfig, url: Any) -> str | None:
    """Location of the 302 a list request gets (knob redirect_lists), or None to serve it.

    other_host: the same URL on host `localhost` (unless already there). same_origin: the same URL
    plus `redirected=1` (unless present). plain_http: the same URL over http (https requests only).
    """
    mode = cfg.redirect_lists
    if mode == "other_host" and url.hostname != "localhost":
        return str(url.replace(hostname="localhost"))
    if mode == "same_origin" and REDIRECT_MARK not in dict(parse_qsl(url.query)):
        return str(url) + ("&" if url.query else "?") + f"{REDIRECT_MARK}=1"
    if mode == "plain_http" and url.scheme == "https":
        return str(url.replace(scheme="http"))
    return None
