"""Whatever the server answers, no hang and no silent loss: redirects, waits, trickles, loops, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trustme
from tapruns import assert_nothing_lost, discover, page_requests, sync, tap_config

from tap_oracle_wms.lgfapi.errors import RunFatalError
from tap_oracle_wms.lgfapi.wire import retry_after
from tap_oracle_wms.run import StreamsFailedError
from tap_oracle_wms_sandbox import Sandbox

TAP = str(Path(sys.executable).with_name("tap-oracle-wms"))


# --- redirects --------------------------------------------------------------------------------


def test_redirect_to_another_host_is_refused_in_one_line(sandbox):
    """A 302 to another host would lose the Authorization header and look like the end: it fails."""
    config = tap_config(sandbox, "wave")
    catalog = discover(config)
    sandbox.configure(redirect_lists="other_host")
    with pytest.raises(
        RunFatalError, match=r"HTTP 302 .* redirects to http://localhost:\d+; the tap follows"
    ):
        sync(config, catalog=catalog)


def test_redirect_within_base_urls_origin_is_followed(sandbox):
    """A 302 to the same scheme, host and port is followed, with the credentials."""
    config = tap_config(sandbox, "wave")
    catalog = discover(config)
    sandbox.configure(redirect_lists="same_origin")
    out = sync(config, catalog=catalog)
    assert_nothing_lost(out.records("wave"), sandbox.truth("wave"), out.schema("wave"))
    assert any(r.query.get("redirected") == "1" for r in page_requests(sandbox, "wave"))


@pytest.fixture(scope="module")
def tls_sandbox(tmp_path_factory):
    """The sandbox over https, its CA bundle beside it."""
    ca = trustme.CA()
    folder = tmp_path_factory.mktemp("tls")
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    server = Sandbox(scale=100, tls_certfile=str(folder / "cert.pem"), tls_keyfile=str(folder / "key.pem"))
    server.start()
    server.ca_bundle = str(folder / "ca.pem")
    yield server
    server.stop()


def test_redirect_from_https_to_plain_http_is_refused(tls_sandbox):
    """An https listing redirected to http:// would send credentials in clear: it fails."""
    config = tap_config(tls_sandbox, "wave", ca_bundle=tls_sandbox.ca_bundle)
    catalog = discover(config)
    tls_sandbox.configure(redirect_lists="plain_http")
    try:
        with pytest.raises(RunFatalError, match=r"redirects to http://127\.0\.0\.1"):
            sync(config, catalog=catalog)
    finally:
        tls_sandbox.reset()


# --- waits and deadlines ----------------------------------------------------------------------


@pytest.mark.parametrize("header", ["-1", "NaN", "inf", "-inf", "soon", ""])
def test_meaningless_retry_after_is_treated_as_absent(header):
    """Retry-After of -1, NaN, inf or junk asks for nothing: the exponential wait applies."""
    assert retry_after(header) is None


def test_retry_after_as_an_http_date_is_read_as_seconds_from_now():
    """Retry-After may be an HTTP-date: the wait is the time until then."""
    import datetime as dt

    now = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert retry_after("Tue, 01 Dec 2026 12:00:30 GMT", now) == 30


def test_retry_after_beyond_max_wait_fails_at_once(sandbox):
    """Retry-After: 100000 would sleep 28 hours; over max_wait_seconds it fails the stream now."""
    config = tap_config(sandbox, "wave", max_wait_seconds=60)
    catalog = discover(config)
    sandbox.configure(entity_faults=("wave:429",), retry_after="100000")
    started = time.monotonic()
    with pytest.raises(StreamsFailedError, match=r"asks to wait 100000 s .* max_wait_seconds \(60 s\)"):
        sync(config, catalog=catalog)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("header", ["-1", "NaN", "inf"])
def test_run_with_meaningless_retry_after_completes(sandbox, header):
    """Faults whose Retry-After means nothing are retried with the normal waits; no row is lost."""
    config = tap_config(sandbox, "wave", max_retries=20)
    catalog = discover(config)
    sandbox.configure(fault_rate=0.3, faults=("429",), retry_after=header)
    out = sync(config, catalog=catalog)
    assert_nothing_lost(out.records("wave"), sandbox.truth("wave"), out.schema("wave"))


def test_body_that_trickles_hits_the_response_deadline(sandbox):
    """request_timeout bounds a whole response, not each socket read: a trickling body fails."""
    config = tap_config(sandbox, "wave", request_timeout=2, max_retries=0)
    catalog = discover(config)
    sandbox.configure(trickle_bytes_per_s=20)
    started = time.monotonic()
    with pytest.raises(StreamsFailedError, match="longer than request_timeout"):
        sync(config, catalog=catalog)
    assert time.monotonic() - started < 30


def test_next_page_pointing_back_is_a_loop_and_fails_clearly(sandbox):
    """A next_page link to a page already read would loop forever: the stream fails, saying so."""
    config = tap_config(sandbox, "inventory", page_size=7)
    catalog = discover(config)
    sandbox.configure(next_page_loop="on")
    with pytest.raises(StreamsFailedError, match="points back to a page already read"):
        sync(config, catalog=catalog)


# --- signals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_mid_sync_writes_state_and_exits_non_zero(tmp_path, sandbox, signum, code):
    """SIGTERM/SIGINT mid-sync: the last STATE is written, then exit 128+signal, never 0."""
    sandbox.configure(latency_ms=150)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config(sandbox, "inventory", "order_dtl", page_size=5, concurrency=1)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_ORACLE_WMS_")}
    tap = subprocess.Popen(
        [TAP, "--config", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    deadline = time.monotonic() + 30
    while len(page_requests(sandbox, "inventory")) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # until the sync is well under way
    tap.send_signal(signum)
    out, err = tap.communicate(timeout=60)
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert tap.returncode == code
    assert lines[-1]["type"] == "STATE"
    assert err.decode().strip().splitlines()[-1].startswith(f"tap-oracle-wms: stopped by {signum.name}")
