"""Whatever bytes the server (or a proxy in front of it) sends, page handling only reports.

Response handling either returns rows, or raises the client's RetriableError (try again) or
FatalError (stop with a message): never any other exception. Row shaping never crashes on any JSON row.
"""

from __future__ import annotations

import io
import json
from urllib.parse import urlencode

import requests
import urllib3
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from requests.adapters import HTTPAdapter

from tap_oracle_wms.lgfapi.errors import ApiError, failure_text
from tap_oracle_wms.streams import EntityStream
from tap_oracle_wms.tap import TapOracleWMS

BASE = "https://xx.wms.ocs.oraclecloud.com/myenv"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SCHEMA = {
    "properties": {
        "id": {"type": "integer"},
        "mod_ts": {"type": ["string", "null"], "format": "date-time"},
        "create_ts": {"type": ["string", "null"], "format": "date-time"},
        "facility_id": {"type": ["integer", "null"]},
        "facility_id_key": {"type": ["string", "null"]},
        "company_id": {"type": ["integer", "null"]},
        "qty": {"type": ["number", "null"]},
        "status_id": {"type": ["integer", "null"]},
        "descr": {"type": ["string", "null"]},
    }
}


def make_stream(auth_method: str = "basic") -> EntityStream:
    credentials = (
        {"username": "etl", "password": "etl-password"}
        if auth_method == "basic"
        else {
            "auth_method": "oauth2",
            "oauth_client_id": "c",
            "oauth_client_secret": "s",
            "oauth_token_url": "https://idcs.example.com/oauth2/v1/token",
        }
    )
    tap = TapOracleWMS(config={"base_url": BASE, **credentials}, validate_config=True, setup_mapper=False)
    return EntityStream(tap, name="inventory", schema=SCHEMA, run=tap.run)


STREAMS = {"basic": make_stream("basic"), "oauth2": make_stream("oauth2")}


def real_response(
    status: int, body: bytes, headers: dict[str, str], query: dict[str, str]
) -> requests.Response:
    """A requests.Response built the way requests builds one from the wire (adapter.build_response)."""
    url = f"{BASE}/wms/lgfapi/v10/entity/inventory/" + ("?" + urlencode(query) if query else "")
    request = requests.Request("GET", url).prepare()
    if status < 200 or status in {204, 304}:
        body = b""  # no body allowed: requests fails these in send(), before any hook sees them
    raw = urllib3.HTTPResponse(body=io.BytesIO(body), headers=headers, status=status, preload_content=False)
    response = HTTPAdapter().build_response(request, raw)
    _ = response.content  # what Session.send does for a non-streamed request
    return response


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
timestamps = st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat())
field_values = json_values | timestamps | st.sampled_from(["", "NaN", "-0", "1e999", "2024-02-30T00:00:00"])
rows = st.dictionaries(
    st.sampled_from([*SCHEMA["properties"], "url", "extra_set", "new_field"]), field_values, max_size=9
)
page_bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda results, nxt, extra: json.dumps({"results": results, "next_page": nxt, **extra}).encode(),
        st.lists(rows | json_values, max_size=4),
        st.none() | st.text(max_size=40) | st.integers() | st.just(f"{BASE}/wms/lgfapi/v10/x?cursor=1"),
        st.dictionaries(
            st.sampled_from(["code", "message", "detail", "details", "result_count"]), json_values, max_size=3
        ),
    ),
    st.sampled_from(
        [
            b"<html><body>Sign in</body></html>",
            b"  <!DOCTYPE html>",
            b'{"results": [',
            b"",
            b"\xef\xbb\xbf{}",
            b"null",
            b'{"results": null}',
            b"[" * 5000,
            b'{"a":' * 3000,
        ]
    ),
)
content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "text/html",
        "text/plain",
        "TEXT/HTML; charset=iso-8859-1",
        "",
        "application/xml",
    ]
)
statuses = st.sampled_from(
    [200, 201, 204, 301, 400, 401, 403, 404, 405, 408, 409, 429, 500, 502, 503, 504]
) | st.integers(min_value=100, max_value=599)
queries = st.dictionaries(
    st.sampled_from(["page_size", "cursor", "password", "access_token", "mod_ts__gte"]),
    st.text(max_size=20),
    max_size=3,
)


@FUZZ
@given(
    status=statuses,
    body=page_bodies,
    ctype=content_types,
    query=queries,
    auth=st.sampled_from(["basic", "oauth2"]),
)
def test_any_response_yields_rows_or_an_api_error(status, body, ctype, query, auth):
    """classify then page_rows: rows (objects) or the client's Retriable/FatalError, nothing else."""
    stream = STREAMS[auth]
    client = stream.run.client
    response = real_response(status, body, {"Content-Type": ctype}, query)
    try:
        client.classify(response, stream.name)
        rows = client.page_rows(response, stream.name)
        assert all(isinstance(row, dict) for row in rows)
        if response.status_code != 404:
            stream.listing.next_link(response)
    except ApiError as exc:
        message = str(exc)
        assert "\n" not in message
        assert "etl-password" not in message
        for name in ("password", "access_token"):
            assert not query.get(name) or f"{name}={query[name]}" not in message or not query[name].strip()


@FUZZ
@given(row=rows)
@example(row={"mod_ts": "0001-01-01T00:30:00+01:00"})  # before year 1 in UTC
@example(row={"create_ts": "9999-12-31T23:30:00", "mod_ts": "9999-12-31T23:30:00-01:00"})  # after 9999
def test_any_json_row_is_shaped_without_crashing(row):
    """post_process takes any JSON object the API may send and returns a record dict."""
    out = STREAMS["basic"].post_process(row)
    assert isinstance(out, dict)
    assert set(out) <= set(SCHEMA["properties"])


@FUZZ
@given(body=st.binary(max_size=200), ctype=content_types)
def test_error_message_is_one_line_for_any_body(body, ctype):
    """The message for any failing status stays one line and never echoes a credential."""
    for status in (400, 401, 403, 404, 405, 500):
        response = real_response(status, body, {"Content-Type": ctype}, {})
        message = failure_text(response, entity="inventory", auth_method="basic")
        assert message.startswith(f"HTTP {status} from GET /myenv/wms/lgfapi/v10/entity/inventory/")
        assert "\n" not in message
