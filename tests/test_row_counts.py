"""wms_row_counts: the source's counts, equal to the sandbox's truth, for a completeness check downstream."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from local_server import Answer, serving
from tapruns import discover, instant, settle, sync, tap_config

from tap_oracle_wms.run import StreamsFailedError

UTC = dt.UTC
ENTITIES = ("inventory", "order_status")  # one with mod_ts, one lookup table without it


def with_counts(catalog: dict) -> dict:
    """The catalog with wms_row_counts selected as well."""
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] == "wms_row_counts":
            root(entry)["selected"] = True
    return catalog


def root(entry: dict) -> dict:
    return next(m for m in entry["metadata"] if m["breadcrumb"] == [])["metadata"]


def counts_of(out) -> dict[tuple[str, str], int]:
    return {(r["entity"], r["bucket"]): r["row_count"] for r in out.records("wms_row_counts")}


def truth_by_day(rows: list[dict], until: dt.datetime) -> dict[str, int]:
    days: dict[str, int] = {}
    for row in rows:
        moment = instant(row["mod_ts"])
        if moment < until:
            day = moment.astimezone(UTC).date().isoformat()
            days[day] = days.get(day, 0) + 1
    return days


def test_row_counts_stream_is_discovered_but_not_selected(sandbox):
    """Discovery lists wms_row_counts; users opt in."""
    catalog = discover(tap_config(sandbox, *ENTITIES))
    entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == "wms_row_counts")
    assert entry["key_properties"] == ["entity", "bucket"]
    assert root(entry)["selected"] is False


def test_counts_equal_the_truth_in_total_and_per_day(sandbox):
    """Each selected stream's total, and each of the last row_count_days UTC days, equal the truth."""
    sandbox.activity(entity="inventory", inserts=4, updates=6, deletes=1)
    settle()
    config = tap_config(sandbox, *ENTITIES, row_count_days=3)
    out = sync(config, catalog=with_counts(discover(config)))
    counts = counts_of(out)
    started = max(instant(r["counted_at"]) for r in out.records("wms_row_counts"))
    for entity in ENTITIES:
        assert counts[(entity, "total")] == len(sandbox.truth(entity))
    days = truth_by_day(sandbox.truth("inventory"), started)
    recent = {b for entity, b in counts if entity == "inventory" and b != "total" and "T" not in b}
    assert len(recent) == 3
    for bucket in recent:
        assert counts[("inventory", bucket)] == days.get(bucket, 0)
    newest = max(instant(r["mod_ts"]) for r in sandbox.truth("inventory"))
    assert counts[("inventory", newest.astimezone(UTC).date().isoformat())] > 0  # the burst's day is counted
    assert not [b for e, b in counts if e == "order_status" and b != "total"]  # no mod_ts, total only


@pytest.mark.parametrize(
    ("settings", "keep"),
    [
        ({"facility_codes": ["DC01"]}, lambda row: row["facility_id"]["key"] == "DC01"),
        ({"stream_filters": {"inventory": {"curr_qty__gt": 50}}}, lambda row: float(row["curr_qty"]) > 50),
    ],
    ids=["facility scope", "stream filter"],
)
def test_counts_apply_the_same_scope_as_the_data(sandbox, settings, keep):
    """Facility/company codes and stream filters narrow the counts as they narrow the rows."""
    config = tap_config(sandbox, "inventory", **settings)
    out = sync(config, catalog=with_counts(discover(config)))
    expected = sum(1 for row in sandbox.truth("inventory") if keep(row))
    assert counts_of(out)[("inventory", "total")] == expected
    assert len(out.records("inventory")) == expected


def test_counts_cost_one_request_per_stream_and_bucket(sandbox):
    """A count is one paged request of one row; the cost is streams x (days + 1)."""
    config = tap_config(sandbox, *ENTITIES, row_count_days=2, drift_window_hours=0)
    catalog = with_counts(discover(config))
    sandbox.clear_requests()
    sync(config, catalog=catalog)
    counting = [
        r for r in sandbox.requests if r.query.get("page_mode") == "paged" and r.query.get("page_size") == "1"
    ]
    assert len(counting) == 1 * (2 + 1) + 1 * 1


def test_an_entity_refusing_every_ordering_is_counted(sandbox):
    """Counts send no ordering: an entity that answers 400 to any is counted all the same."""
    config = tap_config(sandbox, "inventory", row_count_days=1)
    catalog = with_counts(discover(config))
    sandbox.configure(ordering_rejects=("inventory:any",))
    out = sync(config, catalog=catalog)
    assert counts_of(out)[("inventory", "total")] == len(sandbox.truth("inventory"))


class NoResultCount(Answer):
    """One inventory row on every list page, and no `result_count` even in paged mode."""

    def reply(self) -> tuple[int, str, bytes]:
        page = {"results": [{"id": 1, "mod_ts": "2026-01-01T00:00:00+00:00"}], "next_page": None}
        return 200, "application/json", json.dumps(page).encode()


def test_a_count_answer_without_result_count_fails_the_stream_instead_of_counting_zero(sandbox):
    """A paged page that does not say how many rows there are is no count: exit 1 naming it, never a 0."""
    catalog = with_counts(discover(tap_config(sandbox, "inventory")))
    with serving(NoResultCount) as base_url:
        config = {**tap_config(sandbox, "inventory", drift_window_hours=0), "base_url": base_url}
        with pytest.raises(StreamsFailedError) as failed:
            sync({**config, "allow_insecure_http": True}, catalog=catalog)
    assert list(failed.value.failures) == ["wms_row_counts"]
    assert "without an integer result_count" in failed.value.failures["wms_row_counts"]
    assert failed.value.output.records("wms_row_counts") == []  # type: ignore[attr-defined]
    assert len(failed.value.output.records("inventory")) == 1  # type: ignore[attr-defined]


def test_counts_with_start_date_count_what_the_load_reads(sandbox):
    """With start_date the counts start where the load does (less lookback_seconds): no false difference."""
    sandbox.activity(entity="inventory", inserts=3, updates=4, deletes=0)
    settle()
    start = dt.datetime.now(UTC).replace(microsecond=0)  # between two bursts of today's activity
    settle()
    sandbox.activity(entity="inventory", inserts=2, updates=3, deletes=0)
    settle()
    config = tap_config(sandbox, "inventory", start_date=start.isoformat(), row_count_days=2)
    out = sync(config, catalog=with_counts(discover(config)))
    counts = counts_of(out)
    loaded = [instant(r["mod_ts"]) for r in out.records("inventory")]
    assert 0 < counts[("inventory", "total")] == len(loaded) < len(sandbox.truth("inventory"))
    load_days = {t.astimezone(UTC).date().isoformat() for t in loaded}  # two if the run straddles midnight
    assert sum(counts[("inventory", day)] for day in load_days) == len(loaded)


def test_the_demo_comparison_sums_day_buckets_apart_from_the_drift_check_hours(sandbox, tmp_path):
    """scripts/reconcile.py (make demo) says 'by day' of the days only; each hour is still compared."""
    sandbox.activity(entity="inventory", inserts=4, updates=6, deletes=1)
    settle()
    config = tap_config(sandbox, "inventory", row_count_days=3)
    out = sync(config, catalog=with_counts(discover(config)))
    for stream in ("inventory", "wms_row_counts"):  # as target-jsonl writes them
        lines = [json.dumps(record) for record in out.records(stream)]
        (tmp_path / f"{stream}.jsonl").write_text("\n".join(lines) + "\n")
    counts = counts_of(out)
    days = sum(n for (_, bucket), n in counts.items() if bucket != "total" and "T" not in bucket)
    hours = sum(1 for _, bucket in counts if "T" in bucket)
    script = Path(__file__).parent.parent / "scripts" / "reconcile.py"
    run = subprocess.run([sys.executable, script, tmp_path], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    total = counts[("inventory", "total")]
    assert run.stdout.splitlines()[1].split() == [
        "inventory",
        f"{total:,}",
        f"{total:,}",
        f"{days:,}",
        f"{days:,}",
        "0",
    ]
    assert f"the last 3 UTC days of mod_ts, summed; each day, and each of the {hours} hours" in run.stdout
    assert run.stdout.splitlines()[-1] == "every difference is zero"


def test_the_demo_comparison_of_a_file_without_the_total_shows_the_days(sandbox, tmp_path):
    """A wms_row_counts file cut to its day buckets (no 'total' row): the days are compared, no crash."""
    config = tap_config(sandbox, "inventory", row_count_days=3)
    out = sync(config, catalog=with_counts(discover(config)))
    kept = {"inventory": out.records("inventory")}
    kept["wms_row_counts"] = [r for r in out.records("wms_row_counts") if r["bucket"] != "total"]
    for stream, records in kept.items():
        (tmp_path / f"{stream}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    script = Path(__file__).parent.parent / "scripts" / "reconcile.py"
    run = subprocess.run([sys.executable, script, tmp_path], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[1].split()[:3] == ["inventory", "-", "-"]
    assert run.stdout.splitlines()[-1] == "every difference is zero"
