"""Credentials on every request: HTTP Basic, or OAuth2 client credentials with one token, renewed in time."""

from __future__ import annotations

import datetime as dt

import pytest
from clirun import api_requests, assert_one_line_failure, run_tap
from tapruns import oauth_config, page_requests, sync, tap_config

from tap_oracle_wms.lgfapi.errors import FatalError
from tap_oracle_wms.run import StreamsFailedError

# A fatal failure, whichever side reports it: the client (the run stops) or the run (streams failed).
FATAL = (FatalError, StreamsFailedError)


def list_requests(sandbox, entity: str):
    return page_requests(sandbox, entity)


def token_requests(sandbox):
    return [r for r in sandbox.requests if r.path.rstrip("/").endswith("oauth2/v1/token")]


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


# --- the OAuth2 token endpoint -----------------------------------------------------------------


@pytest.mark.parametrize(("mode", "answer"), [("html", "HTML, not JSON"), ("invalid_json", "invalid JSON")])
def test_token_endpoint_answering_no_json_names_oauth_token_url(tmp_path, sandbox, mode, answer):
    """A token endpoint answering an HTML page or broken JSON: one line naming oauth_token_url."""
    sandbox.configure(token_endpoint=mode)
    run = run_tap(tmp_path, oauth_config(sandbox, "wave"), "--discover")
    assert_one_line_failure(
        run,
        f"sync failed: OAuth2 token request to oauth_token_url answered {answer} (HTTP 200): "
        "check oauth_token_url.",
        1,
    )
    assert api_requests(sandbox) == []


def test_token_endpoint_redirect_is_not_followed(tmp_path, sandbox):
    """A token endpoint redirecting elsewhere: one line naming where, and no request sent there."""
    sandbox.configure(token_endpoint="redirect")
    run = run_tap(tmp_path, oauth_config(sandbox, "wave"), "--discover")
    assert_one_line_failure(
        run,
        f"sync failed: OAuth2 token request to oauth_token_url redirects to http://localhost:{sandbox.port} "
        "(HTTP 307): set it to the token endpoint itself.",
        1,
    )
    assert [r.path for r in sandbox.requests if r.path.endswith("/token")] == ["/oauth2/v1/token"]
    assert api_requests(sandbox) == []


def test_token_without_expires_in_is_used(sandbox):
    """A token answer without expires_in is fine: the token is used (and renewed after an hour)."""
    sandbox.configure(token_endpoint="no_expires_in")
    out = sync(oauth_config(sandbox, "wave"))
    assert out.records("wave")


def test_auth_method_wins_over_the_other_methods_settings_with_one_info_line(tmp_path, sandbox):
    """auth_method=oauth2 beside a username/password that would fail (meltano.yml's, say, with the
    method from the environment): OAuth2 is used, one INFO line."""
    config = oauth_config(sandbox, "wave", username="nobody", password="not-the-password")
    run = run_tap(tmp_path, config)
    assert run.code == 0, run.stderr
    assert run.stderr.count("auth_method=oauth2: username, password ignored") == 1
