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
    await following.poll()  # read already: not forgotten twice
    assert set().union(*forgotten.ids) == set()


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
