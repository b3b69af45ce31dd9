"""The Singer SDK's standard tap tests, against the sandbox."""

from __future__ import annotations

from session_sandbox import SANDBOX
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tapruns import tap_config

from tap_oracle_wms.streams import CORE_ENTITIES
from tap_oracle_wms.tap import TapOracleWMS

TestTapOracleWMS = get_tap_test_class(
    TapOracleWMS,
    config=tap_config(SANDBOX, *list(CORE_ENTITIES), "order_status", "facility"),
    suite_config=SuiteConfig(max_records_limit=150),
)
