"""A service over each store, and a reading of everything a store holds, as text, to look
for an erased person's values in (docs/architecture.md, "Erasure and access")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from identity.service import IdentityService
from identity.service.change_sinks import ListChangeSink
from identity.store.neo4j import Neo4jGraphStore
from identity.store.protocol import GraphStore
from identity.store.sqlite import SqliteGraphStore
from tests.steward.conftest import ticking_clock

ERASURE_KEY = b"a-test-erasure-key-of-32-bytes!!"


@pytest.fixture
def sink() -> ListChangeSink:
    return ListChangeSink()


@pytest.fixture
def service(store: GraphStore, sink: ListChangeSink) -> IdentityService:
    return IdentityService(store, sink=sink, clock=ticking_clock(), profile_cache=100,
                           erasure_key=ERASURE_KEY)


async def dump(store: GraphStore) -> dict[str, list[str]]:
    """Every row (SQLite) or node and relationship (Neo4j), as text, by table or label."""
    found: dict[str, list[str]] = {}
    if isinstance(store, SqliteGraphStore):
        conn = store._writer  # the test reads the store behind its back
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            found[table] = [json.dumps([str(v) for v in row])
                            for row in conn.execute(f"SELECT * FROM {table}")]
        return found
    assert isinstance(store, Neo4jGraphStore)
    async with store._driver.session(database=store._database) as session:
        result = await session.run(
            "MATCH (n) RETURN labels(n)[0] AS label, properties(n) AS props"
            " UNION ALL MATCH ()-[r]->() RETURN type(r) AS label, properties(r) AS props")
        async for record in result:
            props: dict[str, Any] = record["props"]
            found.setdefault(record["label"], []).append(
                json.dumps({k: str(v) for k, v in props.items()}))
    return found


def holding(rows: dict[str, list[str]], text: str) -> dict[str, list[str]]:
    """The rows whose text holds `text`, by table or label."""
    return {table: hits for table, found in rows.items()
            if (hits := [row for row in found if text in row])}
