"""A service over each store, with a clock that moves a second per reading, and the changes
it publishes kept (tests/steward/conftest.py does the same for stewards)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from identity.service import IdentityService
from identity.service.change_sinks import ListChangeSink
from identity.store.protocol import GraphStore
from identity.store.sqlite import SqliteGraphStore
from tests.neo4j_fixtures import Neo4jAccess, empty_neo4j_store
from tests.steward.conftest import ticking_clock


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[GraphStore]:
    if request.param == "neo4j":
        access: Neo4jAccess = request.getfixturevalue("neo4j_access")
        async with empty_neo4j_store(access) as neo4j_store:
            yield neo4j_store
        return
    sqlite_store = SqliteGraphStore(":memory:")
    yield sqlite_store
    await sqlite_store.close()


@pytest.fixture
def sink() -> ListChangeSink:
    return ListChangeSink()


@pytest.fixture
def service(store: GraphStore, sink: ListChangeSink) -> IdentityService:
    """The profile cache on, as served: a consent change must reach readers through it."""
    return IdentityService(store, sink=sink, clock=ticking_clock())
