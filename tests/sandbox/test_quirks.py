"""Real-tenant behaviours and hostile answers, one knob each (all off by default)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from sandbox_helpers import API, all_sequenced, get_json, state_truth

from tap_oracle_wms_sandbox import quirks


def path_of(url: str) -> str:
    """Path and query of an absolute URL: what a client sends to its configured origin."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


# ---- link_origin ------------------------------------------------------------------------------


def test_link_origin_alias_names_another_host_with_right_path(client, state):
    """link_origin=alias: links name wms-alias.invalid; their path+query give the next page."""
    state.configure(link_origin="alias")
    body = get_json(client, "entity/order_hdr/?page_size=5&ordering=id")
    assert body["next_page"].startswith("http://wms-alias.invalid/sandbox/wms/lgfapi/v10/entity/order_hdr/?")
    assert body["results"][0]["url"].startswith("http://wms-alias.invalid/")
    assert body["results"][0]["facility_id"]["url"].startswith("http://wms-alias.invalid/")
    second = client.get(path_of(body["next_page"])).json()
    assert second["page_nbr"] == 2
    assert second["results"][0]["id"] == body["results"][-1]["id"] + 1


def test_link_origin_port443_names_the_tenant_form(client, state):
    """link_origin=port443: links are https://host:443/...; path+query stay right (sequenced)."""
    state.configure(link_origin="port443")
    body = get_json(client, "entity/order_hdr/?page_mode=sequenced&page_size=5")
    assert body["next_page"].startswith("https://testserver:443/sandbox/wms/lgfapi/v10/entity/order_hdr/?")
    second = client.get(path_of(body["next_page"])).json()
    assert second["previous_page"].startswith("https://testserver:443/")
    assert second["results"][0]["id"] > body["results"][-1]["id"]


def test_link_origin_https_changes_only_the_scheme(client, state):
    """link_origin=https: links keep host and path but say https."""
    state.configure(link_origin="https")
    body = get_json(client, "entity/")
    assert body["wave"] == "https://testserver/sandbox/wms/lgfapi/v10/entity/wave"


def test_link_origin_alias_keeps_the_port(sandbox):
    """link_origin=alias on the real server: wms-alias.invalid with the port the client called."""
    import httpx

    sandbox.configure(link_origin="alias")
    body = httpx.get(sandbox.api_url + "entity/wave/?page_size=1", auth=("admin", "admin-password")).json()
    assert body["next_page"].startswith(f"http://wms-alias.invalid:{sandbox.port}/sandbox/wms/")


# ---- ordering_rejects -------------------------------------------------------------------------


def assert_ordering_error(r) -> None:
    """The documented 400 body naming `ordering` in its details."""
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"reference", "code", "message", "details"}
    assert body["code"] == "VALIDATION_ERROR"
    assert list(body["details"]) == ["ordering"]


def test_ordering_rejects_desc_refuses_descending_terms(client, state):
    """ordering_rejects entity:desc: a -field ordering is a 400, ascending ones answer."""
    state.configure(ordering_rejects=("order_dtl:desc",))
    assert_ordering_error(client.get(API + "entity/order_dtl/?ordering=mod_ts,-id"))
    assert_ordering_error(client.get(API + "entity/order_dtl/?page_mode=sequenced&ordering=-mod_ts"))
    assert client.get(API + "entity/order_dtl/?ordering=mod_ts,id").status_code == 200
    assert client.get(API + "entity/order_hdr/?ordering=-id").status_code == 200


def test_ordering_rejects_non_id_allows_only_id(client, state):
    """ordering_rejects entity:non_id: ordering by anything but id is a 400."""
    state.configure(ordering_rejects="wave:non_id")
    assert_ordering_error(client.get(API + "entity/wave/?page_mode=sequenced&ordering=mod_ts,id"))
    assert client.get(API + "entity/wave/?ordering=-id").status_code == 200
    assert client.get(API + "entity/wave/?page_mode=sequenced&ordering=id").status_code == 200


def test_ordering_rejects_any_refuses_every_ordering(client, state):
    """ordering_rejects *:any: every entity refuses any ordering, and answers without one."""
    state.configure(ordering_rejects=("*:any",))
    assert_ordering_error(client.get(API + "entity/item/?ordering=id"))
    assert_ordering_error(client.get(API + "entity/wave/?page_mode=sequenced&ordering=id"))
    assert client.get(API + "entity/item/").status_code == 200


# ---- entity_faults ----------------------------------------------------------------------------


def test_entity_faults_fail_every_request_of_that_entity(client, state):
    """entity_faults order_dtl:500: list, retrieve and describe answer 500 with an error body."""
    state.configure(entity_faults=("order_dtl:500",))
    for path in ("entity/order_dtl/", "entity/order_dtl/1/", "entity/order_dtl/describe/"):
        r = client.get(API + path)
        assert r.status_code == 500, path
        assert set(r.json()) == {"reference", "code", "message"}
    assert client.get(API + "entity/order_hdr/").status_code == 200
    assert client.get(API + "entity/order_hdr/describe/").status_code == 200


def test_entity_faults_any_status_code(client, state):
    """entity_faults wave:418: an unusual status with a code derived from its phrase."""
    state.configure(entity_faults="wave:418,item:503")
    r = client.get(API + "entity/wave/")
    assert r.status_code == 418
    assert r.json()["code"] == "IM_A_TEAPOT"
    assert client.get(API + "entity/item/").headers["retry-after"] == "1"


# ---- later_page_404 ---------------------------------------------------------------------------


def test_later_page_404_once_fails_the_first_cursor_page_then_answers(client, state):
    """later_page_404=once: the first cursor page 404s once; its retry and later pages answer."""
    state.configure(later_page_404="once")
    first = get_json(client, "entity/order_dtl/?page_mode=sequenced&page_size=5&fields=id")
    missing = client.get(first["next_page"])
    assert missing.status_code == 404
    assert missing.json()["code"] == "NOT_FOUND"
    assert missing.json()["message"] == "No records found."
    second = client.get(first["next_page"])
    assert second.status_code == 200
    assert client.get(second.json()["next_page"]).status_code == 200


def test_later_page_404_once_applies_to_paged_page_2(client, state):
    """later_page_404=once: paged page=2 404s once, then answers."""
    state.configure(later_page_404="once")
    url = API + "entity/wave/?page_size=2&page=2"
    assert [client.get(url).status_code for _ in range(3)] == [404, 200, 200]


def test_later_page_404_spares_requests_without_cursor(client, state):
    """later_page_404=1: first pages, such as a client's own keyset query, always answer."""
    state.configure(later_page_404="1")
    url = API + "entity/order_dtl/?page_mode=sequenced&page_size=5&ordering=id&id__gt=20"
    assert {client.get(url).status_code for _ in range(5)} == {200}
    assert client.get(client.get(url).json()["next_page"]).status_code == 404


def test_later_page_404_rate_is_seeded(client, state):
    """later_page_404=0.5: a seeded draw, the same sequence for the same seed."""
    first = get_json(client, "entity/order_dtl/?page_mode=sequenced&page_size=5")["next_page"]

    def run() -> list[int]:
        state.configure(seed=state.config.seed, later_page_404="0.5")
        return [client.get(first).status_code for _ in range(16)]

    codes = run()
    assert codes == run()
    assert set(codes) == {200, 404}


# ---- redirect_lists ---------------------------------------------------------------------------


def test_redirect_same_origin_adds_a_marker_and_answers_it(client, state):
    """redirect_lists=same_origin: a list 302s to itself plus redirected=1, which answers."""
    state.configure(redirect_lists="same_origin")
    url = API + "entity/wave/?page_size=2"
    r = client.get(url, follow_redirects=False)
    assert r.status_code == 302
    assert r.headers["location"] == "http://testserver" + url + "&redirected=1"
    body = client.get(r.headers["location"]).json()
    assert len(body["results"]) == 2
    assert "redirected" not in parse_qs(urlsplit(body["next_page"]).query)
    assert client.get(API + "entity/wave/1/", follow_redirects=False).status_code == 200


def test_redirect_other_host_drops_auth_when_followed(sandbox):
    """redirect_lists=other_host: 302 to localhost, same port; a follower loses its auth (401)."""
    import httpx

    sandbox.configure(redirect_lists="other_host")
    auth = ("admin", "admin-password")
    url = sandbox.api_url + "entity/wave/?page_size=2"
    r = httpx.get(url, auth=auth, timeout=10)
    assert r.status_code == 302
    assert r.headers["location"] == url.replace("127.0.0.1", "localhost")
    assert httpx.get(url, auth=auth, follow_redirects=True, timeout=10).status_code == 401
    assert httpx.get(r.headers["location"], auth=auth, timeout=10).status_code == 200


def test_redirect_plain_http_leaves_http_requests_alone(client, state):
    """redirect_lists=plain_http only redirects https requests (see test_tls.py)."""
    state.configure(redirect_lists="plain_http")
    assert client.get(API + "entity/wave/", follow_redirects=False).status_code == 200


# ---- next_page_loop ---------------------------------------------------------------------------


def test_next_page_loop_sequenced_points_back_to_a_visited_url(client, state):
    """next_page_loop=on: page 2's next_page is page 1's cursor URL (page 2 itself)."""
    state.configure(next_page_loop="on")
    first = get_json(client, "entity/order_dtl/?page_mode=sequenced&page_size=5&fields=id")
    second = client.get(first["next_page"]).json()
    assert second["next_page"] == first["next_page"]
    assert client.get(second["next_page"]).json() == second


def test_next_page_loop_paged_repeats_the_page(client, state):
    """next_page_loop=on in paged mode: page 2 links to page=2 again."""
    state.configure(next_page_loop="on")
    first = get_json(client, "entity/order_dtl/?page_size=5&fields=id&ordering=id")
    assert parse_qs(urlsplit(first["next_page"]).query)["page"] == ["2"]
    second = client.get(first["next_page"]).json()
    assert second["next_page"] == first["next_page"]


LISTINGS = {
    "sequenced": "entity/order_dtl/?page_mode=sequenced&page_size=5&fields=id",
    "paged": "entity/order_dtl/?page_size=5&fields=id&ordering=id",
}


def hops(client, path: str, count: int) -> list[tuple[str, list[int]]]:
    """(URL asked, ids served) of `count` pages following next_page from `path`."""
    out: list[tuple[str, list[int]]] = []
    url = API + path
    for _ in range(count):
        body = client.get(url).json()
        out.append((url, [r["id"] for r in body["results"]]))
        url = body["next_page"]
    return out


@pytest.mark.parametrize("mode", ["sequenced", "paged"])
def test_next_page_loop_alternate_links_pages_1_and_2_with_urls_that_never_repeat(client, state, mode):
    """next_page_loop=alternate: pages 1 and 2 link to each other for ever, each link a new URL."""
    state.configure(next_page_loop="alternate")
    seen = hops(client, LISTINGS[mode], 6)
    first, second = seen[0][1], seen[1][1]
    assert first != second
    assert [ids for _, ids in seen] == [first, second] * 3
    assert len({url for url, _ in seen}) == 6
    assert [parse_qs(urlsplit(url).query).get("loop") for url, _ in seen[1:3]] == [["1"], ["2"]]


@pytest.mark.parametrize("mode", ["sequenced", "paged"])
def test_next_page_loop_fresh_serves_page_2_again_under_new_urls(client, state, mode):
    """next_page_loop=fresh: page 2 links to a URL never sent before that serves page 2 again."""
    state.configure(next_page_loop="fresh")
    seen = hops(client, LISTINGS[mode], 5)
    assert [ids for _, ids in seen[1:]] == [seen[1][1]] * 4
    assert seen[0][1] != seen[1][1]
    assert len({url for url, _ in seen}) == 5


def test_next_page_loop_fresh_sequenced_cursors_differ(client, state):
    """In sequenced mode the loop's cursors themselves are new texts, not only the URL around them."""
    state.configure(next_page_loop="fresh")
    seen = hops(client, LISTINGS["sequenced"], 4)
    cursors = [parse_qs(urlsplit(url).query)["cursor"][0] for url, _ in seen[1:]]
    assert len(set(cursors)) == 3


def test_next_page_loop_marks_are_no_filters(client, state):
    """The loop=N mark is not read as a filter: a listing that carries it answers as without it."""
    plain = get_json(client, "entity/wave/?page_size=2&fields=id&ordering=id")
    marked = get_json(client, "entity/wave/?page_size=2&fields=id&ordering=id&loop=3")
    assert marked["results"] == plain["results"]


# ---- odd_values -------------------------------------------------------------------------------

ODD = "order_dtl"


def listed(client) -> list[dict]:
    """Every row of ODD as the API sends it, in id order."""
    return all_sequenced(client, f"entity/{ODD}/?page_mode=sequenced&page_size=1250&ordering=id")


def differences(client, state) -> dict[int, dict[str, object]]:
    """{true id: {field: value sent}} of the listed rows that differ from the ground truth."""
    truth = state_truth(state, ODD)
    rows = listed(client)
    assert len(rows) == len(truth)
    return {
        want["id"]: {k: v for k, v in got.items() if v != want[k] or type(v) is not type(want[k])}
        for got, want in zip(rows, truth, strict=True)
        if got != want or type(got["id"]) is not int
    }


def odd_row(client, wanted) -> dict:
    """The first odd row /_admin/odd_values names that satisfies `wanted`."""
    return next(o for o in client.get(f"/_admin/odd_values/{ODD}").json() if wanted(o))


def test_odd_values_off_sends_every_row_as_stored(client, state):
    """Without the knob the listing is the ground truth, value for value."""
    assert differences(client, state) == {}


def test_odd_values_make_about_one_row_in_five_send_an_odd_value(client, state):
    """odd_values=order_dtl: the rows /_admin/odd_values names, and only they, send an odd value."""
    state.configure(odd_values=ODD)
    named = client.get(f"/_admin/odd_values/{ODD}").json()
    assert differences(client, state) == {o["id"]: {o["field"]: o["sent"]} for o in named}
    assert len(named) == (len(state_truth(state, ODD)) - 2) // quirks.ODD_SPACING


def test_odd_values_take_turns_so_any_stretch_holds_every_case(client, state):
    """Seven odd rows in a row, in id order, send the seven odd values, one each."""
    state.configure(odd_values=ODD)
    named = client.get(f"/_admin/odd_values/{ODD}").json()
    for start in range(len(named) - 6):
        turn = named[start : start + 7]
        sent = {(o["field"], repr(o["sent"]) if o["sent"] != str(o["id"]) else "text") for o in turn}
        assert {value for field, value in sent if field == "id"} == {"text", "'abc'", "12.5", "True"}
        assert {value for field, value in sent if field == "ord_qty"} == {"'NaN'", "'Infinity'"}
        assert [field for field, _ in sent].count("mod_ts") == 1


def test_odd_mod_ts_names_the_true_instant_in_a_form_iso_cannot_read(client, state):
    """The unparsable mod_ts is the row's true instant written as 'YYYY-MM-DDTHH:MM:SS UTC'."""
    state.configure(odd_values=ODD)
    odd = odd_row(client, lambda o: o["field"] == "mod_ts")
    true = {r["id"]: r["mod_ts"] for r in state_truth(state, ODD)}[odd["id"]]
    instant = datetime.fromisoformat(true).astimezone(UTC)
    assert odd["sent"] == instant.strftime("%Y-%m-%dT%H:%M:%S UTC")
    with pytest.raises(ValueError, match="Invalid isoformat"):
        datetime.fromisoformat(odd["sent"])


def test_odd_values_are_seeded(client, state):
    """The same seed picks the same rows; another seed other rows."""
    state.configure(odd_values=ODD)
    first = client.get(f"/_admin/odd_values/{ODD}").json()
    state.reset()
    state.configure(odd_values=ODD)
    assert client.get(f"/_admin/odd_values/{ODD}").json() == first
    state.configure(seed=8)
    assert [o["id"] for o in client.get(f"/_admin/odd_values/{ODD}").json()] != [o["id"] for o in first]


def test_odd_values_leave_the_ground_truth_and_counts_on_the_stored_values(client, state):
    """truth() and the paged count do not change: only what the rows send does."""
    count = get_json(client, f"entity/{ODD}/?page_size=1")["result_count"]
    truth = state_truth(state, ODD)
    state.configure(odd_values=ODD)
    assert state_truth(state, ODD) == truth
    assert get_json(client, f"entity/{ODD}/?page_size=1")["result_count"] == count


def test_odd_values_are_filtered_and_ordered_by_their_stored_id(client, state):
    """The row sending id "abc" is found by id__gte/id__lt of its stored id, in its id place."""
    state.configure(odd_values=ODD)
    abc = odd_row(client, lambda o: o["sent"] == "abc")["id"]
    body = get_json(
        client, f"entity/{ODD}/?page_mode=sequenced&fields=id&ordering=id&id__gte={abc - 1}&id__lt={abc + 2}"
    )
    assert [r["id"] for r in body["results"]] == [abc - 1, "abc", abc + 1]


def test_odd_mod_ts_is_filtered_by_its_stored_instant(client, state):
    """The row sending an unparsable mod_ts is found by mod_ts__gte/__lte of its stored instant."""
    state.configure(odd_values=ODD)
    odd = odd_row(client, lambda o: o["field"] == "mod_ts")
    stored = quote(next(r["mod_ts"] for r in state_truth(state, ODD) if r["id"] == odd["id"]))
    body = get_json(
        client,
        f"entity/{ODD}/?page_mode=sequenced&fields=id,mod_ts&mod_ts__gte={stored}&mod_ts__lte={stored}",
    )
    assert {"id": odd["id"], "mod_ts": odd["sent"]} in body["results"]


def test_odd_values_only_where_asked(client, state):
    """Other entities, and a `fields` selection without the odd field, send stored values."""
    state.configure(odd_values=ODD)
    odd = client.get(f"/_admin/odd_values/{ODD}").json()
    nan = next(o for o in odd if o["sent"] == "NaN")
    assert client.get(API + f"entity/{ODD}/{nan['id']}/").json()[nan["field"]] == "NaN"
    assert client.get(API + f"entity/{ODD}/{nan['id']}/?fields=id,mod_ts").json()["id"] == nan["id"]
    assert client.get("/_admin/odd_values/order_hdr").json() == []
    order_hdr = all_sequenced(client, "entity/order_hdr/?page_mode=sequenced&page_size=1250&ordering=id")
    assert order_hdr == state_truth(state, "order_hdr")


def test_odd_values_route_of_an_unknown_entity_is_a_404(client):
    """GET /_admin/odd_values/<no such entity> answers 404, like the truth route."""
    assert client.get("/_admin/odd_values/no_such_entity").status_code == 404
