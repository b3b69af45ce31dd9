"""target-oracle: the settings and the target class the CLI runs."""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import socket
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import IO, Any, ClassVar

import msgspec
import oracledb
import singer_sdk.configuration
import sqlalchemy as sa
from dotenv import dotenv_values
from singer_sdk import typing as th
from singer_sdk.exceptions import (
    ConfigValidationError,
    ConformedNameClashException,
    InvalidJSONSchema,
    InvalidRecord,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)
from singer_sdk.io_base import SingerReader
from singer_sdk.singerlib import json as singer_json
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.sinks import Sink
from singer_sdk.sql import SQLTarget
from typing_extensions import override

from .binds import BadValueError
from .connector import OracleConnector, TableRuleError
from .settings import SECRET_SETTINGS, Settings
from .sink import BadNameError, OracleSink
from .typemap import IncompatibleColumnError


def _secret(name: str, description: str) -> th.Property[Any]:
    """A secret setting: a string (the SDK's reader of TARGET_ORACLE_* needs a type).

    A type error would print the value: ``invoke`` logs ``shown_config_error`` in its place.
    """
    return th.Property(name, th.StringType, secret=True, description=description)


def shown_config_error(error: str) -> str:
    """A config error as logged: one about a secret names the setting, never its value.

    The SDK writes a schema error as ``<message> in config['<setting>']``, and the message quotes
    the value (``['pw'] is not of type 'string', 'null'``).
    """
    for name in SECRET_SETTINGS:
        if error.endswith(f" in config[{name!r}]"):
            return f"setting '{name}': must be a string (the value is not shown)"
    return _DECIMAL_REPR.sub(r"\1", error)  # config numbers are read as Decimal: shown as written


_DECIMAL_REPR = re.compile(r"Decimal\('([^']*)'\)")


def env_setting_problems(schema: dict[str, Any], prefix: str, environ: dict[str, str]) -> list[str]:
    """What the SDK's reader of ``--config ENV`` would meet with a traceback: no integer, no JSON.

    It reads ``int(value)`` for an integer setting and JSON for an object or a non-string list.
    Only a whole number is echoed; JSON may hold a secret (stream_map_config), so only its error is.
    """
    problems = []
    for name, prop in schema.get("properties", {}).items():
        variable = prefix + name.upper().replace("-", "_")
        value = environ.get(variable)
        kinds = prop.get("type", [])
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if value is None:
            continue
        where = f"setting '{name}' (env {variable})"
        if "integer" in kinds:
            try:
                int(value)
            except ValueError:
                problems.append(f"{where}: must be a whole number, got {value!r}")
        elif "object" in kinds or ("array" in kinds and prop.get("items", {}).get("type") != ["string"]):
            try:
                json.loads(value)
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: must be JSON ({exc.msg}, at character {exc.pos + 1})")
    return problems


def environment(start: Path) -> dict[str, str]:
    """The environment as the SDK's reader sees it: the first .env above `start` overrides it."""
    values = dict(os.environ)
    for folder in (start, *start.parents):
        if (folder / ".env").is_file():
            values |= {k: v for k, v in dotenv_values(folder / ".env").items() if v is not None}
            break
    return values


def _choice(name: str, default: str, allowed: list[str], description: str) -> th.Property[Any]:
    return th.Property(name, th.StringType, default=default, allowed_values=allowed, description=description)


#: Errors that are the input's or the settings' fault: one line, exit 1, no traceback.
USER_ERRORS = (
    BadNameError,
    BadValueError,
    TableRuleError,
    IncompatibleColumnError,
    InvalidInputLine,
    InvalidRecord,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
    ConformedNameClashException,
    InvalidJSONSchema,
)


#: JSON numbers with a fraction as Decimal, like the SDK's decoder (no float rounding).
_DECODER = msgspec.json.Decoder(float_hook=Decimal)


#: A \uD800-\uDFFF escape in a line: it may leave a lone surrogate in the decoded text (a pair decodes
#: to one character), so only such lines are walked.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\\ud800-\\udfff]")


#: A line nesting arrays or objects deeper than Python's recursion limit (about 1,000 levels).
_TOO_DEEP = (
    "an input line nests arrays or objects too deep to read (about 1,000 levels); its text is not shown"
)


def _integer(text: str) -> int:
    """A JSON integer, also beyond Python's int-string limit (4,300 digits): through Decimal, which has none.

    The column then refuses one that NUMBER cannot hold, by name (binds.py, oracle_rules.py).
    """
    return int(text) if len(text) <= _INT_DIGITS else int(Decimal(text))


_INT_DIGITS = 4000


class DryRunReader(SingerReader):
    """The SDK's reader with a faster decoder; in a dry run it keeps STATE messages from the output.

    Nothing was loaded, so passing the tap's STATE on would let Meltano save a bookmark
    and the first real load would start after rows it never wrote.
    """

    hold_state = False
    held = 0

    def __init__(self) -> None:
        super().__init__()
        self.surrogate_streams: set[Any] = set()
        #: Streams whose SCHEMA came: an ACTIVATE_VERSION or BATCH before it is refused by name.
        self.schema_streams: set[Any] = set()

    @override
    def process_lines(
        self, file_input: IO[str] | None, callbacks: dict[str, Callable[[dict[str, Any]], None]]
    ) -> Counter[str]:
        if self.hold_state:
            callbacks = {**callbacks, "STATE": self.hold}
        return super().process_lines(file_input, callbacks)

    @override
    def deserialize_json(self, line: str) -> dict[str, Any]:
        """The msgspec C decoder reads a line in a third of the json module's time, to the same values.

        A line it refuses goes to the SDK's decoder, which also reads NaN (so the column refuses
        it by name) and words the error for a line that is no JSON.
        """
        try:
            message: dict[str, Any] = _DECODER.decode(line)
        except msgspec.DecodeError:
            message = self.decode_otherwise(line)
        except RecursionError:
            raise InvalidInputLine(_TOO_DEEP) from None
        self.check_shape(message)
        if _SURROGATE_ESCAPE.search(line) and message.get("type") == "RECORD":
            message["record"] = self.without_lone_surrogates(message.get("stream"), message.get("record"))
        return message

    def check_shape(self, message: Any) -> None:
        """Refuse, in one line without the line's text, a message the SDK would drop or crash on.

        Why: a RECORD whose record is null was counted and dropped (exit 0); a record that is a
        list, an unknown message type and an ACTIVATE_VERSION before its SCHEMA were tracebacks.
        """
        if not isinstance(message, dict):
            msg = "an input line is no JSON object (a Singer message is one); its text is not shown"
            raise InvalidInputLine(msg)
        kind = message.get("type")
        stream = message.get("stream")
        if kind == "RECORD":
            if not isinstance(message.get("record"), dict):
                msg = f"stream '{stream}': a RECORD's record is not a JSON object; its text is not shown"
                raise InvalidInputLine(msg)
        elif kind == "SCHEMA":
            schema = message.get("schema")
            if isinstance(schema, dict) and "properties" not in schema:
                msg = (
                    f"stream '{stream}': its schema has no properties (each property is a column; list them)"
                )
                raise InvalidInputLine(msg)
            self.schema_streams.add(stream)
        elif kind in {"ACTIVATE_VERSION", "BATCH"}:
            if stream not in self.schema_streams:
                msg = f"stream '{stream}': its {kind} message came before its SCHEMA"
                raise InvalidInputLine(msg)
        elif kind not in {"STATE", None}:  # None: assert_line_requires says it
            msg = f"an input line has an unknown message type ({str(kind)[:40]}); its text is not shown"
            raise InvalidInputLine(msg)

    @override
    @staticmethod
    def assert_line_requires(line_dict: dict[str, Any], requires: set[str]) -> None:
        """The SDK's check, saying which key is missing without the line (it may hold data)."""
        if missing := requires - set(line_dict):
            keys = ", ".join(sorted(missing))
            msg = f"an input line has no {keys} key (a Singer message needs it); its text is not shown"
            raise InvalidInputLine(msg)

    @staticmethod
    def decode_otherwise(line: str) -> dict[str, Any]:
        """The SDK's JSON decoding: it reads NaN, so the column refuses it by name.

        A line that is no JSON is one line of error without its text (it may hold data), not the
        SDK's log of it.
        """
        try:
            message: dict[str, Any] = singer_json.deserialize_json(line, parse_int=_integer)
        except json.JSONDecodeError as exc:
            msg = f"an input line is no JSON ({exc.msg}, at character {exc.pos}); its text is not shown"
            raise InvalidInputLine(msg) from None
        except RecursionError:
            raise InvalidInputLine(_TOO_DEEP) from None
        return message

    def without_lone_surrogates(self, stream: Any, value: Any) -> Any:
        """Text with a lone UTF-16 surrogate escape gets U+FFFD in its place, as the tap does.

        No UTF-8 database stores one (python-oracledb cannot even encode it); one warning per
        stream, without the value.
        """
        if isinstance(value, str):
            fixed = _LONE_SURROGATE.sub("\ufffd", value)
            if fixed != value and stream not in self.surrogate_streams:
                self.surrogate_streams.add(stream)
                logging.getLogger("target_oracle").warning(
                    "stream '%s': text with a lone UTF-16 surrogate escape (no character; Oracle's "
                    "AL32UTF8 cannot store it) is loaded with U+FFFD in its place",
                    stream,
                )
            return fixed
        if isinstance(value, dict):
            return {k: self.without_lone_surrogates(stream, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.without_lone_surrogates(stream, v) for v in value]
        return value

    def hold(self, message: dict[str, Any]) -> None:
        """Count the STATE message, say once that it stays here."""
        del message
        if not self.held:
            logging.getLogger("target_oracle").info(
                "dry run: STATE messages are not passed on, so no bookmark moves"
            )
        self.held += 1


class TargetOracle(SQLTarget):
    """Singer target for Oracle Database: MERGE upserts, activation deletes, dry runs."""

    name = "target-oracle"
    default_sink_class = OracleSink
    message_reader_class = DryRunReader

    config_jsonschema: ClassVar[dict[str, Any]] = th.PropertiesList(
        # --- connection
        _secret(
            "sqlalchemy_url",
            "oracle+oracledb://user:password@host:1521/?service_name=SERVICE; "
            "when set, user/password/host/port/service_name/dsn are not used.",
        ),
        th.Property("user", th.StringType, description="Database user."),
        _secret("password", "Password of the database user."),
        th.Property("host", th.StringType, description="Database host name."),
        th.Property(
            "port", th.IntegerType, default=1521, description="Listener port (1522 is usual for TCPS)."
        ),
        th.Property("service_name", th.StringType, description="Database service name, e.g. FREEPDB1."),
        th.Property(
            "dsn",
            th.StringType,
            description="Instead of host/port/service_name: a TNS alias "
            "(with config_dir) or an Easy Connect string.",
        ),
        _choice("protocol", "tcp", ["tcp", "tcps"], "tcps for TLS, e.g. Autonomous Database."),
        th.Property("wallet_location", th.StringType, description="Folder holding ewallet.pem (mTLS)."),
        _secret("wallet_password", "Password of the PEM wallet (mTLS)."),
        th.Property(
            "config_dir", th.StringType, description="Folder holding tnsnames.ora (for a TNS alias dsn)."
        ),
        th.Property(
            "ssl_server_dn_match",
            th.BooleanType,
            default=True,
            description="Check the server certificate's distinguished name (TCPS).",
        ),
        th.Property(
            "ssl_server_cert_dn", th.StringType, description="Expected server certificate DN (TCPS)."
        ),
        th.Property(
            "tcp_connect_timeout",
            th.IntegerType,  # whole seconds: Meltano's decimal kind and the SDK's ENV reader fail a number
            default=20,
            description="Seconds to wait for the network connection.",
        ),
        # --- names
        _choice(
            "identifier_case",
            "upper",
            ["upper", "preserve"],
            "upper: Oracle's convention (ORDER_HDR); preserve: names exactly as sent. Always quoted.",
        ),
        th.Property(
            "max_identifier_length",
            th.IntegerType,
            description="30 (before 12.2) or 128; unset: read from the database (128 in a dry run).",
        ),
        # --- types
        _choice(
            "max_string_size",
            "standard",
            ["standard", "extended"],
            "The database's MAX_STRING_SIZE: VARCHAR2 up to 4000 or 32767 bytes; longer text is CLOB.",
        ),
        _choice(
            "boolean_type",
            "number",
            ["number", "boolean"],
            "number: NUMBER(1) 1/0; boolean: the BOOLEAN type of Oracle 23ai.",
        ),
        _choice(
            "json_type",
            "clob",
            ["clob", "json"],
            "Objects and arrays as JSON text in a CLOB, or in the JSON type (21c and later).",
        ),
        th.Property(
            "database_version",
            th.IntegerType,
            description="The database's major release (19, 21, 23). Unset: read from the server; "
            "a dry run assumes 19. BOOLEAN needs 23, JSON needs 21.",
        ),
        # --- loading (SDK settings declared again only to change their defaults)
        _choice(
            "load_method",
            "upsert",
            ["append-only", "upsert", "overwrite"],
            "upsert: MERGE by primary key; append-only: INSERT, no primary key; "
            "overwrite: load into <TABLE>$NEW, replace the table's rows at the end of the input.",
        ),
        th.Property(
            "staging_min_rows",
            th.IntegerType,
            default=2000,
            description="Upsert batches of at least this many rows go through a global temporary "
            "table and one set-based MERGE (the fast path for full loads); 0 turns it off.",
        ),
        th.Property(
            "add_record_metadata",
            th.BooleanType,
            default=True,
            description="Add _sdc_ columns; ACTIVATE_VERSION needs _sdc_table_version.",
        ),
        th.Property(
            "dry_run_sql_path",
            th.StringType,
            description="Write every statement to this file instead of connecting to a database.",
        ),
    ).to_dict()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Derived once, here, so a bad setting fails before any input is read.
        self.settings = Settings.from_config(dict(self.config))
        if self.settings.dry_run:
            self.max_parallelism = 1  # one stream at a time: the script reads in input order
            _ = self.connector.script  # started now: a run refused early leaves no earlier run's script
            if isinstance(self.message_reader, DryRunReader):
                self.message_reader.hold_state = True

    @cached_property
    def connector(self) -> OracleConnector:
        """The connector shared by all sinks, built from the settings checked at start."""
        return OracleConnector(dict(self.config), settings=self.settings)

    @property
    @override
    def target_connector(self) -> OracleConnector:
        return self.connector

    @override
    def get_sink(
        self,
        stream_name: str,
        *,
        record: dict[str, Any] | None = None,
        schema: dict[str, Any] | None = None,
        key_properties: Sequence[str] | None = None,
    ) -> Sink:
        """The stream's sink; a new SCHEMA first writes the rows the old sink still holds.

        The SDK keeps a replaced sink's rows until the next full drain, so they would be
        written after the new sink's and overwrite newer values of the same keys. Whether
        the SCHEMA replaces the sink is the SDK's rule, asked of the schema the sink was made
        from (``table_schema``: its own ``schema`` keeps only what its record path needs).
        """
        if schema is not None and self.sink_exists(stream_name):
            old = super().get_sink(stream_name)
            if old.current_size:
                old.process_batch(old.start_drain())
                old.mark_drained()
            if (
                isinstance(old, OracleSink)
                and old.table_schema == schema
                and old.key_properties == key_properties
            ):
                return old
        return super().get_sink(stream_name, record=record, schema=schema, key_properties=key_properties)

    @override
    def process_endofpipe(self) -> None:
        """Drain and commit everything, then run activations that waited for the end of the input."""
        try:
            super().process_endofpipe()
            self.connector.run_deferred()
        finally:
            self.connector.close()

    @override
    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: Any = None,
        file_input: Any = None,
    ) -> None:
        """Run the target; a bad record or schema ends it with one line and exit code 1."""
        if getattr(config, "parse_env", False):  # --config ENV
            # The SDK reads the first .env above its configuration package, and lets it override.
            prefix = cls.name.upper().replace("-", "_") + "_"
            where = Path(singer_sdk.configuration.__file__).parent
            schema = copy.deepcopy(cls.config_jsonschema)
            cls.append_builtin_config(schema)  # stream_maps and the other settings of the SDK
            problems = env_setting_problems(schema, prefix, environment(where))
            for problem in problems:
                cls.logger.error("%s", problem)
            if problems:
                sys.exit(1)
        try:
            super().invoke(about=about, about_format=about_format, config=config, file_input=file_input)
        except ConfigValidationError as exc:
            # Each error names its setting; the SDK's CLI would add "Config validation failed" after them.
            for error in exc.errors or [str(exc)]:
                cls.logger.error("%s", shown_config_error(error))
            sys.exit(1)
        except USER_ERRORS as exc:
            cls.logger.error("%s", str(exc).splitlines()[0])
            cls.logger.debug("where it was raised", exc_info=True)  # a traceback only when debugging
            sys.exit(1)
        except sa.exc.DBAPIError as exc:
            # The driver's message only: SQLAlchemy's wrapper would add the statement text.
            cls.logger.error("database error: %s", " ".join(str(exc.orig).split()))
            sys.exit(1)
        except socket.gaierror as exc:  # python-oracledb lets the resolver's error through
            cls.logger.error(
                "database error: the database's host name does not resolve (%s); "
                "check host, dsn or sqlalchemy_url",
                exc.strerror,
            )
            sys.exit(1)
        except oracledb.Error as exc:  # from a cursor with declared bind types (no SQLAlchemy wrapper)
            cls.logger.error("database error: %s", " ".join(str(exc).split()))
            sys.exit(1)
