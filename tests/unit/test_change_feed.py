"""The change feed over the durable change log, on real SQLite stores."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.errors import InvalidInput, ValidationError
from identity.domain.identifiers import NormalizationRules
from identity.domain.types import EventId, ProfileId
from identity.service import IdentityService
from identity.service.change_feed import (
    ChangeFeed,
    ChangeRetention,
    PositionedChange,
    PositionPruned,
    format_position,
    parse_position,
)
from identity.service.change_sinks import ListChangeSink
from identity.service.ingest import Ingestor
from identity.store.sqlite import SqliteGraphStore, SqliteTransaction
from identity.store.sqlite.schema import SCHEMA_VERSION
from tests.builders import event, ident
from tests.sqlite_files import old_release_file

NEVER_S = 60.0  # a poll interval no test waits for: only the in-process signal can wake


class ReadCounting(SqliteGraphStore):
    """Says when a read transaction has ended: a watcher that read an empty log waits after
    it, so a test knows the change it makes next must reach the watcher by waking it."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.read = asyncio.Event()

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False
                          ) -> AsyncIterator[SqliteTransaction]:
        async with super().transaction(read_only=read_only) as tx:
            yield tx
        if read_only:
            self.read.set()


async def take(changes: AsyncIterator[PositionedChange], count: int,
               timeout_s: float = 1.0) -> list[PositionedChange]:
    taken: list[PositionedChange] = []
    async with asyncio.timeout(timeout_s):
        while len(taken) < count:
            taken.append(await anext(changes))
    return taken


def clock(start: datetime, step: timedelta = timedelta(0)) -> Iterator[datetime]:
    return (start + step * i for i in itertools.count())


@pytest.fixture
async def memory_store() -> AsyncIterator[SqliteGraphStore]:
    store = SqliteGraphStore(":memory:")
    yield store
    await store.close()


async def history(service: IdentityService) -> None:
    """A create, an update, and a merge of an older profile with a newer one."""
    await service.ingest([event(ident("anonymous_id", "c1"))])
    await service.ingest([event(ident("email", "a@shop.com"), ident("phone", "+14155552671"))])
    await service.ingest([event(ident("anonymous_id", "c1"), ident("email", "a@shop.com"))])
    await service.ingest([event(ident("email", "a@shop.com"), traits={"first_name": "Ann"})])


async def test_a_watch_from_the_start_gives_every_change_the_sink_saw_in_order(
    service: IdentityService, sink: ListChangeSink
) -> None:
    await history(service)
    assert {c.kind for c in sink.changes} >= {ChangeKind.CREATED, ChangeKind.MERGED}
    got = await take(service.watch_changes(None, []), len(sink.changes))
    assert [p.change for p in got] == sink.changes
    assert [p.position for p in got] == sorted({p.position for p in got})


async def test_resuming_from_a_position_gives_exactly_the_later_changes(
    service: IdentityService, sink: ListChangeSink
) -> None:
    await history(service)
    first_two = await take(service.watch_changes(None, []), 2)
    rest = await take(service.watch_changes(first_two[-1].position, []), len(sink.changes) - 2)
    assert [p.change for p in first_two + rest] == sink.changes
    with pytest.raises(TimeoutError):  # and nothing after them, not even a repeat
        await take(service.watch_changes(rest[-1].position, []), 1, timeout_s=0.2)


async def test_a_live_watcher_hears_of_a_commit_in_this_process_at_once() -> None:
    store = ReadCounting(":memory:")
    ingestor = Ingestor(store, NormalizationRules(), ListChangeSink())
    feed = ChangeFeed(store, ingestor.committed, poll_interval_s=NEVER_S)
    watcher = asyncio.create_task(take(feed.watch(None, []), 1))
    await store.read.wait()  # the watcher has read an empty log and waits
    (result,) = await ingestor.ingest([event(ident("email", "new@shop.com"))])
    (got,) = await watcher
    assert (got.change.kind, got.change.profile_id) == (ChangeKind.CREATED, result.profile_id)
    await store.close()


async def test_a_watcher_finds_what_another_replica_committed_by_polling(
    tmp_path: Path
) -> None:
    here = ReadCounting(str(tmp_path / "shared.db"))
    there = SqliteGraphStore(str(tmp_path / "shared.db"))
    try:
        feed = ChangeFeed(here, Ingestor(here, NormalizationRules(), ListChangeSink()).committed,
                          poll_interval_s=0.05)
        watcher = asyncio.create_task(take(feed.watch(None, []), 1))
        await here.read.wait()  # it read an empty log: only a poll can find what comes next
        (result,) = await IdentityService(there).ingest([event(ident("email", "b@shop.com"))])
        (got,) = await watcher
    finally:
        await here.close()
        await there.close()
    assert got.change.profile_id == result.profile_id


async def test_a_filtered_watcher_sees_its_profile_created_then_absorbed_and_nothing_else(
    service: IdentityService
) -> None:
    (older,) = await service.ingest([event(ident("anonymous_id", "c1"))])
    (newer,) = await service.ingest([event(ident("email", "a@shop.com"))])
    assert newer.profile_id is not None
    watcher = service.watch_changes(None, [newer.profile_id])
    await service.ingest([event(ident("email", "other@shop.com"))])
    await service.ingest([event(ident("anonymous_id", "c1"), ident("email", "a@shop.com"))])
    created, merged = await take(watcher, 2)
    assert (created.change.kind, created.change.profile_id) == (ChangeKind.CREATED,
                                                                newer.profile_id)
    assert (merged.change.kind, merged.change.profile_id, merged.change.absorbed_ids) == (
        ChangeKind.MERGED, older.profile_id, (newer.profile_id,))
    with pytest.raises(TimeoutError):
        await take(watcher, 1, timeout_s=0.2)


@pytest.mark.parametrize("position", [
    "abc", "-1", "1.5", "", " 1", "\uff11", "1" * 21, str(2**63), "v1:5"])
async def test_a_bad_position_is_refused_naming_the_field(
    service: IdentityService, position: str
) -> None:
    with pytest.raises(InvalidInput, match=r"^after: not a change position"):
        await anext(service.watch_changes(position, []))


def test_positions_read_back_as_written_and_sort_as_strings() -> None:
    assert parse_position(format_position(42)) == 42
    assert parse_position("42") == 42
    assert sorted([format_position(10), format_position(9)]) == [format_position(9),
                                                               format_position(10)]


async def test_empty_profile_ids_are_refused_by_index(service: IdentityService) -> None:
    with pytest.raises(ValidationError) as refused:
        await anext(service.watch_changes(None, ["prf_a", " "]))
    assert [e.field for e in refused.value.errors] == ["profile_ids[1]"]


async def test_a_position_ahead_of_the_log_is_refused(service: IdentityService) -> None:
    await service.ingest([event(ident("email", "a@shop.com"))])
    with pytest.raises(InvalidInput, match=r"^after: position 0+9 is ahead of the change log"):
        await anext(service.watch_changes("9", []))


async def test_a_pruned_position_is_refused_and_a_new_watcher_starts_at_the_oldest_kept(
    memory_store: SqliteGraphStore
) -> None:
    # The events are of 2024-05-01 noon: received that day, and pruned a week later.
    old, new = datetime(2024, 5, 1, 13, tzinfo=UTC), datetime(2024, 5, 9, tzinfo=UTC)
    clock = [old]
    ingestor = Ingestor(memory_store, NormalizationRules(), ListChangeSink(),
                        clock=lambda: clock[0])
    (first,) = await ingestor.ingest([event(ident("email", "a@shop.com"))])
    clock[0] = new
    (second,) = await ingestor.ingest([event(ident("email", "b@shop.com"))])
    async with memory_store.transaction() as tx:
        assert await tx.changes.prune_changes(old + timedelta(days=1), 100) == 1
    feed = ChangeFeed(memory_store, ingestor.committed, poll_interval_s=NEVER_S)
    with pytest.raises(PositionPruned, match=r"^after: the changes after position 0+ are no"):
        await anext(feed.watch(format_position(0), []))
    (oldest_kept,) = await take(feed.watch(None, []), 1)
    assert (oldest_kept.position, oldest_kept.change.profile_id) == (format_position(2),
                                                                     second.profile_id)
    assert first.profile_id != second.profile_id


async def test_retention_prunes_what_is_older_than_its_age_a_batch_at_a_time(
    memory_store: SqliteGraphStore
) -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    made = [ProfileChange(ChangeKind.CREATED, ProfileId(f"prf_{i}"), EventId(f"e{i}"),
                          now - timedelta(days=d))
            for i, d in enumerate([9, 8, 8, 1])]
    async with memory_store.transaction() as tx:
        await tx.changes.append_changes(made)
    retention = ChangeRetention(memory_store, timedelta(days=7), interval_s=NEVER_S, batch=2)
    assert [await retention.prune_if_due(now) for _ in range(4)] == [2, 1, 0, 0]
    async with memory_store.transaction(read_only=True) as tx:
        page = await tx.changes.read_changes(0, 10, [])
    assert [r.change for r in page.changes] == made[3:]


async def test_the_ingestor_prunes_changes_past_their_retention(
    memory_store: SqliteGraphStore
) -> None:
    ticks = clock(datetime(2024, 6, 1, tzinfo=UTC), timedelta(seconds=1))
    ingestor = Ingestor(memory_store, NormalizationRules(), ListChangeSink(),
                        clock=lambda: next(ticks), change_retention=timedelta(0))
    await ingestor.ingest([event(ident("email", "a@shop.com"))])
    async with memory_store.transaction(read_only=True) as tx:
        page = await tx.changes.read_changes(0, 10, [])
    assert (page.changes, page.pruned_through, page.last) == ([], 1, 1)


async def test_a_watcher_that_leaves_holds_nothing_up(memory_store: SqliteGraphStore) -> None:
    ingestor = Ingestor(memory_store, NormalizationRules(), ListChangeSink())
    feed = ChangeFeed(memory_store, ingestor.committed, poll_interval_s=NEVER_S)
    await ingestor.ingest([event(ident("email", "a@shop.com"))])
    reader = feed.watch(None, [])
    await anext(reader)
    await reader.aclose()  # left between two changes
    waiting = asyncio.create_task(anext(feed.watch(format_position(1), [])))
    await asyncio.sleep(0.05)
    waiting.cancel()  # cancelled while it waits for a commit
    with pytest.raises(asyncio.CancelledError):
        await waiting
    async with asyncio.timeout(1):  # the store's one writer is free: nothing is left open
        await ingestor.ingest([event(ident("email", "b@shop.com"))])


def test_a_version_2_file_opens_with_an_empty_change_log(tmp_path: Path) -> None:
    path = old_release_file(tmp_path / "v2.db", 2)

    async def watch_once() -> list[PositionedChange]:
        store = SqliteGraphStore(str(path))
        try:
            service = IdentityService(store)
            await service.ingest([event(ident("email", "a@shop.com"))])
            return await take(service.watch_changes(None, []), 1)
        finally:
            await store.close()

    assert [p.position for p in asyncio.run(watch_once())] == [format_position(1)]
    upgraded = sqlite3.connect(path)
    version = upgraded.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    upgraded.close()
    assert version == (str(SCHEMA_VERSION),)
