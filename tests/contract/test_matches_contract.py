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


def refiled(stored: MatchRecord, *keys: str) -> MatchRecord:
    """The record as a new model's blocking rules file it."""
    return MatchRecord(stored.record_id, stored.anchor, stored.fields, keys, stored.event_id,
                       stored.source, stored.seen_at)


async def refile(store: GraphStore, records: list[MatchRecord], max_block: int = 10
                 ) -> list[str]:
    async with store.transaction() as tx:
        return await tx.matches.refile_records(records, max_block)


async def sizes(store: GraphStore, keys: list[str]) -> dict[str, int]:
    """Each block's count, however large: a lookup with a cap of 0 reports every block that
    counts a record as oversized, with its size; an emptied block is not there."""
    async with store.transaction(read_only=True) as tx:
        return dict((await tx.matches.find_records(keys, 0)).oversized)


async def found(store: GraphStore, *keys: str) -> list[str]:
    async with store.transaction(read_only=True) as tx:
        return [r.record_id for r in (await tx.matches.find_records(list(keys), 10)).records]


async def test_a_refiled_record_is_found_by_its_new_keys_only(store: GraphStore) -> None:
    await index(store, [ANN_1, ANNA_1, BOB_1])
    moved = refiled(ANN_1, "0:a\x1fsmith", "1:smith\x1f1990-01-02", "2:ann")

    assert await refile(store, [moved]) == ["r1"]

    assert await found(store, "0:ann\x1fsmith") == []  # its old key: gone
    assert await found(store, "0:a\x1fsmith") == ["r1"]
    assert await found(store, "2:ann") == ["r1"]
    assert await found(store, "1:smith\x1f1990-01-02") == ["r1", "r2"]  # kept, still shared
    async with store.transaction(read_only=True) as tx:
        assert await tx.matches.read_records([ANN]) == [moved]  # its keys as stored
        assert await tx.matches.scan_records("", 10) == [moved, ANNA_1, BOB_1]
        assert await tx.matches.count_records() == 3
    assert await sizes(store, ["0:ann\x1fsmith", "0:a\x1fsmith", "1:smith\x1f1990-01-02",
                               "2:ann", "0:bob\x1fjones"]) == {
        "0:a\x1fsmith": 1, "1:smith\x1f1990-01-02": 2, "2:ann": 1, "0:bob\x1fjones": 1}


async def test_refiling_counts_blocks_as_indexing_does(store: GraphStore) -> None:
    """A block counts every record filed under it, members or not: one past the cap is
    skipped; a record leaving brings the count back down; a record joining a full block is
    counted and left out, as index_records leaves it out."""
    crowd = [record(f"s{i}", Identifier("email", f"p{i}@x.com"), ("0:smith", f"1:k{i}"),
                    last_name="Smith") for i in range(4)]
    await index(store, crowd[:3], max_block=3)
    assert await sizes(store, ["0:smith"]) == {"0:smith": 3}

    # s3 arrives under its own key, then a new model files it under 0:smith too.
    await index(store, [refiled(crowd[3], "1:k3")], max_block=3)
    assert await refile(store, [crowd[3]], max_block=3) == ["s3"]
    assert await sizes(store, ["0:smith", "1:k3"]) == {"0:smith": 4, "1:k3": 1}
    async with store.transaction(read_only=True) as tx:
        lookup = await tx.matches.find_records(["0:smith"], 3)
    assert (lookup.records, lookup.oversized) == ([], [("0:smith", 4)])

    # s0 leaves the block: 3 counted again, found again, s0 no longer in it.
    assert await refile(store, [refiled(crowd[0], "1:k0")], max_block=3) == ["s0"]
    assert await sizes(store, ["0:smith"]) == {"0:smith": 3}
    assert {"s1", "s2"} <= set(await found(store, "0:smith")) <= {"s1", "s2", "s3"}
    assert await found(store, "1:k0") == ["s0"]

    # Every record leaves: the block is gone, the records stay.
    assert await refile(store, [refiled(r, f"1:k{i}") for i, r in enumerate(crowd)],
                        max_block=3) == ["s1", "s2", "s3"]
    assert await sizes(store, ["0:smith", "1:k0", "1:k1", "1:k2", "1:k3"]) == {
        "1:k0": 1, "1:k1": 1, "1:k2": 1, "1:k3": 1}
    assert await found(store, "1:k0", "1:k1", "1:k2", "1:k3") == ["s0", "s1", "s2", "s3"]


async def test_refiling_twice_changes_nothing_the_second_time(store: GraphStore) -> None:
    await index(store, [ANN_1, ANNA_1, BOB_1])
    moved = [refiled(ANN_1, "5:smith"), refiled(ANNA_1, "5:smith", "6:anna")]
    keys = ["0:ann\x1fsmith", "0:anna\x1fsmith", "1:smith\x1f1990-01-02", "5:smith", "6:anna",
            "0:bob\x1fjones"]

    assert await refile(store, moved) == ["r1", "r2"]
    first = await sizes(store, keys)
    assert await refile(store, moved) == []
    assert await refile(store, [BOB_1]) == []  # keys as stored: nothing moves

    assert await sizes(store, keys) == first == {"5:smith": 2, "6:anna": 1,
                                                 "0:bob\x1fjones": 1}
    assert await found(store, "5:smith") == ["r1", "r2"]
    assert await found(store, "6:anna") == ["r2"]


async def test_one_call_refiles_a_page_of_moved_kept_and_unknown_records(
    store: GraphStore
) -> None:
    """A block one record leaves and another joins in the same call; a record whose keys do
    not change; a record the store never held (nothing to re-file)."""
    await index(store, [ANN_1, ANNA_1, BOB_1])
    stranger = record("r9", CAROL, ("0:carol",), first_name="Carol")
    page = [refiled(BOB_1, "0:ann\x1fsmith", "7:jones"),  # joins the block ANN_1 leaves
            refiled(ANN_1, "7:smith"),
            ANNA_1,
            stranger]

    assert await refile(store, page) == ["r1", "r3"]

    assert await sizes(store, ["0:ann\x1fsmith", "0:anna\x1fsmith", "1:smith\x1f1990-01-02",
                               "0:bob\x1fjones", "7:jones", "7:smith", "0:carol"]) == {
        "0:ann\x1fsmith": 1, "0:anna\x1fsmith": 1, "1:smith\x1f1990-01-02": 1,
        "7:jones": 1, "7:smith": 1}
    assert await found(store, "0:ann\x1fsmith") == ["r3"]
    assert await found(store, "1:smith\x1f1990-01-02") == ["r2"]
    assert await found(store, "0:bob\x1fjones") == []
    async with store.transaction(read_only=True) as tx:
        assert await tx.matches.read_records([CAROL]) == []
        assert await tx.matches.count_records() == 3


async def test_a_record_leaves_its_blocks_before_another_joins_them_in_one_call(
    store: GraphStore
) -> None:
    """At a cap of one, a block one record leaves and another joins in the same page holds
    the joiner: it was counted without the leaver."""
    await index(store, [ANN_1, BOB_1], max_block=1)
    page = [refiled(ANN_1, "8:ann"), refiled(BOB_1, "0:ann\x1fsmith")]

    assert await refile(store, page, max_block=1) == ["r1", "r3"]

    assert await sizes(store, ["0:ann\x1fsmith"]) == {"0:ann\x1fsmith": 1}
    async with store.transaction(read_only=True) as tx:
        lookup = await tx.matches.find_records(["0:ann\x1fsmith"], 1)
    assert [r.record_id for r in lookup.records] == ["r3"]
