"""How the base stream talks HTTP: auth, paging, empty lists, retries and fatal answers."""

from __future__ import annotations

import backoff._sync
import pytest
from tapruns import oauth_config, page_requests, sync, tap_config

from tap_oracle_wms.lgfapi.errors import FatalError
from tap_oracle_wms.run import StreamsFailedError

# A fatal failure, whichever side reports it: the client (the run stops) or the run (streams failed).
FATAL = (FatalError, StreamsFailedError)


@pytest.fixture
def waits(monkeypatch):
    """Record the backoff waits instead of sleeping them."""
    slept: list[float] = []

    class FakeTime:
        @staticmethod
        def sleep(seconds: float) -> None:
            slept.append(seconds)

    monkeypatch.setattr(backoff._sync, "time", FakeTime)
    return slept


def list_requests(sandbox, entity: str):
    return page_requests(sandbox, entity)


def token_requests(sandbox):
    return [r for r in sandbox.requests if r.path.rstrip("/").endswith("oauth2/v1/token")]


# --- paging ---------------------------------------------------------------------------------


def test_first_page_asks_for_sequenced_mode_page_size_and_ordering(sandbox):
    """The first request sets page_mode=sequenced, page_size and ordering=mod_ts,id."""
    sync(tap_config(sandbox, "location", page_size=40))
    first = list_requests(sandbox, "location")[0]
    assert first.query["page_mode"] == "sequenced"
    assert first.query["page_size"] == "40"
    assert first.query["ordering"] == "mod_ts,id"


def test_next_page_link_followed_verbatim(sandbox):
    """Every later request is exactly the server's next_page link: its cursor, nothing rebuilt."""
    out = sync(tap_config(sandbox, "location", page_size=6))
    pages = list_requests(sandbox, "location")
    assert len(pages) >= 3
    assert all("cursor" in page.query for page in pages[1:])
    assert all(page.query.get("page_size") == "6" for page in pages)
    assert len(out.records("location")) == len(sandbox.truth("location"))


def test_empty_list_404_yields_no_rows(sandbox):
    """A list that matches nothing is a 404 with the error body: zero rows, not a failure."""
    config = tap_config(sandbox, "wave", stream_filters={"wave": {"id__lt": 0}})
    out = sync(config)
    assert out.records("wave") == []
    assert list_requests(sandbox, "wave")[0].status == 404


def test_other_404_is_fatal_and_names_base_url(sandbox):
    """A 404 that is not an empty list (wrong environment in base_url) stops the run."""
    config = tap_config(sandbox, "wave", base_url=sandbox.base_url + "-nope")
    with pytest.raises(FATAL, match="base_url"):
        sync(config)


def test_selected_subset_is_pushed_down_as_fields(sandbox):
    """Deselecting properties sends fields= with the selected ones (plus id and mod_ts)."""
    from tapruns import discover

    config = tap_config(sandbox, "item")
    catalog = discover(config)
    entry = catalog["streams"][0]
    keep = {"id", "mod_ts", "company_id"}
    for md in entry["metadata"]:
        crumb = md["breadcrumb"]
        if crumb == []:
            md["metadata"]["selected"] = True
        elif crumb[-1] not in keep:
            md["metadata"]["selected"] = False
    sandbox.clear_requests()
    out = sync(config, catalog=catalog)
    first = list_requests(sandbox, "item")[0]
    assert set(first.query["fields"].split(",")) == keep
    assert all(set(r) == keep for r in out.records("item"))


# --- auth -----------------------------------------------------------------------------------


def test_basic_auth_syncs(sandbox):
    """HTTP Basic with the API user's credentials."""
    out = sync(tap_config(sandbox, "wave"))
    assert out.records("wave")
    assert {r.user for r in list_requests(sandbox, "wave")} == {"admin"}


def test_rejected_basic_credentials_are_fatal_and_say_so(sandbox):
    """401: one clear error naming username and password; never retried."""
    with pytest.raises(FATAL, match=r"HTTP 401.*username and password"):
        sync(tap_config(sandbox, "wave", password="wrong"))


def test_missing_read_permission_is_fatal_and_names_it(sandbox):
    """403: the message names lgfapi_read_access and facility/company eligibility."""
    with pytest.raises(FATAL, match="lgfapi_read_access"):
        sync(tap_config(sandbox, "wave", username="noaccess", password="noaccess-password"))


def test_bad_filter_400_is_fatal_with_the_server_error(sandbox):
    """400: the server's code and message, and the request's path and query."""
    config = tap_config(sandbox, "wave", stream_filters={"wave": {"no_such_field": 1}})
    with pytest.raises(FATAL) as info:
        sync(config)
    text = str(info.value)
    assert "HTTP 400" in text
    assert "VALIDATION_ERROR" in text
    assert "no_such_field" in text
    assert "/entity/wave/" in text


def test_oauth2_client_credentials_syncs_with_one_token(sandbox):
    """OAuth2: one token request serves every page while the token is fresh."""
    out = sync(oauth_config(sandbox, "location", page_size=25))
    assert len(out.records("location")) == len(sandbox.truth("location"))
    assert len(token_requests(sandbox)) == 1


def test_oauth2_token_refreshed_before_expiry(sandbox):
    """A token close to expiry is replaced before it is used."""
    sandbox.configure(token_ttl_s=1, latency_ms=400)
    out = sync(oauth_config(sandbox, "location", page_size=25))
    assert len(out.records("location")) == len(sandbox.truth("location"))
    assert len(token_requests(sandbox)) >= 2
    assert all(r.status != 401 for r in list_requests(sandbox, "location"))


def test_oauth2_token_refreshed_once_on_401(sandbox, waits):
    """A token the API rejects is dropped and fetched again once; the run goes on."""
    import datetime as dt

    from tapruns import discover

    from tap_oracle_wms.lgfapi.auth import make_auth

    # No drift counts: their concurrent first requests would all meet the stale token.
    config = oauth_config(sandbox, "wave", sequenced_ordering="honoured", drift_window_hours=0)
    catalog = discover(config)

    def plant_stale_token(tap):
        auth = make_auth(tap.config)
        auth.access_token = "revoked-by-the-tenant"
        auth.last_refreshed = dt.datetime.now(dt.UTC)
        auth.expires_in = 3600
        tap.run.client.auth = auth

    sandbox.clear_requests()
    out = sync(config, catalog=catalog, prepare=plant_stale_token)
    assert out.records("wave")
    statuses = [r.status for r in sandbox.requests if r.path.rstrip("/").endswith("entity/wave")]
    first_ok = statuses.index(200)
    assert first_ok >= 1
    assert set(statuses[:first_ok]) == {401}
    assert 401 not in statuses[first_ok:]
    assert len(token_requests(sandbox)) == 1


def test_oauth2_token_rejected_twice_is_fatal(sandbox, waits):
    """A fresh token that the API rejects too is a fatal 401 naming the WMS user mapping."""
    config = oauth_config(sandbox, "wave", sequenced_ordering="honoured")
    from tapruns import discover

    catalog = discover(config)
    sandbox.configure(token_ttl_s=0)
    with pytest.raises(FATAL, match="user mapping"):
        sync(config, catalog=catalog)


def test_oauth2_bad_client_secret_names_the_token_request(sandbox):
    """A rejected token request says it was the token request and which settings to check."""
    config = oauth_config(sandbox, "wave", oauth_client_secret="wrong")
    with pytest.raises(FATAL, match=r"token request.*oauth_client_id and oauth_client_secret"):
        sync(config)


# --- retries --------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["500", "503", "429", "409", "drop", "truncate"])
def test_transient_fault_is_retried_and_the_sync_completes(sandbox, waits, fault):
    """Each transient fault on every other request: the run retries and still delivers all rows."""
    sandbox.configure(fault_rate=0.5, faults=[fault], retry_after_s=0.01)
    out = sync(tap_config(sandbox, "location", page_size=25, max_retries=20))
    assert len(out.records("location")) == len(sandbox.truth("location"))
    assert waits


def test_retry_after_is_honoured(sandbox, waits):
    """429 with Retry-After: the wait is at least what the server asked for."""
    sandbox.configure(fault_rate=0.5, faults=["429"], retry_after_s=7)
    sync(tap_config(sandbox, "wave", max_retries=20))
    assert waits
    assert min(waits) >= 7


def test_waits_grow_exponentially_without_retry_after(sandbox, waits):
    """Without Retry-After, consecutive waits double."""
    from tapruns import discover

    config = tap_config(sandbox, "wave", max_retries=3, sequenced_ordering="honoured", concurrency=1)
    catalog = discover(config)
    sandbox.configure(entity_faults=("wave:500",))
    with pytest.raises(StreamsFailedError, match="HTTP 500"):
        sync(config, catalog=catalog)
    assert len(waits) >= 3
    assert waits[1] >= 1.9 * waits[0] * 0.9
    assert waits[2] >= 1.9 * waits[1] * 0.9


def test_gives_up_after_max_retries(sandbox, waits):
    """A fault that never clears fails the stream after max_retries retries, with the status."""
    from tapruns import discover

    config = tap_config(sandbox, "wave", max_retries=2, sequenced_ordering="honoured")
    catalog = discover(config)
    sandbox.configure(entity_faults=("wave:503",), retry_after_s=0.01)
    sandbox.clear_requests()
    with pytest.raises(StreamsFailedError, match="wave: HTTP 503"):
        sync(config, catalog=catalog)
    assert len(list_requests(sandbox, "wave")) == 3
