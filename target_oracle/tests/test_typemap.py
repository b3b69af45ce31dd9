"""JSON Schema -> Oracle types, and which type changes the loader makes or refuses."""

from __future__ import annotations

import pytest

from target_oracle.oracle_rules import Limits, check_table
from target_oracle.typemap import (
    DECIMAL_TYPE,
    FLAG_TYPE,
    INTEGER_TYPE,
    IncompatibleColumnError,
    OracleType,
    TypeOptions,
    for_schema,
    from_dictionary,
    reconcile,
    table_types,
)

STANDARD = TypeOptions()


def sql(schema, options=STANDARD):
    return for_schema(schema, options).sql


def test_integer_is_number_38_0():
    """integer -> NUMBER(38, 0): every JSON integer Oracle can hold, no fractions."""
    assert sql({"type": ["integer", "null"]}) == "NUMBER(38, 0)"


def test_number_is_unconstrained_number():
    """number -> NUMBER, which keeps up to 38 significant digits and never rounds to a float."""
    assert sql({"type": "number"}) == "NUMBER"


def test_string_with_max_length_is_varchar2_of_that_many_characters():
    """maxLength 30 -> VARCHAR2(30 CHAR): character semantics, not bytes."""
    assert sql({"type": "string", "maxLength": 30}) == "VARCHAR2(30 CHAR)"


def test_string_without_max_length_is_clob():
    """No maxLength: any length is valid, and only a CLOB takes any length (finding 9)."""
    assert sql({"type": "string"}) == "CLOB"


def test_string_whose_characters_could_outgrow_the_byte_limit_is_clob():
    """maxLength 2000: 2000 four-byte characters are 8000 bytes, over VARCHAR2's 4000 (finding 9)."""
    assert sql({"type": "string", "maxLength": 2000}) == "CLOB"
    assert sql({"type": "string", "maxLength": 1000}) == "VARCHAR2(1000 CHAR)"


def test_extended_string_size_keeps_longer_text_in_varchar2():
    """max_string_size extended: 8000 characters fit 32767 bytes."""
    assert (
        sql({"type": "string", "maxLength": 8000}, TypeOptions(string_limit=32767)) == "VARCHAR2(8000 CHAR)"
    )


def test_date_time_is_timestamp_with_time_zone():
    """date-time -> TIMESTAMP WITH TIME ZONE, so offsets are kept."""
    assert sql({"type": ["string", "null"], "format": "date-time"}) == "TIMESTAMP WITH TIME ZONE"


def test_date_is_date():
    """date -> DATE."""
    assert sql({"type": "string", "format": "date"}) == "DATE"


def test_time_of_day_is_text():
    """Oracle has no TIME type; a time of day is kept as text."""
    assert sql({"type": "string", "format": "time"}) == "VARCHAR2(32 CHAR)"


def test_boolean_is_number_1_by_default():
    """boolean -> NUMBER(1, 0) holding 1/0."""
    assert sql({"type": "boolean"}) == "NUMBER(1, 0)"


def test_boolean_is_native_when_the_database_has_it():
    """boolean_type boolean -> Oracle 23ai BOOLEAN."""
    assert sql({"type": "boolean"}, TypeOptions(native_boolean=True)) == "BOOLEAN"


def test_objects_and_arrays_are_json_text_in_a_clob():
    """object and array -> CLOB holding JSON text, never a driver object."""
    assert sql({"type": "object"}) == "CLOB"
    assert sql({"type": ["array", "null"]}) == "CLOB"


def test_objects_go_to_the_json_type_by_setting():
    """json_type json -> the JSON type (21c and later)."""
    assert sql({"type": "object"}, TypeOptions(native_json=True)) == "JSON"


def test_json_text_strings_are_stored_like_objects():
    """A string whose contentMediaType is application/json is JSON text, not a short string."""
    assert sql({"type": "string", "contentMediaType": "application/json"}) == "CLOB"


def test_mixed_scalar_types_are_text():
    """["string", "integer"] -> CLOB: text of any length holds both."""
    assert sql({"type": ["string", "integer", "null"]}) == "CLOB"


def test_any_of_uses_its_first_non_null_alternative():
    """anyOf [null, integer] -> NUMBER(38, 0)."""
    assert sql({"anyOf": [{"type": "null"}, {"type": "integer"}]}) == "NUMBER(38, 0)"


def test_singer_decimal_keeps_precision_and_scale():
    """x-singer.decimal with precision 12 and scale 3 -> NUMBER(12, 3)."""
    assert (
        sql({"type": "string", "format": "x-singer.decimal", "precision": 12, "scale": 3}) == "NUMBER(12, 3)"
    )


def test_wider_varchar2_is_widened():
    """VARCHAR2(30) -> VARCHAR2(50) is a MODIFY."""
    old, new = OracleType("VARCHAR2", length=30), OracleType("VARCHAR2", length=50)
    assert reconcile('"T"', "C", old, new) == new


def test_narrower_varchar2_is_kept():
    """Never narrow: a smaller maxLength keeps the wider column."""
    assert reconcile('"T"', "C", OracleType("VARCHAR2", length=50), OracleType("VARCHAR2", length=30)) is None


def test_integer_column_widens_to_number_for_fractions():
    """NUMBER(38, 0) -> NUMBER when the property becomes a number."""
    assert reconcile('"T"', "C", INTEGER_TYPE, DECIMAL_TYPE) == DECIMAL_TYPE


def test_number_column_takes_integers_as_it_is():
    """NUMBER holds integers; nothing to change."""
    assert reconcile('"T"', "C", DECIMAL_TYPE, INTEGER_TYPE) is None


def test_flag_column_widens_to_integer():
    """NUMBER(1) -> NUMBER(38, 0) when a boolean property becomes an integer."""
    assert reconcile('"T"', "C", FLAG_TYPE, INTEGER_TYPE) == INTEGER_TYPE


def test_text_column_takes_any_scalar():
    """A VARCHAR2 column keeps taking values written as text after the property becomes a number."""
    assert reconcile('"T"', "C", OracleType("VARCHAR2", length=100), DECIMAL_TYPE) is None


def test_varchar2_becomes_clob_when_text_may_be_longer():
    """A VARCHAR2 whose property now maps to CLOB is turned into one (by a copy: see test_type_changes)."""
    assert reconcile(
        '"S"."T"', "NOTE", OracleType("VARCHAR2", length=4000), OracleType("CLOB")
    ) == OracleType("CLOB")


def test_number_to_date_is_refused():
    """A NUMBER column cannot take dates."""
    with pytest.raises(
        IncompatibleColumnError, match='column "C": existing type NUMBER cannot take the new type DATE'
    ):
        reconcile('"T"', "C", DECIMAL_TYPE, OracleType("DATE"))


def column(data_type, **fields):
    """One ALL_TAB_COLUMNS row as SQLAlchemy returns it (lower-case keys)."""
    base = {"data_length": None, "char_length": None, "char_used": None, "data_precision": None}
    return {**base, "data_scale": None, **fields, "data_type": data_type}


def test_dictionary_rows_map_back_to_the_types_the_loader_writes():
    """ALL_TAB_COLUMNS rows for the loader's own DDL read back as the same types."""
    assert from_dictionary(column("NUMBER", data_precision=38, data_scale=0)) == INTEGER_TYPE
    assert from_dictionary(column("NUMBER")) == DECIMAL_TYPE
    assert from_dictionary(column("VARCHAR2", char_length=30, data_length=120, char_used="C")) == OracleType(
        "VARCHAR2", length=30
    )
    assert from_dictionary(column("TIMESTAMP(6) WITH TIME ZONE", data_scale=6)) == OracleType(
        "TIMESTAMP WITH TIME ZONE"
    )


def test_integer_column_made_by_a_dba_is_read_as_whole_numbers():
    """INTEGER is NUMBER with no precision and scale 0: it takes no fraction (finding 11)."""
    assert from_dictionary(column("NUMBER", data_scale=0)).is_integer


def test_byte_semantics_column_is_read_in_bytes():
    """VARCHAR2(30 BYTE) holds 30 bytes, not 30 characters (finding 11)."""
    read = from_dictionary(column("VARCHAR2", char_length=30, data_length=30, char_used="B"))
    assert read.sql == "VARCHAR2(30 BYTE)"
    assert read.max_bytes(4000) == 30


def test_date_time_key_is_a_utc_timestamp():
    """TIMESTAMP WITH TIME ZONE cannot be a key column (ORA-02329): a key is a UTC TIMESTAMP (finding 7)."""
    types = table_types({"ts": {"type": "string", "format": "date-time"}}, ["ts"], STANDARD)
    assert types["ts"].sql == "TIMESTAMP"


def test_two_unbounded_string_keys_share_the_key_length():
    """Two text keys without maxLength fit 6398 bytes together, in BYTE semantics (finding 7)."""
    types = table_types({"a": {"type": "string"}, "b": {"type": "string"}}, ["a", "b"], STANDARD)
    assert [types["a"].sql, types["b"].sql] == ["VARCHAR2(3198 BYTE)", "VARCHAR2(3198 BYTE)"]
    assert check_table("T", {k: t.sql for k, t in types.items()}, ["a", "b"], Limits()) == []


def test_one_unbounded_key_fits_an_extended_database():
    """With max_string_size extended one unbounded text key would be 32767 bytes; it gets what fits."""
    extended = TypeOptions(string_limit=32767)
    types = table_types({"a": {"type": "string"}}, ["a"], extended)
    assert types["a"].sql == "VARCHAR2(6397 BYTE)"


def test_short_string_keys_keep_their_character_semantics():
    """Keys that fit as declared are left as declared."""
    props = {"a": {"type": "string", "maxLength": 40}, "n": {"type": "integer"}}
    assert [t.sql for t in table_types(props, ["a", "n"], STANDARD).values()] == [
        "VARCHAR2(40 CHAR)",
        "NUMBER(38, 0)",
    ]


@pytest.mark.parametrize(
    ("precision", "scale"), [(10, 200), (10, -100), (5, 10), (10, "2"), (True, 0), (10, -2)], ids=str
)
def test_singer_decimal_with_a_scale_no_number_should_have_is_plain_number(precision, scale):
    """A scale outside 0..precision (Oracle refuses beyond -84..127, ORA-01728; a negative one rounds
    to tens) or not an integer: NUMBER, which holds every such value unrounded."""
    schema = {"type": "string", "format": "x-singer.decimal", "precision": precision, "scale": scale}
    assert sql(schema) == "NUMBER"
