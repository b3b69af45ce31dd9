"""Routes, catalog, describe and retrieve (docs/lgfapi.md 1.1, 1.4-1.7)."""

from __future__ import annotations

from sandbox_helpers import API, LIMITED, basic, get_json, state_truth


def test_catalog_is_flat_object_sorted_by_name(client):
    """docs/lgfapi.md 1.4: entity/ lists the entities alphabetically with their base URLs."""
    body = get_json(client, "entity/")
    assert list(body) == sorted(body)
    assert body["order_hdr"] == "http://testserver/sandbox/wms/lgfapi/v10/entity/order_hdr"
    assert len(body) >= 20


def test_catalog_shape_list_knob(client, state):
    """docs/lgfapi.md 1.4 GAP: catalog_shape=list answers a JSON array of names."""
    state.configure(catalog_shape="list")
    body = get_json(client, "entity")
    assert isinstance(body, list)
    assert body == sorted(body)
    assert "inventory" in body


def test_catalog_has_core_and_required_entities(client):
    """Issue 2: core entities plus facility, company, container/oblpn, task, order_status."""
    body = get_json(client, "entity/")
    for name in (
        "inventory",
        "order_hdr",
        "order_dtl",
        "allocation",
        "location",
        "ib_shipment",
        "wave",
        "item",
        "facility",
        "company",
        "container",
        "oblpn",
        "task",
        "order_status",
        "inventory_history",
        "user",
    ):
        assert name in body


def test_trailing_slash_is_optional(client):
    """docs/lgfapi.md 1.1: trailing slash optional everywhere."""
    with_slash = get_json(client, "entity/wave/")
    without = get_json(client, "entity/wave")
    assert with_slash == without
    assert get_json(client, "entity/wave/1") == get_json(client, "entity/wave/1/")


def test_json_suffix_is_accepted(client):
    """docs/lgfapi.md 1.7: `.json` suffix selects JSON."""
    assert get_json(client, "entity/wave/1.json")["id"] == 1


def test_unknown_entity_is_404_with_error_body(client):
    """docs/lgfapi.md 4.2: errors carry reference/code/message."""
    r = client.get(API + "entity/no_such_thing/")
    assert r.status_code == 404
    assert r.json()["code"] == "NOT_FOUND"
    assert r.json()["reference"]


def test_describe_has_parameters_list_and_fields_object(client):
    """docs/lgfapi.md 1.5: describe has `parameters` (filterable names) and per-field metadata."""
    body = get_json(client, "entity/allocation/describe/")
    assert isinstance(body["parameters"], list)
    assert "order_dtl_id" in body["parameters"]
    fields = body["fields"]
    assert fields["id"]["required"] is True
    assert fields["pick_user"] == {
        "type": "string",
        "required": False,
        "max_length": 30,
        "allow_blank": True,
        "default": "",
    }
    assert fields["task_seq_nbr"]["min_value"] == -99999999999
    assert fields["mod_ts"]["default"] == "now"
    assert fields["alloc_qty"]["type"] == "decimal"
    assert fields["order_dtl_id"]["type"] == "relation"
    assert fields["id"]["type"] == "primary key"


def test_describe_django_dialect(client, state):
    """docs/lgfapi.md 1.5 GAP: describe_dialect=django uses Django field class names."""
    state.configure(describe_dialect="django")
    fields = get_json(client, "entity/allocation/describe")["fields"]
    assert fields["order_dtl_id"]["type"] == "ForeignKey"
    assert fields["mod_ts"]["type"] == "DateTimeField"
    assert fields["alloc_qty"]["type"] == "DecimalField"


def test_describe_has_an_unusual_field_type(client, state):
    """docs/lgfapi.md 1.5: with unknown_types=on, location.geo_coords has the unusual type json."""
    state.configure(unknown_types="on")
    fields = get_json(client, "entity/location/describe")["fields"]
    assert fields["geo_coords"]["type"] == "json"
    assert isinstance(get_json(client, "entity/location/1/")["geo_coords"], dict)


def test_unknown_types_off_hides_geo_coords(client, state):
    """Knob unknown_types=off (default): geo_coords is absent from describe, rows and fields=."""
    assert "geo_coords" not in get_json(client, "entity/location/describe")["fields"]
    assert "geo_coords" not in get_json(client, "entity/location/1/")
    assert all("geo_coords" not in r for r in state_truth(state, "location"))
    assert client.get(API + "entity/location/?fields=id,geo_coords").status_code == 400


def test_unknown_types_keeps_the_data_deterministic(client, state):
    """Knob unknown_types: switching it changes only geo_coords, never the other values."""
    off = get_json(client, "entity/location/?page_size=30&ordering=id")["results"]
    state.configure(unknown_types="on")
    on = get_json(client, "entity/location/?page_size=30&ordering=id")["results"]
    assert [{k: v for k, v in r.items() if k != "geo_coords"} for r in on] == off
    assert all(set(r["geo_coords"]) == {"x", "y", "z"} for r in on)


def test_wide_entity_has_25_plus_fields(client):
    """Benchmarks need a wide entity: order_dtl with cust_* columns (docs/lgfapi.md 2.10)."""
    assert len(get_json(client, "entity/order_dtl/describe")["fields"]) >= 25


def test_retrieve_is_bare_object_with_last_modified(client):
    """docs/lgfapi.md 1.6: retrieve is unwrapped and time-tracked entities send Last-Modified."""
    r = client.get(API + "entity/order_hdr/3/")
    assert r.status_code == 200
    assert r.json()["id"] == 3
    assert "results" not in r.json()
    assert r.headers["last-modified"] == r.json()["mod_ts"]


def test_retrieve_honours_fields(client):
    """docs/lgfapi.md 2.4: `fields` works on retrieve."""
    assert get_json(client, "entity/order_hdr/3/?fields=id,order_nbr") == {
        "id": 3,
        "order_nbr": "ORD00000003",
    }


def test_retrieve_missing_id_is_404(client):
    """docs/lgfapi.md 1.6: unknown id -> 404."""
    r = client.get(API + "entity/order_hdr/987654/")
    assert r.status_code == 404
    assert r.json()["code"] == "NOT_FOUND"


def test_retrieve_ineligible_id_is_404(client, state):
    """docs/lgfapi.md 1.6/3.3: an id outside the user's facilities/companies is a 404."""
    hidden = next(r for r in state_truth(state, "order_hdr") if r["facility_id"]["key"] == "DC02")
    r = client.get(API + f"entity/order_hdr/{hidden['id']}/", headers=basic(LIMITED))
    assert r.status_code == 404


def test_lookup_table_has_no_mod_ts(client):
    """docs/lgfapi.md 2.9: not every entity has mod_ts/create_ts (order_status)."""
    fields = get_json(client, "entity/order_status/describe")["fields"]
    assert "mod_ts" not in fields
    assert "create_ts" not in fields


def test_xml_format_is_refused_explicitly(client):
    """docs/lgfapi.md 1.7: format=xml exists on a tenant; the sandbox says it does not render it."""
    assert client.get(API + "entity/wave/?format=xml").status_code == 406
