from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from identity.store import GraphStore
from identity.store.sqlite import SqliteGraphStore


@asynccontextmanager
async def open_test_store(kind: str, tmp_path: Path) -> AsyncIterator[GraphStore]:
    """Every adapter the contract suite runs against; Neo4j joins with its store."""
    if kind == "sqlite-memory":
        store = SqliteGraphStore(":memory:")
    elif kind == "sqlite-file":
        store = SqliteGraphStore(str(tmp_path / "graph.db"))
    else:
        raise ValueError(f"unknown test store {kind}")
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(params=["sqlite-memory", "sqlite-file"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[GraphStore]:
    async with open_test_store(request.param, tmp_path) as opened:
        yield opened
