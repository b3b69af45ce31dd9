"""Paged and sequenced listing, page sizes, fields, ordering, empty lists (docs/lgfapi.md 2.2-2.6, 2.11)."""

from __future__ import annotations

import base64
from itertools import pairwise
from urllib.parse import parse_qs, urlsplit

from sandbox_helpers import API, all_sequenced, get_json, state_truth


def test_paged_envelope_has_exact_keys(client):
    """docs/lgfapi.md 2.2: result_count, page_count, page_nbr, next_page, previous_page, results."""
    body = get_json(client, "entity/order_hdr/?page_size=10")
    assert list(body) == ["result_count", "page_count", "page_nbr", "next_page", "previous_page", "results"]
    assert body["page_nbr"] == 1
    assert body["previous_page"] is None
    assert body["page_count"] == -(-body["result_count"] // 10)


def test_paged_links_are_absolute_and_echo_params(client):
    """docs/lgfapi.md 2.2: links are absolute, carry page=N and the caller's other params."""
    body = get_json(client, "entity/order_hdr/?page_size=10&status_id__gte=0&ordering=id")
    nxt = body["next_page"]
    assert nxt.startswith("http://testserver/sandbox/wms/lgfapi/v10/entity/order_hdr/?")
    q = parse_qs(urlsplit(nxt).query)
    assert q["page"] == ["2"]
    assert q["page_size"] == ["10"]
    assert q["ordering"] == ["id"]
    second = client.get(nxt).json()
    assert second["page_nbr"] == 2
    assert "page=" not in second["previous_page"]


def test_paged_pages_followed_verbatim_cover_every_row(client, state):
    """docs/lgfapi.md 2.2: following next_page with ordering=id yields every row once."""
    ids, url = [], API + "entity/order_dtl/?page_size=7&ordering=id&fields=id"
    while url:
        body = client.get(url).json()
        ids += [r["id"] for r in body["results"]]
        url = body["next_page"]
    assert ids == [r["id"] for r in state_truth(state, "order_dtl")]


def test_sequenced_envelope_has_no_totals(client):
    """docs/lgfapi.md 2.2: sequenced pages only have next_page, previous_page, results."""
    body = get_json(client, "entity/order_hdr/?page_mode=sequenced&page_size=5")
    assert list(body) == ["next_page", "previous_page", "results"]


def test_sequenced_cursor_is_base64_of_p_last_id(client):
    """docs/lgfapi.md 2.2: cursor like cD0xNDAw = base64('p=1400') (keyset on id by default)."""
    body = get_json(client, "entity/order_hdr/?page_mode=sequenced&page_size=5")
    cursor = parse_qs(urlsplit(body["next_page"]).query)["cursor"][0]
    assert base64.b64decode(cursor).decode() == f"p={body['results'][-1]['id']}"


def test_sequenced_pages_cover_every_row_once_in_id_order(client, state):
    """docs/lgfapi.md 2.2: sequenced paging with cursors is a complete keyset walk."""
    rows = all_sequenced(client, "entity/order_dtl/?page_mode=sequenced&page_size=9&fields=id")
    assert [r["id"] for r in rows] == [r["id"] for r in state_truth(state, "order_dtl")]


def test_sequenced_honours_ordering_mod_ts_id(client):
    """docs/lgfapi.md 6.4: ordering=mod_ts,id is honoured in sequenced mode (knob honour)."""
    rows = all_sequenced(
        client, "entity/order_dtl/?page_mode=sequenced&page_size=9&ordering=mod_ts,id&fields=id,mod_ts"
    )
    keys = [(r["mod_ts"], r["id"]) for r in rows]
    assert keys == sorted(keys)
    assert len({r["id"] for r in rows}) == len(rows)


def test_sequenced_ordering_ignored_by_knob(client, state):
    """docs/lgfapi.md 2.2 GAP: sequenced_ordering=ignore keyset-paginates by id whatever `ordering`."""
    state.configure(sequenced_ordering="ignore")
    rows = all_sequenced(
        client, "entity/order_dtl/?page_mode=sequenced&page_size=9&ordering=-mod_ts&fields=id"
    )
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids)


def test_sequenced_previous_page_goes_back(client):
    """docs/lgfapi.md 2.2: previous_page is a cursor link to the page before."""
    first = get_json(client, "entity/order_hdr/?page_mode=sequenced&page_size=4&fields=id")
    second = client.get(first["next_page"]).json()
    back = client.get(second["previous_page"]).json()
    assert back["results"] == first["results"]


def test_default_order_is_not_id_sorted(client):
    """docs/lgfapi.md 2.6/8.4: no ordering -> stable but deliberately not id-sorted."""
    a = [r["id"] for r in get_json(client, "entity/order_hdr/?page_size=50&fields=id")["results"]]
    b = [r["id"] for r in get_json(client, "entity/order_hdr/?page_size=50&fields=id")["results"]]
    assert a == b
    assert a != sorted(a)


def test_ordering_multi_field_with_descending(client):
    """docs/lgfapi.md 2.6: comma list, `-` prefix for descending."""
    rows = get_json(client, "entity/order_hdr/?page_size=100&ordering=status_id,-id&fields=id,status_id")[
        "results"
    ]
    assert rows == sorted(rows, key=lambda r: (r["status_id"], -r["id"]))


def test_bad_ordering_field_is_400(client):
    """docs/lgfapi.md 2.6: an unknown ordering field is a 400."""
    assert client.get(API + "entity/order_hdr/?ordering=nope").status_code == 400


def test_page_size_defaults_to_rows_per_page(client, state):
    """docs/lgfapi.md 2.3: default page size = the user's Rows per Page (knob rows_per_page)."""
    assert len(get_json(client, "entity/order_dtl/")["results"]) == 25
    state.configure(rows_per_page=10)
    assert len(get_json(client, "entity/order_dtl/")["results"]) == 10


def test_page_size_above_1250_is_clamped(client):
    """docs/lgfapi.md 2.3 GAP: page_size > 1250 is clamped (default knob)."""
    body = get_json(client, "entity/order_dtl/?page_size=5000")
    assert body["page_count"] == -(-body["result_count"] // 1250)


def test_page_size_above_1250_rejected_by_knob(client, state):
    """docs/lgfapi.md 2.3 GAP: page_size_over_max=reject answers 400."""
    state.configure(page_size_over_max="reject")
    r = client.get(API + "entity/order_dtl/?page_size=1251")
    assert r.status_code == 400
    assert r.json()["code"] == "VALIDATION_ERROR"


def test_fields_selects_only_named_fields(client):
    """docs/lgfapi.md 2.4: `fields` returns only the listed fields."""
    rows = get_json(client, "entity/item/?fields=id,code")["results"]
    assert all(set(r) == {"id", "code"} for r in rows)


def test_on_request_field_only_with_fields(client):
    """docs/lgfapi.md 2.4: item image_data is omitted unless asked for with `fields`."""
    assert "image_data" not in get_json(client, "entity/item/1/")
    assert "image_data" in get_json(client, "entity/item/1/?fields=id,image_data")


def test_list_matching_nothing_is_404_with_error_body(client):
    """docs/lgfapi.md 2.11: a list that matches nothing is a 404 with the error body."""
    r = client.get(API + "entity/order_hdr/?order_nbr=NOPE")
    assert r.status_code == 404
    assert r.json()["code"] == "NOT_FOUND"
    assert r.json()["reference"]


def test_page_past_the_end_is_404(client):
    """docs/lgfapi.md 4.4: asking for a page past the end errors (DRF 'Invalid page')."""
    assert client.get(API + "entity/order_hdr/?page=999").status_code == 404


def test_mod_ts_ties_straddle_page_boundaries(client):
    """docs/lgfapi.md 2.9: many rows share one mod_ts (bulk updates), straddling pages."""
    rows = all_sequenced(
        client, "entity/order_dtl/?page_mode=sequenced&page_size=25&ordering=mod_ts,id&fields=id,mod_ts"
    )
    pages = [rows[i : i + 25] for i in range(0, len(rows), 25)]
    straddles = [a[-1]["mod_ts"] == b[0]["mod_ts"] for a, b in pairwise(pages)]
    assert any(straddles)
    assert max(sum(1 for r in rows if r["mod_ts"] == ts) for ts in {r["mod_ts"] for r in rows}) > 25
