"""Representations of values (docs/lgfapi.md 2.8 output, 2.10)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sandbox_helpers import API, basic, get_json

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d$")


def test_every_record_has_id_and_self_url(client):
    """docs/lgfapi.md 2.10: objects carry `id` and a `url` self link (followable verbatim)."""
    row = get_json(client, "entity/order_hdr/?page_size=1")["results"][0]
    assert client.get(row["url"]).json()["id"] == row["id"]


def test_fk_is_object_with_id_key_url(client):
    """docs/lgfapi.md 2.10: FK = {"id", "key", "url"} with the target's retrieve URL."""
    fk = get_json(client, "entity/order_hdr/1/")["facility_id"]
    assert set(fk) == {"id", "key", "url"}
    assert fk["url"].endswith(f"/entity/facility/{fk['id']}")
    assert fk["key"] in ("DC01", "DC02")


def test_unexposed_fk_target_has_empty_url(client):
    """docs/lgfapi.md 2.10: url "" when the target is not exposed (allocation type_id, wave_id)."""
    row = get_json(client, "entity/allocation/1/")
    assert row["type_id"]["url"] == ""
    assert row["wave_id"]["url"] == ""
    assert row["type_id"]["key"]


def test_composite_key_is_comma_joined(client):
    """docs/lgfapi.md 2.10: order_dtl_id key like "100002774185,1728581131"."""
    key = get_json(client, "entity/allocation/1/")["order_dtl_id"]["key"]
    assert re.fullmatch(r"ORD\d{8},\d+", key)


def test_optional_fk_absent_is_null(client):
    """docs/lgfapi.md 2.10: an optional FK with no target is null (cartonize_uom_id)."""
    assert get_json(client, "entity/allocation/1/")["cartonize_uom_id"] is None


def test_status_id_is_bare_integer(client):
    """docs/lgfapi.md 2.10: status_id is a bare integer, not an FK object."""
    assert isinstance(get_json(client, "entity/order_hdr/1/")["status_id"], int)


def test_decimals_are_strings(client):
    """docs/lgfapi.md 2.10: quantities are JSON strings ("alloc_qty": "16")."""
    row = get_json(client, "entity/allocation/1/")
    assert isinstance(row["alloc_qty"], str)
    assert float(row["alloc_qty"]) >= 0


def test_blank_strings_are_empty_not_null(client):
    """docs/lgfapi.md 2.10: blank strings are "" (final_oblpn_nbr)."""
    assert get_json(client, "entity/allocation/1/")["final_oblpn_nbr"] == ""


def test_flg_fields_are_booleans(client):
    """docs/lgfapi.md 2.7/2.10: *_flg columns are true/false."""
    assert isinstance(get_json(client, "entity/allocation/1/")["is_picking_flg"], bool)


def test_set_is_count_and_url_or_null(client):
    """docs/lgfapi.md 2.10: *_set is {result_count, url} or null when empty."""
    rows = get_json(client, "entity/order_hdr/?page_size=1250&ordering=id")["results"]
    full = next(r["order_dtl_set"] for r in rows if r["order_dtl_set"])
    assert full["result_count"] > 0
    assert len(client.get(full["url"]).json()["results"]) == full["result_count"]
    assert any(r["order_dtl_set"] is None for r in rows)


def test_datetimes_have_microseconds_and_offset(client):
    """docs/lgfapi.md 2.8: ISO-8601 with microseconds and a UTC offset."""
    row = get_json(client, "entity/order_hdr/1/")
    assert ISO.match(row["mod_ts"])
    assert ISO.match(row["create_ts"])


def test_offset_is_dst_correct_for_user_zone(client):
    """docs/lgfapi.md 2.8: offset of the user's default facility zone (New York), DST-aware."""
    rows = get_json(client, "entity/order_dtl/?page_size=1250&fields=mod_ts")["results"]
    for r in rows:
        moment = datetime.fromisoformat(r["mod_ts"])
        assert moment.utcoffset() == moment.astimezone(ZoneInfo("America/New_York")).utcoffset()
    assert {r["mod_ts"][-6:] for r in rows} == {"-04:00", "-05:00"}


def test_offset_follows_user_default_facility(client):
    """docs/lgfapi.md 2.8: a user whose default facility is DC02 sees Sao Paulo offsets."""
    row = get_json(client, "entity/order_hdr/1/", headers=basic(("saopaulo", "saopaulo-password")))
    assert row["mod_ts"].endswith("-03:00")


def test_naive_datetime_output_knob(client, state):
    """docs/lgfapi.md 2.8 GAP: datetime_output=naive drops the offset (local time)."""
    with_offset = get_json(client, "entity/order_hdr/1/")["mod_ts"]
    state.configure(datetime_output="naive")
    naive = get_json(client, "entity/order_hdr/1/")["mod_ts"]
    assert naive == with_offset[:26]


def test_dates_are_yyyy_mm_dd(client):
    """docs/lgfapi.md 2.8: dates come back as "2014-04-10"."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", get_json(client, "entity/order_hdr/1/")["ord_date"])


def test_oblpn_is_container_type_o(client):
    """docs/lgfapi.md 5.1: oblpn = containers of type O."""
    rows = get_json(client, "entity/oblpn/?page_size=1250")["results"]
    assert {r["type"] for r in rows} == {"O"}
    assert rows[0]["url"].split("/entity/")[1].startswith("oblpn/")


def test_links_use_the_request_host(client):
    """docs/lgfapi.md 1.1: hyperlinks are absolute, built from the host the client used."""
    r = client.get(API + "entity/wave/1/", headers={"Host": "ta29.example.com:443"})
    assert r.json()["url"].startswith("http://ta29.example.com:443/sandbox/")
