"""Fixtures for the sandbox's own tests: an in-process app (TestClient) on fresh seeded data."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sandbox_helpers import ADMIN, basic
from starlette.testclient import TestClient

from tap_oracle_wms_sandbox.app import create_app
from tap_oracle_wms_sandbox.state import SandboxConfig, State


@pytest.fixture(scope="module")
def app_state() -> State:
    """One seeded state per module (scale 200, seed 7)."""
    return State(SandboxConfig(scale=200, seed=7))


@pytest.fixture
def state(app_state: State) -> Iterator[State]:
    """The module state, reset to pristine data and knobs after each test."""
    yield app_state
    app_state.reset()


@pytest.fixture
def client(state: State) -> Iterator[TestClient]:
    """TestClient authenticated as admin (base URL http://testserver)."""
    with TestClient(create_app(state), headers=basic(ADMIN)) as c:
        yield c
