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
