"""Records that break the catalog schema: what the tap emits instead, and what it says (issue 6).

A typed target (target-postgres) rejects a record whose value does not fit its column, and that
stops the whole pipeline. So, after the usual shaping, each record is checked against the types
of the catalog schema:

- a field the catalog does not know: dropped, one warning per stream and field
  (`WMSStream.note_unknown_field`);
- a value of the wrong type: coerced when nothing is lost ("16" for an integer column, 16 for a
  string column), otherwise emitted as null; one warning per stream and field, naming the
  record id and the value;
- a null or missing primary key: the record is skipped, as no target can deduplicate or upsert
  it; one warning per skipped record;
- with the `strict_schema` setting, a wrong type or a null key stops the sync instead
  (`SchemaBreakError`), for users who prefer no data to altered data.

`Converters` holds the per-field shaping that precedes the check, planned once per field layout
so a record costs one lookup rather than one per field (`WMSStream.post_process`).
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

_PYTHON_TYPES: dict[str, frozenset[type]] = {
    "integer": frozenset({int}),
    "number": frozenset({decimal.Decimal, int, float}),
    "string": frozenset({str}),
    "boolean": frozenset({bool}),
    "object": frozenset({dict}),
    "array": frozenset({list}),
}
_CANNOT = object()
_MAX_LAYOUTS = 4096


class SchemaBreakError(Exception):
    """A record breaks the catalog schema and `strict_schema` is on."""


class Unparsable(str):
    """Date-time text that did not parse; its own type, so the check reports it."""

    __slots__ = ()


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


Convert = Callable[[dict, str, Any], None]


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
            if record.get(name) is None:
                return self.null_key(record, name)
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
        where = f"Stream '{self.stream}': a record has a null '{name}' (mod_ts {record.get('mod_ts')})"
        if self.strict:
            raise SchemaBreakError(f"{where}; strict_schema is on, so the sync stops.")
        self.logger.warning("%s; it is skipped: no target can deduplicate or upsert it.", where)

    def wrong_type(self, record: dict[str, Any], name: str) -> None:
        """Coerce without loss or emit null; warn once per field (or stop if strict)."""
        value = record[name]
        kind = "unparsable date-time text" if isinstance(value, Unparsable) else type(value).__name__
        where = (
            f"Stream '{self.stream}': field '{name}' of record id={record.get('id')} "
            f"has {str(value)!r} ({kind}), which its catalog type does not allow"
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
