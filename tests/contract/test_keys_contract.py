"""The API keys role (tx.keys) of the store contract, on every adapter: a key comes back whole,
an id is never given twice, the list is oldest first, and a revocation keeps its first time."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from identity.store import GraphStore
from identity.store.errors import StoreConflict
from identity.store.protocol import ApiKeyRow
from tests.contract.values import T1

KEY = ApiKeyRow("abc123def456", "ingest worker", ("ingest", "profile:read"), "00" * 16,
                "ab" * 32, T1, None, 25.0)
OLDER = ApiKeyRow("zzz000000000", "steward console", ("steward",), "11" * 16, "cd" * 32,
                  T1 - timedelta(days=1))


async def test_a_key_comes_back_whole_and_unknown_ids_are_none(store: GraphStore) -> None:
    async with store.transaction() as tx:
        await tx.keys.add_key(KEY)
    async with store.transaction(read_only=True) as tx:
        assert await tx.keys.read_key("abc123def456") == KEY
        assert await tx.keys.read_key("nope") is None


async def test_a_key_id_is_never_given_twice(store: GraphStore) -> None:
    async with store.transaction() as tx:
        await tx.keys.add_key(KEY)
    with pytest.raises(StoreConflict):
        async with store.transaction() as tx:
            await tx.keys.add_key(replace(OLDER, key_id=KEY.key_id))
    async with store.transaction(read_only=True) as tx:
        assert await tx.keys.read_key(KEY.key_id) == KEY


async def test_keys_are_listed_oldest_first_and_revoked_once(store: GraphStore) -> None:
    async with store.transaction() as tx:
        await tx.keys.add_key(KEY)
        await tx.keys.add_key(OLDER)
    async with store.transaction() as tx:
        assert await tx.keys.revoke_key(KEY.key_id, T1 + timedelta(hours=1))
        assert await tx.keys.revoke_key(KEY.key_id, T1 + timedelta(hours=2))  # kept: first
        assert not await tx.keys.revoke_key("missing", T1)
    async with store.transaction(read_only=True) as tx:
        listed = await tx.keys.list_keys()
    assert [k.key_id for k in listed] == [OLDER.key_id, KEY.key_id]
    assert listed[1].revoked_at == T1 + timedelta(hours=1)
    assert listed[0].revoked_at is None and listed[0].rate_per_s is None
