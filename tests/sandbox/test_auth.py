"""Authentication, permissions, eligibility and the OAuth2 token endpoint (docs/lgfapi.md 3.1-3.3)."""

from __future__ import annotations

import time

from sandbox_helpers import API, LIMITED, basic, get_json, state_truth

SCOPE = "urn:resource:fusion:scm:logistics:wms:lgfapi/"
CLIENT = ("sandbox-client", "sandbox-secret")


def token(client, **form):
    """POST the token endpoint with client credentials in the Basic header."""
    data = {"grant_type": "client_credentials", "scope": SCOPE, **form}
    return client.post("/oauth2/v1/token", data=data, headers=basic(CLIENT))


def test_bad_basic_credentials_are_401_with_error_body(client):
    """docs/lgfapi.md 4.1: 401 on bad credentials, with the standard error body (4.2)."""
    r = client.get(API + "entity/wave/", headers=basic(("admin", "wrong")))
    assert r.status_code == 401
    assert r.json()["code"] == "AUTHENTICATION_FAILED"
    assert set(r.json()) >= {"reference", "code", "message"}


def test_missing_credentials_are_401(client):
    """docs/lgfapi.md 3.1: credentials are required on every request (stateless)."""
    r = client.get(API + "entity/wave/", headers={"Authorization": ""})
    assert r.status_code == 401


def test_user_without_read_access_gets_403(client):
    """docs/lgfapi.md 3.3: no lgfapi_read_access -> 403."""
    r = client.get(API + "entity/wave/", headers=basic(("noaccess", "noaccess-password")))
    assert r.status_code == 403
    assert r.json()["code"] == "PERMISSION_DENIED"


def test_limited_user_cannot_read_entity_user(client):
    """docs/lgfapi.md 3.3: missing permission on an entity -> 403 (contract: limited on `user`)."""
    assert client.get(API + "entity/user/", headers=basic(LIMITED)).status_code == 403
    assert client.get(API + "entity/user/").status_code == 200


def test_limited_user_sees_only_eligible_rows(client):
    """docs/lgfapi.md 3.3: rows outside eligible facilities/companies are invisible."""
    rows = get_json(
        client, "entity/order_hdr/?page_size=1250&fields=id,facility_id,company_id", headers=basic(LIMITED)
    )["results"]
    assert rows
    assert {(r["facility_id"]["key"], r["company_id"]["key"]) for r in rows} == {("DC01", "ACME")}
    total = get_json(client, "entity/order_hdr/?page_size=1")["result_count"]
    assert total > len(rows)


def test_eligibility_also_scopes_child_entities(client, state):
    """docs/lgfapi.md 3.3: children (order_dtl) follow their header's facility/company."""
    visible = {r["id"] for r in state_truth(state, "order_hdr", "limited")}
    lines = state_truth(state, "order_dtl", "limited")
    assert lines
    assert {r["order_id"]["id"] for r in lines} <= visible


def test_token_endpoint_issues_bearer_token(client):
    """docs/lgfapi.md 3.2: client_credentials with the lgfapi scope -> access_token, expires_in."""
    r = token(client)
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert client.get(API + "entity/wave/", headers=bearer).status_code == 200


def test_token_accepts_client_credentials_in_form(client):
    """docs/lgfapi.md 3.2: client auth may also be client_id/client_secret form fields."""
    r = client.post(
        "/oauth2/v1/token",
        data={
            "grant_type": "client_credentials",
            "scope": SCOPE,
            "client_id": CLIENT[0],
            "client_secret": CLIENT[1],
        },
        headers={"Authorization": ""},
    )
    assert r.status_code == 200


def test_token_wrong_scope_is_invalid_scope(client):
    """docs/lgfapi.md 3.2: the scope must be urn:resource:fusion:scm:logistics:wms:lgfapi/."""
    r = token(client, scope="urn:other")
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_scope"


def test_token_wrong_client_is_invalid_client(client):
    """docs/lgfapi.md 3.2: IDCS answers invalid_client for bad client credentials."""
    r = client.post(
        "/oauth2/v1/token",
        data={"grant_type": "client_credentials", "scope": SCOPE},
        headers=basic(("sandbox-client", "nope")),
    )
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"


def test_bearer_token_expires_after_token_ttl(client, state):
    """docs/lgfapi.md 3.2: expiry is enforced (knob token_ttl_s) -> 401."""
    state.configure(token_ttl_s=0)
    access = token(client).json()["access_token"]
    time.sleep(0.01)
    r = client.get(API + "entity/wave/", headers={"Authorization": f"Bearer {access}"})
    assert r.status_code == 401
    assert "expired" in r.json()["message"]


def test_non_ascii_basic_password_is_401_not_500(client):
    """A wrong non-ASCII Basic password is a plain 401 (compare_digest on str raised TypeError)."""
    r = client.get(API + "entity/wave/", headers=basic(("admin", "pässwörd-ß")))
    assert r.status_code == 401
    assert r.json()["code"] == "AUTHENTICATION_FAILED"


def test_non_ascii_authorization_header_is_401_not_500(client):
    """Raw non-ASCII bytes in the Basic header (not base64) are a 401, also on the token endpoint."""
    header = {"Authorization": "Basic ä€".encode()}
    assert client.get(API + "entity/wave/", headers=header).status_code == 401
    r = client.post("/oauth2/v1/token", data={"grant_type": "client_credentials"}, headers=header)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
