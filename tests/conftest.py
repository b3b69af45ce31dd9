"""One sandbox for the whole run, started before collection: the SDK suite discovers at import."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import backoff._sync
import pytest
from session_sandbox import SANDBOX

# The SDK warns of the running Python's end of life on every start, from six months before it (3.11:
# from 2027-04-04). The notice is for the operator and is the SDK's, not this code's: the tests check
# our own output, so every process a test starts (the CLI, Meltano and its plugins) leaves it out.
# (pyproject.toml does the same for this process.)
EOL_NOTICE = "ignore:Python {}.{}:FutureWarning".format(*sys.version_info)
os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), EOL_NOTICE]))

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_oracle_wms_sandbox import Sandbox


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


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the client's backoff waits instead of sleeping them."""
    slept: list[float] = []

    class FakeTime:
        @staticmethod
        def sleep(seconds: float) -> None:
            slept.append(seconds)

    monkeypatch.setattr(backoff._sync, "time", FakeTime)
    return slept
