"""One sandbox for the whole run, started before collection: the SDK suite discovers at import."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import pytest

from tap_oracle_wms.sandbox import Sandbox, SandboxConfig

if TYPE_CHECKING:
    from collections.abc import Iterator

_stack = contextlib.ExitStack()
SANDBOX: Sandbox = _stack.enter_context(Sandbox(SandboxConfig(scale=100, seed=7)))


def pytest_unconfigure(config: pytest.Config) -> None:
    _stack.close()


@pytest.fixture(scope="session")
def wms_sandbox() -> Sandbox:
    """The run's sandbox (overrides the plugin's own, so there is only one server)."""
    return SANDBOX


@pytest.fixture
def sandbox(wms_sandbox: Sandbox) -> Iterator[Sandbox]:
    """The sandbox, reset to its seeded data and default knobs after the test."""
    wms_sandbox.clear_requests()
    yield wms_sandbox
    wms_sandbox.reset()
