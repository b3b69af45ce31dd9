"""Every kind of statement the loader sends, compiled by SQLAlchemy's Oracle dialect and parsed by sqlglot."""

from __future__ import annotations

import re

import pytest
import sqlglot
from sqlalchemy.dialects import oracle
from sqlglot import exp
from target_helpers import parse_oracle

from target_oracle import statements
from target_oracle.dryrun import render
from target_oracle.statements import LoadColumn
from target_oracle.tables import COLUMNS_QUERY, PRIMARY_KEY_QUERY, SCHEMA_QUERY, TableRef
from target_oracle.typemap import DECIMAL_TYPE, INTEGER_TYPE, OracleType

DIALECT = oracle.dialect()
REF = TableRef("WMS", "ORDER_HDR")
COLUMNS = {
    "ID": INTEGER_TYPE,
    "ORDER": OracleType("VARCHAR2", length=30),  # a reserved word
    "QTY": DECIMAL_TYPE,
    "MOD_TS": OracleType("TIMESTAMP WITH TIME ZONE"),
    "SHIP_DATE": OracleType("DATE"),
    "NOTE": OracleType("CLOB"),
    "DOC": OracleType("JSON"),
    "FLAG": OracleType("BOOLEAN"),
}
LOAD = [LoadColumn(name, t, f"p{i}") for i, (name, t) in enumerate(COLUMNS.items())]


def parsed(statement) -> exp.Expression:
    (tree,) = parse_oracle(render(statement, DIALECT))
    return tree


def test_create_table_parses_as_create():
    """CREATE TABLE with every type the loader writes and a primary key."""
    tree = parsed(statements.create_table(REF, COLUMNS, ["ID"]))
    assert isinstance(tree, exp.Create)
    assert 'PRIMARY KEY ("ID")' in tree.sql(dialect="oracle")


def test_staging_table_parses_as_global_temporary():
    """The staging table is a global temporary table emptied at commit."""
    sql = render(statements.create_table(REF.staging(128), COLUMNS, [], staging=True), DIALECT)
    assert sql.startswith('CREATE GLOBAL TEMPORARY TABLE "WMS"."ORDER_HDR$STG"')
    assert sql.endswith("ON COMMIT DELETE ROWS")
    assert isinstance(parsed(statements.create_table(REF, COLUMNS, [], staging=True)), exp.Create)


def test_merge_from_binds_parses_as_merge():
    """Row-by-row MERGE: source from binds FROM DUAL, reserved-word column quoted."""
    tree = parsed(statements.merge(REF, LOAD, ["ID"]))
    assert isinstance(tree, exp.Merge)
    assert 't."ORDER" = s."ORDER"' in tree.sql(dialect="oracle")


def test_merge_from_staging_parses_as_merge():
    """Set-based MERGE from the staging table."""
    assert isinstance(parsed(statements.merge(REF, LOAD, ["ID"], staging=REF.staging(128))), exp.Merge)


def test_merge_of_key_only_table_has_no_update_clause():
    """When every column is a key there is nothing to update; Oracle rejects an empty SET."""
    sql = render(statements.merge(REF, LOAD[:1], ["ID"]), DIALECT)
    assert "WHEN MATCHED" not in sql
    assert isinstance(parse_oracle(sql)[0], exp.Merge)


def test_insert_parses_as_insert():
    """The INSERT of append-only loads and of the staging table."""
    assert isinstance(parsed(statements.insert(REF, LOAD)), exp.Insert)


def test_activation_delete_parses_as_delete():
    """Hard delete of older versions."""
    assert isinstance(
        parsed(statements.delete_old_versions(REF, "_SDC_TABLE_VERSION", "_SDC_BATCHED_AT")), exp.Delete
    )


def test_soft_delete_parses_as_update():
    """Soft delete stamps _SDC_DELETED_AT."""
    tree = parsed(
        statements.soft_delete_old_versions(REF, "_SDC_TABLE_VERSION", "_SDC_BATCHED_AT", "_SDC_DELETED_AT")
    )
    assert isinstance(tree, exp.Update)


def test_add_columns_parses_as_alter():
    """ALTER TABLE ... ADD (several columns) in Oracle's syntax, not ADD COLUMN."""
    tree = parsed(statements.add_columns(REF, {"A": "NUMBER", "B": "VARCHAR2(10 CHAR)"}))
    assert isinstance(tree, exp.Alter)


def test_modify_is_tokenized_but_only_as_a_command():
    """sqlglot has no grammar for MODIFY: it accepts the statement as a generic command, no more."""
    sql = render(statements.modify_column(REF, "ORDER", "VARCHAR2(50 CHAR)"), DIALECT)
    assert sql == 'ALTER TABLE "WMS"."ORDER_HDR" MODIFY ("ORDER" VARCHAR2(50 CHAR))'
    assert isinstance(parse_oracle(sql)[0], exp.Command)


def test_overwrite_statements_parse():
    """load_method overwrite: DELETE all, INSERT ... SELECT from the run's table, DROP it."""
    fresh = REF.fresh(128)
    assert isinstance(parsed(statements.delete_all(REF)), exp.Delete)
    assert isinstance(parsed(statements.insert_select(REF, fresh, ["ID", "ORDER"])), exp.Insert)
    assert isinstance(parsed(statements.drop_table(fresh)), exp.Drop)


def test_clob_copy_statements_parse():
    """VARCHAR2 to CLOB in place: UPDATE copy, DROP COLUMN, RENAME COLUMN."""
    assert isinstance(parsed(statements.copy_column(REF, "NOTE", "NOTE$CLOB")), exp.Update)
    assert isinstance(parsed(statements.drop_column(REF, "NOTE")), exp.Alter)
    sql = render(statements.rename_column(REF, "NOTE$CLOB", "NOTE"), DIALECT)
    assert sql == 'ALTER TABLE "WMS"."ORDER_HDR" RENAME COLUMN "NOTE$CLOB" TO "NOTE"'
    parse_oracle(sql)


@pytest.mark.parametrize(
    "query", [COLUMNS_QUERY, SCHEMA_QUERY, PRIMARY_KEY_QUERY], ids=["columns", "schema", "primary-key"]
)
def test_dictionary_queries_parse_as_select(query):
    """The data dictionary queries."""
    assert isinstance(parsed(query), exp.Select)


@pytest.mark.parametrize("query", [COLUMNS_QUERY, SCHEMA_QUERY, PRIMARY_KEY_QUERY])
def test_dictionary_queries_read_sys_views_whatever_the_streams_are_named(query):
    """A stream named all_users makes a table ALL_USERS in the loader's schema, which an unqualified
    name would read before the public synonym (as FROM DUAL would, DUAL_NAME)."""
    views = re.findall(r"(?:FROM|JOIN) ([A-Z_.]+)", str(query))
    assert views
    assert all(view.startswith("SYS.") for view in views)


def test_colon_in_a_preserved_name_is_not_a_bind():
    """A column named a:b stays one quoted identifier, not a bind parameter."""
    sql = render(statements.insert(REF, [LoadColumn("a:b", INTEGER_TYPE, "p0")]), DIALECT)
    assert '("a:b")' in sql
    assert isinstance(parse_oracle(sql)[0], exp.Insert)


def test_a_double_quote_can_never_reach_sql():
    """ident() refuses a name that would end the quoted identifier early."""
    with pytest.raises(ValueError, match="cannot be an Oracle identifier"):
        statements.ident('x" OR 1=1 --')


def test_sqlglot_rejects_broken_oracle_sql():
    """The parser used above does fail on bad SQL, so the checks mean something."""
    with pytest.raises(sqlglot.errors.ParseError):
        parse_oracle('MERGE INTO "T" t USING (SELECT :p0 AS "ID" FROM DUAL) s ON (')
