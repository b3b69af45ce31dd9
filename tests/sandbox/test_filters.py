"""Filters: lookups, negation, traversal, casting, zones, combinations (docs/lgfapi.md 2.7-2.8, 6.1)."""

from __future__ import annotations

from datetime import UTC

import pytest
from sandbox_helpers import API, get_json, state_truth


def ids(client, query):
    """Ids returned by a filtered order_hdr list (404 = none)."""
    r = client.get(API + f"entity/order_hdr/?page_size=1250&fields=id&{query}")
    if r.status_code == 404:
        return set()
    assert r.status_code == 200, r.text
    return {row["id"] for row in r.json()["results"]}


@pytest.fixture
def truth(state):
    """order_hdr ground truth for admin."""
    return state_truth(state, "order_hdr")


def test_exact_and_iexact(client, truth):
    """docs/lgfapi.md 2.7: exact is case-sensitive, iexact ignores case."""
    nbr = truth[4]["order_nbr"]
    assert ids(client, f"order_nbr={nbr}") == {truth[4]["id"]}
    assert ids(client, f"order_nbr={nbr.lower()}") == set()
    assert ids(client, f"order_nbr__iexact={nbr.lower()}") == {truth[4]["id"]}


def test_comparisons_gt_gte_lt_lte(client, truth):
    """docs/lgfapi.md 2.7: gt/gte/lt/lte on numbers."""
    assert ids(client, "id__gt=10&id__lte=15") == {11, 12, 13, 14, 15}
    assert ids(client, "id__gte=10&id__lt=12") == {10, 11}


def test_in_lookup_splits_on_commas(client, truth):
    """docs/lgfapi.md 2.7: status_id__in=10,30,90."""
    expected = {r["id"] for r in truth if r["status_id"] in (0, 90)}
    assert ids(client, "status_id__in=0,90") == expected


def test_range_is_inclusive(client):
    """docs/lgfapi.md 2.7: range is an inclusive pair."""
    assert ids(client, "id__range=3,6") == {3, 4, 5, 6}


def test_isnull_true_and_false(client, truth):
    """docs/lgfapi.md 2.7: isnull is the only way to test NULL."""
    nulls = {r["id"] for r in truth if r["order_shipped_ts"] is None}
    assert ids(client, "order_shipped_ts__isnull=true") == nulls
    assert ids(client, "order_shipped_ts__isnull=false") == {r["id"] for r in truth} - nulls


def test_contains_is_case_sensitive_icontains_is_not(client):
    """docs/lgfapi.md 2.7: contains vs icontains."""
    assert ids(client, "order_nbr__contains=ord") == set()
    assert len(ids(client, "order_nbr__icontains=ord")) > 0


def test_startswith_and_endswith(client):
    """docs/lgfapi.md 2.7: startswith/istartswith/endswith/iendswith."""
    assert ids(client, "order_nbr__endswith=07") == {7}
    assert ids(client, "order_nbr__startswith=ORD0000001") == set(range(10, 20))
    assert ids(client, "order_nbr__istartswith=ord0000001") == set(range(10, 20))
    assert ids(client, "order_nbr__iendswith=07") == {7}


def test_not_operator_negates(client, truth):
    """docs/lgfapi.md 2.7: `!` before `=` negates (status_id!=90)."""
    assert ids(client, "status_id!=90") == {r["id"] for r in truth if r["status_id"] != 90}
    assert ids(client, "id__in!=1,2,3") == {r["id"] for r in truth} - {1, 2, 3}


def test_fk_traversal_by_code(client, truth):
    """docs/lgfapi.md 2.7: related filter facility_id__code=DC01."""
    assert ids(client, "facility_id__code=DC01") == {
        r["id"] for r in truth if r["facility_id"]["key"] == "DC01"
    }


def test_multi_level_traversal(client, truth):
    """docs/lgfapi.md 2.7: facility_id__parent_company_id__code=ACME (DC01's parent)."""
    assert ids(client, "facility_id__parent_company_id__code=ACME") == ids(client, "facility_id__code=DC01")


def test_reverse_set_isnull(client, state, truth):
    """docs/lgfapi.md 2.7: orderdtl__isnull=true finds headers without details."""
    with_lines = {r["order_id"]["id"] for r in state_truth(state, "order_dtl")}
    empty = {r["id"] for r in truth} - with_lines
    assert empty
    assert ids(client, "orderdtl__isnull=true") == empty
    assert ids(client, "orderdtl__isnull=false") == with_lines


def test_repeated_key_last_occurrence_wins(client):
    """docs/lgfapi.md 1.7: a repeated query key is not an OR; the last one is used."""
    assert ids(client, "id=1&id=2") == {2}


def test_bad_filter_field_is_400_validation_error(client):
    """docs/lgfapi.md 4.2: 400 with reference, code VALIDATION_ERROR, message, details."""
    r = client.get(API + "entity/order_hdr/?no_such_field=1")
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert set(body) == {"reference", "code", "message", "details"}
    assert "no_such_field" in body["details"]


def test_bad_value_cast_is_400(client):
    """docs/lgfapi.md 2.7: values are cast to the field type; bad casts -> 400."""
    for query in (
        "status_id=abc",
        "mod_ts__gte=yesterday",
        "stop_ship_flg=maybe",
        "status_id=null",
        "ord_date=2024-13-01",
    ):
        assert client.get(API + f"entity/order_hdr/?{query}").status_code == 400, query


def test_naive_datetime_filter_is_read_in_user_facility_zone(client, truth):
    """docs/lgfapi.md 2.8: naive filter values are in the user's default facility zone (New York)."""
    row = truth[0]
    local = row["mod_ts"][:26]  # the rendered local wall time, without offset
    assert row["id"] in ids(client, f"mod_ts={local}")
    assert row["id"] in ids(client, f"mod_ts={row['mod_ts'].replace('+', '%2B')}")


def test_offset_aware_datetime_filter_is_converted(client, truth):
    """docs/lgfapi.md 2.8: offset-aware values are converted (same instant in UTC matches)."""
    from datetime import datetime

    row = truth[0]
    utc = datetime.fromisoformat(row["mod_ts"]).astimezone(UTC).isoformat()
    assert row["id"] in ids(client, f"mod_ts={utc.replace('+', '%2B')}")


def test_date_part_lookup(client, truth):
    """docs/lgfapi.md 2.7: date-part lookups such as mod_ts__year."""
    assert ids(client, "mod_ts__year=2024") == {r["id"] for r in truth if r["mod_ts"][:4] == "2024"}


def test_boolean_filter(client, truth):
    """docs/lgfapi.md 2.7: booleans are true/false."""
    assert ids(client, "stop_ship_flg=true") == {r["id"] for r in truth if r["stop_ship_flg"]}


def test_inventory_history_requires_a_filter_combination(client):
    """docs/lgfapi.md 6.1: a list without one of the combinations is refused (400)."""
    r = client.get(API + "entity/inventory_history/?status_id=10")
    assert r.status_code == 400
    assert r.json()["code"] == "VALIDATION_ERROR"
    assert "required_filters" in r.json()["details"]


def test_inventory_history_accepts_a_documented_combination(client):
    """docs/lgfapi.md 6.1 combo 2: company_id__code, facility_id__code, history_activity_id, status_id."""
    body = get_json(
        client,
        "entity/inventory_history/?company_id__code=ACME"
        "&facility_id__code=DC01&history_activity_id=1&status_id=10",
    )
    assert all(r["status_id"] == 10 for r in body["results"])
