"""The one sandbox of a test run, started on first import (before collection, via conftest.py).

The SDK's standard suite builds a tap, and so runs discovery, when its module is imported,
so the server must already be up then.
"""

from __future__ import annotations

import atexit

from tap_oracle_wms_sandbox import Sandbox, SandboxConfig

SANDBOX = Sandbox(SandboxConfig(scale=100, seed=7))
SANDBOX.start()
atexit.register(SANDBOX.stop)
