"""Shared helpers of the sandbox tests."""

from __future__ import annotations

import base64
from typing import Any

from starlette.testclient import TestClient

API = "/sandbox/wms/lgfapi/v10/"
ADMIN = ("admin", "admin-password")
LIMITED = ("limited", "limited-password")


def basic(user: tuple[str, str]) -> dict[str, str]:
    """Authorization header for HTTP Basic."""
    token = base64.b64encode(f"{user[0]}:{user[1]}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def get_json(client: TestClient, path: str, **kw: Any) -> Any:
    """GET an API path and return its JSON, asserting 200."""
    r = client.get(API + path, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def all_sequenced(client: TestClient, path: str) -> list[dict]:
    """Follow next_page links verbatim until the end."""
    out: list[dict] = []
    url: str | None = API + path
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["results"]
        url = body["next_page"]
    return out


def state_truth(state: Any, entity: str, user: str = "admin") -> list[dict]:
    """Ground truth through the same code the admin route uses."""
    from tap_oracle_wms_sandbox import listing
    from tap_oracle_wms_sandbox.entities import BY_NAME
    from tap_oracle_wms_sandbox.state import USERS

    return listing.truth(state, BY_NAME[entity], USERS[user], "http://testserver" + API)
