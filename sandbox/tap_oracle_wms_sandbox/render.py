"""SQL that renders rows straight to lgfapi JSON (json_object in SQLite's C code: no per-row Python).

Representations follow docs/lgfapi.md 2.10: FK objects {id,key,url} (url "" for unexposed targets,
null when absent), bare integer status_id, decimals as strings, "" blanks, `*_flg` booleans,
`*_set` {result_count,url} or null, date-times ISO with microseconds and the API user's
default-facility UTC offset (DST-correct), dates YYYY-MM-DD.
"""

# ruff: noqa: S608 - SQL text is built only from the static entity declarations; every
# request value is a bound parameter.

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from tap_oracle_wms_sandbox.entities import BY_NAME, Entity, Field, api_fields

FIRST_YEAR, LAST_YEAR = 1990, 2045
# Date-times rendered for this zone (default facility DC01 of admin and limited) are cached in a
# text column per date-time field, refreshed on every write: rendering them is then a plain read.
CACHED_TZ = "America/New_York"


def text_column(name: str) -> str:
    """Hidden column caching the CACHED_TZ rendering of a date-time field."""
    return f"_txt_{name}"


@lru_cache(maxsize=16)
def transitions(tz_name: str) -> tuple[tuple[int, int], ...]:
    """(utc_microseconds_from, offset_seconds) pairs for a zone, 1990-2045."""
    tz = ZoneInfo(tz_name)
    start = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)

    def off(t: datetime) -> int:
        delta = t.astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    out = [(-(2**62), off(start))]
    day = start
    while day.year < LAST_YEAR:
        nxt = day + timedelta(days=1)
        if off(nxt) != off(day):  # find the hour (or quarter hour) of the change
            lo, hi = day, nxt
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if off(mid) == off(lo) else (lo, mid)
            out.append((int(hi.timestamp()) * 1_000_000, off(hi)))
        day = nxt
    return tuple(out)


def offset_text(seconds: int) -> str:
    """+HH:MM form of an offset."""
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def tree(col: str, items: tuple[tuple[int, int], ...], leaf: type[str] | type[int]) -> str:
    """Balanced CASE tree (depth ~7) mapping a UTC microsecond column to its zone offset (or offset text)."""
    if len(items) == 1:
        off = items[0][1]
        return f"'{offset_text(off)}'" if leaf is str else str(off)
    mid = len(items) // 2
    return (
        f"CASE WHEN {col} < {items[mid][0]} THEN {tree(col, items[:mid], leaf)} "
        f"ELSE {tree(col, items[mid:], leaf)} END"
    )


def local_seconds_sql(col: str, tz_name: str) -> str:
    """Local wall-clock seconds since the epoch of a UTC microsecond column."""
    return f"({col} / 1000000 + {tree(col, transitions(tz_name), int)})"


def ts_sql(col: str, tz_name: str, naive: bool = False) -> str:
    """ISO-8601 text with microseconds and the zone's offset (or naive local time)."""
    text = (
        f"strftime('%Y-%m-%dT%H:%M:%S', {local_seconds_sql(col, tz_name)}, 'unixepoch')"
        f" || printf('.%06d', {col} % 1000000)"
    )
    if not naive:
        text += f" || {tree(col, transitions(tz_name), str)}"
    return f"CASE WHEN {col} IS NULL THEN NULL ELSE {text} END"


def key_sql(target: Entity, alias: str) -> str:
    """The FK `key` expression of a target entity, read through a join alias."""
    return target.key.replace("x.", f"{alias}.")


def value_sql(f: Field, entity: Entity, joins: list[str], tz_name: str, naive: bool) -> str:
    """SQL expression rendering one field of alias t as JSON-ready value."""
    col = f't."{f.name}"'
    if f.kind == "fk":
        target = BY_NAME[f.target]
        alias = f"j{len(joins)}"
        joins.append(f'LEFT JOIN "{target.sql_table}" {alias} ON {alias}.id = {col}')
        url = f"(:base || '{target.name}/' || {col})" if f.exposed and target.exposed else "''"
        obj = f"json_object('id', {col}, 'key', coalesce({key_sql(target, alias)}, ''), 'url', {url})"
        return f"CASE WHEN {col} IS NULL THEN NULL ELSE {obj} END"
    if f.kind == "ts" and tz_name == CACHED_TZ:
        cached = f't."{text_column(f.name)}"'
        return f"substr({cached}, 1, 26)" if naive else cached
    if f.kind == "ts":
        return ts_sql(col, tz_name, naive)
    if f.kind == "flg":
        return f"CASE WHEN {col} THEN json('true') ELSE json('false') END"
    if f.kind == "json":
        return f"json({col})"
    if f.kind == "set":
        count = f'(SELECT count(*) FROM "{f.target}" s WHERE s."{f.back}" = t.id)'
        url = f"(:base || '{f.target}/?{f.back}=' || t.id)"
        return f"CASE WHEN {count} > 0 THEN json_object('result_count', {count}, 'url', {url}) END"
    return col


def default_fields(entity: Entity, unknown_types: bool = False) -> list[str]:
    """Field names of a full representation: every field plus `url`, minus on-request fields."""
    names = [f.name for f in api_fields(entity, unknown_types) if not f.on_request]
    return [*names[:1], "url", *names[1:]]


@lru_cache(maxsize=512)
def select_sql(
    entity_name: str,
    names: tuple[str, ...],
    tz_name: str,
    naive: bool,
    odd: tuple[tuple[int, str, str], ...] = (),
) -> tuple[str, str]:
    """(json_object expression, join clauses) rendering the named fields of alias t.

    `odd` (id, field, SQL) makes those rows send that value instead (knob odd_values).
    """
    entity = BY_NAME[entity_name]
    by_name = entity.by_name
    joins: list[str] = []
    parts = []
    for name in names:
        if name == "url":
            expr = f"(:base || '{entity.name}/' || t.id)"
        else:
            expr = value_sql(by_name[name], entity, joins, tz_name, naive)
        cases = " ".join(f"WHEN {i} THEN {sql}" for i, field, sql in odd if field == name)
        if cases:
            expr = f"CASE t.id {cases} ELSE {expr} END"
        parts.append(f"'{name}', {expr}")
    return f"json_object({', '.join(parts)})", " ".join(joins)
