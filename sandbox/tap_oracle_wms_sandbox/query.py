"""Query parameters -> SQL: filters (lookups, negation, traversal), ordering, keyset cursors.

Filter grammar per docs/lgfapi.md 2.7: `field[__rel...][__lookup][!]=value`, values cast to the field
type (bad value -> 400), naive date-times read in the API user's default facility zone (2.8).
"""

# ruff: noqa: S608 - SQL text is built only from the static entity declarations; every
# request value is a bound parameter.

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from tap_oracle_wms_sandbox.entities import BY_NAME, Entity, Field, fields_of
from tap_oracle_wms_sandbox.render import local_seconds_sql

LOOKUPS = {
    "exact",
    "iexact",
    "contains",
    "icontains",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "range",
    "isnull",
}
TRANSFORMS = {"year": "%Y", "month": "%m", "day": "%d", "week_day": "%w", "hour": "%H", "minute": "%M"}
RESERVED = {
    "page",
    "page_size",
    "page_mode",
    "cursor",
    "fields",
    "ordering",
    "format",
    "values_list",
    "distinct",
    "limit",
    "redirected",  # marker of a same-origin redirect (knob redirect_lists), never a filter
    "emptied",  # marker of a page whose empty answer was served (knob empty_pages), never a filter
    "loop",  # hop number of a looping next_page (knob next_page_loop), never a filter
}
INT_KINDS = {"pk", "fk", "status", "int"}
INT_RE = re.compile(r"-?\d+")


class QueryError(Exception):
    """A 400 VALIDATION_ERROR with `details` keyed by the offending parameter."""

    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


@dataclass
class Where:
    """Accumulates SQL conditions and their named parameters."""

    clauses: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    aliases: int = 0

    def bind(self, value: Any) -> str:
        """Store a parameter and return its placeholder."""
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def alias(self) -> str:
        """A fresh table alias for a subquery."""
        self.aliases += 1
        return f"r{self.aliases}"


def cast(f: Field, raw: str, tz_name: str, key: str) -> Any:
    """Cast a filter value to the field's type; 400 on failure (docs/lgfapi.md 2.7)."""

    def bad(kind: str) -> QueryError:
        return QueryError("Invalid input.", {key: f"'{raw}' is not a valid {kind}."})

    if f.kind in INT_KINDS:
        if not INT_RE.fullmatch(raw):
            raise bad("integer")
        return int(raw)
    if f.kind == "decimal":
        try:
            return float(raw)
        except ValueError:
            raise bad("decimal") from None
    if f.kind == "flg":
        low = raw.lower()
        if low not in ("true", "false", "1", "0"):
            raise bad("boolean")
        return int(low in ("true", "1"))
    if f.kind == "ts":
        try:
            moment = datetime.fromisoformat(raw.replace(" ", "+") if "T" in raw else raw)
        except ValueError:
            raise bad("date-time") from None
        if moment.tzinfo is None:  # naive: the user's default facility zone (docs/lgfapi.md 2.8)
            moment = moment.replace(tzinfo=ZoneInfo(tz_name))
        delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    if f.kind == "date":
        try:
            return date.fromisoformat(raw).isoformat()
        except ValueError:
            raise bad("date") from None
    return raw


def column_sql(f: Field, col: str) -> str:
    """Comparable SQL of a column (decimals compare numerically)."""
    return f"CAST({col} AS REAL)" if f.kind == "decimal" else col


def like_escape(text: str) -> str:
    """Escape LIKE wildcards."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def leaf_sql(f: Field, col: str, ops: list[str], raw: str, w: Where, tz_name: str, key: str) -> str:
    """Condition of one lookup (with optional date-part transform) on a column."""
    lookup = ops[-1] if ops and ops[-1] in LOOKUPS else "exact"
    transform = ops[0] if ops and ops[0] in TRANSFORMS else ""
    if (
        len(ops) > 2
        or (len(ops) == 2 and not transform)
        or any(o not in LOOKUPS and o not in TRANSFORMS for o in ops)
    ):
        raise QueryError("Invalid input.", {key: f"Unsupported lookup '{'__'.join(ops)}'."})
    if lookup == "isnull":
        if raw.lower() not in ("true", "false", "1", "0"):
            raise QueryError("Invalid input.", {key: f"'{raw}' is not a valid boolean."})
        return f"{col} IS {'' if raw.lower() in ('true', '1') else 'NOT '}NULL"
    target = column_sql(f, col)
    caster = f
    if transform:
        if f.kind not in ("ts", "date"):
            raise QueryError("Invalid input.", {key: f"'{transform}' needs a date field."})
        source = local_seconds_sql(col, tz_name) if f.kind == "ts" else col
        extra = " + 1" if transform == "week_day" else ""
        target = f"(CAST(strftime('{TRANSFORMS[transform]}', {source}"
        target += ", 'unixepoch'" if f.kind == "ts" else ""
        target += f") AS INTEGER){extra})"
        caster = Field(f.name, "int")
    text_ops = {"iexact", "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"}
    if lookup in text_ops:
        text_col = col if f.kind == "string" else f"CAST({col} AS TEXT)"
        if lookup == "iexact":
            return f"lower({text_col}) = lower({w.bind(raw)})"
        pattern = like_escape(raw.lower() if lookup.startswith("i") else raw)
        core = lookup.lstrip("i") if lookup != "icontains" else "contains"
        pattern = {"contains": f"%{pattern}%", "startswith": f"{pattern}%", "endswith": f"%{pattern}"}[core]
        if lookup.startswith("i"):
            return f"lower({text_col}) LIKE {w.bind(pattern)} ESCAPE '\\'"
        # LIKE is case-insensitive in SQLite; GLOB-free exact check via instr/substr
        return (
            f"({text_col} LIKE {w.bind(pattern)} ESCAPE '\\' AND "
            + {
                "contains": f"instr({text_col}, {w.bind(raw)}) > 0)",
                "startswith": f"substr({text_col}, 1, {len(raw)}) = {w.bind(raw)})",
                "endswith": f"substr({text_col}, -{len(raw)}) = {w.bind(raw)})" if raw else "1)",
            }[core]
        )
    if lookup in ("in", "range"):
        values = [cast(caster, v, tz_name, key) for v in raw.split(",")]
        if lookup == "range":
            if len(values) != 2:
                raise QueryError("Invalid input.", {key: "A range needs exactly two values."})
            return f"{target} BETWEEN {w.bind(values[0])} AND {w.bind(values[1])}"
        return f"{target} IN ({', '.join(w.bind(v) for v in values)})"
    op = {"exact": "=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[lookup]
    return f"{target} {op} {w.bind(cast(caster, raw, tz_name, key))}"


def reverse_sets(entity: Entity) -> dict[str, Field]:
    """Reverse query names (`orderdtl`) of an entity's `*_set` fields (docs/lgfapi.md 2.7)."""
    return {f.reverse: f for f in fields_of(entity) if f.kind == "set"}


def path_sql(entity: Entity, alias: str, parts: list[str], raw: str, w: Where, tz_name: str, key: str) -> str:
    """Condition for a `__` path starting at `entity` (alias), recursing through relations."""
    name, rest = parts[0], parts[1:]
    f = entity.by_name.get(name)
    if f is not None and f.kind == "fk" and rest and rest[0] not in LOOKUPS | set(TRANSFORMS):
        target = BY_NAME[f.target]
        sub = w.alias()
        inner = path_sql(target, sub, rest, raw, w, tz_name, key)
        return f'{alias}."{name}" IN (SELECT {sub}.id FROM "{target.sql_table}" {sub} WHERE {inner})'
    if f is not None and f.kind not in ("set", "json"):
        return leaf_sql(f, f'{alias}."{name}"', rest, raw, w, tz_name, key)
    rev = reverse_sets(entity).get(name)
    if rev is not None and rest:
        sub = w.alias()
        if rest == ["isnull"]:
            exists = f'EXISTS (SELECT 1 FROM "{rev.target}" {sub} WHERE {sub}."{rev.back}" = {alias}.id)'
            return f"NOT {exists}" if raw.lower() in ("true", "1") else exists
        inner = path_sql(BY_NAME[rev.target], sub, rest, raw, w, tz_name, key)
        return f'{alias}.id IN (SELECT {sub}."{rev.back}" FROM "{rev.target}" {sub} WHERE {inner})'
    raise QueryError("Invalid input.", {key: f"'{name}' is not a valid filter field of {entity.name}."})


def filters_from(query: str) -> dict[str, str]:
    """Filter params of a raw query string; a repeated key keeps its LAST value (docs/lgfapi.md 1.7)."""
    out: dict[str, str] = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        key = k.rstrip("!") if k.rstrip("!") in RESERVED else k
        if key not in RESERVED:
            out.pop(k, None)
            out[k] = v
    return out


def where_for(entity: Entity, filters: dict[str, str], tz_name: str, w: Where) -> None:
    """Add every filter condition (ANDed; `!=` negates) to `w`."""
    for key, raw in filters.items():
        negate = key.endswith("!")
        parts = key.rstrip("!").split("__")
        cond = path_sql(entity, "t", parts, raw, w, tz_name, key)
        w.clauses.append(f"NOT coalesce(({cond}), 0)" if negate else f"({cond})")


def check_combos(entity: Entity, filters: dict[str, str]) -> None:
    """inventory_history needs one of the documented filter combinations (docs/lgfapi.md 6.1)."""
    if not entity.combos:
        return
    keys = {k.rstrip("!") for k in filters}
    if not any(set(c) <= keys for c in entity.combos):
        raise QueryError(
            "One of the required filter combinations is missing.",
            {"required_filters": [",".join(c) for c in entity.combos]},
        )


@dataclass(frozen=True)
class Order:
    """One ordering term: SQL expression, direction and the field it came from."""

    sql: str
    desc: bool
    name: str


def ordering_from(entity: Entity, text: str) -> list[Order]:
    """Parse `ordering=a,-b`; unknown or unorderable fields -> 400 (docs/lgfapi.md 2.6)."""
    out = []
    for term in (t.strip() for t in text.split(",") if t.strip()):
        name = term.lstrip("-")
        f = entity.by_name.get(name)
        if f is None or f.kind in ("set", "json"):
            raise QueryError("Invalid input.", {"ordering": f"'{name}' is not an orderable field."})
        col = column_sql(f, f't."{name}"')
        if f.null and name != "id":  # keysets need non-null keys: nulls sort first
            col = f"coalesce({col}, {'-9e18' if f.kind != 'string' else chr(39) * 2})"
        out.append(Order(col, term.startswith("-"), name))
    return out


def keyset_order(terms: list[Order]) -> list[Order]:
    """Ordering made unique with an id tie-breaker, as a keyset needs."""
    if any(t.name == "id" for t in terms):
        return terms[: [t.name for t in terms].index("id") + 1]
    return [*terms, Order("t.id", False, "id")]


def keyset_sql(terms: list[Order], values: list[Any], reverse: bool, w: Where) -> str:
    """Rows strictly after (or, reversed, before) the given key values."""
    if len(values) != len(terms):
        raise QueryError("Invalid cursor.", {"cursor": "Cursor does not match the ordering."})
    if len({t.desc for t in terms}) == 1:
        op = ">" if terms[0].desc == reverse else "<"
        lhs = ", ".join(t.sql for t in terms)
        rhs = ", ".join(w.bind(v) for v in values)
        return f"({lhs}) {op} ({rhs})" if len(terms) > 1 else f"{lhs} {op} {rhs}"
    ors = []
    for n, t in enumerate(terms):
        eqs = [f"{p.sql} = {w.bind(v)}" for p, v in zip(terms[:n], values[:n], strict=True)]
        op = ">" if t.desc == reverse else "<"
        ors.append("(" + " AND ".join([*eqs, f"{t.sql} {op} {w.bind(values[n])}"]) + ")")
    return "(" + " OR ".join(ors) + ")"


def order_by(terms: list[Order], reverse: bool = False) -> str:
    """ORDER BY clause for terms (optionally reversed for previous-page cursors)."""
    return ", ".join(f"{t.sql} {'ASC' if t.desc == reverse else 'DESC'}" for t in terms)


def encode_cursor(values: list[Any], reverse: bool, salt: int = 0) -> str:
    """Opaque base64 cursor; `p=<id>` for the id keyset (docs/lgfapi.md 2.2: cD0xNDAw = p=1400).

    A `salt` makes another cursor text for the same position (knob next_page_loop=fresh).
    """
    pos = str(values[0]) if len(values) == 1 else json.dumps(values, separators=(",", ":"))
    body = urlencode({"r": 1, "p": pos} if reverse else {"p": pos} | ({"n": salt} if salt else {}))
    return base64.b64encode(body.encode()).decode()


def decode_cursor(token: str) -> tuple[list[Any], bool]:
    """Inverse of encode_cursor; a malformed cursor is a 400."""
    try:
        parts = dict(parse_qsl(base64.b64decode(token.encode(), validate=True).decode(), strict_parsing=True))
        pos = parts["p"]
        values = json.loads(pos) if pos.startswith("[") else [int(pos)]
    except (ValueError, KeyError, UnicodeDecodeError):
        raise QueryError("Invalid cursor.", {"cursor": "Invalid cursor."}) from None
    return values, parts.get("r") == "1"
