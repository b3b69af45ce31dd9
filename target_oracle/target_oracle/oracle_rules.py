"""Oracle Database's documented limits, each written once, with the error it raises and its source.

Why one module: the loader's decisions (which type a key gets, when text becomes CLOB, when
a table has too many columns) and the tests that hold every dry-run statement against Oracle
must use the same numbers. The loader reads the constants; :func:`check_table` and
:func:`check_binds` apply them to what it is about to send, and the test suite applies them
to every statement any dry run wrote (tests/oracle_checks.py).

Sources: Oracle Database SQL Language Reference ("Data Types", "Database Object Names and
Qualifiers", CREATE TABLE, MERGE), Oracle Database Reference ("Logical Database Limits"),
Oracle Database Error Messages, python-oracledb documentation ("Using Bind Variables").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Rule:
    """One documented limit: the error Oracle raises when it is broken, and where it is written."""

    error: str
    limit: str
    source: str

    def broken(self, detail: str) -> str:
        """A one-line description of a statement that breaks the rule."""
        return f"{self.error} ({self.limit}): {detail}"


#: Oracle Database Reference, Logical Database Limits: columns per table.
MAX_COLUMNS = 1000
COLUMNS = Rule("ORA-01792", f"at most {MAX_COLUMNS} columns in a table", "Database Reference, Logical Limits")

#: CREATE TABLE's relational_properties hold at least one column definition.
NO_COLUMNS = Rule("syntax error", "a table has at least one column", "SQL Reference, CREATE TABLE")

#: Identifier length in bytes, 12.2 and later (30 before).
IDENTIFIER = Rule(
    "ORA-00972", "identifiers of at most 128 bytes (30 before 12.2)", "SQL Reference, Object Names"
)

#: A column may not be named ROWID, even quoted (upper case).
RESERVED_COLUMN_NAMES = frozenset({"ROWID"})
ROWID_NAME = Rule("ORA-00904", "no column named ROWID, even quoted", "SQL Reference, Object Names, rule 2")

#: VARCHAR2 byte limits by MAX_STRING_SIZE.
VARCHAR2_STANDARD_BYTES = 4000
VARCHAR2_EXTENDED_BYTES = 32767
VARCHAR2_SIZE = Rule(
    "ORA-00910", "VARCHAR2 of at most 4000 bytes (32767 extended)", "SQL Reference, Data Types"
)

#: Worst-case bytes of one character in AL32UTF8, the default database character set.
MAX_BYTES_PER_CHAR = 4

#: NUMBER precision 1..38, scale -84..127.
MAX_PRECISION = 38
NUMBER_PRECISION = Rule("ORA-01727", "NUMBER precision from 1 to 38", "SQL Reference, Data Types")
#: NUMBER scale -84..127.
MIN_SCALE, MAX_SCALE = -84, 127
NUMBER_SCALE = Rule(
    "ORA-01728", "NUMBER scale from -84 to 127", "SQL Reference, Data Types, NUMBER Data Type"
)

#: Types that cannot be in a primary key.
KEY_FORBIDDEN_TYPES = frozenset({"TIMESTAMP WITH TIME ZONE", "CLOB", "NCLOB", "BLOB", "JSON", "BOOLEAN"})
KEY_TYPE = Rule(
    "ORA-02329", "no TIMESTAMP WITH TIME ZONE, LOB or JSON column in a primary key", "Error Messages"
)

#: Index key length for 8 KB blocks: the sum of the key columns' widths plus one per column.
MAX_KEY_BYTES = 6398
KEY_WIDTHS = {"NUMBER": 22, "DATE": 7, "TIMESTAMP": 11}
KEY_LENGTH = Rule("ORA-01450", f"index key of at most {MAX_KEY_BYTES} bytes (8 KB blocks)", "Error Messages")

#: Release that brought each type.
TYPE_SINCE = {"JSON": 21, "BOOLEAN": 23}
TYPE_RELEASE = Rule("ORA-00902", "JSON from 21c, BOOLEAN from 23ai", "SQL Reference, Data Types")

#: A MERGE may not update a column of its ON clause.
MERGE_ON = Rule("ORA-38104", "no column of the ON clause in UPDATE SET", "SQL Reference, MERGE")

#: A primary key column cannot take NULL, and Oracle stores '' as NULL.
KEY_NULL = Rule("ORA-01400", "no NULL or '' in a primary key column", "SQL Reference, Nulls")

#: python-oracledb binds a string without a declared type as LONG when it is longer than the
#: server's string limit: 4000 bytes, 32767 with MAX_STRING_SIZE EXTENDED (thin mode reads it from
#: the server's capabilities: impl/thin/capabilities.pyx, messages/base.pyx).
LONG_BIND = Rule(
    "ORA-01461",
    "a bind over 4000 bytes (32767 extended) needs a declared CLOB type",
    "python-oracledb, Bind Variables",
)

#: A row whose primary key another row has: what a MERGE ON other columns than the table's key,
#: or an INSERT of a key again, runs into.
UNIQUE_KEY = Rule(
    "ORA-00001",
    "one row per primary key: rows merged on the table's key columns, no other",
    "Error Messages; SQL Reference, MERGE",
)

#: A value longer than its VARCHAR2 column.
VALUE_SIZE = Rule("ORA-12899", "a value no longer than its VARCHAR2 column", "Error Messages")

#: A JSON column takes only well-formed JSON.
JSON_SYNTAX = Rule("ORA-40441", "JSON columns take valid JSON", "JSON Developer's Guide")

#: NUMBER holds absolute values from 1.0E-130 up to, not including, 1.0E126 (an error beyond),
#: with 38 significant digits guaranteed (more are rounded, smaller magnitudes become 0).
NUMBER_MAX_EXPONENT = 126
NUMBER_MIN_EXPONENT = -130
NUMBER_DIGITS = 38
NUMBER_RANGE = Rule(
    "ORA-01426",
    "NUMBER magnitudes below 1E126 (numeric overflow)",
    "SQL Reference, Data Types, NUMBER Data Type",
)
NUMBER_ROUNDED = Rule(
    "no ORA- error: Oracle rounds",
    "NUMBER keeps 38 significant digits and magnitudes from 1E-130",
    "SQL Reference, Data Types, NUMBER Data Type",
)

#: python-oracledb (thin) sends a Decimal bind as its text, which may be 172 characters at most
#: (impl/base/buffer.pyx NUMBER_AS_TEXT_CHARS, encoders.pyx encode_number).
NUMBER_TEXT_CHARS = 172
NUMBER_TEXT = Rule(
    "DPY-4014",
    f"a number bind written in at most {NUMBER_TEXT_CHARS} characters",
    "python-oracledb, encode_number",
)

#: TIMESTAMP WITH TIME ZONE offsets: TIMEZONE_HOUR -12 to 14 (TIMEZONE_MINUTE 0 to 59).
TZ_OFFSET_MIN = dt.timedelta(hours=-12)
TZ_OFFSET_MAX = dt.timedelta(hours=14)
TZ_OFFSET = Rule(
    "ORA-01874",
    "time zone offsets from -12:00 to +14:00",
    "SQL Reference, Data Types, Datetime Fields and Values",
)

#: DATE and TIMESTAMP years: -4712 to 9999, not 0; a TIMESTAMP WITH TIME ZONE is kept in UTC,
#: so its UTC year counts. (The loader writes years 1 to 9999, the range Python has.)
YEAR_RANGE = Rule(
    "ORA-01841",
    "years from -4712 to 9999 (not 0), in UTC for TIMESTAMP WITH TIME ZONE",
    "SQL Reference, Data Types, Datetime Fields and Values",
)

#: Seconds run from 0 to 59.9(n): no leap second (RFC 3339's 23:59:60 has no Oracle datetime).
LEAP_SECOND = Rule(
    "ORA-01852",
    "seconds from 0 to 59.9(n), no leap second",
    "SQL Reference, Data Types, Datetime Fields and Values",
)

#: An unqualified name is looked up in the current schema before the public synonyms: a table
#: named DUAL there is what FROM DUAL reads (empty, a MERGE from it merges nothing).
DUAL_NAME = Rule(
    "no ORA- error: rows are lost",
    "FROM DUAL reads a table DUAL of the current schema before SYS.DUAL",
    "SQL Reference, Selecting from the DUAL Table; How Oracle Database Resolves Schema Object References",
)

#: LOBs cannot be compared: not in a join, so not in a MERGE's ON clause.
LOB_TYPES = frozenset({"CLOB", "NCLOB", "BLOB"})
LOB_COMPARE = Rule(
    "ORA-00932",
    "no CLOB, NCLOB or BLOB column in a MERGE ON clause (LOBs cannot be compared)",
    "SecureFiles and Large Objects Developer's Guide, LOB Restrictions",
)


@dataclass(frozen=True)
class Limits:
    """What the database allows, as the settings (or the server) say."""

    database_version: int = 19
    string_limit: int = VARCHAR2_STANDARD_BYTES
    identifier_limit: int = 128


def number_problem(value: Decimal) -> str | None:
    """Why NUMBER cannot hold finite ``value`` as it is (NUMBER_RANGE, NUMBER_ROUNDED), else None."""
    if not value:
        return None
    if value.adjusted() >= NUMBER_MAX_EXPONENT:
        return NUMBER_RANGE.broken("a magnitude of 1E126 or more")
    if value.adjusted() < NUMBER_MIN_EXPONENT:
        return NUMBER_ROUNDED.broken("a magnitude below 1E-130 would be stored as 0")
    significant = len(bytes(value.as_tuple().digits).rstrip(b"\0"))  # trailing zeros are not significant
    if significant > NUMBER_DIGITS:
        return NUMBER_ROUNDED.broken(f"{significant} significant digits would be rounded to {NUMBER_DIGITS}")
    return None


def json_numbers(document: Any) -> Iterator[Decimal]:
    """Every number of a JSON document (dicts, lists, scalars), as Decimal, NaN and infinity included.

    Why: the JSON type keeps numbers as NUMBER (python-oracledb encodes them so, refusing what
    NUMBER cannot hold, DPY-4003). Iterative: a document as deep as Python decodes is walked.
    """
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, Decimal):
            yield item
        elif isinstance(item, float):
            yield Decimal(repr(item))
        elif isinstance(item, int) and not isinstance(item, bool):
            yield Decimal(item)


def datetime_problem(text: str) -> str | None:
    """Why a TO_TIMESTAMP_TZ / TO_TIMESTAMP bind (ISO 8601 text) breaks LEAP_SECOND, TZ_OFFSET, YEAR_RANGE."""
    if text[17:19] == "60":  # the bind's seconds: YYYY-MM-DDTHH:MI:SS
        return LEAP_SECOND.broken("second 60")
    value = dt.datetime.fromisoformat(text)
    offset = value.utcoffset()
    if offset is not None and not TZ_OFFSET_MIN <= offset <= TZ_OFFSET_MAX:
        return TZ_OFFSET.broken(f"offset {offset}")
    if offset is not None:
        try:
            value.astimezone(dt.UTC)
        except OverflowError:
            return YEAR_RANGE.broken("the UTC instant is outside years 1 to 9999")
    return None


def key_width(type_sql: str) -> int:
    """Bytes a key column of ``type_sql`` takes in the index key (Oracle's ORA-01450 rule)."""
    upper = type_sql.upper()
    if upper.startswith("VARCHAR2"):
        inside = upper[upper.index("(") + 1 : upper.index(")")].split()
        size = int(inside[0])
        return size * MAX_BYTES_PER_CHAR if len(inside) > 1 and inside[1] == "CHAR" else size
    return KEY_WIDTHS.get(upper.split("(")[0].strip(), 22)


def varchar2_size(type_sql: str) -> int | None:
    """The declared size of a VARCHAR2 (characters or bytes alike: both are capped), else None."""
    upper = type_sql.upper()
    if not upper.startswith("VARCHAR2"):
        return None
    return int(upper[upper.index("(") + 1 : upper.index(")")].split()[0])


def check_table(table: str, columns: Mapping[str, str], keys: Sequence[str], limits: Limits) -> list[str]:
    """Every rule a table definition (column -> type as DDL writes it, primary key) breaks."""
    problems = []
    if not columns:
        problems.append(NO_COLUMNS.broken(f"{table} would have none"))
    if len(columns) > MAX_COLUMNS:
        problems.append(COLUMNS.broken(f"{table} would have {len(columns)}"))
    for name, type_sql in columns.items():
        if len(name.encode("utf-8")) > limits.identifier_limit:
            problems.append(IDENTIFIER.broken(f"{table} column {name}"))
        if name in RESERVED_COLUMN_NAMES:
            problems.append(ROWID_NAME.broken(f"{table} column {name}"))
        base = type_sql.upper().split("(")[0].strip()
        if (since := TYPE_SINCE.get(base)) and limits.database_version < since:
            problems.append(TYPE_RELEASE.broken(f"{table} column {name} {base} on {limits.database_version}"))
        size = varchar2_size(type_sql)
        if size is not None and size > limits.string_limit:
            problems.append(VARCHAR2_SIZE.broken(f"{table} column {name} {type_sql}"))
        if base == "NUMBER" and "(" in type_sql:
            inside = type_sql[type_sql.index("(") + 1 : type_sql.index(")")].split(",")
            if not 1 <= int(inside[0]) <= MAX_PRECISION:
                problems.append(NUMBER_PRECISION.broken(f"{table} column {name} {type_sql}"))
            if len(inside) > 1 and not MIN_SCALE <= int(inside[1]) <= MAX_SCALE:
                problems.append(NUMBER_SCALE.broken(f"{table} column {name} {type_sql}"))
    for key in keys:
        if columns.get(key, "").upper() in KEY_FORBIDDEN_TYPES:
            problems.append(KEY_TYPE.broken(f"{table} key {key} {columns[key]}"))
    if keys:
        width = sum(min(key_width(columns[k]), limits.string_limit) + 1 for k in keys if k in columns)
        if width > MAX_KEY_BYTES:
            problems.append(KEY_LENGTH.broken(f"{table} key ({', '.join(keys)}) takes {width} bytes"))
    return problems
