"""The service on a real Neo4j: concurrent merges, start-up errors, readiness."""

from __future__ import annotations

import asyncio
import gc
import itertools
import random
from datetime import timedelta

import pytest

from identity.domain.types import Identifier
from identity.service import IdentityService, IngestStatus
from identity.store.errors import StoreUnavailable
from identity.store.neo4j import Neo4jGraphStore
from identity.store.sqlite import SqliteGraphStore
from tests.api.test_readiness import readyz_before_and_after_closing
from tests.builders import event, ident
from tests.invariants import partition_checked
from tests.neo4j_fixtures import Neo4jAccess, connect
from tests.silent_peer import silent_peer

pytestmark = pytest.mark.neo4j

COOKIES = [("anonymous_id", f"c{i}") for i in range(30)]
EMAILS = [("email", f"p{i}@shop.com") for i in range(12)]
CUSTOMERS = [("customer_id", f"C-{i}") for i in range(6)]
POOL = COOKIES + EMAILS + CUSTOMERS


def conflicting_batches(seed: int, batches: int, size: int) -> list[list[dict[str, object]]]:
    """Batches drawn from one small pool, so concurrent batches keep merging the same
    profiles; some identifiers meet two customer ids and turn into hubs on the way."""
    rng = random.Random(seed)
    return [[event(*(ident(k, v) for k, v in rng.sample(POOL, rng.randint(1, 3))),
                   timestamp=f"2024-03-{rng.randint(1, 28):02d}T10:00:00Z",
                   traits={"first_name": rng.choice(["Ann", "Bo", "Cy"])})
             for _ in range(size)] for _ in range(batches)]


async def test_concurrent_conflicting_ingests_keep_every_invariant(
    neo4j_store: Neo4jGraphStore, neo4j_access: Neo4jAccess
) -> None:
    batches = conflicting_batches(seed=7, batches=16, size=12)
    # Several drivers, so the batches really run on separate connections at once.
    stores = [neo4j_store] + [await connect(neo4j_access) for _ in range(3)]
    services = [IdentityService(s) for s in stores]
    try:
        results = await asyncio.gather(*(services[i % len(services)].ingest(batch)
                                          for i, batch in enumerate(batches)))
    finally:
        for extra in stores[1:]:
            await extra.close()
    assert all(r.status is IngestStatus.ACCEPTED for batch in results for r in batch)

    identifiers = [Identifier(k, v) for k, v in POOL]
    concurrent = await partition_checked(neo4j_store, identifiers)

    sequential = SqliteGraphStore(":memory:")
    for batch in batches:
        await IdentityService(sequential).ingest(batch)
    assert concurrent == await partition_checked(sequential, identifiers)
    await sequential.close()


async def test_replaying_batches_concurrently_reports_duplicates(
    neo4j_store: Neo4jGraphStore,
) -> None:
    (batch,) = conflicting_batches(seed=3, batches=1, size=20)
    service = IdentityService(neo4j_store)
    first, second = await asyncio.gather(service.ingest(batch), service.ingest(batch))
    statuses = sorted(r.status for r in [*first, *second])
    assert statuses.count(IngestStatus.ACCEPTED) == 20
    assert statuses.count(IngestStatus.DUPLICATE) == 20


async def test_wrong_password_is_a_clear_start_up_error(neo4j_access: Neo4jAccess) -> None:
    with pytest.raises(StoreUnavailable, match="refused the credentials of user 'neo4j'"):
        await Neo4jGraphStore.connect(neo4j_access.uri, neo4j_access.user, "wrong-password")


async def test_unreachable_neo4j_is_a_clear_start_up_error() -> None:
    with pytest.raises(StoreUnavailable, match="unreachable"):
        await Neo4jGraphStore.connect("neo4j://127.0.0.1:1", "neo4j", "whatever")


async def test_a_start_up_given_up_on_lets_its_connections_go() -> None:
    """A Neo4j that accepts and never answers, and a start cancelled while it waits: the
    driver is closed, so nothing is left for the collector (a ResourceWarning, an error
    here)."""
    async with silent_peer() as port:
        starting = asyncio.create_task(
            Neo4jGraphStore.connect(f"bolt://127.0.0.1:{port}", "neo4j", "whatever"))
        await asyncio.sleep(0.3)
        assert not starting.done()
        starting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await starting
    del starting
    gc.collect()

async def test_readyz_follows_the_neo4j_connection(neo4j_access: Neo4jAccess) -> None:
    store = await connect(neo4j_access)
    before, after = await readyz_before_and_after_closing(store)
    assert before == 200
    assert after.status_code == 503
    assert "Neo4j" in after.json()["reason"]


async def test_migrations_are_recorded_once_however_often_the_service_starts(
    neo4j_access: Neo4jAccess,
) -> None:
    from neo4j import AsyncGraphDatabase

    from identity.store.neo4j.schema import migrations

    for _ in range(2):
        await (await connect(neo4j_access)).close()
    async with AsyncGraphDatabase.driver(
        neo4j_access.uri, auth=(neo4j_access.user, neo4j_access.password)
    ) as driver:
        records, _, _ = await driver.execute_query(
            "MATCH (m:SchemaMigration) RETURN m.version AS version ORDER BY version")
        constraints, _, _ = await driver.execute_query("SHOW CONSTRAINTS YIELD name")
    assert [r["version"] for r in records] == [m.version for m in migrations()]
    assert {"identifier_key", "event_id", "profile_id"} <= {c["name"] for c in constraints}


async def test_reads_racing_merges_never_see_a_half_moved_profile(
    neo4j_store: Neo4jGraphStore, neo4j_access: Neo4jAccess
) -> None:
    """Neo4j reads committed data statement by statement, so a read can meet a group that a
    merge deleted a moment ago; the service must notice and read again, never answer with an
    empty profile or lose an identifier."""
    writer = IdentityService(neo4j_store)
    cookies = [Identifier("anonymous_id", f"r{i}") for i in range(40)]
    firsts = await writer.ingest([event(ident(c.kind, c.value)) for c in cookies])
    reader_store = await connect(neo4j_access)
    reader = IdentityService(reader_store)
    done = asyncio.Event()

    async def merge_all() -> None:
        for left, right in itertools.pairwise(cookies):
            await writer.ingest([event(ident(left.kind, left.value),
                                       ident(right.kind, right.value))])
        done.set()

    async def read_all() -> int:
        reads = 0
        while not done.is_set():
            views = await reader.profiles([r.profile_id or "" for r in firsts[::7]])
            assert all(v is not None and v.identifiers for v in views)
            assert all(p is not None for p in await reader.profile_ids(cookies))
            reads += 1
        return reads

    try:
        _, reads = await asyncio.gather(merge_all(), read_all())
    finally:
        await reader_store.close()
    assert reads > 0
    assert len(set(await writer.profile_ids(cookies))) == 1


async def test_replicas_share_neo4j_so_a_cached_profile_follows_the_change_log(
    neo4j_store: Neo4jGraphStore, neo4j_access: Neo4jAccess,
) -> None:
    """Nothing says cheaply that another replica wrote: each replica's cache follows the
    change log, and serves another replica's write within the staleness bound."""
    assert neo4j_store.commits_elsewhere() is None
    service = IdentityService(neo4j_store, cache_staleness=timedelta(milliseconds=100))
    (result,) = await service.ingest([event(ident("email", "ada@shop.com"))])
    (view,) = await service.profiles([result.profile_id or ""])
    assert view is not None
    assert (await service.profiles([view.profile_id]))[0] is view  # from the cache
    other = await connect(neo4j_access)  # another replica
    try:
        await IdentityService(other).ingest([event(ident("email", "ada@shop.com"),
                                                   timestamp="2024-09-01T00:00:00Z")])
    finally:
        await other.close()
    await asyncio.sleep(0.11)  # the bound
    (now,) = await service.profiles([view.profile_id])
    assert now is not None and now is not view
    assert now.last_seen > view.last_seen
