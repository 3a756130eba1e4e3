"""The review queue contract: possible matches by score, paged by cursor, filtered, decided;
on every adapter. And the upgrade of each store that queues the possible matches it held."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import neo4j
import pytest

from identity.domain.links import LinkRule
from identity.domain.types import Identifier
from identity.store import GraphStore
from identity.store.neo4j.schema import migrate
from identity.store.protocol import ReviewCursor, ReviewItem
from identity.store.sqlite import SqliteGraphStore
from identity.store.sqlite.schema import SCHEMA_VERSION
from tests.contract.values import T0, T1, T2, seen, sighting
from tests.neo4j_fixtures import Neo4jAccess, empty_neo4j_store


def cookie(name: str) -> Identifier:
    return Identifier("anonymous_id", name)


def item(a: str, b: str, score: float, source: str = "web", at: datetime = T1
         ) -> ReviewItem:
    return ReviewItem(cookie(a), cookie(b), score, source, at)


# Ties on purpose: matching scores come from a few levels per field, so many pairs share one.
QUEUE = [
    item("c3", "c4", 0.5), item("c1", "c2", 0.9, "pos"), item("c1", "c3", 0.5, "pos"),
    item("c2", "c5", 0.7), item("c1", "c4", 0.5), item("c0", "c9", 0.9),
    item("c2", "c3", 0.35, "pos"), item("c1", "c5", 0.7, "crm"),
]


def in_queue_order(items: Sequence[ReviewItem]) -> list[ReviewItem]:
    return sorted(items, key=lambda i: (-i.score, i.a.key, i.b.key))


def cursor_of(found: ReviewItem) -> ReviewCursor:
    return (found.score, found.a.key, found.b.key)


async def enqueue(store: GraphStore, *items: ReviewItem) -> None:
    async with store.transaction() as tx:
        await tx.reviews.enqueue(items)


async def resolve(store: GraphStore, *outcomes: tuple[str, str, str | None]) -> None:
    async with store.transaction() as tx:
        await tx.reviews.resolve([(cookie(a), cookie(b), o) for a, b, o in outcomes])


async def page(store: GraphStore, after: ReviewCursor | None = None, limit: int = 100,
               min_score: float = 0.0, max_score: float = 1.0, source: str | None = None
               ) -> list[ReviewItem]:
    async with store.transaction(read_only=True) as tx:
        return await tx.reviews.page_pending(after, limit, min_score, max_score, source)


async def read(store: GraphStore, *pairs: tuple[str, str]) -> list[ReviewItem]:
    async with store.transaction(read_only=True) as tx:
        return await tx.reviews.read_items([(cookie(a), cookie(b)) for a, b in pairs])


async def every_page(store: GraphStore, limit: int, min_score: float = 0.0,
                     max_score: float = 1.0, source: str | None = None) -> list[ReviewItem]:
    """The whole queue read `limit` at a time, each page after the last item of the one
    before."""
    found: list[ReviewItem] = []
    after: ReviewCursor | None = None
    for _ in range(len(QUEUE) + 2):  # a cursor that does not move fails, not hangs
        got = await page(store, after, limit, min_score, max_score, source)
        assert len(got) <= limit
        found += got
        if len(got) < limit:
            return found
        after = cursor_of(got[-1])
    raise AssertionError(f"more pages than items: {found}")


async def test_an_empty_queue_has_no_page_and_no_items(store: GraphStore) -> None:
    assert await page(store) == []
    assert await read(store, ("c1", "c2")) == []


async def test_pending_items_come_highest_score_first_then_by_pair(store: GraphStore) -> None:
    await enqueue(store, *QUEUE)

    assert await page(store) == in_queue_order(QUEUE)
    assert [(i.a.value, i.b.value) for i in await page(store, limit=3)] == [
        ("c0", "c9"), ("c1", "c2"), ("c1", "c5")]


@pytest.mark.parametrize("limit", [1, 2, 3, 8])
async def test_the_cursor_pages_without_gaps_or_repeats_through_ties(
    store: GraphStore, limit: int
) -> None:
    await enqueue(store, *QUEUE)

    assert await every_page(store, limit) == in_queue_order(QUEUE)


async def test_a_page_starts_strictly_after_its_cursor_in_the_middle_of_a_tie(
    store: GraphStore
) -> None:
    await enqueue(store, *QUEUE)
    ordered = in_queue_order(QUEUE)
    middle = ordered.index(item("c1", "c3", 0.5, "pos"))

    assert await page(store, cursor_of(ordered[middle]), 2) == ordered[middle + 1:middle + 3]
    # A position between two pairs (no item there) starts at the next pair.
    assert await page(store, (0.5, "anonymous_id|c1", "anonymous_id|c35"), 1) == [
        item("c1", "c4", 0.5)]
    assert await page(store, cursor_of(ordered[-1])) == []


async def test_the_score_range_is_inclusive_and_pages_within_itself(store: GraphStore) -> None:
    await enqueue(store, *QUEUE)
    within = in_queue_order([i for i in QUEUE if 0.5 <= i.score <= 0.7])

    assert await page(store, min_score=0.5, max_score=0.7) == within
    assert await every_page(store, 2, min_score=0.5, max_score=0.7) == within
    assert await page(store, min_score=0.9) == in_queue_order([i for i in QUEUE
                                                               if i.score == 0.9])
    assert await page(store, max_score=0.35) == [item("c2", "c3", 0.35, "pos")]
    assert await page(store, min_score=0.6, max_score=0.65) == []


async def test_a_cursor_outside_the_range_starts_at_its_top_or_ends_the_queue(
    store: GraphStore
) -> None:
    await enqueue(store, *QUEUE)

    # A cursor above the range (from a page without it): the range from its top.
    assert await page(store, (0.9, "anonymous_id|c0", "anonymous_id|c9"), 100,
                      0.0, 0.7) == in_queue_order([i for i in QUEUE if i.score <= 0.7])
    # A cursor below the range: nothing, not even the pairs after it at its own score.
    assert await page(store, (0.35, "anonymous_id|c1", "anonymous_id|c9"), 100, 0.5) == []
    assert await page(store, (0.35, "anonymous_id|c1", "anonymous_id|c9"), 100) == [
        item("c2", "c3", 0.35, "pos")]


async def test_the_source_filter_keeps_one_source_and_pages_within_it(store: GraphStore) -> None:
    await enqueue(store, *QUEUE)
    from_pos = in_queue_order([i for i in QUEUE if i.source == "pos"])

    assert await page(store, source="pos") == from_pos
    assert await every_page(store, 1, source="pos") == from_pos
    assert await page(store, source="pos", min_score=0.4, max_score=0.6) == [
        item("c1", "c3", 0.5, "pos")]
    assert await page(store, source="nowhere") == []


async def test_items_read_back_whole_in_the_order_asked_and_unknown_pairs_are_left_out(
    store: GraphStore
) -> None:
    exact = ReviewItem(Identifier("email", "ann@shop.com"), Identifier("phone", "+1415555"),
                       0.8123456789012345, "pos-gb", T2)
    await enqueue(store, exact, item("c1", "c2", 0.6))
    await resolve(store, ("c1", "c2", "rejected"))

    found = await read(store, ("c1", "c2"), ("c7", "c8"))
    assert found == [ReviewItem(cookie("c1"), cookie("c2"), 0.6, "web", T1, "rejected")]
    async with store.transaction(read_only=True) as tx:
        assert await tx.reviews.read_items([(exact.a, exact.b), (cookie("c1"), cookie("c2"))]
                                           ) == [exact, found[0]]


async def test_enqueue_raises_a_pending_score_and_keeps_its_source_and_time(
    store: GraphStore
) -> None:
    await enqueue(store, item("c1", "c2", 0.6), item("c3", "c4", 0.7))

    await enqueue(store, item("c1", "c2", 0.5, "pos", T2))  # lower: changes nothing
    assert await read(store, ("c1", "c2")) == [item("c1", "c2", 0.6)]
    await enqueue(store, item("c1", "c2", 0.8, "pos", T2))
    assert await read(store, ("c1", "c2")) == [item("c1", "c2", 0.8)]
    # Raised in the index too: it now comes first, and the old score no longer finds it.
    assert await page(store) == [item("c1", "c2", 0.8), item("c3", "c4", 0.7)]
    assert await page(store, max_score=0.6) == []
    # Twice in one call: one item, with the higher score.
    await enqueue(store, item("c5", "c6", 0.4), item("c5", "c6", 0.45, "pos"))
    assert await read(store, ("c5", "c6")) == [item("c5", "c6", 0.45)]


@pytest.mark.parametrize("outcome", ["accepted", "rejected", "joined"])
async def test_a_decided_pair_leaves_the_queue_and_is_never_queued_again(
    store: GraphStore, outcome: str
) -> None:
    await enqueue(store, item("c1", "c2", 0.6), item("c3", "c4", 0.5))
    await resolve(store, ("c1", "c2", outcome))

    assert await page(store) == [item("c3", "c4", 0.5)]
    assert await page(store, limit=1) == [item("c3", "c4", 0.5)]  # not counted in a page
    await enqueue(store, item("c1", "c2", 0.95, "pos", T2))
    assert await read(store, ("c1", "c2")) == [replace(item("c1", "c2", 0.6), outcome=outcome)]
    assert await page(store) == [item("c3", "c4", 0.5)]
    assert await page(store, source="web") == [item("c3", "c4", 0.5)]


async def test_resolving_to_none_puts_a_pair_back_in_the_queue_in_its_place(
    store: GraphStore
) -> None:
    await enqueue(store, *QUEUE)
    await resolve(store, ("c1", "c2", "accepted"), ("c1", "c5", "rejected"))
    assert item("c1", "c2", 0.9, "pos") not in await page(store)

    await resolve(store, ("c1", "c2", None), ("c7", "c8", "accepted"))  # unknown: ignored
    assert await every_page(store, 2) == in_queue_order(
        [i for i in QUEUE if (i.a.value, i.b.value) != ("c1", "c5")])
    assert await page(store, source="pos", limit=1) == [item("c1", "c2", 0.9, "pos")]
    assert await read(store, ("c7", "c8")) == []


# -- each store's upgrade queues the possible matches it already held -------------------------

POSSIBLE = [
    sighting(cookie("c1"), cookie("c2"), "e1", T1, LinkRule.POSSIBLE_MATCH, 0.6, source="web"),
    sighting(cookie("c1"), cookie("c2"), "e2", T2, LinkRule.POSSIBLE_MATCH, 0.7, source="crm"),
    sighting(cookie("c3"), cookie("c4"), "e3", T0, LinkRule.POSSIBLE_MATCH, 0.55, source="pos"),
    sighting(cookie("c1"), cookie("c3"), "e4", T1),  # same_event: nothing to review
]
BACKFILLED = [ReviewItem(cookie("c1"), cookie("c2"), 0.7, "crm", T1),  # best score, least source
              ReviewItem(cookie("c3"), cookie("c4"), 0.55, "pos", T0)]


async def hold_links(store: GraphStore) -> None:
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([cookie(f"c{i}") for i in range(1, 5)], T0))
        await tx.graph.add_links(POSSIBLE)


def test_a_version_5_sqlite_file_queues_its_possible_matches_once(tmp_path: Path) -> None:
    path = tmp_path / "v5.db"

    async def write_links() -> None:
        opened = SqliteGraphStore(str(path))
        await hold_links(opened)
        await opened.close()

    async def queue() -> list[ReviewItem]:
        opened = SqliteGraphStore(str(path))
        try:
            await resolve(opened, ("c3", "c4", "rejected"))
            return await read(opened, ("c1", "c2"), ("c3", "c4"), ("c1", "c3"))
        finally:
            await opened.close()

    asyncio.run(write_links())
    raw = sqlite3.connect(path)  # as version 5 left it: no queue
    raw.execute("DELETE FROM review_items")
    raw.execute("UPDATE meta SET value = '5' WHERE key = 'schema_version'")
    raw.commit()
    raw.close()

    # Upgrades 6 (the queue), then 7 to 10 (a column and tables this file has already).
    assert SCHEMA_VERSION == 10
    assert asyncio.run(queue()) == [BACKFILLED[0], replace(BACKFILLED[1], outcome="rejected")]
    # Opened again, already upgraded: nothing queued twice, nothing decided queued again.
    assert asyncio.run(queue()) == [BACKFILLED[0], replace(BACKFILLED[1], outcome="rejected")]


@pytest.mark.neo4j
async def test_the_neo4j_migration_queues_the_possible_matches_and_reruns_harmlessly(
    neo4j_access: Neo4jAccess,
) -> None:
    async with empty_neo4j_store(neo4j_access) as opened:
        await hold_links(opened)
        driver = neo4j.AsyncGraphDatabase.driver(
            neo4j_access.uri, auth=(neo4j_access.user, neo4j_access.password))
        try:
            async def rerun() -> None:
                async with driver.session(database="neo4j") as session:
                    await (await session.run(
                        "MATCH (m:SchemaMigration {version: 5}) DELETE m")).consume()
                assert await migrate(driver, "neo4j") >= 5

            await rerun()
            assert await read(opened, ("c1", "c2"), ("c3", "c4"), ("c1", "c3")) == BACKFILLED
            assert await page(opened) == BACKFILLED  # pending, in the score index
            await resolve(opened, ("c3", "c4", "rejected"))
            await rerun()
            assert await read(opened, ("c1", "c2"), ("c3", "c4")) == [
                BACKFILLED[0], replace(BACKFILLED[1], outcome="rejected")]
            assert await page(opened) == BACKFILLED[:1]
        finally:
            await driver.close()

