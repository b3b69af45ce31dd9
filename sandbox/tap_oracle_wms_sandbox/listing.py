"""List, retrieve and ground truth: SQL assembly, envelopes and links (docs/lgfapi.md 1.6, 2.2-2.6).

Bodies are assembled from JSON text rendered by SQLite, so no row is ever a Python dict here.
"""

# ruff: noqa: S608 - SQL text is built only from the static entity declarations; every
# request value is a bound parameter.

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tap_oracle_wms_sandbox import query, quirks, render
from tap_oracle_wms_sandbox.entities import Entity, api_fields
from tap_oracle_wms_sandbox.state import MAX_PAGE_SIZE, State, User


@dataclass
class Result:
    """An HTTP answer in the making: status, body text and extra headers."""

    status: int
    body: str
    headers: dict[str, str]


class NotFoundError(Exception):
    """A 404 with the standard error body (docs/lgfapi.md 2.11)."""


def last_wins(raw_query: str) -> dict[str, str]:
    """All query params, a repeated key keeping its last value (docs/lgfapi.md 1.7)."""
    out: dict[str, str] = {}
    for k, v in parse_qsl(raw_query, keep_blank_values=True):
        out.pop(k, None)
        out[k] = v
    return out


def field_names(entity: Entity, params: dict[str, str], unknown_types: bool) -> tuple[str, ...]:
    """Fields to render: `fields=` selection or the full representation (docs/lgfapi.md 2.4)."""
    if not params.get("fields"):
        return tuple(render.default_fields(entity, unknown_types))
    known = {f.name for f in api_fields(entity, unknown_types)} | {"url"}
    names = tuple(dict.fromkeys(n.strip() for n in params["fields"].split(",") if n.strip()))
    bad = [n for n in names if n not in known]
    if bad:
        raise query.QueryError("Invalid input.", {"fields": f"Unknown fields: {', '.join(bad)}."})
    return names


def page_size_of(state: State, params: dict[str, str]) -> int:
    """page_size: default = the user's rows per page, max 1250 clamped or rejected (2.3)."""
    raw = params.get("page_size")
    if raw is None or raw == "":
        return state.config.rows_per_page
    if not raw.isdigit() or int(raw) < 1:
        raise query.QueryError("Invalid input.", {"page_size": f"'{raw}' is not a valid page size."})
    size = int(raw)
    if size > MAX_PAGE_SIZE:
        if state.config.page_size_over_max == "reject":
            raise query.QueryError(
                "Invalid input.", {"page_size": f"Ensure this value is at most {MAX_PAGE_SIZE}."}
            )
        size = MAX_PAGE_SIZE
    return size


def scope_where(entity: Entity, user: User, w: query.Where) -> None:
    """Eligibility: rows outside the user's facilities/companies are invisible (3.3)."""
    for col, allowed in ((entity.facility_col, user.facilities), (entity.company_col, user.companies)):
        if col and allowed is not None:
            w.clauses.append(f't."{col}" IN ({", ".join(str(i) for i in sorted(allowed))})')
    if entity.where:
        w.clauses.append(entity.where)


def link(url_base: str, params: dict[str, str], **changes: Any) -> str:
    """Absolute link with the caller's params echoed and page/cursor replaced."""
    marks = ("page", "cursor", quirks.REDIRECT_MARK, quirks.EMPTIED_MARK, quirks.LOOP_MARK)
    out = {k: v for k, v in params.items() if k not in marks}
    out.update({k: str(v) for k, v in changes.items() if v is not None})
    return f"{url_base}?{urlencode(out, safe=',:!')}" if out else url_base


def odd_sql(state: State, entity: Entity) -> tuple[tuple[int, str, str], ...]:
    """The odd values `entity`'s rows send (knob odd_values) as select_sql takes them."""
    return tuple((r.id, r.field, r.sql) for r in quirks.odd_rows(state, entity))


def list_page(
    state: State, entity: Entity, user: User, raw_query: str, url_base: str, api_base: str
) -> Result:
    """One list page in paged or sequenced mode."""
    params = last_wins(raw_query)
    mode = params.get("page_mode", "paged")
    if mode not in ("paged", "sequenced"):
        raise query.QueryError("Invalid input.", {"page_mode": "Must be 'paged' or 'sequenced'."})
    size = page_size_of(state, params)
    names = field_names(entity, params, state.config.unknown_types == "on")
    filters = query.filters_from(raw_query)
    query.check_combos(entity, filters)
    w = query.Where()
    scope_where(entity, user, w)
    query.where_for(entity, filters, user.tz, w)
    rejected = quirks.ordering_rejected(state.config, entity.name, params.get("ordering", ""))
    if rejected:
        raise query.QueryError("Invalid input.", {"ordering": rejected})
    terms = query.ordering_from(entity, params.get("ordering", ""))
    if quirks.later_page_missing(state, url_base, params):
        raise NotFoundError("No records found.")
    if (again := quirks.empty_page_link(state, params)) is not None:
        nxt = json.dumps(link(url_base, params, **again))
        return Result(200, f'{{"next_page":{nxt},"previous_page":null,"results":[]}}', {})
    naive = state.config.datetime_output == "naive"
    js, joins = render.select_sql(entity.name, names, user.tz, naive, odd_sql(state, entity))
    w.params["base"] = api_base + "entity/"
    table = f'"{entity.sql_table}" t'
    if mode == "paged":
        return paged(state, params, size, w, terms, js, joins, table, url_base)
    if state.config.sequenced_ordering == "ignore":
        terms = []
    return sequenced(state, params, size, w, query.keyset_order(terms), js, joins, table, url_base)


def paged(
    state: State,
    params: dict[str, str],
    size: int,
    w: query.Where,
    terms: list[query.Order],
    js: str,
    joins: str,
    table: str,
    url_base: str,
) -> Result:
    """Paged envelope; no ordering means a stable but not id-sorted order (8.4)."""
    where = " AND ".join(w.clauses) or "1"
    with state.lock:
        total = state.conn.execute(f"SELECT count(*) FROM {table} WHERE {where}", w.params).fetchone()[0]
        if total == 0:
            raise NotFoundError("No records found.")
        pages = math.ceil(total / size)
        raw = params.get("page", "1")
        if not raw.isdigit() or not 1 <= int(raw) <= pages:
            raise NotFoundError("Invalid page.")
        page = int(raw)
        order = query.order_by(terms) or "t._ord"
        w.params.update(lim=size, off=(page - 1) * size)
        ids = [
            r[0]
            for r in state.conn.execute(
                f"SELECT t.id FROM {table} WHERE {where} ORDER BY {order} LIMIT :lim OFFSET :off", w.params
            )
        ]
        results = render_ids(state, js, joins, table, w.params, ids)
    forward: dict[str, Any] | None = {"page": page + 1} if page < pages else None
    changes = quirks.looping_link(state.config, params, forward, lambda _: {"page": page}) or forward
    nxt = link(url_base, params, **changes) if changes is not None else None
    prev = link(url_base, params, page=page - 1 if page > 2 else None) if page > 1 else None
    body = (
        f'{{"result_count":{total},"page_count":{pages},"page_nbr":{page},'
        f'"next_page":{json.dumps(nxt)},"previous_page":{json.dumps(prev)},"results":[' + results + "]}"
    )
    return Result(200, body, {})


def render_ids(state: State, js: str, joins: str, table: str, params: dict[str, Any], ids: list[int]) -> str:
    """Rendered rows of `ids`, in that order, as one comma-joined JSON text (no per-row Python)."""
    if not ids:
        return ""
    sql = (
        f"SELECT group_concat(j, ',') FROM (SELECT {js} AS j FROM json_each(:ids) p "
        f"JOIN {table} ON t.id = p.value {joins} ORDER BY p.key)"
    )
    return state.conn.execute(sql, {**params, "ids": json.dumps(ids)}).fetchone()[0] or ""


def sequenced(
    state: State,
    params: dict[str, str],
    size: int,
    w: query.Where,
    keys: list[query.Order],
    js: str,
    joins: str,
    table: str,
    url_base: str,
) -> Result:
    """Sequenced envelope with keyset cursors (no count query), docs/lgfapi.md 2.2."""
    reverse = False
    token = params.get("cursor")
    if token:
        values, reverse = query.decode_cursor(token)
        w.clauses.append(query.keyset_sql(keys, values, reverse, w))
    where = " AND ".join(w.clauses) or "1"
    key_cols = ", ".join(k.sql for k in keys)
    with state.lock:
        rows = state.conn.execute(
            f"SELECT t.id, {key_cols} FROM {table} WHERE {where} "
            f"ORDER BY {query.order_by(keys, reverse)} LIMIT :lim",
            {**w.params, "lim": size + 1},
        ).fetchall()
        more = len(rows) > size
        rows = rows[:size]
        if reverse:
            rows.reverse()
        if not rows:
            raise NotFoundError("No records found.")
        results = render_ids(state, js, joins, table, w.params, [r[0] for r in rows])
    first, last = list(rows[0][1:]), list(rows[-1][1:])
    nxt: str | None
    if reverse:
        nxt = link(url_base, params, cursor=query.encode_cursor(last, False))
        prev = link(url_base, params, cursor=query.encode_cursor(first, True)) if more else None
    else:
        forward = {"cursor": query.encode_cursor(last, False)} if more else None
        prev = link(url_base, params, cursor=query.encode_cursor(first, True)) if token else None

        def again(hop: int) -> dict[str, Any]:
            """The same page again: its own cursor, or (hop > 0) a new cursor text for it."""
            return {"cursor": query.encode_cursor(values, False, hop) if hop else token}

        changes = quirks.looping_link(state.config, params, forward, again) or forward
        nxt = link(url_base, params, **changes) if changes is not None else None
    body = f'{{"next_page":{json.dumps(nxt)},"previous_page":{json.dumps(prev)},"results":[' + results + "]}"
    return Result(200, body, {})


def retrieve(state: State, entity: Entity, user: User, ident: str, raw_query: str, api_base: str) -> Result:
    """Bare object of one id; missing or ineligible -> 404; Last-Modified when time-tracked (1.6)."""
    if not ident.isdigit():
        raise NotFoundError("Not found.")
    params = last_wins(raw_query)
    names = field_names(entity, params, state.config.unknown_types == "on")
    w = query.Where()
    scope_where(entity, user, w)
    w.clauses.append(f"t.id = {int(ident)}")
    w.params["base"] = api_base + "entity/"
    naive = state.config.datetime_output == "naive"
    js, joins = render.select_sql(entity.name, names, user.tz, naive, odd_sql(state, entity))
    modified = render.ts_sql('t."mod_ts"', user.tz) if entity.has_mod_ts else "NULL"
    with state.lock:
        row = state.conn.execute(
            f'SELECT {js}, {modified} FROM "{entity.sql_table}" t {joins} WHERE {" AND ".join(w.clauses)}',
            w.params,
        ).fetchone()
    if row is None:
        raise NotFoundError("Not found.")
    return Result(200, row[0], {"Last-Modified": row[1]} if row[1] else {})


def truth(state: State, entity: Entity, user: User, api_base: str) -> list[dict[str, Any]]:
    """Every row the user can see, full representation, sorted by id (admin ground truth).

    Stored values: a row that sends an odd value (knob odd_values) has its true one here.
    """
    w = query.Where()
    scope_where(entity, user, w)
    w.params["base"] = api_base + "entity/"
    naive = state.config.datetime_output == "naive"
    names = tuple(render.default_fields(entity, state.config.unknown_types == "on"))
    js, joins = render.select_sql(entity.name, names, user.tz, naive)
    with state.lock:
        rows = state.conn.execute(
            f'SELECT {js} FROM "{entity.sql_table}" t {joins} '
            f"WHERE {' AND '.join(w.clauses) or '1'} ORDER BY t.id",
            w.params,
        ).fetchall()
    return json.loads("[" + ",".join(r[0] for r in rows) + "]")


def odd_values(state: State, entity: Entity, user: User) -> list[dict[str, Any]]:
    """The odd values the user's rows of `entity` send (knob odd_values), sorted by true id.

    truth() keeps the stored values; this says which rows send what instead, so a test can say
    what a correct client makes of each.
    """
    w = query.Where()
    scope_where(entity, user, w)
    out = []
    with state.lock:
        for odd in quirks.odd_rows(state, entity):
            row = state.conn.execute(
                f"SELECT json_object('sent', {odd.sql}) FROM \"{entity.sql_table}\" t "
                f"WHERE {' AND '.join([*w.clauses, f't.id = {odd.id}'])}"
            ).fetchone()
            if row is not None:
                out.append({"id": odd.id, "field": odd.field, "sent": json.loads(row[0])["sent"]})
    return out
