"""Real-tenant behaviours and hostile answers the app plays on request (all knobs off by default).

Decisions only (no web-stack imports, so listing.py can use them in a tap-only install): which
origin links name, whether an ordering is refused, whether a later page is a 404, which entity
fails, where a list request is redirected, where next_page loops, which rows send odd values.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from tap_oracle_wms_sandbox.entities import Entity, api_fields
from tap_oracle_wms_sandbox.state import SandboxConfig, State, pairs

ALIAS_HOST = "wms-alias.invalid"  # .invalid never resolves (RFC 6761)
REDIRECT_MARK = "redirected"  # query param marking a same-origin redirect's target
EMPTIED_MARK = "emptied"  # query param marking a page whose empty answer was served (knob empty_pages)
LOOP_MARK = "loop"  # query param numbering the hops of a next_page loop (knob next_page_loop)


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


def looping_link(
    cfg: SandboxConfig,
    params: dict[str, str],
    forward: dict[str, Any] | None,
    again: Callable[[int], dict[str, Any]],
) -> dict[str, Any] | None:
    """The link changes of a next_page that loops (knob next_page_loop), or None for the plain one.

    `forward`: the changes of the plain next link (None on the last page); `again(hop)`: changes
    that ask this page again, hop making them differ. on: a later page links to itself (the same
    URL). alternate: the first two pages link to each other for ever, each link with a new
    loop=<hop>, so no URL repeats. fresh: a later page links to a new URL (a new cursor text for
    the same position, or the same page, plus loop=<hop>) that serves its rows again. Issue 26,
    finding 7: loops that an exact-URL check cannot catch.
    """
    mode = cfg.next_page_loop
    later = is_later_page(params)
    raw = params.get(LOOP_MARK, "0")
    hop = int(raw) + 1 if raw.isdigit() else 1
    if mode == "on" and later:
        return again(0)
    if mode == "alternate":
        if later:  # back to the first page
            return {"page": None, "cursor": None, LOOP_MARK: hop}
        return None if forward is None else {**forward, LOOP_MARK: hop}
    if mode == "fresh" and later:
        return {**again(hop), LOOP_MARK: hop}
    return None


def later_page_missing(state: State, url_base: str, params: dict[str, str]) -> bool:
    """Whether this later page answers 404 "no records" (knob later_page_404).

    once: the first later-page request of each listing (same URL path and params apart from
    page/cursor) is a 404; its retry and the listing's other pages answer. A rate: a seeded draw.
    """
    mode = state.config.later_page_404
    if mode == "off" or not is_later_page(params):
        return False
    if mode == "once":
        marks = ("page", "cursor", REDIRECT_MARK, LOOP_MARK)
        rest = sorted((k, v) for k, v in params.items() if k not in marks)
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


# ---- odd_values ---------------------------------------------------------------------------------

# What real tenants were seen or feared to send (issue 26; docs/lgfapi.md 2.10): (field, SQL of the
# value sent). "decimal" is the entity's first decimal field. The unparsable mod_ts names the row's
# true instant in a form no ISO parser reads.
ODD_CASES: tuple[tuple[str, str], ...] = (
    ("mod_ts", "strftime('%Y-%m-%dT%H:%M:%S', t.\"mod_ts\" / 1000000, 'unixepoch') || ' UTC'"),
    ("id", "CAST(t.id AS TEXT)"),  # an integer sent as text: "150"
    ("id", "'abc'"),
    ("id", "12.5"),
    ("id", "json('true')"),
    ("decimal", "'NaN'"),
    ("decimal", "'Infinity'"),
)


@dataclass(frozen=True)
class OddRow:
    """One seeded row that sends an odd value: its true id, the field, and the SQL of the value."""

    id: int
    field: str
    sql: str


# About one row in ODD_SPACING sends an odd value, the cases in turn, so any stretch of
# ODD_SPACING * len(ODD_CASES) rows holds every case; at most MAX_ODD_ROWS rows per entity.
ODD_SPACING = 5
MAX_ODD_ROWS = 20 * len(ODD_CASES)


def odd_rows(state: State, entity: Entity) -> tuple[OddRow, ...]:
    """The rows of `entity` that send odd values (knob odd_values), or () when it is off for it.

    Only the JSON sent is odd: the stored id, mod_ts and decimal stay typed, so filters,
    ordering, counts and cursors see the true values.
    """
    if entity.name not in state.config.odd_values and "*" not in state.config.odd_values:
        return ()
    with state.lock:
        if entity.name not in state.odd_rows:
            state.odd_rows[entity.name] = pick_odd_rows(state, entity)
        return state.odd_rows[entity.name]


def pick_odd_rows(state: State, entity: Entity) -> tuple[OddRow, ...]:
    """Seeded rows spread evenly over the id order, never the first or last, each case in turn.

    Chosen once per seed and scale from the seeded rows: one in each slot of ODD_SPACING rows,
    at a seeded place within it.
    """
    decimals = [f.name for f in api_fields(entity) if f.kind == "decimal" and not f.on_request]
    fields = {
        "id": "id",
        "mod_ts": "mod_ts" if entity.has_mod_ts else "",
        "decimal": next(iter(decimals), ""),
    }
    cases = [(fields[kind], sql) for kind, sql in ODD_CASES if fields[kind]]
    where = entity.where or "1"
    sql = f'SELECT id FROM "{entity.sql_table}" t WHERE {where} ORDER BY id'  # noqa: S608 - static declarations
    inner = [r[0] for r in state.pristine.execute(sql)][1:-1]
    count = min(len(inner), MAX_ODD_ROWS, max(len(cases), len(inner) // ODD_SPACING))
    rng = random.Random(f"{state.config.seed}:{entity.name}")
    slot = len(inner) / count if count else 0
    chosen = [inner[int(n * slot + rng.random() * slot)] for n in range(count)]
    return tuple(OddRow(i, *cases[n % len(cases)]) for n, i in enumerate(chosen))
