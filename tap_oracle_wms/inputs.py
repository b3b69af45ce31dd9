"""What a run is given: --config, --state and --catalog files, and the input state's bookmarks.

Each is checked before the SDK reads it, and each problem is one line naming the file, the stream
or the bookmark (exit code 2): a run never starts from input it would misread.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dateutil.parser import isoparse
from singer_sdk.singerlib import Catalog

from tap_oracle_wms.drift import KEY, decode
from tap_oracle_wms.lgfapi.wire import UTC
from tap_oracle_wms.settings_checks import SettingsError, catalog_name_errors

if TYPE_CHECKING:
    from collections.abc import Mapping

# --config, --state and --catalog files are read whole; a catalog of every entity is a few MB.
MAX_INPUT_BYTES = 256 * 2**20


class InputFileError(SettingsError):
    """A --config, --state or --catalog file that cannot be used; the message names the file."""

    @property
    def line(self) -> str:
        """What the command prints."""
        return str(self)


class StateError(InputFileError):
    """Input state the run cannot start from: a bookmark that is no date-time or lies in the future."""


# --- files ----------------------------------------------------------------------------------


def read_json_object(option: str, path: str) -> dict[str, Any]:
    """A JSON object from a --config/--state/--catalog file, or an InputFileError naming the file."""
    where = f"{option} file '{path}'"
    try:
        info = os.stat(path)
        if stat.S_ISREG(info.st_mode) and info.st_size > MAX_INPUT_BYTES:
            raise InputFileError([f"{where} is larger than {MAX_INPUT_BYTES // 2**20} MB"])
        if not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):
            raise InputFileError([f"{where} is not a regular file (a device, pipe or socket)"])
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError([f"{where} does not exist"]) from None
    except IsADirectoryError:
        raise InputFileError([f"{where} is a directory, not a JSON file"]) from None
    except PermissionError:
        raise InputFileError([f"{where} cannot be read: permission denied"]) from None
    except OSError as exc:
        raise InputFileError([f"{where} cannot be read: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise InputFileError([f"{where} is not UTF-8 text"]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"{where} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise InputFileError([msg]) from None
    if not isinstance(data, dict):
        raise InputFileError([f"{where} must hold a JSON object, not {_json_kind(data)}"])
    return data


def _json_kind(value: Any) -> str:
    kinds = {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def check_state(path: str) -> None:
    """Singer state of this tap (or a whole STATE message holding it), every bookmark a usable start."""
    where = f"--state file '{path}'"
    data = unwrap_state(read_json_object("--state", path))
    if not isinstance(data, dict):
        raise InputFileError([f"{where} holds a STATE message whose 'value' is not an object"])
    if unexpected := sorted(set(data) - {"bookmarks", "currently_syncing"}):
        msg = (
            f"{where} is not Singer state: unexpected key '{unexpected[0]}' "
            "(expected 'bookmarks', or a whole STATE message)"
        )
        raise InputFileError([msg])
    marks = data.get("bookmarks", {})
    if not isinstance(marks, dict) or not all(isinstance(v, dict) for v in marks.values()):
        raise InputFileError([f"{where} is not Singer state: 'bookmarks' must map stream names to objects"])
    if problems := state_problems(marks, dt.datetime.now(dt.UTC)):
        raise InputFileError([where + problem for problem in problems])


def check_catalog(path: str) -> None:
    """A Singer catalog file: a `streams` list of entries with a tap_stream_id and a schema."""
    data = read_json_object("--catalog", path)
    where = f"--catalog file '{path}' is not a Singer catalog"
    streams = data.get("streams")
    if not isinstance(streams, list):
        raise InputFileError([f"{where}: it needs a 'streams' list (write one with --discover)"])
    for i, entry in enumerate(streams):
        if not isinstance(entry, dict) or not isinstance(entry.get("tap_stream_id"), str):
            raise InputFileError([f"{where}: streams[{i}] has no 'tap_stream_id'"])
        name = entry["tap_stream_id"]
        if "schema" not in entry:
            raise InputFileError([f"{where}: streams[{i}] ('{name}') has no 'schema'"])
        if not isinstance(entry["schema"], dict) or not isinstance(entry.get("metadata", []), list):
            raise InputFileError([f"{where}: streams[{i}] ('{name}') has a malformed schema or metadata"])
    if errors := catalog_name_errors(entry["tap_stream_id"] for entry in streams):
        raise InputFileError([f"--catalog file '{path}': {error}" for error in errors])
    try:
        Catalog.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputFileError([f"{where}: {type(exc).__name__}: {exc}"]) from None


def unwrap_state(data: Any) -> Any:
    """A whole STATE message ({"type": "STATE", "value": {...}}) given as state stands for its value."""
    if isinstance(data, dict) and data.get("type") == "STATE" and "value" in data:
        return data["value"]
    return data


# --- bookmarks --------------------------------------------------------------------------------


def aware(value: Any) -> dt.datetime:
    """A bookmark or start_date as an aware datetime (naive means UTC, as the SDK reads it)."""
    parsed = value if isinstance(value, dt.datetime) else isoparse(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# The replication keys this tap bookmarks on; a state bookmarked on another key is another tap's.
REPLICATION_KEYS = ("mod_ts", "create_ts")
# Clock skew tolerated between the tenant and this machine before a bookmark counts as future.
MAX_AHEAD = dt.timedelta(days=1)


def bookmark_problem(stream: str, value: Any, started_at: dt.datetime) -> str | None:
    """Why a bookmark cannot start a listing (no date-time, or in the future), or None."""
    try:
        instant = aware(value) if isinstance(value, str) else None
    except (ValueError, OverflowError):
        instant = None
    if instant is None:
        return (
            f"stream '{stream}' has bookmark {value!r}, which is not an ISO-8601 date-time; fix or remove it"
        )
    if instant > started_at + MAX_AHEAD:
        return (
            f"stream '{stream}' has bookmark {value!r}, more than a day after the run's start: "
            "no row would ever be read; fix or remove it"
        )
    return None


def state_problems(bookmarks: Mapping[str, Any], started_at: dt.datetime) -> list[str]:
    """Problems of a whole input state: another tap's bookmarks, or ones no listing can start from.

    Each is worded to follow the state's name ("--state file 'x'" + problem).
    """
    problems = []
    for stream, bookmark in bookmarks.items():
        partitions = bookmark.get("partitions", [])
        if not isinstance(partitions, list) or not all(isinstance(p, dict) for p in partitions):
            problems.append(f" is not Singer state: stream '{stream}' has 'partitions' that are not objects")
            continue
        for entry in [bookmark, *partitions]:
            key, value = entry.get("replication_key"), entry.get("replication_key_value")
            if key is not None and key not in REPLICATION_KEYS:
                problems.append(
                    f" is not this tap's state: stream '{stream}' is bookmarked on {key!r}, "
                    f"not {' or '.join(REPLICATION_KEYS)}"
                )
            elif value is not None and (problem := bookmark_problem(stream, value, started_at)):
                problems.append(f": {problem}")
        if KEY in bookmark:
            try:
                decode(bookmark[KEY])
            except ValueError as exc:
                problems.append(f": stream '{stream}': {exc}; fix or remove it")
    return problems
