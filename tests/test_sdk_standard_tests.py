"""The Singer SDK's standard tap tests, against the sandbox."""

from __future__ import annotations

from session_sandbox import SANDBOX
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tapruns import discover, tap_config

from tap_oracle_wms.streams import CORE_ENTITIES
from tap_oracle_wms.tap import TapOracleWMS

CONFIG = tap_config(SANDBOX, *CORE_ENTITIES, "order_status", "facility")


def everything_selected(catalog: dict) -> dict:
    """The discovered catalog with every stream selected, wms_row_counts (not selected by default) too."""
    for entry in catalog["streams"]:
        next(m for m in entry["metadata"] if m["breadcrumb"] == [])["metadata"]["selected"] = True
    return catalog


TestTapOracleWMS = get_tap_test_class(
    TapOracleWMS,
    config=CONFIG,
    catalog=everything_selected(discover(CONFIG)),
    suite_config=SuiteConfig(max_records_limit=150),
)
