"""The change-log follower that keeps a profile cache right across replicas: what it forgets,
and when the cache may serve (docs/architecture.md, "Caching across replicas")."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.types import EventId, ProfileId
from identity.service.log_follower import PAGE_SIZE, LogFollower
from identity.store import GraphStore, StoreConfig, open_store

T1 = datetime(2024, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Forgotten:
    def __init__(self) -> None:
        self.ids: list[set[ProfileId]] = []
        self.clears = 0

    def forget(self, ids: Iterable[ProfileId]) -> None:
        self.ids.append(set(ids))

    def clear(self) -> None:
        self.clears += 1


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[GraphStore]:
    opened = await open_store(StoreConfig("sqlite", sqlite_path=str(tmp_path / "g.db")))
    yield opened
    await opened.close()


async def log(store: GraphStore, changes: list[ProfileChange],
              touched: Iterable[str] = ()) -> None:
    async with store.transaction() as tx:
        await tx.changes.append_changes(changes, [ProfileId(p) for p in touched])


def merged(survivor: str, absorbed: str) -> ProfileChange:
    return ProfileChange(ChangeKind.MERGED, ProfileId(survivor), EventId("e1"), T1,
                         (ProfileId(absorbed),))


def follower(store: GraphStore, clock: Clock) -> tuple[LogFollower, Forgotten]:
    made = LogFollower(store, timedelta(milliseconds=100), clock)
    forgotten = Forgotten()
    made.attach(forgotten.forget, forgotten.clear)
    return made, forgotten


async def test_it_starts_at_the_end_of_the_log_and_serves_only_after_reading_it(
    store: GraphStore,
) -> None:
    await log(store, [merged("prf_a", "prf_b")])
    clock = Clock()
    following, forgotten = follower(store, clock)
    assert not following.fresh()  # never read: nothing may be served
    await following.poll()
    assert following.fresh()
    assert forgotten.ids == []  # what came before the start concerns no cached profile


async def test_it_forgets_every_profile_a_change_or_a_touch_entry_names(
    store: GraphStore,
) -> None:
    clock = Clock()
    following, forgotten = follower(store, clock)
    await following.poll()
    await log(store, [merged("prf_a", "prf_b")], touched=["prf_c"])
    await log(store, [], touched=["prf_d"])
    await following.poll()
    assert set().union(*forgotten.ids) == {"prf_a", "prf_b", "prf_c", "prf_d"}
    forgotten.ids.clear()
    await following.poll()  # once more (a commit's writes may show after its entry)
    assert set().union(*forgotten.ids) == {"prf_a", "prf_b", "prf_c", "prf_d"}
    forgotten.ids.clear()
    await following.poll()  # then not again: the entries were read
    assert forgotten.ids == []


async def test_it_reads_a_long_backlog_to_its_end_in_one_poll(store: GraphStore) -> None:
    clock = Clock()
    following, forgotten = follower(store, clock)
    await following.poll()
    await log(store, [merged(f"prf_{i}", f"prf_x{i}") for i in range(PAGE_SIZE + 5)])
    await following.poll()
    assert len(set().union(*forgotten.ids)) == 2 * (PAGE_SIZE + 5)


async def test_the_cache_stops_serving_once_the_last_complete_read_is_older_than_the_bound(
    store: GraphStore,
) -> None:
    clock = Clock()
    following, _ = follower(store, clock)
    await following.poll()
    clock.now += 0.099
    assert following.fresh()
    clock.now += 0.002  # 101 ms since the poll started: a commit may be unknown for longer
    assert not following.fresh()
    await following.poll()
    assert following.fresh() and following.staleness_s() == 0


async def test_entries_pruned_before_they_were_read_empty_the_cache(store: GraphStore) -> None:
    clock = Clock()
    following, forgotten = follower(store, clock)
    await following.poll()
    await log(store, [merged("prf_a", "prf_b")])
    async with store.transaction() as tx:
        assert await tx.changes.prune_changes(datetime.now(UTC), 10) == 1
    await following.poll()
    assert forgotten.clears == 1


def test_a_bound_must_be_positive(store: GraphStore) -> None:
    with pytest.raises(ValueError, match="positive"):
        LogFollower(store, timedelta(0))


async def test_an_empty_poll_leaves_reads_in_flight_alone(store: GraphStore) -> None:
    clock = Clock()
    following, forgotten = follower(store, clock)
    await following.poll()
    await following.poll()
    await following.poll()
    assert forgotten.ids == [] and forgotten.clears == 0


async def test_what_a_poll_forgot_is_forgotten_once_more_by_the_next(store: GraphStore) -> None:
    """A commit's writes may become visible after its log entry (Neo4j reads committed data
    statement by statement): a read that saw the old state in between is dropped too."""
    clock = Clock()
    following, forgotten = follower(store, clock)
    await following.poll()
    await log(store, [], touched=["prf_t"])
    await following.poll()
    await following.poll()
    assert forgotten.ids == [{"prf_t"}, {"prf_t"}]
    await following.poll()
    assert forgotten.ids == [{"prf_t"}, {"prf_t"}]


async def test_a_log_that_went_back_empties_the_cache_and_is_followed_from_its_end(
    tmp_path: Path, store: GraphStore,
) -> None:
    clock = Clock()
    following, forgotten = follower(store, clock)
    await following.poll()
    for n in range(3):
        await log(store, [], touched=[f"prf_{n}"])
    await following.poll()
    # The database is restored from an older backup: its log ends below the position.
    following._store = await open_store(
        StoreConfig("sqlite", sqlite_path=str(tmp_path / "restored.db")))
    await log(following._store, [], touched=["prf_r"])
    await following.poll()
    assert forgotten.clears == 1
    await log(following._store, [], touched=["prf_after"])
    await following.poll()
    assert {"prf_after"} in forgotten.ids
    await following._store.close()
