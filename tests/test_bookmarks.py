"""Where an incremental listing starts: the tap's reading of the input state equals the SDK's."""

from __future__ import annotations

import pytest
from tapruns import sync, tap_config

from tap_oracle_wms.bookmarks import starting_bound
from tap_oracle_wms.streams import EntityStream

STATES = {
    "no state": None,
    "a bookmark": {
        "bookmarks": {
            "wave": {"replication_key": "mod_ts", "replication_key_value": "2024-03-01T10:00:00+00:00"}
        }
    },
    "a bookmark with an offset": {
        "bookmarks": {
            "wave": {"replication_key": "mod_ts", "replication_key_value": "2024-03-01T10:00:00-05:00"}
        }
    },
    "a bookmark of another key": {
        "bookmarks": {
            "wave": {"replication_key": "create_ts", "replication_key_value": "2024-03-01T10:00:00+00:00"}
        }
    },
    "a naive bookmark": {
        "bookmarks": {"wave": {"replication_key": "mod_ts", "replication_key_value": "2024-03-01T10:00:00"}}
    },
}
START_DATES = {
    "no start_date": None,
    "an earlier start_date": "2024-01-01",
    "a later start_date": "2024-06-01T00:00:00Z",
}


@pytest.mark.parametrize("start_date", START_DATES.values(), ids=START_DATES.keys())
@pytest.mark.parametrize("state", STATES.values(), ids=STATES.keys())
def test_starting_bound_equals_the_sdks_starting_timestamp(sandbox, monkeypatch, state, start_date):
    """The bound the engine uses before the SDK reaches a stream is the one the SDK then computes."""
    seen = []

    def get_records(self, context):
        seen.append((starting_bound(self, context), self.get_starting_timestamp(context)))
        return iter(())

    monkeypatch.setattr(EntityStream, "get_records", get_records)
    sync(tap_config(sandbox, "wave", start_date=start_date), state=state)
    assert seen
    assert seen[0][0] == seen[0][1]
