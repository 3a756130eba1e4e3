"""Replicas starting together on a new Neo4j database: both apply the migrations (they may
deadlock on the schema's locks, and try again), and both come up."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

import pytest
from neo4j.exceptions import TransientError

from identity.store.neo4j import Neo4jGraphStore, schema

pytestmark = pytest.mark.neo4j


async def test_a_transient_error_while_migrating_means_try_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []

    async def once(driver: Any, database: str) -> int:
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("deadlock detected while creating a constraint")
        return 7

    monkeypatch.setattr(schema, "_migrate_once", once)
    assert await schema.migrate(None, "neo4j") == 7  # type: ignore[arg-type]
    assert len(calls) == 3


async def test_a_transient_error_every_time_is_raised_in_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def never(driver: Any, database: str) -> int:
        raise TransientError("deadlock detected")

    monkeypatch.setattr(schema, "_migrate_once", never)
    monkeypatch.setattr("identity.store.neo4j.schema.random.uniform", lambda low, high: 0.0)
    with pytest.raises(TransientError):
        await schema.migrate(None, "neo4j")  # type: ignore[arg-type]


def test_three_replicas_starting_at_once_on_a_new_database_all_come_up(tmp_path: Path) -> None:
    from devservers.neo4j import running_neo4j

    password = secrets.token_urlsafe(16)
    with running_neo4j(tmp_path / "neo4j", password=password) as server:
        async def start_three() -> list[int]:
            stores = await asyncio.gather(*(
                Neo4jGraphStore.connect(server.uri, server.user, password) for _ in range(3)))
            try:
                async with stores[0].transaction(read_only=True) as tx:
                    page = await tx.changes.read_changes(0, 10, ())
                return [page.last, len(stores)]
            finally:
                for store in stores:
                    await store.close()

        assert asyncio.run(start_three()) == [0, 3]
