"""The change log on a real Neo4j: concurrent writers never make a reader skip a change."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncGenerator
from datetime import UTC, datetime

import pytest

from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.types import EventId, ProfileId
from identity.service import IdentityService
from identity.service.change_feed import PositionedChange
from identity.service.change_sinks import ListChangeSink
from identity.store.neo4j import Neo4jGraphStore
from tests.builders import event, ident
from tests.integration.test_neo4j_store import conflicting_batches
from tests.neo4j_fixtures import Neo4jAccess, connect

pytestmark = pytest.mark.neo4j

WRITERS = 6
COMMITS_PER_WRITER = 12


async def write(store: Neo4jGraphStore, writer: int, rng: random.Random) -> list[str]:
    """Commits of 1 to 3 changes each, holding the transaction open a while after the
    append, so commits overlap and queue on the counter in every order."""
    written: list[str] = []
    for commit in range(COMMITS_PER_WRITER):
        changes = [ProfileChange(ChangeKind.UPDATED, ProfileId(f"prf_{writer}"),
                                 EventId(f"w{writer}-{commit}-{i}"), datetime.now(UTC))
                   for i in range(rng.randint(1, 3))]
        async with store.transaction() as tx:
            await asyncio.sleep(rng.uniform(0, 0.01))
            await tx.changes.append_changes(changes)
            await asyncio.sleep(rng.uniform(0, 0.02))
        written.extend(c.cause_event_id for c in changes)
    return written


async def test_concurrent_writers_never_make_a_reader_skip_a_change(
    neo4j_store: Neo4jGraphStore, neo4j_access: Neo4jAccess
) -> None:
    writers = [await connect(neo4j_access) for _ in range(WRITERS)]
    received: list[tuple[int, str]] = []
    reads = 0
    done = asyncio.Event()

    async def tail() -> None:
        nonlocal reads
        after = 0
        while True:
            finished = done.is_set()  # read once more after the last commit, then stop
            async with neo4j_store.transaction(read_only=True) as tx:
                page = await tx.changes.read_changes(after, 50, [])
            reads += 1
            received.extend((r.position, r.change.cause_event_id) for r in page.changes)
            after = page.through
            if finished and len(page.changes) < 50:
                return

    try:
        reader = asyncio.create_task(tail())
        written = await asyncio.gather(*(write(store, i, random.Random(i))
                                         for i, store in enumerate(writers)))
        done.set()
        await asyncio.wait_for(reader, timeout=30)
    finally:
        for store in writers:
            await store.close()
    everything = [event_id for ids in written for event_id in ids]
    assert reads > 20  # the reader really ran while the writers were committing
    assert [p for p, _ in received] == list(range(1, len(everything) + 1))
    assert Counter(e for _, e in received) == Counter(everything)


def watch(service: IdentityService, after: str | None
          ) -> AsyncGenerator[PositionedChange, None]:
    return service.watch_changes(after, [])


async def test_the_feed_delivers_every_change_of_concurrent_ingests_once_in_order(
    neo4j_store: Neo4jGraphStore, neo4j_access: Neo4jAccess
) -> None:
    stores = [neo4j_store] + [await connect(neo4j_access) for _ in range(2)]
    sinks = [ListChangeSink() for _ in stores]
    services = [IdentityService(s, sink=k) for s, k in zip(stores, sinks, strict=True)]
    try:
        watcher = watch(services[0], None)
        batches = conflicting_batches(seed=11, batches=9, size=8)
        await asyncio.gather(*(services[i % 3].ingest(batch)
                               for i, batch in enumerate(batches)))
        published = Counter(c.change_id for sink in sinks for c in sink.changes)
        received = []
        async with asyncio.timeout(20):
            async for positioned in watcher:
                received.append(positioned)
                if len(received) == published.total():
                    break
        await watcher.aclose()
        # And a change made after the watcher caught up arrives through the poll.
        late = watch(services[1], received[-1].position)
        (result,) = await services[2].ingest([event(ident("email", "late@shop.com"))])
        async with asyncio.timeout(5):
            arrived = await anext(late)
        await late.aclose()
    finally:
        for extra in stores[1:]:
            await extra.close()
    assert Counter(p.change.change_id for p in received) == published
    assert [p.position for p in received] == sorted(p.position for p in received)
    assert (arrived.change.kind, arrived.change.profile_id) == (ChangeKind.CREATED,
                                                                result.profile_id)
