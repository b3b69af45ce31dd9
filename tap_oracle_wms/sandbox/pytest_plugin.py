"""Pytest fixtures `wms_sandbox` (one server per run) and `sandbox` (same server, reset after the test).

Registered as a pytest11 entry point; the web stack is imported only when a fixture is used, so a
tap-only install (no starlette/uvicorn) still runs pytest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tap_oracle_wms.sandbox.server import Sandbox


@pytest.fixture(scope="session")
def wms_sandbox() -> Iterator[Sandbox]:
    """A real sandbox server on 127.0.0.1:<free port> for the whole test session."""
    from tap_oracle_wms.sandbox.server import Sandbox

    with Sandbox() as server:
        yield server


@pytest.fixture
def sandbox(wms_sandbox: Sandbox) -> Iterator[Sandbox]:
    """The session sandbox; data, knobs, tokens and request log are reset after the test."""
    yield wms_sandbox
    wms_sandbox.reset()
