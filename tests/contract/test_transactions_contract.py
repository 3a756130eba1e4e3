"""What every transaction of every adapter guarantees, whatever roles it touches: all or
nothing, and reads see only what committed."""

from __future__ import annotations

import pytest

from identity.domain.types import ProfileId
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


async def test_reads_see_only_committed_writes(store: GraphStore) -> None:
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN], T1))
    async with store.transaction(read_only=True) as tx:
        assert [n.identifier for n in await tx.graph.find_identifiers([ANN])] == [ANN]
    await store.ping()
