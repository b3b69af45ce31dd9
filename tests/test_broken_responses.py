"""Responses too large, cut short or garbled: one readable line, bounded memory, never a hang."""

from __future__ import annotations

import gzip
import json
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import pytest
from clirun import PREFIX, assert_one_line_failure, run_tap
from local_server import serving
from tapruns import discover, tap_config

from tap_oracle_wms.lgfapi.transport import ResponseTooLargeError

SETTINGS = {"username": "u", "password": "p", "max_retries": 0, "max_response_mb": 1}
READ_SO_FAR = r"larger than max_response_mb \(1 MB, read so far\)"
CATALOG = b'{"wave": "x", "padding": "' + b"0" * (5 * 1024 * 1024) + b'"}'


class Handler(BaseHTTPRequestHandler):
    """Answers every GET with `headers` and `body`; `length` overrides Content-Length (None: omitted)."""

    headers_sent: ClassVar[dict[str, str]] = {}
    body = b"{}"
    length: int | None = -1

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        for name, value in self.headers_sent.items():
            self.send_header(name, value)
        length = len(self.body) if self.length == -1 else self.length
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(self.body)
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


def answering(**attrs: object) -> type[Handler]:
    return type("Answer", (Handler,), attrs)


def test_a_gzip_bomb_stops_at_max_response_mb():
    """A small gzip body expanding past max_response_mb fails, named, before it is all in memory."""
    bomb = gzip.compress(CATALOG)
    assert len(bomb) < 100_000
    handler = answering(body=bomb, headers_sent={"Content-Encoding": "gzip"})
    with serving(handler) as url, pytest.raises(ResponseTooLargeError, match=READ_SO_FAR):
        discover({"base_url": url, **SETTINGS})


def test_a_body_without_length_stops_at_max_response_mb():
    """A body sent without Content-Length stops at the cap as it is read."""
    with (
        serving(answering(body=CATALOG, length=None)) as url,
        pytest.raises(ResponseTooLargeError, match=READ_SO_FAR),
    ):
        discover({"base_url": url, **SETTINGS})


def test_a_content_length_over_max_response_mb_fails_before_reading():
    """A Content-Length over the cap fails at once."""
    with (
        serving(answering(body=CATALOG)) as url,
        pytest.raises(ResponseTooLargeError, match=r"\(1 MB, 5 MB announced\)"),
    ):
        discover({"base_url": url, **SETTINGS})


def test_a_body_cut_short_is_one_readable_line_not_a_tuple(tmp_path):
    """A body shorter than its Content-Length: a plain message, no raw tuple, not ending in 'retrying.'."""
    with serving(answering(body=b'{"wave": "x"', length=1000)) as url:
        run = run_tap(tmp_path, {"base_url": url, **SETTINGS}, "--discover")
    assert run.code == 1
    line = run.last_line
    assert line.startswith(PREFIX), run.stderr[-2000:]
    assert "('" not in line
    assert line.startswith(PREFIX + "sync failed: the answer from 127.0.0.1:")
    assert "IncompleteRead" in line
    assert not line.rstrip(".").endswith("retrying")


def test_a_page_within_max_response_mb_is_read():
    """The cap is no limit on ordinary answers."""
    body = json.dumps({"wave": "x"}).encode()
    with serving(answering(body=gzip.compress(body), headers_sent={"Content-Encoding": "gzip"})) as url:
        catalog = discover({"base_url": url, **SETTINGS})
    assert "wave" in [entry["tap_stream_id"] for entry in catalog["streams"]]


def test_json_that_is_no_lgfapi_page_names_base_url(tmp_path, sandbox):
    """Another JSON service at base_url: the stream fails with a line asking whether base_url is right."""
    catalog = discover(tap_config(sandbox, "wave"))
    settings = {**SETTINGS, "drift_window_hours": 0, "concurrency": 1, "sequenced_ordering": "honoured"}
    with serving(answering(body=b'{"detail": "welcome"}')) as url:
        run = run_tap(tmp_path, {"base_url": url, **settings}, catalog=catalog)
    assert_one_line_failure(
        run,
        "sync failed: the only selected stream failed: wave: Stream 'wave': the page has no 'results' list; "
        "is base_url right?",
        1,
    )
