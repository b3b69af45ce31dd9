"""Test helpers: Singer messages, and a dry-run target run read and parsed back."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp


@dataclass
class Run:
    """What one target run produced."""

    exit_code: int
    script: str
    stdout: str
    output: str
    log: str

    @property
    def statements(self) -> list[exp.Expression]:
        """The script parsed by sqlglot's Oracle dialect (raises on any syntax error)."""
        return parse_oracle(self.script)

    def sql(self, kind: type[exp.Expression]) -> list[str]:
        """The statements of one kind, as Oracle SQL text."""
        return [s.sql(dialect="oracle", comments=False) for s in self.statements if isinstance(s, kind)]

    @property
    def states(self) -> list[dict[str, Any]]:
        """The STATE values the target emitted."""
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def parse_oracle(script: str) -> list[exp.Expression]:
    """Every statement of ``script``, parsed strictly as Oracle SQL."""
    parsed = sqlglot.parse(script, read="oracle", error_level=sqlglot.ErrorLevel.RAISE)
    return [statement for statement in parsed if statement is not None]


def schema_message(stream: str, properties: dict[str, Any], keys: Sequence[str] = ("id",)) -> dict[str, Any]:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties},
        "key_properties": list(keys),
    }


def record(stream: str, row: dict[str, Any], version: int | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "RECORD", "stream": stream, "record": row}
    if version is not None:
        message["version"] = version
    return message


def raw_record(key: int, field: str, json_text: str) -> str:
    """A RECORD line of stream 'item' whose ``field`` is ``json_text`` as written (JSON extensions too)."""
    return f'{{"type":"RECORD","stream":"item","record":{{"id":{key},"{field}":{json_text}}}}}'


def state(value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "STATE", "value": value}


def activate(stream: str, version: int) -> dict[str, Any]:
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": version}


ITEM_SCHEMA = {
    "id": {"type": "integer"},
    "code": {"type": ["string", "null"], "maxLength": 30},
    "qty": {"type": ["number", "null"]},
    "mod_ts": {"type": ["string", "null"], "format": "date-time"},
}


BIN = Path(sys.executable).parent
STREAMS = ("inventory", "order_hdr", "order_dtl", "allocation", "location", "ib_shipment", "wave", "item")


def command(name: str) -> str:
    found = BIN / name if (BIN / name).exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed (make install-dev in the repository root)")
    return str(found)


def dictionary_row(column: str, data_type: str, **fields: Any) -> dict[str, Any]:
    """One ALL_TAB_COLUMNS row as SQLAlchemy returns it (lower-case keys)."""
    base = {"data_length": None, "char_length": None, "char_used": None, "data_precision": None}
    return {**base, "data_scale": None, **fields, "column_name": column, "data_type": data_type}
