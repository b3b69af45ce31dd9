"""Where credentials may go and what a setting must be: proxies, CA bundles, tokens."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest
from clirun import assert_one_line_failure, config_error, run_tap
from local_server import send_json, serving
from tapruns import discover, oauth_config, tap_config


class RecordingProxy(BaseHTTPRequestHandler):
    """A proxy that keeps every request it gets, with its Authorization header, and answers 502."""

    seen: list[tuple[str, str | None]] = []  # noqa: RUF012 - one test at a time

    def do_GET(self) -> None:
        self.record()

    def do_POST(self) -> None:
        self.record()

    def record(self) -> None:
        type(self).seen.append((self.path, self.headers.get("Authorization")))
        self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("auth", ["basic", "oauth2"])
def test_a_loopback_base_url_never_goes_through_a_proxy(sandbox, monkeypatch, auth):
    """HTTP_PROXY/HTTPS_PROXY set: requests to a loopback base_url (and token URL) go direct."""
    RecordingProxy.seen = []
    with serving(RecordingProxy) as proxy:
        origin = proxy.rsplit("/", 1)[0]
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            monkeypatch.setenv(name, origin)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        config = tap_config(sandbox, "wave") if auth == "basic" else oauth_config(sandbox, "wave")
        catalog = discover(config)
    assert RecordingProxy.seen == []
    assert "wave" in [entry["tap_stream_id"] for entry in catalog["streams"]]


@pytest.mark.parametrize(
    ("content", "problem"),
    [("not a certificate\n", "not a PEM certificate bundle"), ("", "not a PEM certificate bundle")],
)
def test_a_ca_bundle_that_is_no_certificate_bundle_is_a_setting_error(tmp_path, sandbox, content, problem):
    """ca_bundle pointing at any other file: exit 2, one line naming ca_bundle, no request."""
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(content)
    config_error(
        tmp_path,
        sandbox,
        f"ca_bundle must be the path of a readable CA bundle (PEM) file, got '{bundle}' ({problem})",
        ca_bundle=str(bundle),
    )


def token_answer(body: dict) -> type[BaseHTTPRequestHandler]:
    """A token endpoint answering every POST with `body` (HTTP 200)."""

    class TokenAnswer(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            send_json(self, 200, body)

        def log_message(self, *args: object) -> None:
            pass

    return TokenAnswer


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (
            {"access_token": "abc\ndef", "expires_in": 3600},
            "answered an access_token that is not one word of text (HTTP 200): check oauth_token_url.",
        ),
        ({"status": "ok"}, "answered no access_token (HTTP 200): check oauth_token_url."),
    ],
    ids=["a token with a newline (no header value)", "JSON without access_token (another service's)"],
)
def test_a_token_answer_the_tap_cannot_use_names_oauth_token_url(tmp_path, sandbox, answer, why):
    """An access_token that cannot be a header value, or none: one line naming oauth_token_url, exit 1."""
    with serving(token_answer(answer)) as url:
        config = oauth_config(sandbox, "wave", oauth_token_url=url + "/token")
        run = run_tap(tmp_path, config, "--discover")
    assert_one_line_failure(run, f"sync failed: OAuth2 token request to oauth_token_url {why}", 1)
