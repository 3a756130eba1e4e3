from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from identity.store import GraphStore
from identity.store.sqlite import SqliteGraphStore
from tests.neo4j_fixtures import Neo4jAccess, empty_neo4j_store


@asynccontextmanager
async def open_test_store(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[GraphStore]:
    """Every adapter the contract suite runs against, each empty at the start of a test."""
    if kind == "neo4j":
        access: Neo4jAccess = request.getfixturevalue("neo4j_access")
        async with empty_neo4j_store(access) as neo4j_store:
            yield neo4j_store
        return
    store = SqliteGraphStore(":memory:" if kind == "sqlite-memory" else str(tmp_path / "g.db"))
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=["sqlite-memory", "sqlite-file",
                        pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Which adapter `store` is, for the few guarantees that differ by design."""
    kind: str = request.param
    return kind


@pytest.fixture
async def store(store_kind: str, request: pytest.FixtureRequest, tmp_path: Path
                ) -> AsyncIterator[GraphStore]:
    async with open_test_store(store_kind, tmp_path, request) as opened:
        yield opened
