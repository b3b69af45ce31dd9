"""The real-tenant/hostile knobs in general: off by default, reset, admin route, validation."""

from __future__ import annotations

import pytest
from sandbox_helpers import API

from tap_oracle_wms_sandbox.state import SandboxConfig

QUIRKS = {
    "link_origin": "alias",
    "ordering_rejects": ("*:any",),
    "slow_page_rows": 5,
    "slow_page_delay_s": 1.0,
    "slow_page_entities": ("wave",),
    "entity_faults": ("wave:500",),
    "later_page_404": "once",
    "redirect_lists": "same_origin",
    "retry_after": "NaN",
    "trickle_bytes_per_s": 10.0,
    "next_page_loop": "on",
    "echo_credentials": "on",
    "token_endpoint": "html",
    "unknown_types": "on",
    "odd_values": ("order_dtl",),
}


def test_every_quirk_is_off_by_default():
    """The new knobs change nothing unless set: their defaults are the plain behaviour."""
    cfg = SandboxConfig()
    assert {k: getattr(cfg, k) for k in QUIRKS} == {
        "link_origin": "request",
        "ordering_rejects": (),
        "slow_page_rows": 0,
        "slow_page_delay_s": 30.0,
        "slow_page_entities": (),
        "entity_faults": (),
        "later_page_404": "off",
        "redirect_lists": "off",
        "retry_after": "",
        "trickle_bytes_per_s": 0.0,
        "next_page_loop": "off",
        "echo_credentials": "off",
        "token_endpoint": "normal",
        "unknown_types": "off",
        "odd_values": (),
    }
    assert (cfg.tls_certfile, cfg.tls_keyfile) == ("", "")


def test_reset_turns_every_quirk_off(state):
    """reset() restores the initial knobs, and forgets which listings already 404'd once."""
    state.configure(**QUIRKS)
    state.failed_once.add("x")
    state.reset()
    assert state.config == SandboxConfig(scale=200, seed=7)
    assert state.failed_once == set()


def test_admin_config_takes_lists_for_tuple_knobs(client):
    """POST /_admin/config: a JSON list (or a comma string) sets a tuple knob."""
    r = client.post("/_admin/config", json={"entity_faults": ["wave:418"], "ordering_rejects": "item:desc"})
    assert r.json()["entity_faults"] == ["wave:418"]
    assert r.json()["ordering_rejects"] == ["item:desc"]
    assert client.get(API + "entity/wave/").status_code == 418


@pytest.mark.parametrize(
    ("knob", "value"),
    [
        ("link_origin", "elsewhere"),
        ("ordering_rejects", ("order_dtl:sideways",)),
        ("ordering_rejects", ("order_dtl",)),
        ("entity_faults", ("wave:200",)),
        ("entity_faults", ("wave:boom",)),
        ("slow_page_rows", -1),
        ("slow_page_delay_s", "soon"),
        ("later_page_404", "sometimes"),
        ("later_page_404", "1.5"),
        ("redirect_lists", "away"),
        ("retry_after", "1\r\nX-Evil: 1"),
        ("trickle_bytes_per_s", -2),
        ("next_page_loop", "yes"),
        ("echo_credentials", "true"),
        ("token_endpoint", "xml"),
        ("tls_certfile", "/no/such/cert.pem"),
        ("unknown_types", "maybe"),
        ("next_page_loop", "twice"),
        ("odd_values", ("order_dtl", "no_such_entity")),
        ("odd_values", ("inventory_attribute",)),
    ],
)
def test_bad_knob_value_is_refused_naming_the_knob(state, knob, value):
    """SandboxConfig.validated(): a bad value is a ValueError whose message names the knob."""
    with pytest.raises(ValueError, match=knob):
        state.configure(**{knob: value})


def test_tls_files_go_together(state, tmp_path):
    """tls_certfile without tls_keyfile is refused, naming both."""
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    with pytest.raises(ValueError, match="tls_certfile and tls_keyfile"):
        state.configure(tls_certfile=str(cert))
