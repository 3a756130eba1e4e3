"""What every transaction of every adapter guarantees, whatever roles it touches: all or
nothing, and reads see only what committed."""

from __future__ import annotations

import asyncio

import pytest

from identity.domain.types import Identifier, ProfileId
from identity.store import GraphStore
from tests.contract.values import ANN, T1, Boom, seen


async def test_a_failed_transaction_leaves_nothing_behind(store: GraphStore) -> None:
    with pytest.raises(Boom):
        async with store.transaction() as tx:
            await tx.graph.upsert_identifiers(seen([ANN], T1))
            await tx.graph.create_groups([ProfileId("prf_a")], T1)
            raise Boom
    async with store.transaction(read_only=True) as tx:
        assert await tx.graph.find_identifiers([ANN]) == []
        assert await tx.graph.lookup_profiles(["prf_a"]) == []


async def _identifiers_read(store: GraphStore) -> list[Identifier]:
    async with store.transaction(read_only=True) as tx:
        return [n.identifier for n in await tx.graph.find_identifiers([ANN])]


async def test_reads_see_only_committed_writes(store: GraphStore, store_kind: str) -> None:
    """A read begun while a write is open sees nothing of it. Adapters with readers of their
    own answer it at once, from the last commit; the in-memory SQLite store has one
    connection, so its read waits for the writer and then sees what it committed."""
    waits = store_kind == "sqlite-memory"
    during: asyncio.Task[list[Identifier]] | None = None
    try:
        async with store.transaction() as tx:
            await tx.graph.upsert_identifiers(seen([ANN], T1))
            assert [n.identifier for n in await tx.graph.find_identifiers([ANN])] == [ANN]
            during = asyncio.create_task(_identifiers_read(store))
            done, _ = await asyncio.wait({during}, timeout=0.5 if waits else 30)
            assert (during in done) is not waits  # at once, or only after the commit
            if not waits:
                assert during.result() == []  # the write is still open: nothing of it shows
        if waits:
            assert await asyncio.wait_for(during, timeout=30) == [ANN]  # begun after commit
        assert await _identifiers_read(store) == [ANN]
    finally:
        if during is not None and not during.done():
            during.cancel()
    await store.ping()
