"""The pure planners, one behaviour each: key ranges, queries, page sizes, split keys, counts, resumes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tap_oracle_wms.engine import ranges
from tap_oracle_wms.lgfapi import counts, ordering, query
from tap_oracle_wms.lgfapi.errors import FatalError
from tap_oracle_wms.lgfapi.paging import Listing, requested_rows, with_page_size
from tap_oracle_wms.records import _CANNOT, Unparsable, allowed_types, coerce
from tap_oracle_wms.tap import TapOracleWMS

UTC = dt.UTC
STARTED = dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def rows(*ids: int) -> list[dict]:
    return [{"id": i} for i in ids]


# --- ranges.plan_split -------------------------------------------------------------------------


def test_split_needs_a_count():
    """No count (an empty or uncountable listing): the listing is read as one chain."""
    assert ranges.plan_split("wave", "id", {"page_size": 5}, rows(1, 2, 3, 4, 5), None, UTC) is None


def test_small_remainder_stays_one_listing():
    """A few pages after the first are cheaper to follow than to split."""
    high = (5 + 5 * ranges.MIN_SPLIT_PAGES, 20)
    assert ranges.plan_split("wave", "id", {"page_size": 5}, rows(1, 2, 3, 4, 5), high, UTC) is None


def test_id_ranges_cover_the_rest_of_the_listing_without_overlap():
    """After the first page, id ranges run from the first bound to the end, each [gte, lt)."""
    plan = ranges.plan_split("wave", "id", {"page_size": 5}, rows(1, 2, 3, 4, 5), (100, 100), UTC)
    assert plan is not None
    later = [r.query({"page_size": 5}) for r in plan.ranges[1:]]
    bounds = [part["id__gte"] for part in later]
    assert bounds == sorted(bounds)
    assert bounds[0] > 5
    assert all(part["id__lt"] == nxt for part, nxt in zip(later, bounds[1:], strict=False))
    assert "id__lt" not in later[-1]
    assert len(later) == 9  # ceil(95 rows / (5 rows x PAGES_PER_PARTITION)) = 10 parts


def test_a_listing_is_planned_as_few_ranges_as_keep_the_workers_busy():
    """Each range's last page is partial (a request for a few rows): ranges are planned no more
    than `most`, rebalancing splits the ones that run long."""
    plan = ranges.plan_split("wave", "id", {"page_size": 5}, rows(1, 2, 3, 4, 5), (100, 100), UTC, most=2)
    assert plan is not None
    assert len(plan.ranges) == 2


def test_no_planned_range_holds_more_than_its_share_of_the_read_ahead():
    """Ranges ahead of the one being emitted wait once the read-ahead is full: each is planned no
    larger than its worker's share of it, so a large listing never narrows to one request in flight."""
    first = [{"id": i} for i in range(1, 1251)]
    plan = ranges.plan_split(
        "wave", "id", {"page_size": 1250}, first, (1_001_250, 1_001_250), UTC, most=4, rows=5000
    )
    assert plan is not None
    assert len(plan.ranges) == 200  # 1,000,000 rows after the first page, 5,000 per range


def test_first_chain_stops_where_the_ranges_begin():
    """The first chain keeps rows before the first range's bound only."""
    plan = ranges.plan_split("wave", "id", {"page_size": 5}, rows(1, 2, 3, 4, 5), (100, 100), UTC)
    assert plan is not None
    first = plan.ranges[0]
    assert not first.past({"id": first.high - 1})
    assert first.past({"id": first.high})
    assert not first.past({"id": "not a number"})  # an unreadable key says nothing: the chain goes on


def test_timestamp_ranges_are_whole_seconds_with_an_offset():
    """mod_ts bounds are filter values the API takes: whole seconds, explicit +00:00."""
    first = [{"id": 1, "mod_ts": "2026-01-01T00:00:00.250+00:00"}]
    plan = ranges.plan_split(
        "wave", "mod_ts", {"page_size": 1}, first, (100, "2026-01-02T00:00:00+00:00"), UTC
    )
    assert plan is not None
    for part in (r.query({"page_size": 1}) for r in plan.ranges[1:]):
        assert part["mod_ts__gte"].endswith("+00:00")
        assert "." not in part["mod_ts__gte"]


def test_ids_split_strictly_inside_the_span():
    """Integer bounds lie in (first, last] and never repeat."""
    assert ranges.split_ids(10, 20, 4) == [13, 15, 18]
    assert ranges.split_ids(10, 10, 4) == []


# --- query builders ----------------------------------------------------------------------------


def test_fields_name_the_selection_the_keys_and_the_fk_behind_a_key_column():
    """`<fk>_key` is read from its FK object, so the FK is asked for; the keys always are."""
    props = {"id": {}, "mod_ts": {}, "item_id": {}, "item_id_key": {}, "descr": {}}
    assert query.requested_fields(props, ["item_id_key", "descr"], ["id", "mod_ts"]) == [
        "descr",
        "id",
        "item_id",
        "mod_ts",
    ]


def test_scope_filters_apply_only_where_the_entity_has_the_key():
    """facility_codes narrow entities with a facility_id; others are read whole."""
    config = {"facility_codes": ["F1", "F2"], "company_codes": []}
    assert query.scope_filters(config, {"facility_id": {}}) == {"facility_id__code__in": "F1,F2"}
    assert query.scope_filters(config, {"id": {}}) == {}


def test_bounds_reach_back_by_the_lookback_and_stop_at_the_run_start():
    """[bookmark - lookback, run start), whole seconds in UTC."""
    start = dt.datetime(2026, 3, 1, 10, 0, 0, 500000, tzinfo=UTC)
    assert query.bounds("mod_ts", start, 60, STARTED) == {
        "mod_ts__lt": "2026-03-01T12:00:00+00:00",
        "mod_ts__gte": "2026-03-01T09:59:00+00:00",
    }


def test_bounds_without_a_start_have_no_lower_bound():
    """A first run reads everything before the run start."""
    assert query.bounds("mod_ts", None, 60, STARTED) == {"mod_ts__lt": "2026-03-01T12:00:00+00:00"}


def test_backdated_pass_reads_rows_created_since_the_bound_with_an_older_key():
    """The second pass: create_ts in [lower, run start), mod_ts below lower, by id."""
    first = {"page_size": 5, "mod_ts__gte": "2026-03-01T09:59:00+00:00", "mod_ts__lt": "x", "fields": "id"}
    second = query.backdated_query(first, "mod_ts", first["mod_ts__gte"], STARTED)
    assert second == {
        "page_size": 5,
        "fields": "id",
        "ordering": "id",
        "create_ts__gte": "2026-03-01T09:59:00+00:00",
        "create_ts__lt": "2026-03-01T12:00:00+00:00",
        "mod_ts__lt": "2026-03-01T09:59:00+00:00",
    }


@pytest.mark.parametrize(
    ("theirs", "sent"),
    [
        (("2026-03-01T11:00:00Z", "2026-03-01T11:30:00Z"), ("2026-03-01T11:00:00Z", "2026-03-01T11:30:00Z")),
        (("2024-01-01", "2027-01-01T00:00:00Z"), ("2026-03-01T09:59:00+00:00", "2026-03-01T12:00:00+00:00")),
    ],
    ids=["a narrower filter is kept", "inside a wider filter the pass's own bounds are sent"],
)
def test_backdated_pass_sends_the_narrower_create_ts_bound_of_each_side(theirs, sent):
    """A stream filter on create_ts still scopes the second pass: each bound is the narrower of the two."""
    first = {
        "mod_ts__gte": "2026-03-01T09:59:00+00:00",
        "create_ts__gte": theirs[0],
        "create_ts__lt": theirs[1],
    }
    second = query.backdated_query(first, "mod_ts", first["mod_ts__gte"], STARTED)
    assert (second["create_ts__gte"], second["create_ts__lt"]) == sent


# --- page sizes ----------------------------------------------------------------------------------


def test_smaller_page_size_goes_into_the_params():
    """A first page asks for at most `size` rows."""
    assert with_page_size("u", {"page_size": 1250, "x": 1}, 625) == ("u", {"page_size": 625, "x": 1})


def test_page_size_never_grows():
    """A request already asking for fewer rows is left as it is."""
    assert with_page_size("u", {"page_size": 100}, 625) == ("u", {"page_size": 100})


def test_smaller_page_size_goes_into_a_links_query_keeping_its_cursor():
    """A next_page link keeps its cursor; only its page_size shrinks."""
    url, params = with_page_size("https://h/e/?cursor=a:b&page_size=1250", None, 625)
    assert params is None
    assert url == "https://h/e/?cursor=a:b&page_size=625"
    assert requested_rows(url, None) == 625


# --- split keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "honoured", "filters", "key"),
    [
        ("mod_ts,id", True, {}, "mod_ts"),
        ("id", True, {}, "id"),
        ("mod_ts,id", False, {}, None),
        ("mod_ts,id", True, {"mod_ts__gte": "x"}, None),
        (None, True, {}, None),
    ],
    ids=["keyed", "by-id", "ordering-ignored", "user-filters-the-key", "unordered"],
)
def test_split_key_only_when_ranges_concatenate_in_order(order, honoured, filters, key):
    """Split on the first ordering key only when the tenant honours it and no user filter binds it."""
    params = {"ordering": order} if order else {}
    assert ordering.split_key(params, "mod_ts", filters, honoured=honoured) == key


# --- counts --------------------------------------------------------------------------------------


def test_count_query_asks_one_row_in_paged_mode():
    """Paged mode counts; one row of the key is all a count needs."""
    assert counts.count_query({"page_mode": "sequenced", "page_size": 1250, "x": 1}, "-mod_ts") == {
        "page_mode": "paged",
        "page_size": 1,
        "ordering": "-mod_ts",
        "fields": "id,mod_ts",
        "x": 1,
    }


@pytest.mark.parametrize("payload", [{}, {"result_count": None}, {"result_count": True}, [], "7"])
def test_an_answer_without_an_integer_result_count_is_an_error_never_zero(payload):
    """result_count is read strictly: anything but an integer fails."""
    with pytest.raises(FatalError, match="without an integer result_count"):
        counts.result_count(payload, "https://h/wms/lgfapi/v10/entity/wave/?page_mode=paged")


def test_count_and_first_key_of_a_counted_page():
    """(count, first key) of a counted page; no rows means nothing to split."""
    url = "https://h/wms/lgfapi/v10/entity/wave/"
    assert counts.count_and_first_key({"result_count": 9, "results": [{"id": 40}]}, "id", url) == (9, 40)
    assert counts.count_and_first_key({"result_count": 0, "results": []}, "id", url) is None


# --- coerce --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "types", "out"),
    [
        ("42", "integer", 42),
        (Decimal("3.0"), "integer", 3),
        (Decimal("3.5"), "integer", _CANNOT),
        (7, "string", "7"),
        (Unparsable("x"), "string", _CANNOT),
        ("abc", "integer", _CANNOT),
    ],
)
def test_coerce_converts_only_without_loss(value, types, out):
    """A value of the wrong type becomes the schema's when nothing is lost, else it cannot."""
    assert coerce(value, allowed_types({"type": [types, "null"]})) == out


# --- resuming a lost page ------------------------------------------------------------------------


@pytest.fixture
def listing() -> Listing:
    tap = TapOracleWMS(
        config={"base_url": "https://h.example.com/env", "username": "u", "password": "p-secret"},
        setup_mapper=False,
    )
    return Listing(
        tap.run.client,
        "wave",
        orderings=("mod_ts,id", "id", None),
        replication_key="mod_ts",
        user_filters={},
        probe_filters={},
    )


def test_listing_by_id_resumes_after_the_last_id(listing):
    """ordering=id: the keyset query is id__gt the last row's id; every row it returns is new."""
    resume = listing.resume({"ordering": "id", "page_size": 5}, {"id": 40})
    assert resume is not None
    assert resume.params == {"ordering": "id", "page_size": 5, "id__gt": 40}


def test_keyed_listing_resumes_from_the_last_second_and_drops_rows_already_read(listing):
    """ordering=mod_ts,id: restart at the last row's whole second, keep only rows after (mod_ts, id)."""
    last = {"id": 40, "mod_ts": "2026-03-01T10:00:00.700+00:00"}
    resume = listing.resume({"ordering": "mod_ts,id"}, last)
    assert resume is not None
    assert resume.params["mod_ts__gte"] == "2026-03-01T10:00:00+00:00"
    assert not resume.keep({"id": 39, "mod_ts": "2026-03-01T10:00:00.700+00:00"})
    assert resume.keep({"id": 41, "mod_ts": "2026-03-01T10:00:00.700+00:00"})


def test_a_resumed_listing_drops_odd_rows_read_before_and_reads_ids_sent_as_text(listing):
    """Rows before the last row read are dropped by their place, also one whose mod_ts cannot be
    read; ids sent as text compare as their integers; from the last row on, every row is new."""
    last = {"id": 40, "mod_ts": "2026-03-01T10:00:00.700+00:00"}
    resume = listing.resume({"ordering": "mod_ts,id"}, {**last, "id": "40"})
    assert resume is not None
    assert not resume.keep({"id": "39", "mod_ts": "2026-03-01T10:00:00.100+00:00"})
    assert not resume.keep({"id": 38, "mod_ts": "2026-03-01T10:00:00 UTC"})
    assert not resume.keep(last)
    assert resume.keep({"id": 37, "mod_ts": "2026-03-01T10:00:00 UTC"})


def test_unordered_listing_cannot_resume(listing):
    """Without an ordering there is no last row to continue after."""
    assert listing.resume({"page_size": 5}, {"id": 40}) is None
