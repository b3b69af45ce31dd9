"""Record shaping: the API's representations become the catalog's typed columns, or a clear warning.

FK objects {id,key,url} become the integer id (and optionally the key), decimal strings exact
numbers, naive date-times get the tenant's zone, the bookmark column is normalised to UTC, and
values of a type describe did not name become JSON text. Then each record is checked against
the catalog schema, because a typed target (target-postgres) rejects a value that does not fit
its column and that stops the whole pipeline:

- a field the catalog does not know: dropped, one warning per stream and field;
- a value of the wrong type: coerced when nothing is lost ("16" for an integer column, 16 for a
  string column), otherwise emitted as null; one warning per stream and field;
- a null or missing primary key: the record is skipped (no target can upsert it), one warning each;
- with `strict_schema`, a wrong type or a null key stops the sync instead (`SchemaBreakError`).

The steps are planned once per field layout (rows of a stream share a few), so a record costs
one tuple lookup plus its conversions, not a lookup per field.
"""

from __future__ import annotations

import decimal
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from tap_oracle_wms.lgfapi.wire import UTC, parse_timestamp

if TYPE_CHECKING:
    import logging
    from zoneinfo import ZoneInfo

# Columns whose describe type the tap does not know carry any JSON value, emitted as JSON text.
JSON_TEXT = {"type": "string", "contentMediaType": "application/json"}
_HAS_OFFSET = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")
_CANNOT = object()
_MAX_LAYOUTS = 4096

Convert = Callable[[dict, str, Any], None]


class SchemaBreakError(Exception):
    """A record breaks the catalog schema and `strict_schema` is on."""


class Unparsable(str):
    """Date-time text that did not parse; its own type, so the check reports it."""

    __slots__ = ()
    kind = "unparsable date-time text"


class NotFinite(Unparsable):
    """A number value that is NaN or infinite: no JSON number and no target column can hold it."""

    __slots__ = ()
    kind = "not a finite number"


# Values quoted in warnings and errors are cut to this many characters.
MAX_SHOWN = 200


def clipped(value: Any) -> str:
    """A value as text in a log line, cut short: one junk value must not make a 10 MB line."""
    text = str(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def shown(value: Any) -> str:
    """A value quoted in a log line, cut short."""
    return repr(clipped(value))


def converter_table(
    schema: Mapping[str, Any], replication_key: str | None, tz: ZoneInfo
) -> dict[str, Convert | None]:
    """One converter per property (None: pass through), chosen from its JSON Schema."""
    props: dict[str, Any] = schema.get("properties", {})
    table: dict[str, Convert | None] = {}
    for name, prop in props.items():
        types = prop.get("type", [])
        types = types if isinstance(types, list) else [types]
        fmt = prop.get("format")
        if name.endswith("_key") and name[:-4] in props:
            continue
        if "integer" in types and name.endswith("_id") and name not in {"status_id"}:
            table[name] = _fk_with_key if f"{name}_key" in props else _fk_id
        elif "number" in types:
            table[name] = _decimal
        elif fmt == "date-time" and name == replication_key:
            table[name] = _utc_timestamp(tz)
        elif fmt == "date-time":
            table[name] = _aware_timestamp(tz)
        elif prop.get("contentMediaType") == JSON_TEXT["contentMediaType"]:
            table[name] = _json_text
        else:
            table[name] = None
    return table


def _json_text(out: dict, name: str, value: Any) -> None:
    out[name] = value if value is None or type(value) is str else json.dumps(value, default=str)


def _fk_id(out: dict, name: str, value: Any) -> None:
    out[name] = value.get("id") if type(value) is dict else value


def _fk_with_key(out: dict, name: str, value: Any) -> None:
    if type(value) is dict:
        out[name] = value.get("id")
        out[f"{name}_key"] = value.get("key")
    else:
        out[name] = value
        out[f"{name}_key"] = None


def _decimal(out: dict, name: str, value: Any) -> None:
    if type(value) is str:
        try:
            number = decimal.Decimal(value) if value else None
        except decimal.InvalidOperation:
            out[name] = value
            return
        out[name] = NotFinite(value) if number is not None and not number.is_finite() else number
    elif type(value) in {float, decimal.Decimal} and not math.isfinite(value):
        out[name] = NotFinite(value)
    else:
        out[name] = value


def _remembering(shape: Callable[[str], Any]) -> Convert:
    """A column converter that reuses the last result: rows come sorted by mod_ts, many tied."""
    last: list[Any] = [None, None]  # [value sent, value emitted]

    def convert(out: dict, name: str, value: Any) -> None:
        if type(value) is not str or not value:
            out[name] = value
            return
        if value != last[0]:
            last[:] = value, shape(value)
        out[name] = last[1]

    return convert


def _aware_timestamp(tz: ZoneInfo) -> Convert:
    """Keep the offset the API sends; give naive values the tenant's zone (docs/lgfapi.md 2.8 GAP)."""

    def shape(value: str) -> Any:
        if _HAS_OFFSET.search(value):
            return value
        parsed = parse_timestamp(value, tz)
        return Unparsable(value) if parsed is None else parsed.isoformat()  # reported by the checker

    return _remembering(shape)


def _utc_timestamp(tz: ZoneInfo) -> Convert:
    """The bookmark column in UTC: the SDK compares bookmarks as text, across DST changes too."""

    def shape(value: str) -> Any:
        parsed = parse_timestamp(value, tz)
        if parsed is None:
            return Unparsable(value)  # reported by the checker, never a bookmark
        try:
            return parsed.astimezone(UTC).isoformat()
        except OverflowError:  # e.g. year 1 with a positive offset: keep it as sent
            return value

    return _remembering(shape)


_PYTHON_TYPES: dict[str, frozenset[type]] = {
    "integer": frozenset({int}),
    "number": frozenset({decimal.Decimal, int, float}),
    "string": frozenset({str}),
    "boolean": frozenset({bool}),
    "object": frozenset({dict}),
    "array": frozenset({list}),
}


class _AnyType:
    """The allowed types of a column the schema does not type: everything."""

    def __contains__(self, item: object) -> bool:
        return True


def allowed_types(prop: Mapping[str, Any]) -> frozenset[type] | _AnyType:
    """Python types a JSON Schema property accepts (None is always accepted: columns are nullable)."""
    types = prop.get("type")
    names = [types] if isinstance(types, str) else list(types or [])
    names = [n for n in names if n != "null"]
    if not names or any(n not in _PYTHON_TYPES for n in names):
        return _AnyType()
    return frozenset().union(*(_PYTHON_TYPES[n] for n in names))


def coerce(value: Any, allowed: frozenset[type] | _AnyType) -> Any:
    """`value` in an allowed type when no information is lost, else _CANNOT."""
    if isinstance(value, Unparsable):
        return _CANNOT
    if int in allowed and type(value) is str and value.strip().lstrip("+-").isdigit():
        return int(value)
    if int in allowed and type(value) in {float, decimal.Decimal}:
        try:
            return int(value) if value == int(value) else _CANNOT
        except (ValueError, OverflowError, decimal.InvalidOperation):
            return _CANNOT
    if str in allowed and type(value) in {int, float, decimal.Decimal}:
        return str(value)
    return _CANNOT


class Converters(dict[str, "Convert | None"]):
    """Per-property converters (None: kept as decoded), and the steps for each row layout."""

    def __init__(self, table: Mapping[str, Convert | None]) -> None:
        super().__init__(table)
        self._plans: dict[tuple[str, ...], tuple[tuple[str, ...], tuple[tuple[str, Convert], ...]]] = {}

    def plan(self, row: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[tuple[str, Convert], ...]]:
        """(fields the catalog does not know, (field, converter) steps) for the row's field layout."""
        layout = tuple(row)
        plan = self._plans.get(layout)
        if plan is None:
            unknown = tuple(name for name in layout if name not in self)
            steps = tuple((name, convert) for name in layout if (convert := self.get(name)) is not None)
            plan = (unknown, steps)
            if len(self._plans) < _MAX_LAYOUTS:
                self._plans[layout] = plan
        return plan


class RecordChecker:
    """Checks shaped records of one stream against its schema; repairs, skips or stops."""

    def __init__(
        self, stream: str, schema: Mapping[str, Any], *, strict: bool, logger: logging.Logger
    ) -> None:
        self.stream = stream
        self.strict = strict
        self.logger = logger
        self.types = {name: allowed_types(prop) for name, prop in schema.get("properties", {}).items()}
        self.required = list(schema.get("required", []))
        self._warned: set[str] = set()
        self._valid_layouts: set[tuple[tuple[str, ...], tuple[type, ...]]] = set()

    def check(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """The record, repaired where needed; None when it must be skipped."""
        for name in self.required:
            value = record.get(name)
            if value is None:
                self.null_key(record, name)
                return None
            if type(value) not in self.types.get(name, _ANY) and coerce(value, self.types[name]) is _CANNOT:
                self.bad_key(record, name)
                return None
        # Fast path: rows of one stream repeat a few (field, type) layouts; a layout seen valid
        # once is valid again, so most records cost one tuple hash instead of a per-field check.
        layout = (tuple(record), tuple(map(type, record.values())))
        if layout in self._valid_layouts:
            return record
        types = self.types
        bad = [n for n, v in record.items() if v is not None and type(v) not in types.get(n, _ANY)]
        for name in bad:
            self.wrong_type(record, name)
        if not bad and len(self._valid_layouts) < _MAX_LAYOUTS:
            self._valid_layouts.add(layout)
        return record

    def null_key(self, record: dict[str, Any], name: str) -> None:
        """A record without its key cannot be loaded: skip it, loudly (or stop if strict)."""
        self.skip(record, f"a null '{name}'")

    def bad_key(self, record: dict[str, Any], name: str) -> None:
        """A key that is no value of its type (id "abc", 12.5, true) is no key: skip, loudly (or stop)."""
        value = record[name]
        self.skip(
            record, f"'{name}' {shown(value)} ({type(value).__name__}), which its catalog type does not allow"
        )

    def skip(self, record: dict[str, Any], what: str) -> None:
        """Skip a record no target can load, with one warning (or stop if strict)."""
        where = f"Stream '{self.stream}': a record has {what} (mod_ts {clipped(record.get('mod_ts'))})"
        if self.strict:
            raise SchemaBreakError(f"{where}; strict_schema is on, so the sync stops.")
        self.logger.warning("%s; it is skipped: no target can deduplicate or upsert it.", where)

    def wrong_type(self, record: dict[str, Any], name: str) -> None:
        """Coerce without loss or emit null; warn once per field (or stop if strict)."""
        value = record[name]
        kind = value.kind if isinstance(value, Unparsable) else type(value).__name__
        where = (
            f"Stream '{self.stream}': field '{name}' of record id={record.get('id')} "
            f"has {shown(value)} ({kind}), which its catalog type does not allow"
        )
        if self.strict:
            raise SchemaBreakError(f"{where}; strict_schema is on, so the sync stops.")
        coerced = coerce(value, self.types[name])
        record[name] = None if coerced is _CANNOT else coerced
        if name not in self._warned:
            self._warned.add(name)
            self.logger.warning(
                "%s; emitted as %r. Later bad values of this field are handled alike, unlogged.",
                where,
                record[name],
            )


_ANY = _AnyType()


# Always present self link (docs/lgfapi.md 2.10); emitted only when describe lists it.
_SELF_LINK = "url"


class RecordShaper:
    """One stream's rows shaped to its catalog schema: `EntityStream.post_process`'s only job."""

    def __init__(
        self,
        stream: str,
        schema: Mapping[str, Any],
        *,
        replication_key: str | None,
        tz: ZoneInfo,
        strict: bool,
        logger: logging.Logger,
    ) -> None:
        self.stream = stream
        self.logger = logger
        self.converters = Converters(converter_table(schema, replication_key, tz))
        self.checker = RecordChecker(stream, schema, strict=strict, logger=logger)
        self._unknown: set[str] = set()
        self.replication_key = replication_key
        self._null_bookmark_warned = False

    def shape(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """The decoded row shaped in place, or None when it must be skipped."""
        sent_null = self.replication_key is not None and row.get(self.replication_key) is None
        unknown, steps = self.converters.plan(row)
        for name in unknown:
            self.note_unknown_field(name)
            del row[name]
        for name, convert in steps:
            convert(row, name, row[name])
        shaped = self.checker.check(row)
        if sent_null and shaped is not None and not self._null_bookmark_warned:
            self.note_null_bookmark(shaped)
        return shaped

    def note_null_bookmark(self, record: dict[str, Any]) -> None:
        """Warn once per stream of a record sent without its bookmark value.

        The SDK's own warning, once per record and naming nothing, is dropped (tap.py).
        """
        self._null_bookmark_warned = True
        self.logger.warning(
            "Stream '%s': record id=%s has a null '%s'; it is emitted, and moves no bookmark. "
            "Later ones are handled alike, unlogged.",
            self.stream,
            record.get("id"),
            self.replication_key,
        )

    def note_unknown_field(self, name: str) -> None:
        """Warn once per field that the API sends but the catalog does not know (schema drift)."""
        if name == _SELF_LINK or name.endswith("_set") or name in self._unknown:
            return  # the self link and *_set links are left out by design, not drift
        self._unknown.add(name)
        self.logger.warning(
            "Stream '%s': field '%s' is not in the catalog schema and is not emitted; "
            "run discovery again to add it.",
            self.stream,
            name,
        )
