"""stream_filters lists reach lgfapi in its own form, for the data and for the row counts."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from clirun import config_error
from tapruns import discover, instant, settle, sync, tap_config
from test_row_counts import counts_of, with_counts

from tap_oracle_wms.lgfapi.wire import filter_timestamp

STATUSES = [0, 10]


def test_an_in_filter_list_reads_every_row_of_every_value(sandbox):
    """{"status_id__in": [0, 10]} is sent as status_id__in=0,10: the rows of both statuses come."""
    config = tap_config(sandbox, "order_hdr", stream_filters={"order_hdr": {"status_id__in": STATUSES}})
    out = sync(config, catalog=discover(config))
    truth = [row["id"] for row in sandbox.truth("order_hdr") if row["status_id"] in STATUSES]
    assert {r["status_id"] for r in out.records("order_hdr")} == set(STATUSES)
    assert sorted({r["id"] for r in out.records("order_hdr")}) == sorted(truth)


def test_row_counts_use_the_same_in_filter_list(sandbox):
    """wms_row_counts counts the rows of every value in the list, as the stream reads them."""
    config = tap_config(sandbox, "order_hdr", stream_filters={"order_hdr": {"status_id__in": STATUSES}})
    out = sync(config, catalog=with_counts(discover(config)))
    truth = [row for row in sandbox.truth("order_hdr") if row["status_id"] in STATUSES]
    assert counts_of(out)[("order_hdr", "total")] == len(truth)


@pytest.mark.parametrize("key", ["status_id", "status_id__lt"])
def test_a_list_for_an_operator_taking_one_value_is_refused(tmp_path, sandbox, key):
    """A list for `=` or `__lt` would be sent as repeated keys (the API keeps the last): exit 2."""
    config_error(
        tmp_path,
        sandbox,
        f"stream_filters for stream 'wave': '{key}' takes one value, got a list "
        f"(only __in takes a list, __range a pair): [0, 10]",
        stream_filters={"wave": {key: STATUSES}},
    )


def test_a_range_takes_a_pair(tmp_path, sandbox):
    """status_id__range needs exactly two values."""
    config_error(
        tmp_path,
        sandbox,
        "stream_filters for stream 'wave': 'status_id__range' takes two values (a pair), got [0, 10, 20]",
        stream_filters={"wave": {"status_id__range": [0, 10, 20]}},
    )


def test_a_create_ts_filter_scopes_the_backdated_pass_too(sandbox):
    """Rows created after a create_ts__lt filter's bound stay out, even those the backdated pass reads."""
    bound = filter_timestamp(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    config = tap_config(sandbox, "order_hdr", stream_filters={"order_hdr": {"create_ts__lt": bound}})
    first = sync(config)
    settle()
    backdate = (dt.datetime.now(dt.UTC) - instant(first.bookmark("order_hdr"))).total_seconds() + 3600
    burst = sandbox.activity(entity="order_hdr", inserts=3, updates=0, deletes=0, backdate_s=backdate)
    settle()
    second = sync(config, state=first.last_state)
    assert burst["backdated_ids"]
    assert not set(burst["backdated_ids"]) & {r["id"] for r in second.records("order_hdr")}


def test_a_naive_create_ts_bound_keeps_its_scope_whatever_tenant_timezone_says(sandbox):
    """The API reads a naive bound in the user's zone (New York); tenant_timezone at UTC must not widen it.

    Read as UTC, a bound two hours ahead in New York looks earlier than the window's start, and the
    backdated pass sent the window's start instead: rows created before the filter's bound came.
    """
    config = tap_config(sandbox, "order_hdr")
    first = sync(config)
    settle()
    sandbox.activity(entity="order_hdr", inserts=2, updates=0, deletes=0)
    settle()
    second = sync(config, state=first.last_state)
    settle()
    burst = sandbox.activity(entity="order_hdr", inserts=3, updates=0, deletes=0, backdate_s=3600)
    settle()
    later = dt.datetime.now(ZoneInfo("America/New_York")) + dt.timedelta(hours=2)
    bound = later.replace(tzinfo=None).isoformat(timespec="seconds")
    filtered = tap_config(sandbox, "order_hdr", stream_filters={"order_hdr": {"create_ts__gte": bound}})
    third = sync(filtered, state=second.last_state)
    assert burst["backdated_ids"]
    assert not third.records("order_hdr")
