"""Turn the tenant's own metadata (entity catalog and `describe`) into streams.

The describe vocabulary is not documented (docs/lgfapi.md 1.5 GAP), so `describe_to_schema`
accepts every plausible spelling of a type and falls back to a string with one warning.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tap_oracle_wms.cache import DescribeCache
from tap_oracle_wms.lgfapi.errors import AccessDeniedError
from tap_oracle_wms.lgfapi.throttle import Throttle
from tap_oracle_wms.records import JSON_TEXT

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

logger = logging.getLogger("tap-oracle-wms")

# Normalised spelling (lower case, no spaces/underscores/dashes, "field" suffix dropped) -> kind.
_TYPE_KINDS: dict[str, str] = {
    **dict.fromkeys(
        [
            "integer",
            "int",
            "bigint",
            "smallint",
            "positiveinteger",
            "positivesmallinteger",
            "bigautofield",
            "autofield",
            "auto",
            "primarykey",
            "pk",
            "serial",
            "long",
        ],
        "integer",
    ),
    **dict.fromkeys(
        [
            "relation",
            "foreignkey",
            "fk",
            "related",
            "joinfield",
            "join",
            "onetoone",
            "hyperlinkedrelated",
            "primarykeyrelated",
            "nestedobject",
            "reference",
        ],
        "fk",
    ),
    **dict.fromkeys(["decimal", "number", "numeric", "float", "double", "real", "money"], "decimal"),
    **dict.fromkeys(["boolean", "bool", "nullboolean", "flag"], "boolean"),
    **dict.fromkeys(["datetime", "timestamp", "datetimetz", "timestamptz", "datetimeoffset"], "datetime"),
    **dict.fromkeys(["date"], "date"),
    **dict.fromkeys(["time"], "time"),
    **dict.fromkeys(
        [
            "string",
            "str",
            "text",
            "char",
            "varchar",
            "varchar2",
            "email",
            "slug",
            "url",
            "choice",
            "uuid",
            "regex",
            "ipaddress",
            "genericipaddress",
            "clob",
        ],
        "string",
    ),
    **dict.fromkeys(["set", "reverserelation", "list", "manytomany", "manyrelated", "many"], "set"),
}

_NORMALISE = re.compile(r"[\s_\-]")


def type_kind(type_name: object) -> str | None:
    """Map a describe type name to one of our kinds, or None when it is unknown."""
    if not isinstance(type_name, str):
        return None
    key = _NORMALISE.sub("", type_name.lower())
    if key.endswith("field") and key != "field":
        key = key[: -len("field")]
    return _TYPE_KINDS.get(key)


@dataclass(frozen=True)
class FieldSpec:
    """How one API field is shaped into record columns."""

    name: str
    kind: str  # integer | fk | decimal | boolean | datetime | date | time | string | text | set
    source_type: str = ""
    required: bool = False
    max_length: int | None = None


def field_specs(describe: Mapping[str, Any], *, entity: str = "") -> list[FieldSpec]:
    """Read the describe payload's `fields` (an object, or a list of objects with a name)."""
    raw = describe.get("fields") or {}
    items: Iterable[tuple[str, Any]]
    if isinstance(raw, dict):
        items = raw.items()
    else:
        items = ((f.get("name", ""), f) for f in raw if isinstance(f, dict))
    specs = []
    for name, meta in items:
        if not name:
            continue
        meta = meta if isinstance(meta, dict) else {"type": meta}
        specs.append(_field_spec(entity, name, meta))
    return specs


def _field_spec(entity: str, name: str, meta: Mapping[str, Any]) -> FieldSpec:
    kind = type_kind(meta.get("type"))
    if name.endswith("_set"):
        kind = "set"
    elif name in {"id", "status_id"}:
        kind = "integer"  # the key, and status ids, are bare integers (docs/lgfapi.md 2.10)
    elif name.endswith("_id") and kind in {None, "integer", "fk"}:
        # Relation type names are unknown (docs/lgfapi.md 1.5 GAP); values are {id,key,url} objects.
        kind = "fk"
    elif kind is None:
        logger.warning(
            "Entity '%s' field '%s' has unknown describe type %r; it is typed as a string.",
            entity,
            name,
            meta.get("type"),
        )
        kind = "text"
    max_length = meta.get("max_length")
    return FieldSpec(
        name=name,
        kind=kind,
        source_type=str(meta.get("type")),
        required=meta.get("required") is True,
        max_length=max_length if isinstance(max_length, int) and kind == "string" else None,
    )


_JSON_TYPES: dict[str, dict[str, Any]] = {
    "integer": {"type": "integer"},
    "fk": {"type": "integer"},
    "decimal": {"type": "number"},
    "boolean": {"type": "boolean"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "time": {"type": "string", "format": "time"},
    "string": {"type": "string"},
    # An unknown describe type: any JSON value, emitted as its JSON text.
    "text": JSON_TEXT,
    "set": {
        "type": "object",
        "properties": {"result_count": {"type": ["integer", "null"]}, "url": {"type": ["string", "null"]}},
    },
}


def specs_to_schema(
    specs: Iterable[FieldSpec], *, include_fk_keys: bool = False, include_set_links: bool = False
) -> dict[str, Any]:
    """Build the record JSON Schema: FK objects become integer ids, `*_set` links are optional."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for spec in specs:
        if spec.kind == "set" and not include_set_links:
            continue
        prop = dict(_JSON_TYPES[spec.kind])
        if spec.max_length:
            prop["maxLength"] = spec.max_length
        if spec.kind == "text":
            prop["description"] = f"WMS describe type {spec.source_type!r}, emitted as JSON text"
        # Every column may be null except the primary key: the API omits or nulls optional FKs.
        prop["type"] = prop["type"] if spec.name == "id" else [prop["type"], "null"]
        properties[spec.name] = prop
        if spec.kind == "fk" and include_fk_keys:
            properties[f"{spec.name}_key"] = {"type": ["string", "null"]}
        if spec.name == "id":
            required.append("id")
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def describe_to_schema(
    describe: Mapping[str, Any],
    *,
    entity: str = "",
    include_fk_keys: bool = False,
    include_set_links: bool = False,
) -> dict[str, Any]:
    """Map a describe payload to the JSON Schema of the records the tap emits."""
    return specs_to_schema(
        field_specs(describe, entity=entity),
        include_fk_keys=include_fk_keys,
        include_set_links=include_set_links,
    )


def describe_all(names: list[str], fetch: Callable[[str], Any], *, concurrency: int) -> dict[str, Any]:
    """Describe entities concurrently; each value is a payload or the exception it raised."""

    def one(name: str) -> tuple[str, Any]:
        try:
            return name, fetch(name)
        except Exception as exc:
            return name, exc

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency))
    try:
        described = dict(pool.map(one, names))
    except BaseException:
        # A signal stops discovery: describes not started are dropped, and those in flight are
        # not waited for (each may take request_timeout); the command exits without them.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return described


def describe_entities(
    config: Mapping[str, Any], fetch: Callable[[str, str, Throttle], Any], names: list[str]
) -> dict[str, Any]:
    """Describe payloads for `names`, from the disk cache where fresh, skipping unreadable ones.

    `fetch(path, entity, throttle)` is the client's GET of JSON (`Client.get_json`). The describes
    share one throttle: `describe_concurrency` in flight, fewer while the tenant answers 429.
    """
    who = config.get("username") or config.get("oauth_client_id") or ""
    cache = DescribeCache(
        config.get("discovery_cache_dir"),
        config["discovery_cache_ttl"],
        f"{config['base_url']}|{config['api_version']}|{who}",
    )
    cached = cache.load()
    todo = [name for name in names if name not in cached]
    throttle = Throttle(config["describe_concurrency"])
    fetched = describe_all(
        todo,
        lambda name: fetch(f"entity/{name}/describe/", name, throttle),
        concurrency=config["describe_concurrency"],
    )
    denied = sorted(n for n, r in fetched.items() if isinstance(r, AccessDeniedError))
    if denied:
        logger.warning(
            "Skipping %d entities the API user cannot read (403/405): %s",
            len(denied),
            ", ".join(denied),
        )
    for result in fetched.values():
        if isinstance(result, Exception) and not isinstance(result, AccessDeniedError):
            raise result
    good = {n: r for n, r in fetched.items() if not isinstance(r, Exception)}
    cache.store(good)
    return {**{n: cached[n] for n in names if n in cached}, **good}
