"""The profile versions role (tx.versions) of the store contract, on every adapter: versions
come back whole in version order, page by `after`, say each profile's last one, and refuse a
(profile, version) stored twice."""

from __future__ import annotations

import pytest

from identity.domain.types import Identifier, ProfileId
from identity.store import GraphStore
from identity.store.errors import StoreConflict
from identity.store.protocol import VersionRow
from tests.contract.values import ACCOUNT, ANN, COOKIE, PHONE, T0, T1, T2

CRM = Identifier("external:crm", "x|y")  # a '|' in a value stays in the value

A1 = VersionRow(ProfileId("prf_a"), 1, T0, "created", "e1", None, added=(ANN, COOKIE))
A2 = VersionRow(ProfileId("prf_a"), 2, T1, "merged", "act-1", "steward:ann", added=(PHONE,),
                related=(ProfileId("prf_x"), ProfileId("prf_y")))
A3 = VersionRow(ProfileId("prf_a"), 3, T2, "split", "act-2", "steward:bob",
                removed=(COOKIE, CRM), related=(ProfileId("prf_z"),))
B1 = VersionRow(ProfileId("prf_b"), 1, T1, "created", "e2", None, added=(ACCOUNT, CRM))


async def append(store: GraphStore, *rows: VersionRow) -> None:
    async with store.transaction() as tx:
        await tx.versions.append_versions(rows)


async def versions(store: GraphStore, profile_id: str, after: int = 0, limit: int = 100
                   ) -> list[VersionRow]:
    async with store.transaction(read_only=True) as tx:
        return await tx.versions.read_versions(profile_id, after, limit)


async def test_versions_read_back_whole_in_version_order(store: GraphStore) -> None:
    await append(store, A3, B1, A1)  # out of order, two profiles numbered alike
    await append(store, A2)
    assert await versions(store, "prf_a") == [A1, A2, A3]
    assert await versions(store, "prf_b") == [B1]
    assert await versions(store, "prf_unknown") == []


async def test_versions_page_by_after_and_limit(store: GraphStore) -> None:
    await append(store, A1, A2, A3, B1)
    assert await versions(store, "prf_a", after=0, limit=2) == [A1, A2]
    assert await versions(store, "prf_a", after=2, limit=2) == [A3]
    assert await versions(store, "prf_a", after=1, limit=1) == [A2]
    assert await versions(store, "prf_a", after=3) == []


async def test_latest_versions_name_each_profile_that_has_one(store: GraphStore) -> None:
    async with store.transaction(read_only=True) as tx:
        assert await tx.versions.latest_versions(["prf_a"]) == {}
    await append(store, A1, B1, A3, A2)
    async with store.transaction(read_only=True) as tx:
        assert await tx.versions.latest_versions(["prf_b", "prf_none", "prf_a"]) == {
            "prf_a": 3, "prf_b": 1}
        assert await tx.versions.latest_versions(["prf_a", "prf_a"]) == {"prf_a": 3}
        assert await tx.versions.latest_versions([]) == {}


async def test_a_version_stored_twice_conflicts_and_its_transaction_writes_nothing(
    store: GraphStore
) -> None:
    await append(store, A1)
    again = VersionRow(ProfileId("prf_a"), 1, T2, "updated", "e9", None, added=(PHONE,))
    with pytest.raises(StoreConflict):
        async with store.transaction() as tx:
            await tx.versions.append_versions([B1, again])
    assert await versions(store, "prf_a") == [A1]  # the first one stays as it was
    assert await versions(store, "prf_b") == []  # rolled back with the conflict


async def test_one_version_twice_in_one_call_conflicts(store: GraphStore) -> None:
    with pytest.raises(StoreConflict):
        await append(store, A1, A2, A1)
    async with store.transaction(read_only=True) as tx:
        assert await tx.versions.latest_versions(["prf_a"]) == {}
