"""Messages that point at the real cause: a plain-HTTP server behind https://, which auth method wins.

Why: `https://` against a plain-HTTP server used to say "TLS certificate verification failed...
set ca_bundle", sending users after a certificate; and `username` in meltano.yml next to
auth_method=oauth2 from an environment refused to run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tapruns import tap_config

TAP = str(Path(sys.executable).with_name("tap-oracle-wms"))


def run_tap(tmp_path: Path, config: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_ORACLE_WMS_")}
    return subprocess.run([TAP, "--config", str(path), *args], capture_output=True, text=True, env=env)


def test_https_to_a_plain_http_server_says_so_not_certificate(tmp_path, sandbox):
    """base_url https:// on a server speaking HTTP: the line names the scheme, not a certificate."""
    config = tap_config(sandbox, "wave")
    config["base_url"] = config["base_url"].replace("http://", "https://")
    run = run_tap(tmp_path, config, "--discover")
    assert run.returncode == 1
    host = config["base_url"].split("/")[2]
    assert run.stderr.strip().splitlines()[-1] == (
        f"tap-oracle-wms: sync failed: {host} answered in plain HTTP, not TLS: base_url says https:// "
        "but the server is http:// (http:// is allowed for loopback hosts, or with allow_insecure_http)"
    )


def test_auth_method_wins_over_the_other_methods_settings_with_one_info_line(tmp_path, sandbox):
    """auth_method=oauth2 beside a username/password that would fail: OAuth2 is used, one INFO line."""
    config = tap_config(
        sandbox,
        "wave",
        username="nobody",
        password="not-the-password",
        auth_method="oauth2",
        oauth_client_id="sandbox-client",
        oauth_client_secret="sandbox-secret",
        oauth_token_url=sandbox.token_url,
    )
    run = run_tap(tmp_path, config)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("auth_method=oauth2: username, password ignored") == 1
