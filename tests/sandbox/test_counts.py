"""Paged result_count equals the rows the same filters select (the tap counts rows per UTC day)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sandbox_helpers import API, LIMITED, basic, state_truth


def day_of(ts: str) -> datetime:
    """Midnight UTC of the day an offset date-time falls on."""
    moment = datetime.fromisoformat(ts).astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def api_count(client, entity: str, params: dict[str, str], headers: dict | None = None) -> int:
    """result_count of a paged page_size=1 request (a 404 "no records" counts 0)."""
    r = client.get(API + f"entity/{entity}/", params={"page_size": "1", **params}, headers=headers)
    if r.status_code == 404:
        assert r.json()["message"] == "No records found."
        return 0
    assert r.status_code == 200, r.text
    return r.json()["result_count"]


def busiest_days(rows: list[dict], n: int = 4) -> list[datetime]:
    """The n UTC days of mod_ts with most rows, and the quietest one."""
    days = Counter(day_of(r["mod_ts"]) for r in rows).most_common()
    return [d for d, _ in days[:n]] + [days[-1][0]]


def day_filter(day: datetime) -> dict[str, str]:
    """mod_ts__gte / mod_ts__lt of one UTC day, with an explicit offset."""
    return {"mod_ts__gte": day.isoformat(), "mod_ts__lt": (day + timedelta(days=1)).isoformat()}


def in_day(row: dict, day: datetime) -> bool:
    """Whether a row's mod_ts falls on that UTC day."""
    return day_of(row["mod_ts"]) == day


@pytest.mark.parametrize("entity", ["order_hdr", "order_dtl", "inventory", "oblpn"])
def test_result_count_per_utc_day_matches_truth(client, state, entity):
    """result_count of one UTC day of mod_ts = the truth's rows of that day."""
    rows = state_truth(state, entity)
    for day in busiest_days(rows):
        expected = sum(in_day(r, day) for r in rows)
        assert api_count(client, entity, day_filter(day)) == expected, day


def test_result_count_with_scope_and_user_filter_matches_truth(client, state):
    """facility/company scoping plus status_id__lt=90: result_count = filtered truth."""
    rows = state_truth(state, "order_hdr")
    scope = {"facility_id__code__in": "DC01", "company_id__code__in": "ACME,GLOBEX", "status_id__lt": "90"}
    for day in busiest_days(rows):
        expected = sum(
            in_day(r, day) and r["facility_id"]["key"] == "DC01" and r["status_id"] < 90 for r in rows
        )
        assert api_count(client, "order_hdr", {**day_filter(day), **scope}) == expected, day
    assert api_count(client, "order_hdr", scope) == sum(
        r["facility_id"]["key"] == "DC01" and r["status_id"] < 90 for r in rows
    )


def test_result_count_for_a_limited_user_matches_its_truth(client, state):
    """A user with limited eligibility: result_count counts only the rows it may see."""
    rows = state_truth(state, "inventory", "limited")
    everyone = state_truth(state, "inventory")
    assert 0 < len(rows) < len(everyone)
    for day in busiest_days(everyone):
        expected = sum(in_day(r, day) for r in rows)
        got = api_count(client, "inventory", day_filter(day), basic(LIMITED))
        assert got == expected, day
    scope = {"facility_id__code__in": "DC01,DC02", "company_id__code__in": "GLOBEX"}
    assert api_count(client, "inventory", scope, basic(LIMITED)) == 0
    assert api_count(client, "inventory", {"company_id__code__in": "ACME"}, basic(LIMITED)) == len(rows)


def test_result_count_follows_activity(client, state):
    """After a burst the day's result_count still equals the truth (inserts and new mod_ts)."""
    from tap_oracle_wms_sandbox import activity

    out = activity.burst(state, "order_hdr", inserts=4, updates=6, deletes=2)
    rows = state_truth(state, "order_hdr")
    today = day_of(max(r["mod_ts"] for r in rows))
    expected = sum(in_day(r, today) for r in rows)
    assert expected >= len(out["inserted_ids"]) == 4
    assert api_count(client, "order_hdr", day_filter(today)) == expected
