"""describe -> JSON Schema: one mapping for core and dynamic streams alike."""

from __future__ import annotations

import logging

import pytest

from tap_oracle_wms.discovery import describe_to_schema, type_kind
from tap_oracle_wms.lgfapi.wire import catalog_entity_names


@pytest.mark.parametrize(
    ("type_name", "kind"),
    [
        ("integer", "integer"),
        ("IntegerField", "integer"),
        ("primary key", "integer"),
        ("AutoField", "integer"),
        ("relation", "fk"),
        ("ForeignKey", "fk"),
        ("join field", "fk"),
        ("decimal", "decimal"),
        ("DecimalField", "decimal"),
        ("number", "decimal"),
        ("datetime", "datetime"),
        ("DateTimeField", "datetime"),
        ("timestamp", "datetime"),
        ("date", "date"),
        ("boolean", "boolean"),
        ("BooleanField", "boolean"),
        ("string", "string"),
        ("CharField", "string"),
        ("text", "string"),
    ],
)
def test_every_plausible_type_spelling_is_understood(type_name, kind):
    """Describe type names are a GAP (docs/lgfapi.md 1.5): both lgf and Django spellings map."""
    assert type_kind(type_name) == kind


def test_schema_types_from_describe():
    """integer, number, boolean, date-time, date and string with maxLength; id required."""
    schema = describe_to_schema(
        {
            "fields": {
                "id": {"type": "primary key", "required": True},
                "facility_id": {"type": "relation", "required": True},
                "status_id": {"type": "integer"},
                "ord_qty": {"type": "decimal"},
                "stop_ship_flg": {"type": "boolean"},
                "mod_ts": {"type": "datetime"},
                "ord_date": {"type": "date"},
                "order_nbr": {"type": "string", "max_length": 50},
                "order_dtl_set": {"type": "set"},
            }
        }
    )
    props = schema["properties"]
    assert props["id"] == {"type": "integer"}
    assert props["facility_id"]["type"] == ["integer", "null"]
    assert props["status_id"]["type"] == ["integer", "null"]
    assert props["ord_qty"]["type"] == ["number", "null"]
    assert props["stop_ship_flg"]["type"] == ["boolean", "null"]
    assert props["mod_ts"] == {"type": ["string", "null"], "format": "date-time"}
    assert props["ord_date"] == {"type": ["string", "null"], "format": "date"}
    assert props["order_nbr"] == {"type": ["string", "null"], "maxLength": 50}
    assert "order_dtl_set" not in props
    assert schema["required"] == ["id"]


def test_unknown_type_becomes_a_string_with_one_warning(caplog):
    """A type nobody has seen is a string column and one warning, never a crash."""
    with caplog.at_level(logging.WARNING):
        schema = describe_to_schema({"fields": {"shape": {"type": "geometry"}}}, entity="dock")
    assert schema["properties"]["shape"]["type"] == ["string", "null"]
    assert "geometry" in schema["properties"]["shape"]["description"]
    assert len([r for r in caplog.records if "geometry" in r.getMessage()]) == 1


def test_relation_with_unknown_type_name_is_an_fk_column():
    """A *_id field with an unknown type is an FK (its value is an {id,key,url} object)."""
    schema = describe_to_schema({"fields": {"vendor_id": {"type": "hyperlink"}}})
    assert schema["properties"]["vendor_id"]["type"] == ["integer", "null"]


def test_fk_key_column_when_asked():
    """include_fk_keys adds a nullable string <fk>_key column."""
    schema = describe_to_schema({"fields": {"item_id": {"type": "relation"}}}, include_fk_keys=True)
    assert schema["properties"]["item_id_key"] == {"type": ["string", "null"]}


@pytest.mark.parametrize(
    "payload",
    [
        {"allocation": "https://h/e/wms/lgfapi/v10/entity/allocation/", "wave": "https://h/x"},
        ["wave", "allocation"],
        [{"name": "allocation"}, {"name": "wave"}],
        {"results": ["allocation", "wave"]},
    ],
)
def test_entity_catalog_in_any_plausible_shape(payload):
    """GET entity/ may be a flat object or a list (docs/lgfapi.md 1.4 GAP)."""
    assert catalog_entity_names(payload) == ["allocation", "wave"]
