"""JSON Schema -> Oracle types, and which type changes the loader makes or refuses."""

from __future__ import annotations

import pytest

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


def test_string_without_max_length_takes_the_database_limit():
    """No maxLength -> VARCHAR2(4000 CHAR) on a standard database."""
    assert sql({"type": "string"}) == "VARCHAR2(4000 CHAR)"


def test_extended_string_size_allows_32767():
    """max_string_size extended -> VARCHAR2 up to 32767."""
    assert sql({"type": "string"}, TypeOptions(string_limit=32767)) == "VARCHAR2(32767 CHAR)"


def test_string_longer_than_the_limit_is_clob():
    """maxLength beyond the VARCHAR2 limit -> CLOB."""
    assert sql({"type": "string", "maxLength": 5000}) == "CLOB"


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
    """["string", "integer"] -> VARCHAR2: text holds both."""
    assert sql({"type": ["string", "integer", "null"]}) == "VARCHAR2(4000 CHAR)"


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


def test_varchar2_to_clob_is_refused_in_one_line():
    """Oracle cannot MODIFY VARCHAR2 to CLOB; the error names table, column, old and new type."""
    with pytest.raises(IncompatibleColumnError) as caught:
        reconcile('"S"."T"', "NOTE", OracleType("VARCHAR2", length=4000), OracleType("CLOB"))
    message = str(caught.value)
    assert message.startswith('table "S"."T" column "NOTE": existing type VARCHAR2(4000 CHAR) cannot take')
    assert "new type CLOB" in message
    assert "\n" not in message


def test_number_to_date_is_refused():
    """A NUMBER column cannot take dates."""
    with pytest.raises(
        IncompatibleColumnError, match='column "C": existing type NUMBER cannot take the new type DATE'
    ):
        reconcile('"T"', "C", DECIMAL_TYPE, OracleType("DATE"))


def test_dictionary_rows_map_back_to_the_types_the_loader_writes():
    """ALL_TAB_COLUMNS rows for the loader's own DDL read back as the same types."""
    assert from_dictionary("NUMBER", None, 38, 0) == INTEGER_TYPE
    assert from_dictionary("NUMBER", None, None, None) == DECIMAL_TYPE
    assert from_dictionary("VARCHAR2", 30, None, None) == OracleType("VARCHAR2", length=30)
    assert from_dictionary("TIMESTAMP(6) WITH TIME ZONE", None, None, 6) == OracleType(
        "TIMESTAMP WITH TIME ZONE"
    )
