"""Messages that point at the real cause: a plain-HTTP server behind https://, which auth method wins.

Why: `https://` against a plain-HTTP server used to say "TLS certificate verification failed...
set ca_bundle", sending users after a certificate; and `username` in meltano.yml next to
auth_method=oauth2 from an environment refused to run.
"""

from __future__ import annotations

from tapruns import cli, tap_config


def test_https_to_a_plain_http_server_says_so_not_certificate(tmp_path, sandbox):
    """base_url https:// on a server speaking HTTP: the line names the scheme, not a certificate."""
    config = tap_config(sandbox, "wave")
    config["base_url"] = config["base_url"].replace("http://", "https://")
    run = cli(tmp_path, config, "--discover")
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
    run = cli(tmp_path, config)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("auth_method=oauth2: username, password ignored") == 1
