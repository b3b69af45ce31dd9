"""Oracle's documented rules (target_oracle/oracle_rules.py) held against a whole dry-run script.

conftest's run_target calls :func:`check_script` after every run, so each statement any test's
dry run produces is checked: tables as created and altered (columns, keys, types, release),
MERGE clauses (no ON column updated, none a LOB), and every bind row against the table it goes
to (declared types for long text and JSON, NULL keys, values longer than their column, numbers
NUMBER cannot hold, date-times with offsets or UTC years Oracle refuses).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from target_oracle import oracle_rules as rules
from target_oracle.oracle_rules import Limits

NAME = r'(?:"[^"]+"\.)?"[^"]+"'
COLUMN_TYPE = r"[A-Z0-9_]+(?:\([^)]*\))?(?: WITH TIME ZONE)?"
LONG_TEXT_TYPES = {"DB_TYPE_CLOB", "DB_TYPE_JSON"}


@dataclass
class Statement:
    sql: str
    bind_types: dict[str, str] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Table:
    columns: dict[str, str]
    keys: list[str]


def statements(script: str) -> list[Statement]:
    """The script's statements, each with its declared bind types and bind rows."""
    found: list[Statement] = []
    lines: list[str] = []
    for line in script.splitlines():
        if line == ";":
            found.append(Statement("\n".join(lines).strip()))
            lines = []
        elif line.startswith("-- bind types: "):
            found[-1].bind_types = dict(part.split() for part in line[15:].split(", "))
        elif line.startswith("--   {"):
            found[-1].rows.append(json.loads(line[5:], parse_float=Decimal))
        elif not line.startswith("--") and line != "COMMIT;":
            lines.append(line)
    return found


def limits_of(script: str) -> Limits:
    for line in script.splitlines():
        if line.startswith("-- limits: "):
            return Limits(**json.loads(line[11:]))
    return Limits()


def _columns(body: str) -> dict[str, str]:
    return {m[0]: m[1] for m in re.findall(rf'"([^"]+)" ({COLUMN_TYPE})', body)}


def _bound_columns(sql: str) -> dict[str, str]:
    """Bind name -> column it fills, for a MERGE from binds or an INSERT ... VALUES."""
    merged = dict((b, c) for b, c in re.findall(r':(p\d+)(?:, \'[^\']*\'\))? AS "([^"]+)"', sql))
    if merged:
        return merged
    if match := re.search(r"\(([^)]*)\)\nVALUES \((.*)\)$", sql, re.S):
        return dict(zip(re.findall(r":(p\d+)", match[2]), re.findall(r'"([^"]+)"', match[1]), strict=True))
    return {}


def check_script(script: str) -> list[str]:
    """Every documented rule any statement of ``script`` breaks (empty: all is well)."""
    limits = limits_of(script)
    tables: dict[str, Table] = {}
    problems: list[str] = []
    for statement in statements(script):
        sql = statement.sql
        if match := re.match(rf"CREATE (?:GLOBAL TEMPORARY )?TABLE ({NAME}) \((.*)\)", sql, re.S):
            keys = re.findall(r'"([^"]+)"', m[1]) if (m := re.search(r"PRIMARY KEY \(([^)]*)\)", sql)) else []
            body = match[2].split("PRIMARY KEY")[0]
            tables[match[1]] = Table(_columns(body), keys)
            problems += rules.check_table(match[1], tables[match[1]].columns, keys, limits)
        elif match := re.match(rf"ALTER TABLE ({NAME}) ADD \((.*)\)$", sql, re.S):
            table = tables.setdefault(match[1], Table({}, []))
            table.columns.update(_columns(match[2]))
            problems += rules.check_table(match[1], table.columns, [], limits)
        elif match := re.match(rf'ALTER TABLE ({NAME}) MODIFY \("([^"]+)" (.*)\)$', sql):
            tables.setdefault(match[1], Table({}, [])).columns[match[2]] = match[3]
        elif match := re.match(rf'ALTER TABLE ({NAME}) DROP COLUMN "([^"]+)"$', sql):
            tables.setdefault(match[1], Table({}, [])).columns.pop(match[2], None)
        elif match := re.match(rf'ALTER TABLE ({NAME}) RENAME COLUMN "([^"]+)" TO "([^"]+)"$', sql):
            columns = tables.setdefault(match[1], Table({}, [])).columns
            columns[match[3]] = columns.pop(match[2], "CLOB")
        elif match := re.match(rf"DROP TABLE ({NAME})", sql):
            tables.pop(match[1], None)
        elif match := re.match(rf"(?:MERGE|INSERT) INTO ({NAME})", sql):
            if '"DUAL"' in tables and re.search(r"(?<!\.)\bDUAL\b(?!\")", sql):
                problems.append(rules.DUAL_NAME.broken(f"{match[1]} reads DUAL"))
            problems += _check_rows(match[1], statement, tables.get(match[1]), limits)
            if sql.startswith("MERGE") and (on := re.search(r"\nON \((.*)\)\n", sql)):
                on_columns = set(re.findall(r't\."([^"]+)"', on[1]))
                updated = set(re.findall(r't\."([^"]+)" =', sql.split("UPDATE SET", 1)[-1]))
                if "UPDATE SET" in sql and on_columns & updated:
                    problems.append(rules.MERGE_ON.broken(f"{match[1]} {sorted(on_columns & updated)}"))
                columns = tables[match[1]].columns if match[1] in tables else {}
                lobs = sorted(c for c in on_columns if columns.get(c, "").upper() in rules.LOB_TYPES)
                if lobs:
                    problems.append(rules.LOB_COMPARE.broken(f"{match[1]} {lobs}"))
    return problems


def _check_rows(name: str, statement: Statement, table: Table | None, limits: Limits) -> list[str]:
    problems: list[str] = []
    bound = _bound_columns(statement.sql)
    timestamps = set(re.findall(r"TO_TIMESTAMP(?:_TZ)?\(:(p\d+)", statement.sql))
    for row in statement.rows:
        for bind, value in row.items():
            declared = statement.bind_types.get(bind)
            column = bound.get(bind, "")
            column_type = (table.columns.get(column, "") if table else "").upper()
            long_text = isinstance(value, str) and len(value.encode()) > limits.string_limit
            if long_text and declared not in LONG_TEXT_TYPES:
                problems.append(rules.LONG_BIND.broken(f"{name} column {column} bind {bind}"))
            if column_type == "JSON" and declared != "DB_TYPE_JSON" and isinstance(value, str):
                try:
                    json.loads(value)
                except ValueError:
                    problems.append(rules.JSON_SYNTAX.broken(f"{name} column {column}"))
            if column_type == "JSON" and isinstance(value, dict | list):  # the JSON type keeps NUMBERs
                for inner in rules.json_numbers(value):
                    if problem := rules.number_problem(inner):
                        problems.append(f"{problem} ({name} column {column}, inside JSON)")
            number = isinstance(value, int | Decimal) and not isinstance(value, bool)
            if (
                number
                and column_type.startswith("NUMBER")
                and (problem := rules.number_problem(Decimal(value)))
            ):
                problems.append(f"{problem} ({name} column {column})")
            if number and len(str(value)) > rules.NUMBER_TEXT_CHARS:
                problems.append(rules.NUMBER_TEXT.broken(f"{name} column {column}"))
            if bind in timestamps and isinstance(value, str) and (problem := rules.datetime_problem(value)):
                problems.append(f"{problem} ({name} column {column})")
            if table and column in table.keys and value in (None, ""):
                problems.append(rules.KEY_NULL.broken(f"{name} key {column}"))
            size = rules.varchar2_size(column_type)
            if size is not None and isinstance(value, str):
                over_bytes = len(value.encode()) > min(
                    size * (rules.MAX_BYTES_PER_CHAR if "CHAR" in column_type.split("(")[1] else 1),
                    limits.string_limit,
                )
                if over_bytes or ("CHAR)" in column_type and len(value) > size):
                    problems.append(rules.VALUE_SIZE.broken(f"{name} column {column} {column_type}"))
    return problems
