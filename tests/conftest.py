from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from identity.service import IdentityService
from identity.service.changes import ListChangeSink
from identity.store.sqlite import SqliteGraphStore


@pytest.fixture
def sink() -> ListChangeSink:
    return ListChangeSink()


@pytest.fixture
async def service(sink: ListChangeSink) -> AsyncIterator[IdentityService]:
    store = SqliteGraphStore(":memory:")
    yield IdentityService(store, sink=sink)
    await store.close()


pytest_plugins = ["tests.neo4j_fixtures"]
