"""The match index role (tx.matches) of the store contract, on every adapter: records, their
blocking keys, lookups by key and anchor, counts and scans."""

from __future__ import annotations

from identity.domain.matching.records import MatchRecord
from identity.domain.types import EventId, Identifier
from identity.store import GraphStore
from tests.contract.values import ANN, ANNA, BOB, PHONE, T1

CAROL = PHONE


def record(record_id: str, anchor: Identifier, keys: tuple[str, ...],
           **fields: str) -> MatchRecord:
    return MatchRecord(record_id, anchor, tuple(sorted(fields.items())), keys,
                       EventId(f"e-{record_id}"), "web", T1)


ANN_1 = record("r1", ANN, ("0:ann\x1fsmith", "1:smith\x1f1990-01-02"),
               first_name="Ann", last_name="Smith")
ANNA_1 = record("r2", ANNA, ("0:anna\x1fsmith", "1:smith\x1f1990-01-02"),
                first_name="Anna", last_name="Smith", date_of_birth="1990-01-02")
BOB_1 = record("r3", BOB, ("0:bob\x1fjones",), first_name="Bob", last_name="Jones")


async def index(store: GraphStore, records: list[MatchRecord], max_block: int = 10) -> list[str]:
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(sorted({(r.anchor, T1) for r in records}))
        return sorted(await tx.matches.index_records(records, max_block))


async def test_records_are_found_by_any_of_their_keys_each_once(store: GraphStore) -> None:
    assert await index(store, [ANN_1, ANNA_1, BOB_1]) == ["r1", "r2", "r3"]
    async with store.transaction(read_only=True) as tx:
        shared = await tx.matches.find_records(["1:smith\x1f1990-01-02", "0:ann\x1fsmith"], 10)
        nothing = await tx.matches.find_records(["0:nobody"], 10)
    assert shared.records == [ANN_1, ANNA_1]
    assert shared.oversized == []
    assert (nothing.records, nothing.oversized) == ([], [])


async def test_indexing_the_same_record_twice_is_a_no_op(store: GraphStore) -> None:
    await index(store, [ANN_1])
    assert await index(store, [ANN_1, ANNA_1, ANNA_1]) == ["r2"]
    async with store.transaction(read_only=True) as tx:
        found = await tx.matches.find_records(["1:smith\x1f1990-01-02"], 10)
    assert [r.record_id for r in found.records] == ["r1", "r2"]


async def test_an_oversized_block_is_reported_and_never_returned(store: GraphStore) -> None:
    crowd = [record(f"s{i}", Identifier("email", f"p{i}@x.com"), ("0:smith", f"1:k{i}"),
                    last_name="Smith") for i in range(4)]
    await index(store, crowd, max_block=3)
    async with store.transaction(read_only=True) as tx:
        lookup = await tx.matches.find_records(["0:smith", "1:k2"], 3)
    assert lookup.oversized == [("0:smith", 4)]
    assert [r.record_id for r in lookup.records] == ["s2"]  # through its other key only


async def test_records_are_read_by_anchor_and_scanned_in_id_order(store: GraphStore) -> None:
    await index(store, [BOB_1, ANNA_1, ANN_1])
    async with store.transaction(read_only=True) as tx:
        by_anchor = await tx.matches.read_records([ANNA, CAROL])
        first = await tx.matches.scan_records("", 2)
        rest = await tx.matches.scan_records(first[-1].record_id, 2)
    assert by_anchor == [ANNA_1]
    assert [r.record_id for r in first] == ["r1", "r2"]
    assert [r.record_id for r in rest] == ["r3"]


async def test_the_store_counts_its_match_records(store: GraphStore) -> None:
    records = [MatchRecord(f"r{i}", ANN, (("first_name", f"Ann{i}"),), (f"k{i}",),
                           EventId(f"e{i}"), "web", T1) for i in range(3)]
    async with store.transaction() as tx:
        assert await tx.matches.count_records() == 0
        await tx.graph.upsert_identifiers([(ANN, T1)])
        await tx.matches.index_records([*records, records[0]], max_block=10)
    async with store.transaction(read_only=True) as tx:
        assert await tx.matches.count_records() == 3
