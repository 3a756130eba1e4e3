"""The `store` fixture of the service-level suites (steward, consent, erasure, privacy): each
test once on SQLite in memory and once on the session's Neo4j, emptied. A plugin of the root
conftest, so a folder or module with a `store` of its own keeps it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from identity.store.protocol import GraphStore
from identity.store.sqlite import SqliteGraphStore
from tests.neo4j_fixtures import Neo4jAccess, empty_neo4j_store


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
