"""A service over each store, with matching on and a clock that moves a second per reading,
so versions and audit entries of successive actions have distinct times."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.service import IdentityService
from identity.service.change_sinks import ListChangeSink
from identity.service.matching import Matcher
from identity.store.protocol import GraphStore
from identity.store.sqlite import SqliteGraphStore
from tests.neo4j_fixtures import Neo4jAccess, empty_neo4j_store

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def ticking_clock() -> Callable[[], datetime]:
    seconds = count()
    return lambda: START + timedelta(seconds=next(seconds))


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
    return IdentityService(store, sink=sink, clock=ticking_clock(),
                           matcher=Matcher(DEFAULT_MODEL), profile_cache=0)
