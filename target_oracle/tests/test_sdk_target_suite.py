"""The Meltano Singer SDK's own target test suite (singer_sdk.testing), run in dry-run mode.

The suite feeds its sample streams (camelCase, special characters, schema updates, duplicate
keys, records before schemas...) to target-oracle and checks what the SDK expects of any target.
The dry-run script goes to a file per test class, in pytest's temporary folder.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from singer_sdk.testing import get_target_test_class

from target_oracle.target import TargetOracle

_FOLDER = tempfile.mkdtemp(prefix="target-oracle-sdk-suite-")  # the class is built at import
atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)
_SCRIPT = Path(_FOLDER) / "dry-run.sql"

TestTargetOracleSDKSuite = get_target_test_class(
    TargetOracle,
    config={"dry_run_sql_path": str(_SCRIPT)},
)
