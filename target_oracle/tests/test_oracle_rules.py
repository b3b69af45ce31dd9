"""The documented Oracle rules catch what Oracle refuses: each rule, one statement that breaks it.

conftest holds every dry-run script against these rules; these tests show the checks can fail.
"""

from __future__ import annotations

import pytest
from oracle_checks import check_script

HEADER = '-- limits: {"database_version":19,"string_limit":4000,"identifier_limit":128}\n'


def script(*statements: str) -> str:
    return HEADER + "".join(f"{s}\n;\n" for s in statements)


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        (
            'CREATE TABLE "T" (\n\t"TS" TIMESTAMP WITH TIME ZONE NOT NULL, \n\tPRIMARY KEY ("TS")\n)',
            "ORA-02329",
        ),
        (
            'CREATE TABLE "T" (\n\t"A" VARCHAR2(4000 CHAR) NOT NULL, \n\t"B" VARCHAR2(4000 CHAR) NOT NULL, '
            '\n\tPRIMARY KEY ("A", "B")\n)',
            "ORA-01450",
        ),
        ('CREATE TABLE "T" (\n\t"ROWID" NUMBER(38, 0)\n)', "ORA-00904"),
        ('CREATE TABLE "T" (\n\t"A" VARCHAR2(4001 CHAR)\n)', "ORA-00910"),
        ('CREATE TABLE "T" (\n\t"A" BOOLEAN\n)', "ORA-00902"),
        ('CREATE TABLE "T" (\n\t"A" JSON\n)', "ORA-00902"),
        ('CREATE TABLE "T" (\n\t"A" NUMBER(39, 0)\n)', "ORA-01727"),
        ('CREATE TABLE "T" (\n\t"A" NUMBER(10, 200)\n)', "ORA-01728"),
        (f'CREATE TABLE "T" (\n\t"{"A" * 129}" NUMBER\n)', "ORA-00972"),
        ('CREATE TABLE "T" (\n' + ", \n".join(f'\t"C{i}" NUMBER' for i in range(1001)) + "\n)", "ORA-01792"),
    ],
    ids=[
        "tstz-key",
        "key-length",
        "rowid",
        "varchar2-size",
        "boolean-19c",
        "json-19c",
        "precision",
        "scale",
        "name",
        "columns",
    ],
)
def test_table_rules_catch_what_oracle_refuses(sql, error):
    """Each CREATE TABLE here is one Oracle documents as refused."""
    assert any(p.startswith(error) for p in check_script(script(sql)))


CREATE = (
    'CREATE TABLE "T" (\n\t"ID" NUMBER(38, 0) NOT NULL, \n\t"NOTE" VARCHAR2(10 CHAR), \n\t"DOC" JSON, '
    '\n\tPRIMARY KEY ("ID")\n)'
)
MERGE = (
    'MERGE INTO "T" t\nUSING (SELECT :p0 AS "ID", :p1 AS "NOTE", :p2 AS "DOC" FROM DUAL) s\n'
    'ON (t."ID" = s."ID")\n'
    'WHEN MATCHED THEN UPDATE SET t."NOTE" = s."NOTE", t."DOC" = s."DOC"\n'
    'WHEN NOT MATCHED THEN INSERT ("ID", "NOTE", "DOC") VALUES (s."ID", s."NOTE", s."DOC")'
)


def with_rows(statement: str, *rows: str, types: str = "") -> str:
    extra = (f"-- bind types: {types}\n" if types else "") + f"-- binds: {len(rows)} row(s)\n"
    return statement + "\n;\n" + extra + "".join(f"--   {r}\n" for r in rows)


@pytest.mark.parametrize(
    ("row", "types", "error"),
    [
        ('{"p0":1,"p1":"' + "x" * 4001 + '","p2":null}', "", "ORA-01461"),
        ('{"p0":null,"p1":"a","p2":null}', "", "ORA-01400"),
        ('{"p0":1,"p1":"a","p2":"hello"}', "", "ORA-40441"),
        ('{"p0":1,"p1":"' + "x" * 11 + '","p2":null}', "", "ORA-12899"),
    ],
    ids=["long-bind", "null-key", "json-syntax", "too-long"],
)
def test_bind_rules_catch_what_oracle_refuses(row, types, error):
    """Each bind row here is one Oracle documents as refused for the table above."""
    text = HEADER.replace("19", "21") + CREATE + "\n;\n" + with_rows(MERGE, row, types=types)
    assert any(p.startswith(error) for p in check_script(text))


def test_merge_updating_its_on_column_is_caught():
    """MERGE may not update a column of its ON clause (ORA-38104)."""
    bad = MERGE.replace('UPDATE SET t."NOTE"', 'UPDATE SET t."ID" = s."ID", t."NOTE"')
    assert any(p.startswith("ORA-38104") for p in check_script(script(bad)))


def test_a_good_script_breaks_no_rule():
    """The same table and MERGE with fitting values and declared JSON pass."""
    text = HEADER.replace("19", "21") + CREATE + "\n;\n"
    text += with_rows(MERGE, '{"p0":1,"p1":"a","p2":"hello"}', types="p2 DB_TYPE_JSON")
    assert check_script(text) == []


LIMITS_CREATE = (
    'CREATE TABLE "L" (\n\t"ID" NUMBER(38, 0) NOT NULL, \n\t"QTY" NUMBER, \n\t"TS" TIMESTAMP WITH TIME ZONE, '
    '\n\t"NOTE" CLOB, \n\tPRIMARY KEY ("ID")\n)'
)
LIMITS_MERGE = (
    'MERGE INTO "L" t\nUSING (SELECT :p0 AS "ID", :p1 AS "QTY", '
    'TO_TIMESTAMP_TZ(:p2, \'YYYY-MM-DD"T"HH24:MI:SS.FF6TZH:TZM\') AS "TS" FROM DUAL) s\n'
    'ON (t."ID" = s."ID")\n'
    'WHEN MATCHED THEN UPDATE SET t."QTY" = s."QTY", t."TS" = s."TS"\n'
    'WHEN NOT MATCHED THEN INSERT ("ID", "QTY", "TS") VALUES (s."ID", s."QTY", s."TS")'
)


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ('{"p0":1,"p1":1E+126,"p2":null}', "ORA-01426"),
        ('{"p0":1,"p1":' + "9" * 200 + ',"p2":null}', "ORA-01426"),
        ('{"p0":1,"p1":1E-131,"p2":null}', "no ORA- error: Oracle rounds"),
        ('{"p0":1,"p1":1.' + "1" * 38 + ',"p2":null}', "no ORA- error: Oracle rounds"),
        ('{"p0":1,"p1":1.' + "0" * 200 + ',"p2":null}', "DPY-4014"),
        ('{"p0":1,"p1":null,"p2":"2024-01-01T00:00:00.000000+20:00"}', "ORA-01874"),
        ('{"p0":1,"p1":null,"p2":"9999-12-31T23:00:00.000000-05:00"}', "ORA-01841"),
        ('{"p0":1,"p1":null,"p2":"2016-12-31T23:59:60.000000+00:00"}', "ORA-01852"),
    ],
    ids=[
        "1e126",
        "200-digits",
        "1e-131",
        "39-digits",
        "172-characters",
        "offset+20",
        "year-10000-in-utc",
        "leap-second",
    ],
)
def test_number_and_date_time_binds_oracle_refuses_or_changes_are_caught(row, error):
    """Numbers NUMBER cannot hold as sent and date-times TIMESTAMP WITH TIME ZONE cannot take."""
    text = HEADER + LIMITS_CREATE + "\n;\n" + with_rows(LIMITS_MERGE, row)
    assert any(p.startswith(error) for p in check_script(text))


def test_numbers_and_date_times_oracle_takes_are_not_caught():
    """The edges Oracle takes: 38 digits, 9.99E125, 1E-130, offsets -12:00 and +14:00, and year 9999
    east of UTC."""
    rows = [
        '{"p0":1,"p1":' + "9" * 38 + ',"p2":"2024-01-01T00:00:00.000000-12:00"}',
        '{"p0":2,"p1":9.99E+125,"p2":"2024-01-01T00:00:00.000000+14:00"}',
        '{"p0":3,"p1":-1E-130,"p2":"9999-12-31T23:00:00.000000+05:00"}',
    ]
    assert check_script(HEADER + LIMITS_CREATE + "\n;\n" + with_rows(LIMITS_MERGE, *rows)) == []


def test_merge_on_a_lob_column_is_caught():
    """LOBs cannot be compared (ORA-00932): a MERGE matching rows on a CLOB is refused."""
    on_lob = LIMITS_MERGE.replace(':p0 AS "ID"', ':p0 AS "NOTE"').replace(
        't."ID" = s."ID"', 't."NOTE" = s."NOTE"'
    )
    problems = check_script(
        HEADER + LIMITS_CREATE + "\n;\n" + with_rows(on_lob, '{"p0":"a","p1":1,"p2":null}')
    )
    assert any(p.startswith("ORA-00932") for p in problems)


EXTENDED = HEADER.replace('"string_limit":4000', '"string_limit":32767')
WIDE_CREATE = (
    'CREATE TABLE "W" (\n\t"ID" NUMBER(38, 0) NOT NULL, \n\t"S" VARCHAR2(8000 CHAR), '
    '\n\tPRIMARY KEY ("ID")\n)'
)
WIDE_MERGE = (
    'MERGE INTO "W" t\nUSING (SELECT :p0 AS "ID", :p1 AS "S" FROM DUAL) s\nON (t."ID" = s."ID")\n'
    'WHEN MATCHED THEN UPDATE SET t."S" = s."S"\n'
    'WHEN NOT MATCHED THEN INSERT ("ID", "S") VALUES (s."ID", s."S")'
)


def test_a_long_bind_is_judged_by_the_servers_string_limit():
    """MAX_STRING_SIZE EXTENDED: python-oracledb sends text up to 32767 bytes as VARCHAR, so 7000
    bytes into VARCHAR2(8000 CHAR) is no LONG (it was flagged ORA-01461); 4001 bytes standard is."""
    row = '{"p0":1,"p1":"' + "x" * 7000 + '"}'
    assert check_script(EXTENDED + WIDE_CREATE + "\n;\n" + with_rows(WIDE_MERGE, row)) == []
    standard = check_script(
        HEADER + CREATE + "\n;\n" + with_rows(MERGE, '{"p0":1,"p1":"' + "x" * 4001 + '"}')
    )
    assert any(p.startswith("ORA-01461") for p in standard)


def test_reading_dual_after_creating_a_table_named_dual_is_caught():
    """A table DUAL in the current schema hides SYS.DUAL from unqualified names: FROM DUAL reads it."""
    create = 'CREATE TABLE "DUAL" (\n\t"ID" NUMBER(38, 0) NOT NULL, \n\tPRIMARY KEY ("ID")\n)'
    merge = (
        'MERGE INTO "DUAL" t\nUSING (SELECT :p0 AS "ID" FROM DUAL) s\nON (t."ID" = s."ID")\n'
        'WHEN NOT MATCHED THEN INSERT ("ID") VALUES (s."ID")'
    )
    problems = check_script(f"{HEADER}{create}\n;\n{merge}\n;\n")
    assert any(p.startswith("no ORA- error: rows are lost") for p in problems)
    assert check_script(f"{HEADER}{create}\n;\n{merge.replace('FROM DUAL', 'FROM SYS.DUAL')}\n;\n") == []
