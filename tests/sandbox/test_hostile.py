"""Hostile answers: odd Retry-After values, echoed credentials, a broken token endpoint."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from sandbox_helpers import API, basic


@pytest.mark.parametrize("value", ["100000", "-1", "NaN", "inf", "Wed, 21 Oct 2026 07:28:00 GMT"])
def test_retry_after_sends_the_raw_value(client, state, value):
    """retry_after: the raw Retry-After value of 429 and 503 answers, however odd."""
    state.configure(fault_rate=1.0, faults=("429", "503"), retry_after=value)
    for _ in range(4):
        r = client.get(API + "entity/wave/")
        assert r.status_code in (429, 503)
        assert r.headers["retry-after"] == value


def test_retry_after_goes_with_the_concurrency_cap(sandbox):
    """retry_after: the raw value also goes with the 429 of max_concurrency."""
    import httpx

    sandbox.configure(max_concurrency=1, latency_ms=300, retry_after="-1")
    with ThreadPoolExecutor(3) as pool:
        answers = list(
            pool.map(
                lambda _: httpx.get(sandbox.api_url + "entity/wave/", auth=("admin", "admin-password")),
                range(3),
            )
        )
    capped = [r for r in answers if r.status_code == 429]
    assert capped
    assert {r.headers["retry-after"] for r in capped} == {"-1"}


def test_retry_after_empty_falls_back_to_retry_after_s(client, state):
    """retry_after="" (default): the header is retry_after_s, as before."""
    state.configure(fault_rate=1.0, faults=("503",), retry_after_s=4)
    assert client.get(API + "entity/wave/").headers["retry-after"] == "4"


# ---- echo_credentials -------------------------------------------------------------------------

NASTY = 'pa\\ss"wo\nrd'  # backslash, quote, newline: JSON escaping changes each


def test_echo_credentials_echoes_the_exact_basic_password(client, state):
    """echo_credentials=on: a 401 echoes the header and the exact password, JSON-escaped."""
    state.configure(echo_credentials="on")
    header = basic(("admin", NASTY))
    r = client.get(API + "entity/wave/", headers=header)
    assert r.status_code == 401
    body = r.json()
    assert body["details"]["password"] == NASTY
    assert body["details"]["authorization"] == header["Authorization"]
    assert NASTY in body["message"]
    assert header["Authorization"] in body["message"]
    assert json.dumps(NASTY)[1:-1] in r.text
    assert NASTY not in r.text


def test_echo_credentials_on_400_404_and_faults(client, state):
    """echo_credentials=on: bad filters, empty lists and faults echo the password too."""
    state.configure(echo_credentials="on")
    assert "admin-password" in client.get(API + "entity/wave/?nope=1").json()["message"]
    assert client.get(API + "entity/wave/?wave_nbr=NONE").json()["details"]["password"] == "admin-password"
    state.configure(fault_rate=1.0, faults=("500",))
    assert client.get(API + "entity/wave/").json()["details"]["password"] == "admin-password"


def test_echo_credentials_echoes_the_bearer_token(client, state):
    """echo_credentials=on: a Bearer request's error echoes its token."""
    state.configure(echo_credentials="on")
    r = client.get(API + "entity/wave/", headers={"Authorization": "Bearer s3cr\\et"})
    assert r.status_code == 401
    assert r.json()["details"]["token"] == "s3cr\\et"


def test_echo_credentials_off_echoes_nothing(client):
    """echo_credentials=off (default): error bodies carry no credentials."""
    r = client.get(API + "entity/wave/", headers=basic(("admin", "not-echoed-pw")))
    assert r.status_code == 401
    assert "not-echoed-pw" not in r.text
    assert "Basic" not in r.text


# ---- token_endpoint ---------------------------------------------------------------------------

TOKEN_FORM = {"grant_type": "client_credentials", "scope": "urn:resource:fusion:scm:logistics:wms:lgfapi/"}
CLIENT = ("sandbox-client", "sandbox-secret")


def test_token_endpoint_html_answers_a_200_page(client, state):
    """token_endpoint=html: a 200 text/html page instead of a token."""
    state.configure(token_endpoint="html")
    r = client.post("/oauth2/v1/token", data=TOKEN_FORM, headers=basic(CLIENT))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.text.startswith("<!DOCTYPE html>")


def test_token_endpoint_invalid_json_answers_unparsable_json(client, state):
    """token_endpoint=invalid_json: a 200 application/json body that does not parse."""
    state.configure(token_endpoint="invalid_json")
    r = client.post("/oauth2/v1/token", data=TOKEN_FORM, headers=basic(CLIENT))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    with pytest.raises(ValueError, match=r"Unterminated|Expecting"):
        json.loads(r.text)


def test_token_endpoint_redirect_answers_307_to_another_host(client, state):
    """token_endpoint=redirect: a 307 sending the token request to host localhost, nothing issued."""
    state.configure(token_endpoint="redirect")
    r = client.post("/oauth2/v1/token", data=TOKEN_FORM, headers=basic(CLIENT), follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"].startswith("http://localhost")
    assert r.headers["location"].endswith("/oauth2/v1/token")


def test_token_endpoint_no_expires_in_gives_a_working_token(client, state):
    """token_endpoint=no_expires_in: a token without expires_in, still accepted."""
    state.configure(token_endpoint="no_expires_in")
    body = client.post("/oauth2/v1/token", data=TOKEN_FORM, headers=basic(CLIENT)).json()
    assert "expires_in" not in body
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get(API + "entity/wave/", headers=bearer).status_code == 200
