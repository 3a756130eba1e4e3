"""One real Neo4j for the whole test session, started from devservers/ (no Docker).

Set IDENTITY_TEST_NEO4J_URI (with _USER and _PASSWORD) to use a server you run yourself.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from identity.store.neo4j import Neo4jGraphStore
from tests.session_output import say


@dataclass(frozen=True)
class Neo4jAccess:
    uri: str
    user: str
    password: str


@pytest.fixture(scope="session")
def neo4j_access(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[Neo4jAccess]:
    if uri := os.environ.get("IDENTITY_TEST_NEO4J_URI"):
        yield Neo4jAccess(uri, os.environ.get("IDENTITY_TEST_NEO4J_USER", "neo4j"),
                          os.environ["IDENTITY_TEST_NEO4J_PASSWORD"])
        return
    from devservers.neo4j import running_neo4j

    with running_neo4j(tmp_path_factory.mktemp("neo4j"),
                       password=secrets.token_urlsafe(16)) as server:
        say(pytestconfig,
            f"\nNeo4j devserver ready in {server.startup_seconds:.1f}s at {server.uri}")
        yield Neo4jAccess(server.uri, server.user, server.password)


async def connect(access: Neo4jAccess) -> Neo4jGraphStore:
    """Another connection (its own driver) to the session's server."""
    return await Neo4jGraphStore.connect(access.uri, access.user, access.password)


@asynccontextmanager
async def empty_neo4j_store(access: Neo4jAccess) -> AsyncIterator[Neo4jGraphStore]:
    """A store on the session's server, emptied first: tests never see each other's data."""
    store = await connect(access)
    try:
        await store.wipe()
        yield store
    finally:
        await store.close()


def wiped(access: Neo4jAccess) -> None:
    """Empties the session's server from synchronous code, such as a fixture that then starts
    a server of its own on it."""

    async def wipe() -> None:
        async with empty_neo4j_store(access):
            pass

    asyncio.run(wipe())


@pytest.fixture
async def neo4j_store(neo4j_access: Neo4jAccess) -> AsyncIterator[Neo4jGraphStore]:
    """An empty store on the session's server, closed after the test."""
    async with empty_neo4j_store(neo4j_access) as store:
        yield store
