"""The installed command as users run it: exit codes, one-line errors, and secrets that never show."""

from __future__ import annotations

import base64
import gzip
import json
import os
import socket
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from target_helpers import ITEM_SCHEMA, raw_record, record, schema_message, state
from test_activate_version import batch_message

SECRET = "Sup3r-Secret/Pass+word"
TARGET = [sys.executable, "-m", "target_oracle"]


def run_cli(tmp_path: Path, config: dict, lines: list[str] | None = None, *args: str):
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    return subprocess.run(
        [*TARGET, "--config", str(config_path), *args],
        input="".join(line + "\n" for line in (lines or [])),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_refused(done: subprocess.CompletedProcess, ending: str, value: str) -> None:
    """Exit 1, the last line ends with ``ending``, ``value`` (the data) shown nowhere, no traceback."""
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].endswith(ending)
    assert value not in done.stderr
    assert "Traceback" not in done.stderr


def secret_forms(secret: str) -> list[str]:
    """The secret as it might leak: raw, URL-quoted, base64, hex."""
    return [
        secret,
        urllib.parse.quote(secret),
        urllib.parse.quote_plus(secret),
        base64.b64encode(secret.encode()).decode(),
        secret.encode().hex(),
    ]


def assert_no_secret(*outputs: str) -> None:
    for output in outputs:
        for form in secret_forms(SECRET):
            assert form not in output


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_failed_connection_is_one_line_and_shows_no_password(tmp_path):
    """A refused connection ends with exit 1 and the driver's message; the password appears nowhere."""
    config = {
        "host": "127.0.0.1",
        "port": _closed_port(),
        "service_name": "FREEPDB1",
        "user": "loader",
        "password": SECRET,
        "wallet_password": SECRET,
        "tcp_connect_timeout": 3,
    }
    lines = [json.dumps(schema_message("item", ITEM_SCHEMA))]
    done = run_cli(tmp_path, config, lines)
    assert done.returncode == 1
    assert "database error: DPY-6005: cannot connect to database" in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr
    assert_no_secret(done.stdout, done.stderr)


def test_a_database_host_name_that_does_not_resolve_is_one_line(tmp_path):
    """python-oracledb lets the resolver's socket.gaierror through: it ended in '-2' and a traceback."""
    config = {
        "sqlalchemy_url": f"oracle+oracledb://loader:{SECRET}@db.invalid:1521/?service_name=FREEPDB1",
        "tcp_connect_timeout": 3,
    }
    done = run_cli(tmp_path, config, [json.dumps(schema_message("item", ITEM_SCHEMA))])
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].endswith(
        "database error: the database's host name does not resolve (Name or service not known); "
        "check host, dsn or sqlalchemy_url"
    )
    assert "Traceback" not in done.stderr
    assert_no_secret(done.stdout, done.stderr)


def test_secret_in_a_bad_url_is_not_echoed(tmp_path):
    """An unparsable sqlalchemy_url fails by name; neither it nor its password is printed."""
    config = {"sqlalchemy_url": f"oracle+oracledb://u:{SECRET}@h:port-typo/"}
    done = run_cli(tmp_path, config, [])
    assert done.returncode == 1
    assert "setting 'sqlalchemy_url': is not a valid SQLAlchemy URL" in done.stderr
    assert_no_secret(done.stdout, done.stderr)


@pytest.mark.parametrize("value", [{"p": SECRET}, [SECRET], True], ids=["object", "list", "boolean"])
@pytest.mark.parametrize("setting", ["password", "wallet_password", "sqlalchemy_url"])
def test_secret_of_the_wrong_type_is_not_echoed(tmp_path, setting, value):
    """A secret that is not a string fails by name, without the SDK printing its value."""
    done = run_cli(tmp_path, {"user": "u", "dsn": "x", setting: value}, [])
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].endswith(
        f"setting '{setting}': must be a string (the value is not shown)"
    )
    assert_no_secret(done.stdout, done.stderr)


def test_settings_from_the_environment_with_config_env(tmp_path):
    """--config ENV reads TARGET_ORACLE_* (secrets and the timeout too): the secrets' schema had no type,
    which the SDK's reader of the environment met with a traceback, and the timeout stayed text."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_ORACLE_")}
    env |= {
        "TARGET_ORACLE_USER": "loader",
        "TARGET_ORACLE_PASSWORD": SECRET,
        "TARGET_ORACLE_WALLET_PASSWORD": SECRET,
        "TARGET_ORACLE_DSN": "db_alias",
        "TARGET_ORACLE_TCP_CONNECT_TIMEOUT": "5",
        "TARGET_ORACLE_DRY_RUN_SQL_PATH": str(tmp_path / "s.sql"),
    }
    lines = [json.dumps(schema_message("item", ITEM_SCHEMA)), json.dumps(record("item", {"id": 1}))]
    done = subprocess.run(
        [*TARGET, "--config", "ENV"],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-500:]
    assert 'MERGE INTO "ITEM"' in (tmp_path / "s.sql").read_text()
    assert_no_secret(done.stdout, done.stderr)


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("TARGET_ORACLE_TCP_CONNECT_TIMEOUT", "1.5", "must be a whole number, got '1.5'"),
        ("TARGET_ORACLE_PORT", "abc", "must be a whole number, got 'abc'"),
        ("TARGET_ORACLE_STREAM_MAPS", "{not json", "must be JSON (Expecting property name"),
    ],
)
def test_a_bad_setting_in_the_environment_is_one_line_naming_it(tmp_path, variable, value, line):
    """The SDK's reader of TARGET_ORACLE_* met a value that is no integer or JSON with a traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_ORACLE_")}
    env |= {
        "TARGET_ORACLE_PASSWORD": SECRET,
        "TARGET_ORACLE_DRY_RUN_SQL_PATH": str(tmp_path / "s.sql"),
        variable: value,
    }
    done = subprocess.run(
        [*TARGET, "--config", "ENV"],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    setting = variable.removeprefix("TARGET_ORACLE_").lower()
    assert done.returncode == 1
    assert f"setting '{setting}' (env {variable}): {line}" in done.stderr
    assert "Traceback" not in done.stderr
    assert_no_secret(done.stdout, done.stderr)


@pytest.mark.parametrize("dsn", [f"loader/{SECRET}@127.0.0.1:1/FREEPDB1", f"loader/{SECRET}@db_alias"])
def test_dsn_holding_a_password_is_refused_without_showing_it(tmp_path, dsn):
    """python-oracledb takes ``user/password@connect_string``; its parse error quoted the whole dsn."""
    lines = [json.dumps(schema_message("item", ITEM_SCHEMA))]
    done = run_cli(tmp_path, {"user": "loader", "dsn": dsn, "tcp_connect_timeout": 1}, lines)
    assert done.returncode == 1
    assert "setting 'dsn': holds a password (user/password@...); set user and password instead" in done.stderr
    assert_no_secret(done.stdout, done.stderr)
    assert "Traceback" not in done.stderr


def test_dry_run_path_that_is_a_folder_is_one_line(tmp_path):
    """dry_run_sql_path names the script file; a folder there was an IsADirectoryError traceback."""
    lines = [json.dumps(schema_message("item", ITEM_SCHEMA))]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path)}, lines)
    assert done.returncode == 1
    assert "setting 'dry_run_sql_path': is a folder; name the script file in it" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_setting_value_names_the_setting(tmp_path):
    """A value outside a setting's choices is refused before any input is read."""
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql"), "identifier_case": "lower"}, [])
    assert done.returncode == 1
    assert "'lower' is not one of ['upper', 'preserve'] in config['identifier_case']" in done.stderr


@pytest.mark.parametrize(
    ("setting", "value", "line"),
    [
        (
            "batch_size_rows",
            0,
            "setting 'batch_size_rows': must be 1 or more (rows per batch and transaction)",
        ),
        (
            "identifier_case",
            "lower",
            "'lower' is not one of ['upper', 'preserve'] in config['identifier_case']",
        ),
    ],
    ids=["ours", "the-sdks"],
)
def test_a_bad_setting_is_one_error_line_naming_it(tmp_path, setting, value, line):
    """The SDK followed the line naming the setting with a second, 'Config validation failed', which
    named nothing and was the last line a scheduler shows."""
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql"), setting: value}, [])
    assert done.returncode == 1
    assert sum("ERROR" in entry for entry in done.stderr.splitlines()) == 1
    assert done.stderr.splitlines()[-1].endswith(line)


@pytest.mark.parametrize(("value", "shown"), [("1.5", "1.5"), ("1e400", "1E+400")])
def test_a_fraction_for_an_integer_setting_is_shown_as_a_number(tmp_path, value, shown):
    """Config numbers are read as Decimal: the SDK's line said "Decimal('1.5') is not of type ..."."""
    config = tmp_path / "raw.json"
    config.write_text(f'{{"dry_run_sql_path": "{tmp_path / "s.sql"}", "tcp_connect_timeout": {value}}}')
    done = subprocess.run(
        [*TARGET, "--config", str(config)], input="", capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].endswith(
        f"{shown} is not of type 'integer', 'null' in config['tcp_connect_timeout']"
    )


def test_record_breaking_its_schema_is_one_line_naming_stream_key_and_field(tmp_path):
    """A bad record stops the run with exit 1 in one line: stream, record key, field, rule; no value."""
    lines = [
        json.dumps(schema_message("item", ITEM_SCHEMA)),
        json.dumps(record("item", {"id": 1})),
        json.dumps(state({"bookmarks": {"item": 1}})),
        json.dumps(record("item", {"id": 2, "code": "private-text-" * 3})),
    ]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert done.returncode == 1
    assert (
        "stream 'item' record key id=2 field 'code': does not match its schema (maxLength 30)"
        in done.stderr.splitlines()[-1]
    )
    assert "private-text" not in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert "MERGE" not in (tmp_path / "s.sql").read_text()


def test_date_time_that_does_not_parse_is_one_line_without_the_value(tmp_path):
    """A date-time property holding 'private-date': one line naming the field, the value nowhere."""
    schema = {"id": {"type": "integer"}, "ts": {"type": "string", "format": "date-time"}}
    bad = json.dumps(record("item", {"id": 3, "ts": "private-date"}))
    done = run_cli(
        tmp_path,
        {"dry_run_sql_path": str(tmp_path / "s.sql")},
        [json.dumps(schema_message("item", schema)), bad],
    )
    assert done.returncode == 1
    assert (
        "stream 'item' record key id=3 field 'ts': is not an ISO 8601 date-time (format date-time)"
        in done.stderr.splitlines()[-1]
    )
    assert "private-date" not in done.stderr
    assert "Traceback" not in done.stderr


def test_a_decimal_multiple_of_its_float_multipleof_loads_and_one_that_is_not_is_one_line(tmp_path):
    """multipleOf 0.01 (a float, as taps write it) against decimal values: 12.34 loads, 12.345 is
    refused in one line naming the rule; neither crashes (compiled validators divide Decimal by float)."""
    schema = {"id": {"type": "integer"}, "price": {"type": ["number", "null"], "multipleOf": 0.01}}
    good = ['{"type":"RECORD","stream":"item","record":{"id":1,"price":12.34}}',
            '{"type":"RECORD","stream":"item","record":{"id":2,"price":5}}',
            '{"type":"RECORD","stream":"item","record":{"id":3,"price":null}}']  # fmt: skip
    bad = '{"type":"RECORD","stream":"item","record":{"id":4,"price":12.345}}'
    head = [json.dumps(schema_message("item", schema))]
    loaded = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "good.sql")}, head + good)
    assert loaded.returncode == 0, loaded.stderr
    assert "MERGE" in (tmp_path / "good.sql").read_text()
    refused = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "bad.sql")}, [*head, *good, bad])
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-1].endswith(
        "stream 'item' record key id=4 field 'price': does not match its schema (multipleOf 0.01)"
    )
    assert "Traceback" not in refused.stderr


def test_key_missing_from_the_schema_is_one_line(tmp_path):
    """key_properties naming no property: one line, no traceback (#26)."""
    lines = [
        json.dumps(schema_message("item", ITEM_SCHEMA, keys=["idx"])),
        json.dumps(record("item", {"id": 1})),
    ]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert done.returncode == 1
    assert "stream 'item': key property 'idx' is not in its schema" in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr


def test_stream_name_that_conforms_to_nothing_is_one_line(tmp_path):
    """A stream 'item-' (schema 'item', table '') stops with one line naming it, no traceback (#26)."""
    lines = [json.dumps(schema_message("item-", ITEM_SCHEMA)), json.dumps(record("item-", {"id": 1}))]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert done.returncode == 1
    assert "stream 'item-': name '' is empty once conformed" in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr


def test_value_that_does_not_fit_is_one_line_naming_stream_key_and_column(tmp_path):
    """1E200 for a NUMBER column: one line with stream, record key and column; no traceback."""
    schema = {"id": {"type": "integer"}, "qty": {"type": "number"}}
    lines = [
        json.dumps(schema_message("item", schema)),
        '{"type":"RECORD","stream":"item","record":{"id":4,"qty":1E200}}',
    ]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert done.returncode == 1
    last = done.stderr.splitlines()[-1]
    assert 'stream \'item\' record key id=4: table "ITEM" column "QTY" (NUMBER): ORA-01426' in last
    assert "Traceback" not in done.stderr


def test_malformed_line_ends_the_run_in_one_line_without_its_text(tmp_path):
    """A line that is not JSON (a record cut short) ends the run with exit 1 and one line saying so;
    its text, which may hold data, is shown nowhere, and there is no traceback."""
    lines = [
        json.dumps(schema_message("item", ITEM_SCHEMA)),
        '{"type":"RECORD","stream":"item","record":{"code":"SECRETV"',
    ]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert_refused(
        done,
        "an input line is no JSON (Expecting ',' delimiter, at character 60); its text is not shown",
        "SECRETV",
    )


def test_a_dry_run_refused_before_its_first_statement_leaves_no_earlier_script(tmp_path):
    """The script file is started with the run: an earlier run's statements are never taken for this one's."""
    script = tmp_path / "s.sql"
    script.write_text('-- an earlier run\nDROP TABLE "ITEM";\n')
    done = run_cli(tmp_path, {"dry_run_sql_path": str(script)}, ['{"type":"RECORD"'])
    assert done.returncode == 1
    text = script.read_text()
    assert "an earlier run" not in text
    assert text.startswith("-- target-oracle dry run")


def test_record_before_schema_is_one_line(tmp_path):
    """A RECORD for a stream with no SCHEMA yet is refused by name."""
    done = run_cli(
        tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, [json.dumps(record("x", {"id": 1}))]
    )
    assert done.returncode == 1
    assert (
        "A record for stream 'x' was encountered before a corresponding schema"
        in done.stderr.splitlines()[-1]
    )


def test_about_marks_secrets(tmp_path):
    """--about lists password, wallet_password and sqlalchemy_url as secrets (writeOnly)."""
    done = subprocess.run([*TARGET, "--about", "--format=json"], capture_output=True, text=True, check=True)
    properties = json.loads(done.stdout)["settings"]["properties"]
    for name in ("password", "wallet_password", "sqlalchemy_url"):
        assert properties[name]["secret"] is True
        assert properties[name]["writeOnly"] is True


def test_a_batch_file_row_breaking_its_schema_is_refused_as_a_record_would_be(tmp_path):
    """BATCH rows get the schema checks of RECORD rows: one line naming stream, key and field; no value."""
    message = batch_message(
        tmp_path, '{"id": 1, "code": "ok"}\n{"id": 2, "code": "' + "private-text-" * 3 + '"}\n'
    )
    lines = [json.dumps(schema_message("item", ITEM_SCHEMA)), json.dumps(message)]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert_refused(
        done,
        "stream 'item' record key id=2 field 'code': does not match its schema (maxLength 30)",
        "private-text",
    )


def test_a_batch_file_gone_or_garbled_is_one_line(tmp_path):
    """A manifest naming a file that is not there, or a gzip file cut short: exit 1, one line."""
    gone = {**batch_message(tmp_path, ""), "manifest": [(tmp_path / "nowhere.jsonl").as_uri()]}
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress(b'{"id": 1, "code": "x"}\n' * 100)[:60])
    garbled = {**gone, "encoding": {"format": "jsonl", "compression": "gzip"}, "manifest": [cut.as_uri()]}
    for message in (gone, garbled):
        lines = [json.dumps(schema_message("item", ITEM_SCHEMA)), json.dumps(message)]
        done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
        assert done.returncode == 1
        assert "stream 'item': a BATCH file cannot be read (" in done.stderr.splitlines()[-1]
        assert str(tmp_path) not in done.stderr  # the reason, not the file's URL
        assert "Traceback" not in done.stderr


NUMBERS = {"id": {"type": "integer"}, "n": {"type": ["integer", "null"]}, "x": {"type": ["number", "null"]}}


@pytest.mark.parametrize(
    ("field", "text", "ending"),
    [
        ("n", "9" * 5000, 'column "N" (NUMBER(38, 0)): more than 38 digit(s) before the decimal point'),
        ("x", "9" * 5000, 'column "X" (NUMBER): ORA-01426 (NUMBER magnitudes below 1E126 '
         '(numeric overflow)): a magnitude of 1E126 or more'),
        ("x", "1e126", "a magnitude of 1E126 or more"),
        ("x", "-2.5E+200", "a magnitude of 1E126 or more"),
        ("x", "1e-131", "a magnitude below 1E-130 would be stored as 0"),
        ("x", "1." + "1" * 39, "40 significant digits would be rounded to 38"),
    ],
    ids=["5000-digit-integer", "5000-digit-number", "1e126", "-2.5e200", "1e-131", "40-digits"],
)  # fmt: skip
def test_number_oracle_cannot_hold_is_one_line_naming_stream_and_column(tmp_path, field, text, ending):
    """Beyond NUMBER's range or digits: exit 1, one line (stream, record key, column, rule), no
    traceback (Python's int-string limit made one), no value, and no row of the batch in the script."""
    lines = [
        json.dumps(schema_message("item", NUMBERS)),
        '{"type":"RECORD","stream":"item","record":{"id":1,"x":1.5}}',
        raw_record(2, field, text),
    ]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert_refused(done, ending, text)
    assert "stream 'item' record key id=2: table \"ITEM\" column" in done.stderr.splitlines()[-1]
    assert "MERGE" not in (tmp_path / "s.sql").read_text()


def test_numbers_at_the_edges_of_oracles_range_load(tmp_path):
    """What NUMBER holds exactly loads: 38 digits, 9.99E125, 1E-130, and integers as wide as the column."""
    values = [
        "9" * 38,
        "9.99E125",
        "-1E-130",
        "0.0000000000000000000000000000000000000000001",
        "1" + "0" * 60,
    ]
    lines = [json.dumps(schema_message("item", NUMBERS))]
    lines += [raw_record(i, "x", v) for i, v in enumerate(values)]
    lines.append(raw_record(9, "n", "9" * 38))
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert done.returncode == 0, done.stderr
    assert "9" * 38 in (tmp_path / "s.sql").read_text()


def test_json_nested_5000_deep_is_one_line(tmp_path):
    """A record nesting arrays 5,000 deep (Python's RecursionError): exit 1, one line, no traceback."""
    schema = {"id": {"type": "integer"}, "doc": {"type": ["array", "null"]}}
    deep = "[" * 5000 + '"SECRETV"' + "]" * 5000
    lines = [
        json.dumps(schema_message("item", schema)),
        raw_record(1, "doc", deep),
    ]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert_refused(
        done,
        "an input line nests arrays or objects too deep to read (about 1,000 levels); its text is not shown",
        "SECRETV",
    )


@pytest.mark.parametrize("step", [0, -1, -0.5])
def test_multipleof_zero_or_negative_is_one_line_naming_where(tmp_path, step):
    """multipleOf must be above 0 (JSON Schema): one line naming the stream and where, no traceback."""
    schema = {"id": {"type": "integer"}, "price": {"type": ["number", "null"], "multipleOf": step}}
    lines = [json.dumps(schema_message("item", schema)), json.dumps(record("item", {"id": 1, "price": 2}))]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert_refused(
        done,
        "stream 'item': its schema is not a valid JSON Schema (at properties/price/multipleOf: breaks "
        "exclusiveMinimum 0)",
        "SECRETV",
    )


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("9999-12-31T23:00:00-05:00", False),
        ("9999-12-31T23:00:00.000000-05:00", False),
        ("0001-01-01T00:30:00+01:00", False),
        ("9999-12-31T23:00:00-05:00", True),
    ],
    ids=["year-10000", "year-10000-as-written", "year-0", "year-10000-key"],
)
def test_date_time_outside_oracles_years_in_utc_is_one_line(tmp_path, value, key):
    """Oracle keeps TIMESTAMP WITH TIME ZONE in UTC (and keys as UTC TIMESTAMP): an instant that is
    year 10000 or year 0 there is refused in one line (ORA-01841), not a traceback, not accepted."""
    schema = {"id": {"type": "integer"}, "ts": {"type": ["string", "null"], "format": "date-time"}}
    message = schema_message("item", schema, keys=["ts"] if key else ["id"])
    lines = [json.dumps(message), json.dumps(record("item", {"id": 1, "ts": value}))]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert_refused(done, "in UTC the instant is outside years 1 to 9999", "SECRETV")
    assert "ORA-01841" in done.stderr.splitlines()[-1]
    assert "MERGE" not in (tmp_path / "s.sql").read_text()


def test_key_changed_to_a_property_stored_as_clob_is_one_line(tmp_path):
    """A second SCHEMA makes 'note' (a CLOB column) the key: a MERGE ON it would be refused
    (ORA-00932). One line naming stream and property; the earlier batch stays, none under the new key."""
    schema = {"id": {"type": "integer"}, "note": {"type": ["string", "null"]}}
    lines = [
        json.dumps(schema_message("item", schema)),
        json.dumps(record("item", {"id": 1, "note": "a"})),
        json.dumps(schema_message("item", schema, keys=["note"])),
        json.dumps(record("item", {"id": 2, "note": "SECRETV"})),
    ]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert_refused(
        done,
        "stream 'item': key property 'note' is column \"NOTE\" of ITEM, a CLOB: ORA-00932 (no CLOB, NCLOB or "
        "BLOB column in a MERGE ON clause (LOBs cannot be compared)): a MERGE cannot match rows by it; no "
        "record was written under this key (load it into a new table, see the README)",
        "SECRETV",
    )
    script = (tmp_path / "s.sql").read_text()
    assert 'ON (t."ID" = s."ID")' in script
    assert 'ON (t."NOTE"' not in script


@pytest.mark.parametrize(
    ("keys", "said"),
    [(["id", "code"], "(ID, CODE)"), (["code"], "(CODE)"), ([], "(none, rows appended)")],
    ids=["key-widened", "key-replaced", "key-dropped"],
)
def test_key_changed_from_the_tables_primary_key_is_one_line(tmp_path, keys, said):
    """A second SCHEMA names another key than the table's primary key (ID): a MERGE ON (ID, CODE)
    inserts a second row of ID 1, an INSERT repeats it (ORA-00001 on a real load, after the first batch
    was committed; the dry run took it). One line naming stream, table and both keys; nothing written."""
    schema = {"id": {"type": "integer"}, "code": {"type": ["string", "null"], "maxLength": 10}}
    lines = [
        json.dumps(schema_message("item", schema)),
        json.dumps(record("item", {"id": 1, "code": "a"})),
        json.dumps(schema_message("item", schema, keys=keys)),
        json.dumps(record("item", {"id": 1, "code": "SECRETV"})),
    ]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert_refused(
        done,
        f"stream 'item': table ITEM has primary key (ID), the stream's key is {said}: ORA-00001 (one row "
        "per primary key: rows merged on the table's key columns, no other): a second row of a key would "
        "be inserted; no record was written under this key (load it into a new table, see the README)",
        "SECRETV",
    )
    assert "SECRETV" not in (tmp_path / "s.sql").read_text()


def test_a_type_change_the_column_cannot_take_names_the_stream(tmp_path):
    """An integer property that becomes a string: the line named table and column only; with many
    streams in one run, the stream to fix is named first."""
    lines = [
        json.dumps(schema_message("item", {"id": {"type": "integer"}, "v": {"type": "integer"}})),
        json.dumps(record("item", {"id": 1, "v": 5})),
        json.dumps(schema_message("item", {"id": {"type": "integer"}, "v": {"type": "string"}})),
        json.dumps(record("item", {"id": 2, "v": "SECRETV"})),
    ]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert_refused(
        done,
        'stream \'item\': table "ITEM" column "V": existing type NUMBER(38, 0) cannot take the new type '
        "CLOB; nothing was changed (alter or rename the column, see the README)",
        "SECRETV",
    )


def test_a_table_with_no_column_at_all_is_one_line(tmp_path):
    """No properties and no _sdc columns: CREATE TABLE "ITEM" () passed the dry run; Oracle's grammar
    wants at least one column. One line naming the table, nothing created."""
    lines = [json.dumps(schema_message("item", {}, keys=[])), json.dumps(record("item", {}))]
    config = {"dry_run_sql_path": str(tmp_path / "s.sql"), "add_record_metadata": False}
    done = run_cli(tmp_path, config, lines)
    assert_refused(done, 'syntax error (a table has at least one column): "ITEM" would have none', "SECRETV")
    script = tmp_path / "s.sql"
    assert not script.exists() or "CREATE TABLE" not in script.read_text()


def test_a_schema_without_properties_is_one_line_naming_the_stream(tmp_path):
    """{"type": "object"} is a JSON Schema, but gives no column: the line said a Singer message needs a
    properties key."""
    line = json.dumps(
        {"type": "SCHEMA", "stream": "item", "schema": {"type": "object"}, "key_properties": []}
    )
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, [line])
    assert_refused(
        done, "stream 'item': its schema has no properties (each property is a column; list them)", "SECRETV"
    )


def test_the_same_key_in_another_order_loads(tmp_path):
    """Key properties (code, id) on a table keyed (ID, CODE): the same key, merged as before."""
    schema = {"id": {"type": "integer"}, "code": {"type": "string", "maxLength": 10}}
    lines = [
        json.dumps(schema_message("item", schema, keys=["id", "code"])),
        json.dumps(record("item", {"id": 1, "code": "a"})),
        json.dumps(schema_message("item", schema, keys=["code", "id"])),
        json.dumps(record("item", {"id": 1, "code": "b"})),
    ]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "s.sql").read_text().count("MERGE INTO") == 2


@pytest.mark.parametrize(
    ("names", "column"),
    [(["a-b", "A_B"], "A_B"), (["code", "CODE"], "CODE"), (["rowid", "ROWID_"], "ROWID_")],
    ids=["dash-and-underscore", "case", "renamed-rowid"],
)
def test_properties_folding_to_one_column_are_one_line_naming_the_stream(tmp_path, names, column):
    """Two properties that become one Oracle column name: exit 1, one line naming the stream and both."""
    schema = {"id": {"type": "integer"}, **{n: {"type": ["string", "null"]} for n in names}}
    lines = [json.dumps(schema_message("item", schema)), json.dumps(record("item", {"id": 1}))]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert_refused(
        done,
        f"stream 'item': Duplicate stream properties produced when conforming property names: "
        f"[('{column}', {names!r})] (rename one property, e.g. with a stream map)",
        "SECRETV",
    )


def test_two_streams_folding_to_one_table_are_one_line(tmp_path):
    """Streams 'item' and 'ITEM' would both load table ITEM (their rows mixed, one's ACTIVATE_VERSION
    deleting the other's): exit 1, one line naming both, before the second writes anything."""
    lines = [
        json.dumps(schema_message("item", ITEM_SCHEMA)),
        json.dumps(record("item", {"id": 1})),
        json.dumps(schema_message("ITEM", ITEM_SCHEMA)),
        json.dumps(record("ITEM", {"id": 2, "code": "SECRETV"})),
    ]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert_refused(
        done,
        "stream 'ITEM' would load table ITEM, as stream 'item' does; their rows would mix (rename one "
        "with a stream map, or identifier_case: preserve)",
        "SECRETV",
    )
    assert "SECRETV" not in (tmp_path / "s.sql").read_text()
    preserved = run_cli(
        tmp_path, {"dry_run_sql_path": str(tmp_path / "p.sql"), "identifier_case": "preserve"}, lines
    )
    assert preserved.returncode == 0, preserved.stderr


@pytest.mark.parametrize("version", ['"SECRETV"', "1.5", "null", "true", "9" * 5000, "1" * 39])
def test_activate_version_without_an_integer_version_is_one_line(tmp_path, version):
    """ACTIVATE_VERSION's version must be an integer NUMBER(38, 0) holds: anything else was noted as a
    version (a 5,000-digit one a traceback at the end); now exit 1, one line, nothing deleted."""
    lines = [
        json.dumps(schema_message("item", ITEM_SCHEMA)),
        json.dumps(record("item", {"id": 1})),
        f'{{"type":"ACTIVATE_VERSION","stream":"item","version":{version}}}',
    ]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert_refused(
        done,
        "stream 'item': an ACTIVATE_VERSION's version is not an integer of at most 38 digits (Singer's "
        "versions are integers); nothing was deleted",
        "SECRETV",
    )
    script = (tmp_path / "s.sql").read_text()
    assert "DELETE FROM" not in script
    assert ":deleted_at" not in script  # no soft delete either


@pytest.mark.parametrize("keys", ['"id"', "[1]", '{"id": 1}'])
def test_key_properties_that_are_no_list_of_names_are_one_line(tmp_path, keys):
    """key_properties "id" was read letter by letter ("key property 'i' is not in its schema")."""
    message = json.dumps(schema_message("item", ITEM_SCHEMA)).replace(
        '"key_properties": ["id"]', f'"key_properties": {keys}'
    )
    done = run_cli(
        tmp_path,
        {"dry_run_sql_path": str(tmp_path / "s.sql")},
        [message, json.dumps(record("item", {"id": 1}))],
    )
    assert_refused(done, "stream 'item': key_properties must be a list of property names", "SECRETV")


@pytest.mark.parametrize(
    ("line", "ending"),
    [
        ('{"type":"RECORD","stream":"item","record":null}', "stream 'item': a RECORD's record is not a "
         "JSON object"),
        ('{"type":"RECORD","stream":"item","record":["SECRETV"]}', "a RECORD's record is not a JSON object"),
        ('["SECRETV"]', "an input line is no JSON object (a Singer message is one)"),
        ("5", "an input line is no JSON object (a Singer message is one)"),
        ('{"type":"RECORD","record":{"id":"SECRETV"}}', "an input line has no stream key (a Singer message "
         "needs it)"),
        ('{"stream":"item","record":{"id":"SECRETV"}}', "an input line has no type key (a Singer message "
         "needs it)"),
        ('{"type":"BOGUS","x":"SECRETV"}', "an input line has an unknown message type (BOGUS)"),
    ],
    ids=["record-null", "record-list", "list", "number", "no-stream", "no-type", "unknown-type"],
)  # fmt: skip
def test_a_message_of_the_wrong_shape_is_one_line_without_its_text(tmp_path, line, ending):
    """A RECORD whose record is null was counted and dropped (exit 0); a list record, a line that is
    no object and an unknown type were tracebacks; a missing key printed the whole line (data)."""
    lines = [json.dumps(schema_message("item", ITEM_SCHEMA)), line]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert_refused(done, ending + "; its text is not shown", "SECRETV")
    assert "MERGE" not in (tmp_path / "s.sql").read_text()


@pytest.mark.parametrize("kind", ["ACTIVATE_VERSION", "BATCH"])
def test_an_activation_or_batch_before_its_schema_is_one_line(tmp_path, kind):
    """Before its SCHEMA the SDK met it with a KeyError and a traceback."""
    message = {"type": kind, "stream": "other", "version": 1, "encoding": {"format": "jsonl"}, "manifest": []}
    lines = [json.dumps(schema_message("item", ITEM_SCHEMA)), json.dumps(message)]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert_refused(done, f"stream 'other': its {kind} message came before its SCHEMA", "SECRETV")


@pytest.mark.parametrize(
    ("content", "ending"),
    [
        ('["SECRETV"]\n', "stream 'item': a BATCH file's row is not a JSON object; its text is not shown"),
        ("null\n", "stream 'item': a BATCH file's row is not a JSON object; its text is not shown"),
        (
            '{"id": 1, "qty": ' + "9" * 5000 + "}\n",
            "stream 'item': a BATCH file cannot be read (ValueError: a value Python cannot read, e.g. an "
            "integer of more than 4,300 digits)",
        ),
        (
            '{"id": 1, "code": ' + "[" * 5000 + "]" * 5000 + "}\n",
            "stream 'item': a BATCH file cannot be read (RecursionError: arrays or objects nested too deep "
            "(about 1,000 levels))",
        ),
    ],
    ids=["list-row", "null-row", "5000-digits", "5000-deep"],
)
def test_a_batch_file_row_python_cannot_take_is_one_line(tmp_path, content, ending):
    """Rows of BATCH files come through the SDK's own reader: each of these was a traceback."""
    lines = [json.dumps(schema_message("item", ITEM_SCHEMA)), json.dumps(batch_message(tmp_path, content))]
    done = run_cli(tmp_path, {"dry_run_sql_path": str(tmp_path / "s.sql")}, lines)
    assert_refused(done, ending, "SECRETV")
    assert "MERGE" not in (tmp_path / "s.sql").read_text()
