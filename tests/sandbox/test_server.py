"""The real server: faults, latency, concurrency cap, activity, admin routes, CLI (docs/lgfapi.md 4, 8.7)."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tap_oracle_wms_sandbox.state import knob_names

ADMIN = ("admin", "admin-password")


def get(sb, path, **kw):
    """GET an API path on the real server as admin."""
    return httpx.get(sb.api_url + path, auth=ADMIN, timeout=10, **kw)


def test_drop_closes_the_connection_without_a_response(sandbox):
    """docs/lgfapi.md 8.7: fault "drop" = the connection closes with no response at all."""
    sandbox.configure(fault_rate=1.0, faults=("drop",))
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        get(sandbox, "entity/wave/")


def test_truncate_sends_a_partial_body(sandbox):
    """docs/lgfapi.md 8.7: fault "truncate" = a short body, then the connection closes."""
    sandbox.configure(fault_rate=1.0, faults=("truncate",))
    with pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|complete message body"):
        get(sandbox, "entity/wave/")


def test_slow_body_takes_slow_body_s(sandbox):
    """docs/lgfapi.md 8.7: fault "slow" = a complete but slow body."""
    sandbox.configure(fault_rate=1.0, faults=("slow",), slow_body_s=0.4)
    start = time.monotonic()
    r = get(sandbox, "entity/wave/")
    assert r.status_code == 200
    assert r.json()["results"]
    assert time.monotonic() - start >= 0.35


@pytest.mark.parametrize("kind", ["429", "503"])
def test_throttle_faults_carry_retry_after(sandbox, kind):
    """docs/lgfapi.md 4.3: 429/503 answers carry Retry-After (knob retry_after_s)."""
    sandbox.configure(fault_rate=1.0, faults=(kind,), retry_after_s=3)
    r = get(sandbox, "entity/wave/")
    assert r.status_code == int(kind)
    assert r.headers["retry-after"] == "3"
    assert r.json()["code"]


@pytest.mark.parametrize("kind", ["500", "409"])
def test_error_faults_have_error_bodies(sandbox, kind):
    """docs/lgfapi.md 4.1: 500 unhandled / 409 record changed, with the error body."""
    sandbox.configure(fault_rate=1.0, faults=(kind,))
    r = get(sandbox, "entity/wave/")
    assert r.status_code == int(kind)
    assert set(r.json()) >= {"reference", "code", "message"}


def test_fault_choice_is_reproducible_with_seed(sandbox):
    """Knob fault_rate: the same seed gives the same fault sequence."""

    def run():
        sandbox.configure(seed=sandbox.config.seed, fault_rate=0.5, faults=("500", "503"))
        return [get(sandbox, "entity/wave/").status_code for _ in range(12)]

    first = run()
    assert first == run()
    assert len(set(first)) > 1


def test_faults_never_hit_admin_routes(sandbox):
    """Faults apply to lgfapi routes only; /_admin keeps answering."""
    sandbox.configure(fault_rate=1.0, faults=("500",))
    assert httpx.get(sandbox.root_url + "/_admin/config").status_code == 200


def test_latency_is_async_so_concurrent_requests_overlap(sandbox):
    """Knob latency_ms: per-request delay; concurrent requests overlap (async sleep)."""
    sandbox.configure(latency_ms=1000)
    start = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda _: get(sandbox, "entity/wave/").status_code, range(4)))
    elapsed = time.monotonic() - start
    assert codes == [200] * 4
    assert 1.0 <= elapsed < 2.5  # one after another would take 4 s; a loaded machine adds to 1 s


def test_concurrency_cap_answers_429_with_retry_after(sandbox):
    """Knob max_concurrency: requests above the cap get 429 + Retry-After (docs/lgfapi.md 4.3)."""
    sandbox.configure(max_concurrency=2, latency_ms=300)
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: get(sandbox, "entity/wave/"), range(5)))
    codes = sorted(r.status_code for r in answers)
    assert codes.count(200) == 2
    assert codes.count(429) == 3
    assert all(r.headers["retry-after"] for r in answers if r.status_code == 429)


def test_activity_burst_updates_share_one_new_mod_ts(sandbox):
    """docs/lgfapi.md 2.9: a bulk update gives all its rows ONE mod_ts, newer than the seed."""
    out = sandbox.activity("inventory", inserts=2, updates=10, deletes=1)
    assert len(out["updated_ids"]) == 10
    truth = {r["id"]: r for r in sandbox.truth("inventory")}
    assert len({truth[i]["mod_ts"] for i in out["updated_ids"]}) == 1
    assert all(i in truth for i in out["inserted_ids"])
    assert all(i not in truth for i in out["deleted_ids"])
    newest = max(r["mod_ts"] for r in truth.values())
    r = get(sandbox, "entity/inventory/", params={"mod_ts__gte": newest, "fields": "id"})
    assert r.status_code == 200


def test_continuous_activity_runs_until_stopped(sandbox):
    """Issue 2: the activity simulator runs continuously while a sync runs."""
    before = len(sandbox.truth("order_hdr"))
    sandbox.start_activity(interval_s=0.01, entities=["order_hdr"], inserts=1, updates=2)
    time.sleep(0.2)
    totals = sandbox.stop_activity()
    assert totals["bursts"] > 0
    assert len(sandbox.truth("order_hdr")) == before + totals["inserted"]


def test_truth_equals_full_listing(sandbox):
    """Admin ground truth = what a full listing gives that user, sorted by id."""
    url = sandbox.api_url + "entity/order_hdr/?page_mode=sequenced&page_size=7"
    rows = []
    while url:
        body = httpx.get(url, auth=("limited", "limited-password")).json()
        rows += body["results"]
        url = body["next_page"]
    assert rows == sandbox.truth("order_hdr", user="limited")
    via_http = httpx.get(sandbox.root_url + "/_admin/truth/order_hdr?user=limited").json()
    assert via_http == rows


def test_admin_config_roundtrip(sandbox):
    """POST /_admin/config changes knobs at run time; GET shows them."""
    r = httpx.post(sandbox.root_url + "/_admin/config", json={"catalog_shape": "list"})
    assert r.json()["catalog_shape"] == "list"
    assert isinstance(get(sandbox, "entity/").json(), list)
    bad = httpx.post(sandbox.root_url + "/_admin/config", json={"catalog_shape": "tree"})
    assert bad.status_code == 400


def test_admin_activity_routes(sandbox):
    """POST /_admin/activity runs one burst; start/stop drive the continuous simulator."""
    out = httpx.post(
        sandbox.root_url + "/_admin/activity",
        json={"entity": "wave", "inserts": 1, "updates": 2, "deletes": 0},
    ).json()
    assert len(out["inserted_ids"]) == 1
    assert httpx.post(sandbox.root_url + "/_admin/activity/start", json={"interval_s": 0.01}).json()
    assert "bursts" in httpx.post(sandbox.root_url + "/_admin/activity/stop").json()


def test_request_log_records_user_status_and_query(sandbox):
    """sb.requests / GET /_admin/requests: method, path, query, status, user, with counts."""
    sandbox.clear_requests()
    get(sandbox, "entity/wave/", params={"page_size": "2"})
    entry = sandbox.requests[-1]
    assert (entry.method, entry.status, entry.user) == ("GET", 200, "admin")
    assert entry.query == {"page_size": "2"}
    assert httpx.get(sandbox.root_url + "/_admin/requests").json()["by_status"] == {"200": 1}


def test_reset_restores_data_knobs_and_log(sandbox):
    """sb.reset(): pristine data, initial knobs, empty log."""
    before = sandbox.truth("wave")
    sandbox.activity("wave", inserts=3, updates=1, deletes=0)
    sandbox.configure(latency_ms=5)
    sandbox.reset()
    assert sandbox.truth("wave") == before
    assert sandbox.config.latency_ms == 0
    assert sandbox.requests == []


def test_cli_help_documents_every_knob():
    """Issue 2: `tap-oracle-wms-sandbox --help` documents every knob."""
    out = subprocess.run(
        [sys.executable, "-m", "tap_oracle_wms_sandbox.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in knob_names():
        assert "--" + name.replace("_", "-") in out


def test_cli_serves_documented_shapes():
    """The CLI starts a server whose catalog and lists have the documented shapes."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tap_oracle_wms_sandbox.cli", "--scale", "100"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base = proc.stdout.readline().split()[1]
        catalog = httpx.get(base + "/wms/lgfapi/v10/entity/", auth=ADMIN).json()
        assert catalog["wave"].endswith("/entity/wave")
        body = httpx.get(base + "/wms/lgfapi/v10/entity/wave/", auth=ADMIN).json()
        assert "result_count" in body
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
