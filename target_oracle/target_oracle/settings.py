"""Typed, checked settings: the one place that reads the target's config.

Why not read ``config[...]`` everywhere: cross-setting rules (a URL *or* host and
service, a wallet only over TCPS) need one-line errors that name the setting, and secrets
must never reach a message, so every check here reports names, never values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import sqlalchemy as sa
from singer_sdk.exceptions import ConfigValidationError

from .naming import IdentifierCase
from .oracle_rules import TYPE_SINCE, VARCHAR2_EXTENDED_BYTES, VARCHAR2_STANDARD_BYTES

#: Settings whose values are secrets: never logged, never echoed in an error.
SECRET_SETTINGS = ("password", "wallet_password", "sqlalchemy_url")
#: VARCHAR2 byte limit by the database's MAX_STRING_SIZE.
STRING_LIMITS = {"standard": VARCHAR2_STANDARD_BYTES, "extended": VARCHAR2_EXTENDED_BYTES}
#: The release a dry run assumes when database_version is not set: 19c, a long-term release.
DRY_RUN_RELEASE = 19
#: Identifier byte limit before Oracle 12.2 and from it on.
IDENTIFIER_LIMITS = (30, 128)

#: python-oracledb's ``user/password@connect_string`` form of a dsn (its parse errors quote the whole dsn).
_DSN_CREDENTIALS = re.compile(r"^\s*[^\s/@():=]+/[^@]*@")

#: Longest tcp_connect_timeout, a day: 1e20 s overflowed python-oracledb's deadline (time_t).
MAX_CONNECT_TIMEOUT = 86400

#: Settings with a lowest sensible value (the JSON schema says only their type).
_RANGES = {
    "batch_size_rows": (1, "1 or more (rows per batch and transaction)"),
    "staging_min_rows": (0, "0 or more (0 turns the staging table off)"),
    "tcp_connect_timeout": (0, "above 0 and at most 86400 (seconds)"),
    # python-oracledb's thin mode connects to Oracle Database 12.1 and later (its Introduction).
    "database_version": (12, "12 or later (python-oracledb's thin mode needs Oracle Database 12.1)"),
}

LoadMethod = Literal["append-only", "upsert", "overwrite"]


def fail(setting: str, problem: str) -> ConfigValidationError:
    """A one-line config error naming the setting (never its value)."""
    msg = f"setting '{setting}': {problem}"
    return ConfigValidationError(msg, errors=[msg])


def _secret(config: dict[str, Any], name: str) -> str | None:
    """A secret setting as a string; its schema has no type so a typo cannot echo it."""
    value = config.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise fail(name, "must be a string (the value is not shown)")
    return str(value)


def _oracledb_url(raw: str) -> sa.URL:
    """Parse ``sqlalchemy_url`` without ever quoting it, and pin the oracledb driver."""
    try:
        url = sa.make_url(raw)
    except Exception:  # the parser's own message repeats the URL, password included
        raise fail("sqlalchemy_url", "is not a valid SQLAlchemy URL (the value is not shown)") from None
    if url.drivername not in {"oracle", "oracle+oracledb"}:
        raise fail("sqlalchemy_url", f"must start with oracle+oracledb:// (found {url.drivername}://)")
    return url.set(drivername="oracle+oracledb")


def _tcps_dsn(url: sa.URL) -> str:
    """An Easy Connect string with the tcps:// protocol for the URL's host, port and service."""
    service = url.query.get("service_name") or url.database
    if not url.host or not service:
        raise fail(
            "protocol", "tcps with sqlalchemy_url needs a host and a service_name in the URL (or use dsn)"
        )
    return f"tcps://{url.host}:{url.port or 1522}/{service}"


def check_release(settings: Settings, version: int) -> None:
    """Refuse column types the database's release does not have (ORA-00902)."""
    for setting, name, on in (
        ("boolean_type", "BOOLEAN", settings.native_boolean),
        ("json_type", "JSON", settings.native_json),
    ):
        if on and version < TYPE_SINCE[name]:
            raise fail(
                setting,
                f"the {name} type needs Oracle Database {TYPE_SINCE[name]} or later; "
                f"the database is release {version} (database_version)",
            )


@dataclass(frozen=True)
class Connection:
    """Where and how to connect; repr hides the secrets."""

    url: sa.URL | None = field(repr=False)
    connect_args: dict[str, Any] = field(repr=False)
    describe: str = ""

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Connection:
        """Build the URL and python-oracledb thin-mode connect arguments."""
        protocol = config["protocol"]
        tls: dict[str, Any] = {"tcp_connect_timeout": float(config["tcp_connect_timeout"])}
        for name in ("config_dir", "wallet_location"):
            if config.get(name):
                tls[name] = config[name]
        if wallet_password := _secret(config, "wallet_password"):
            tls["wallet_password"] = wallet_password
        if protocol == "tcps":
            tls["ssl_server_dn_match"] = config["ssl_server_dn_match"]
            if config.get("ssl_server_cert_dn"):
                tls["ssl_server_cert_dn"] = config["ssl_server_cert_dn"]
        if tls.get("wallet_location") and protocol != "tcps" and not config.get("dsn"):
            raise fail("protocol", "must be 'tcps' when wallet_location is set (wallets are for TLS)")

        if raw_url := _secret(config, "sqlalchemy_url"):
            url = _oracledb_url(raw_url)
            if protocol == "tcps":
                # SQLAlchemy builds the DSN from the URL with PROTOCOL=TCP; this one replaces it.
                tls["dsn"] = _tcps_dsn(url)
            return cls(url=url, connect_args=tls, describe=url.render_as_string(hide_password=True))

        if _DSN_CREDENTIALS.match(str(config.get("dsn") or "")):
            raise fail("dsn", "holds a password (user/password@...); set user and password instead "
                       "(the value is not shown)")  # fmt: skip
        if not config.get("user"):
            raise fail("user", "is required (or set sqlalchemy_url)")
        args = {**tls, "user": config["user"]}
        if password := _secret(config, "password"):
            args["password"] = password
        if config.get("dsn"):
            return cls(url=None, connect_args={**args, "dsn": config["dsn"]}, describe=f"dsn {config['dsn']}")
        if not config.get("host"):
            raise fail("host", "is required (or set sqlalchemy_url or dsn)")
        if not config.get("service_name"):
            raise fail("service_name", "is required with host (or set sqlalchemy_url or dsn)")
        where = {"host": config["host"], "port": config["port"], "service_name": config["service_name"]}
        if protocol == "tcps":
            where["protocol"] = "tcps"
        describe = f"{protocol}://{config['host']}:{config['port']}/{config['service_name']}"
        return cls(url=None, connect_args={**args, **where}, describe=describe)


@dataclass(frozen=True)
class Settings:
    """Everything the connector and the sinks need, checked once at start."""

    identifier_case: IdentifierCase
    max_identifier_length: int | None
    string_limit: int
    native_boolean: bool
    native_json: bool
    load_method: LoadMethod
    database_version: int | None
    staging_min_rows: int
    hard_delete: bool
    dry_run_sql_path: Path | None
    connection: Connection | None

    @property
    def dry_run(self) -> bool:
        """True when statements go to a script and no database is contacted."""
        return self.dry_run_sql_path is not None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Settings:
        """Check the config (already schema-valid) and derive the settings."""
        dry_run_path = config.get("dry_run_sql_path")
        path = Path(dry_run_path) if dry_run_path else None
        if path is not None and not path.parent.is_dir():
            raise fail("dry_run_sql_path", f"its folder {path.parent} does not exist")
        if path is not None and path.is_dir():
            raise fail("dry_run_sql_path", "is a folder; name the script file in it")
        for setting, (least, allowed) in _RANGES.items():
            value = config.get(setting)
            if value is not None and (value < least or (value == least and allowed.startswith("above"))):
                raise fail(setting, f"must be {allowed}")
        if (config.get("tcp_connect_timeout") or 0) > MAX_CONNECT_TIMEOUT:  # the driver's clock overflows
            raise fail("tcp_connect_timeout", f"must be {_RANGES['tcp_connect_timeout'][1]}")
        max_ident = config.get("max_identifier_length")
        if max_ident is not None and max_ident not in IDENTIFIER_LIMITS:
            raise fail("max_identifier_length", "must be 30 (before 12.2) or 128 (12.2 and later)")
        # A dry run needs no connection; when one is configured it is still checked.
        has_connection = any(config.get(k) for k in ("sqlalchemy_url", "dsn", "host", "user"))
        connection = Connection.from_config(config) if (path is None or has_connection) else None
        version = config.get("database_version") or (DRY_RUN_RELEASE if path is not None else None)
        settings = cls(
            identifier_case=cast("IdentifierCase", config["identifier_case"]),
            max_identifier_length=max_ident,
            string_limit=STRING_LIMITS[config["max_string_size"]],
            native_boolean=config["boolean_type"] == "boolean",
            native_json=config["json_type"] == "json",
            load_method=cast("LoadMethod", config["load_method"]),
            database_version=version,
            staging_min_rows=int(config["staging_min_rows"]),
            hard_delete=bool(config.get("hard_delete", False)),
            dry_run_sql_path=path,
            connection=connection,
        )
        if version is not None:
            check_release(settings, version)
        return settings
