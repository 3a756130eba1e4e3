"""A service over each store, with a clock that moves a second per reading, and the changes
it publishes kept (tests/steward/conftest.py does the same for stewards)."""

from __future__ import annotations

import pytest

from identity.service import IdentityService
from identity.service.change_sinks import ListChangeSink
from identity.store.protocol import GraphStore
from tests.steward.conftest import ticking_clock


@pytest.fixture
def sink() -> ListChangeSink:
    return ListChangeSink()


@pytest.fixture
def service(store: GraphStore, sink: ListChangeSink) -> IdentityService:
    """The profile cache on, as served: a consent change must reach readers through it."""
    return IdentityService(store, sink=sink, clock=ticking_clock())
