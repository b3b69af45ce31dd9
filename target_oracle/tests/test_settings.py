"""Settings: the python-oracledb thin-mode connection they describe, and one-line errors naming them."""

from __future__ import annotations

import pytest
from singer_sdk.exceptions import ConfigValidationError

from target_oracle.settings import Connection, Settings

BASE = {
    "protocol": "tcp",
    "port": 1521,
    "ssl_server_dn_match": True,
    "tcp_connect_timeout": 20,
    "identifier_case": "upper",
    "max_string_size": "standard",
    "boolean_type": "number",
    "json_type": "clob",
    "load_method": "upsert",
    "staging_min_rows": 2000,
}
SECRET = "Pw-0f-the-DB!"


def connection(**config) -> Connection:
    return Connection.from_config({**BASE, **config})


def test_host_service_and_user_become_thin_mode_connect_arguments():
    """host/port/service_name/user/password go to python-oracledb as they are."""
    args = connection(host="db", service_name="FREEPDB1", user="loader", password=SECRET).connect_args
    assert args == {
        "host": "db",
        "port": 1521,
        "service_name": "FREEPDB1",
        "user": "loader",
        "password": SECRET,
        "tcp_connect_timeout": 20.0,
    }


def test_autonomous_database_over_tcps_with_a_wallet():
    """protocol tcps plus wallet_location/wallet_password/ssl_server_dn_match: the ADB mTLS arguments."""
    args = connection(
        host="adb.eu-frankfurt-1.oraclecloud.com",
        port=1522,
        service_name="x_high.adb.oraclecloud.com",
        user="ADMIN",
        password=SECRET,
        protocol="tcps",
        wallet_location="/wallet",
        wallet_password="wallet-" + SECRET,
    ).connect_args
    assert args["protocol"] == "tcps"
    assert args["wallet_location"] == "/wallet"
    assert args["wallet_password"] == "wallet-" + SECRET
    assert args["ssl_server_dn_match"] is True
    assert args["port"] == 1522


def test_tns_alias_with_config_dir():
    """dsn plus config_dir: a tnsnames.ora alias, as in an unzipped ADB wallet."""
    args = connection(dsn="mydb_high", config_dir="/wallet", user="ADMIN", password=SECRET).connect_args
    assert (args["dsn"], args["config_dir"]) == ("mydb_high", "/wallet")
    assert "host" not in args


def test_sqlalchemy_url_is_pinned_to_the_oracledb_driver():
    """oracle:// is taken as oracle+oracledb://, the thin-mode driver."""
    conn = connection(sqlalchemy_url=f"oracle://loader:{SECRET}@db:1521/?service_name=FREEPDB1")
    assert conn.url is not None
    assert conn.url.drivername == "oracle+oracledb"
    assert SECRET not in conn.describe


def test_connection_repr_hides_secrets():
    """A Connection printed in a log or a traceback shows no password."""
    conn = connection(host="db", service_name="S", user="u", password=SECRET, wallet_password=SECRET)
    assert SECRET not in repr(conn)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "setting 'user': is required"),
        ({"user": "u"}, "setting 'host': is required"),
        ({"user": "u", "host": "h"}, "setting 'service_name': is required"),
        (
            {"user": "u", "host": "h", "service_name": "s", "wallet_location": "/w"},
            "setting 'protocol': must",
        ),
        (
            {"sqlalchemy_url": "postgresql://u@h/db"},
            r"setting 'sqlalchemy_url': must start with oracle\+oracledb://",
        ),
    ],
    ids=["no-user", "no-host", "no-service", "wallet-without-tcps", "wrong-driver"],
)
def test_missing_or_inconsistent_settings_name_the_setting(config, message):
    """Each connection problem is one line that names the setting to fix."""
    with pytest.raises(ConfigValidationError, match=message):
        connection(**config)


def test_unparsable_url_error_does_not_repeat_the_url():
    """SQLAlchemy's parse error quotes the URL; ours names the setting and hides the value."""
    with pytest.raises(ConfigValidationError) as caught:
        connection(sqlalchemy_url=f"oracle+oracledb://u:{SECRET}@host:notaport/")
    assert SECRET not in str(caught.value)
    assert "sqlalchemy_url" in str(caught.value)


def test_secret_of_the_wrong_type_is_refused_without_showing_it():
    """A password given as a list fails by name; the value is not in the message."""
    with pytest.raises(ConfigValidationError, match="setting 'password': must be a string") as caught:
        connection(host="h", service_name="s", user="u", password=[SECRET])
    assert SECRET not in str(caught.value)


def test_dry_run_needs_no_connection_settings(tmp_path):
    """With dry_run_sql_path set and no connection settings, there is nothing to connect to."""
    settings = Settings.from_config({**BASE, "dry_run_sql_path": str(tmp_path / "x.sql")})
    assert settings.dry_run
    assert settings.connection is None


def test_dry_run_path_in_a_missing_folder_is_refused(tmp_path):
    """The script's folder must exist before the run starts."""
    with pytest.raises(ConfigValidationError, match="setting 'dry_run_sql_path'"):
        Settings.from_config({**BASE, "dry_run_sql_path": str(tmp_path / "nope" / "x.sql")})


def test_identifier_limit_must_be_one_oracle_has():
    """max_identifier_length is 30 or 128."""
    with pytest.raises(ConfigValidationError, match="setting 'max_identifier_length'"):
        Settings.from_config({**BASE, "dry_run_sql_path": None, "max_identifier_length": 64, "user": "u",
                              "dsn": "x"})  # fmt: skip


@pytest.mark.parametrize(
    "dsn",
    [
        "db.example.com:1521/FREEPDB1",
        "tcps://adb.example.com:1522/svc_high?wallet_location=/w/a@b",
        "(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=h)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=s)))",
        "my_alias",
    ],
)
def test_dsn_without_credentials_is_taken_as_it_is(dsn):
    """Only the user/password@ form is refused: Easy Connect, descriptors and aliases pass."""
    assert connection(user="u", dsn=dsn).connect_args["dsn"] == dsn


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("batch_size_rows", 0),
        ("batch_size_rows", -5),
        ("staging_min_rows", -1),
        ("tcp_connect_timeout", 0),
        ("tcp_connect_timeout", 10**20),
        ("database_version", 11),
    ],
)
def test_counts_and_timeouts_outside_their_range_are_refused_by_name(tmp_path, setting, value):
    """batch_size_rows 0 made a transaction per record, staging_min_rows -1 staged every batch, a timeout
    of 0 is no wait at all (one of 1e20 s overflowed the driver's clock: 'timestamp out of range'), release
    11 is one the driver cannot reach: each was taken without a word."""
    config = {**BASE, "dry_run_sql_path": str(tmp_path / "x.sql"), setting: value}
    with pytest.raises(ConfigValidationError, match=f"setting '{setting}': must be "):
        Settings.from_config(config)
