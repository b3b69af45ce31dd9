"""What target-oracle relies on in the SDK, checked on the SDK itself so a change fails loudly.

sink.py drains buffered records inside ``activate_version`` because the SDK calls it straight
from the message, records still buffered; and commits inside ``process_batch`` because the
SDK writes STATE only after draining. If either changes, these tests say so.
"""

from __future__ import annotations

import json
import sys
from typing import ClassVar

from click.testing import CliRunner
from singer_sdk import typing as th
from singer_sdk.sinks import BatchSink
from singer_sdk.target_base import Target
from target_helpers import activate, record, schema_message, state


class RecordingSink(BatchSink):
    """Notes what the SDK asks of it, and what stdout held at that moment."""

    events: ClassVar[list[tuple[str, int, bool]]] = []

    def process_batch(self, context: dict) -> None:
        RecordingSink.events.append(("batch", len(context.get("records", [])), _state_written()))

    def activate_version(self, new_version: int) -> None:
        RecordingSink.events.append(("activate", self.current_size, _state_written()))


def _state_written() -> bool:
    sys.stdout.flush()
    return b"bookmarks" in sys.stdout.buffer.getvalue()  # CliRunner's captured stdout so far


class RecordingTarget(Target):
    name = "recording-target"
    config_jsonschema: ClassVar[dict] = th.PropertiesList().to_dict()
    default_sink_class = RecordingSink


def _run(tmp_path, messages) -> list[tuple[str, int, bool]]:
    RecordingSink.events = []
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(m) + "\n" for m in messages))
    config = tmp_path / "config.json"
    config.write_text("{}")
    result = CliRunner().invoke(RecordingTarget.cli, ["--config", str(config), "--input", str(source)])
    assert result.exit_code == 0, result.output
    return RecordingSink.events


def test_sdk_activates_version_with_records_still_buffered(tmp_path):
    """The SDK does not drain before activate_version (sink.py drains there itself)."""
    schema = schema_message("s", {"id": {"type": "integer"}})
    events = _run(tmp_path, [schema, record("s", {"id": 1}), record("s", {"id": 2}), activate("s", 9)])
    assert events[0] == ("activate", 2, False), (
        "The SDK changed: it no longer calls activate_version with records buffered. "
        "OracleSink.activate_version's own drain may now be redundant; review it."
    )


def test_sdk_writes_state_only_after_draining(tmp_path):
    """STATE comes out after process_batch returned, so a commit inside it precedes the STATE."""
    schema = schema_message("s", {"id": {"type": "integer"}})
    events = _run(tmp_path, [schema, record("s", {"id": 1}), state({"bookmarks": {"s": 1}})])
    assert events == [("batch", 1, False)], (
        "The SDK changed: STATE was written before the batch was processed, so commits in "
        "process_batch no longer precede the STATE. OracleSink must commit elsewhere."
    )


class RecordPathSink(BatchSink):
    """Sets its schema in setup as OracleSink does (no properties for the record path); notes the values."""

    values: ClassVar[list[object]] = []

    def setup(self) -> None:
        self.schema = {"type": "object", "properties": {}, "additionalProperties": True}

    def process_record(self, record: dict, context: dict) -> None:
        RecordPathSink.values.append(record["ts"])

    def process_batch(self, context: dict) -> None:
        pass


class RecordPathTarget(Target):
    name = "record-path-target"
    config_jsonschema: ClassVar[dict] = th.PropertiesList().to_dict()
    default_sink_class = RecordPathSink


def test_sdk_parses_date_times_by_the_sink_schema_of_the_moment(tmp_path, caplog):
    """The SDK reads the sink's ``schema`` per record: set in setup, it decides what is parsed.

    OracleSink relies on it to keep date-time text as sent for its own converters.
    """
    RecordPathSink.values = []
    schema = schema_message("s", {"id": {"type": "integer"}, "ts": {"type": "string", "format": "date-time"}})
    source = tmp_path / "in.jsonl"
    messages = [schema, record("s", {"id": 1, "ts": "2024-07-04T20:30:58Z"})]
    source.write_text("".join(json.dumps(m) + "\n" for m in messages))
    config = tmp_path / "config.json"
    config.write_text("{}")
    result = CliRunner().invoke(RecordPathTarget.cli, ["--config", str(config), "--input", str(source)])
    assert result.exit_code == 0, result.output
    assert RecordPathSink.values == ["2024-07-04T20:30:58Z"], (
        "The SDK changed: it parsed a date-time the sink's schema no longer declares. "
        "OracleSink.setup's record-path schema no longer saves the SDK's per-field work; review it."
    )
    assert "No schema for record field" not in caplog.text
