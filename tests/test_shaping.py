"""Records fit a relational target: typed scalar columns from the API's representations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tapruns import discover, sync, tap_config


def first_with(rows, predicate):
    return next(row for row in rows if predicate(row))


def test_fk_object_becomes_its_integer_id(sandbox):
    """{id,key,url} foreign keys are emitted as the integer id, typed integer in the schema."""
    out = sync(tap_config(sandbox, "order_dtl"))
    truth = first_with(sandbox.truth("order_dtl"), lambda r: isinstance(r.get("order_id"), dict))
    record = first_with(out.records("order_dtl"), lambda r: r["id"] == truth["id"])
    assert record["order_id"] == truth["order_id"]["id"]
    assert "integer" in out.schema("order_dtl")["properties"]["order_id"]["type"]


def test_fk_key_kept_beside_the_id_when_asked(sandbox):
    """include_fk_keys adds <fk>_key with the related object's key."""
    out = sync(tap_config(sandbox, "order_dtl", include_fk_keys=True))
    truth = first_with(sandbox.truth("order_dtl"), lambda r: isinstance(r.get("order_id"), dict))
    record = first_with(out.records("order_dtl"), lambda r: r["id"] == truth["id"])
    assert record["order_id_key"] == truth["order_id"]["key"]


def test_null_fk_stays_null(sandbox):
    """An optional FK with no target is null, not an error."""
    out = sync(tap_config(sandbox, "allocation"))
    nullable = [name for name, value in sandbox.truth("allocation")[0].items() if value is None]
    for name in nullable:
        assert out.records("allocation")[0][name] is None


def test_status_id_is_a_bare_integer(sandbox):
    """status_id arrives as an integer and stays one."""
    out = sync(tap_config(sandbox, "order_hdr"))
    assert all(isinstance(r["status_id"], int) for r in out.records("order_hdr"))


def test_decimal_strings_become_exact_numbers(sandbox):
    """Quantities arrive as strings ("16.50") and leave as JSON numbers with every digit."""
    out = sync(tap_config(sandbox, "inventory"))
    truth = {r["id"]: r for r in sandbox.truth("inventory")}
    assert out.schema("inventory")["properties"]["curr_qty"]["type"] == ["number", "null"]
    for record in out.records("inventory"):
        assert record["curr_qty"] == Decimal(truth[record["id"]]["curr_qty"])


def test_date_times_keep_their_offset(sandbox):
    """create_ts is emitted exactly as the API sent it, offset included."""
    out = sync(tap_config(sandbox, "order_hdr"))
    truth = {r["id"]: r for r in sandbox.truth("order_hdr")}
    for record in out.records("order_hdr"):
        assert record["create_ts"] == truth[record["id"]]["create_ts"]
        assert dt.datetime.fromisoformat(record["create_ts"]).utcoffset() is not None


def test_mod_ts_is_the_same_instant_in_utc(sandbox):
    """The bookmark column is normalised to UTC so bookmarks compare across DST changes."""
    out = sync(tap_config(sandbox, "order_hdr"))
    truth = {r["id"]: r for r in sandbox.truth("order_hdr")}
    for record in out.records("order_hdr"):
        assert record["mod_ts"].endswith("+00:00")
        assert dt.datetime.fromisoformat(record["mod_ts"]) == dt.datetime.fromisoformat(
            truth[record["id"]]["mod_ts"]
        )


def test_naive_date_times_get_the_tenant_zone(sandbox):
    """If the API sends date-times without an offset, they are read in tenant_timezone."""
    sandbox.configure(datetime_output="naive")
    out = sync(tap_config(sandbox, "order_hdr", tenant_timezone="America/New_York"))
    record = out.records("order_hdr")[0]
    assert dt.datetime.fromisoformat(record["create_ts"]).utcoffset() is not None
    assert record["mod_ts"].endswith("+00:00")


def test_set_links_dropped_by_default(sandbox):
    """*_set reverse-relation links are not columns unless include_set_links is on."""
    catalog = discover(tap_config(sandbox, "order_hdr"))
    props = catalog["streams"][0]["schema"]["properties"]
    assert not [name for name in props if name.endswith("_set")]
    kept = discover(tap_config(sandbox, "order_hdr", include_set_links=True))
    assert [name for name in kept["streams"][0]["schema"]["properties"] if name.endswith("_set")]


def test_blank_strings_stay_blank(sandbox):
    """ "" is a value, not null: the tap passes blank strings through."""
    out = sync(tap_config(sandbox, "order_hdr"))
    truth = {r["id"]: r for r in sandbox.truth("order_hdr")}
    blanks = [(r["id"], k) for r in truth.values() for k, v in r.items() if v == ""]
    assert blanks
    records = {r["id"]: r for r in out.records("order_hdr")}
    assert all(records[i][k] == "" for i, k in blanks)
