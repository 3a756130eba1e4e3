"""Group commit: overlapping ingest calls share transactions, each keeps its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from identity.domain.events import Event, EventType
from identity.domain.types import EventId, Identifier
from identity.service import IdentityService, IngestResult, IngestStatus
from identity.service.batch import Applied
from identity.service.group_commit import GroupCommit, Outcome, commit_parts
from identity.store.sqlite import SqliteGraphStore, SqliteTransaction
from tests.builders import event, ident
from tests.invariants import partition_checked


class CountingStore(SqliteGraphStore):
    """Counts write transactions: what group commit saves."""

    writes = 0

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False
                          ) -> AsyncIterator[SqliteTransaction]:
        if not read_only:
            self.writes += 1
        async with super().transaction(read_only=read_only) as tx:
            yield tx


async def test_overlapping_single_event_calls_share_commits_and_keep_their_outcomes(
    tmp_path: Path,
) -> None:
    store = CountingStore(str(tmp_path / "g.db"))
    service = IdentityService(store)
    events = [event(ident("email", f"p{i % 10}@shop.com"), ident("anonymous_id", f"c{i}"))
              for i in range(60)]
    results = await asyncio.gather(*(service.ingest([e]) for e in events))
    assert all(r.status is IngestStatus.ACCEPTED for (r,) in results)
    assert store.writes < len(events) / 2
    for i, (result,) in enumerate(results):  # each caller hears where its own event went
        (now,) = await service.profile_ids([Identifier("anonymous_id", f"c{i}")])
        assert result.event_id == events[i]["event_id"] and result.profile_id == now
    partition = await partition_checked(store, [Identifier("email", f"p{i}@shop.com")
                                                for i in range(10)])
    assert len(partition) == 10
    await store.close()


async def test_the_same_event_from_two_callers_at_once_is_applied_once() -> None:
    store = SqliteGraphStore(":memory:")
    service = IdentityService(store)
    same = event(ident("email", "a@shop.com"))
    (first,), (second,) = await asyncio.gather(service.ingest([same]), service.ingest([same]))
    assert {first.status, second.status} == {IngestStatus.ACCEPTED, IngestStatus.DUPLICATE}
    await store.close()


def _event(name: str) -> Event:
    return Event(EventId(name), EventType.IDENTIFY, datetime(2024, 1, 1, tzinfo=UTC), "web",
                 (Identifier("email", f"{name}@x.com"),))


async def test_a_failing_caller_does_not_fail_the_others_in_its_group() -> None:
    calls: list[list[str]] = []
    gate = asyncio.Event()

    async def commit(events: list[Event]) -> Outcome:
        calls.append([e.event_id for e in events])
        if len(calls) == 1:
            await gate.wait()  # hold the first turn so the others pile up behind it
        if any(e.event_id == "poison" for e in events):
            raise RuntimeError("poison")
        return {e.event_id: Applied(e.event_id, (), ()) for e in events}  # type: ignore[arg-type]

    group = GroupCommit(commit)
    first = asyncio.create_task(group.submit([_event("a")]))
    await asyncio.sleep(0)
    others = [asyncio.create_task(group.submit([_event(n)])) for n in ("b", "poison", "c")]
    await asyncio.sleep(0)
    gate.set()
    assert set(await first) == {"a"}
    b, poison, c = await asyncio.gather(*others, return_exceptions=True)
    assert set(b) == {"b"} and set(c) == {"c"}  # type: ignore[arg-type]
    assert isinstance(poison, RuntimeError)
    assert calls[1] == ["b", "poison", "c"]  # tried together first, then one by one


async def test_a_cancelled_turn_leaves_its_events_to_the_next() -> None:
    started = asyncio.Event()
    committed: list[str] = []

    async def commit(events: list[Event]) -> Outcome:
        if not committed and not started.is_set():
            started.set()
            await asyncio.sleep(10)  # cancelled here
        committed.extend(e.event_id for e in events)
        return {e.event_id: None for e in events}

    group = GroupCommit(commit)
    doomed = asyncio.create_task(group.submit([_event("a")]))
    await started.wait()
    follower = asyncio.create_task(group.submit([_event("b")]))
    await asyncio.sleep(0)
    doomed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert set(await follower) == {"b"}
    assert committed == ["a", "b"]  # the cancelled caller's event was still committed


async def test_a_turn_that_holds_only_others_events_goes_on_until_its_own() -> None:
    committed: list[list[str]] = []
    gate = asyncio.Event()

    async def commit(events: list[Event]) -> Outcome:
        if not committed:
            await gate.wait()
        committed.append([e.event_id for e in events])
        return {e.event_id: None for e in events}

    group = GroupCommit(commit, max_events=2)
    first = asyncio.create_task(group.submit([_event("first")]))
    await asyncio.sleep(0)
    stale = asyncio.create_task(group.submit([_event("s1"), _event("s2")]))
    await asyncio.sleep(0)  # queued behind the first turn, which cannot take it (the cap)
    stale.cancel()  # its events stay queued
    mine = asyncio.create_task(group.submit([_event("mine")]))
    await asyncio.sleep(0)
    gate.set()
    await first
    with pytest.raises(asyncio.CancelledError):
        await stale
    assert set(await asyncio.wait_for(mine, timeout=2)) == {"mine"}
    assert committed == [["first"], ["s1", "s2"], ["mine"]]


async def test_a_cancelled_fallback_leaves_the_rest_to_the_next_turn() -> None:
    attempts: list[list[str]] = []
    gate = asyncio.Event()

    async def commit(events: list[Event]) -> Outcome:
        attempts.append([e.event_id for e in events])
        if len(attempts) == 1:
            await gate.wait()
            return {e.event_id: None for e in events}
        if len(events) > 1:
            raise RuntimeError("the group fails")
        if events[0].event_id == "b" and ["b"] not in attempts[:-1]:
            raise asyncio.CancelledError  # the turn holder is cancelled mid-fallback, once
        return {e.event_id: None for e in events}

    group = GroupCommit(commit)
    first = asyncio.create_task(group.submit([_event("a")]))
    await asyncio.sleep(0)
    b = asyncio.create_task(group.submit([_event("b")]))
    c = asyncio.create_task(group.submit([_event("c")]))
    await asyncio.sleep(0)
    gate.set()
    await first
    results = await asyncio.wait_for(asyncio.gather(b, c, return_exceptions=True), timeout=2)
    assert isinstance(results[0], asyncio.CancelledError)
    assert results[1] == {"c": None}  # not left hanging


async def test_a_big_request_commits_in_parts_and_the_loop_runs_between_them(
    tmp_path: Path,
) -> None:
    """The embedded store commits on the event loop: a request of 5,000 identifiers is
    committed 2,000 at a time, and other work runs between the parts."""
    store = CountingStore(str(tmp_path / "g.db"))
    service = IdentityService(store)
    ticks: set[int] = set()
    done = asyncio.Event()

    async def ticker() -> None:  # another task ready to run, as a request's would be
        while not done.is_set():
            ticks.add(store.writes)
            await asyncio.sleep(0)

    async def ingest() -> list[IngestResult]:
        try:
            return await service.ingest(events)
        finally:
            done.set()

    events = [event(*[ident("anonymous_id", f"a{n}-{i}") for i in range(50)])
              for n in range(100)]  # 5,000 identifiers
    results, _ = await asyncio.gather(ingest(), ticker())
    assert {r.status for r in results} == {IngestStatus.ACCEPTED}
    assert store.writes >= 3  # 2,000 + 2,000 + 1,000 identifiers
    assert any(0 < seen < store.writes for seen in ticks), ticks  # it ran between parts
    await store.close()


async def test_a_part_that_fails_ends_the_request_and_the_parts_before_it_stay() -> None:
    committed: list[list[str]] = []

    async def commit(events: list[Event]) -> Outcome:
        if len(committed) == 1:
            raise RuntimeError("disk full")
        committed.append([e.event_id for e in events])
        return {e.event_id: Applied(e.event_id, (), ()) for e in events}  # type: ignore[arg-type]

    group = GroupCommit(commit)
    parts = commit_parts([_wide_event(f"e{n}", 50) for n in range(100)])
    assert [sum(len(e.identifiers) for e in p) for p in parts] == [2_000, 2_000, 1_000]
    assert set(await group.submit(parts[0])) == {e.event_id for e in parts[0]}
    with pytest.raises(RuntimeError):
        await group.submit(parts[1])
    assert committed == [[e.event_id for e in parts[0]]]


def _wide_event(name: str, identifiers: int) -> Event:
    return Event(EventId(name), EventType.IDENTIFY, datetime(2024, 1, 1, tzinfo=UTC), "web",
                 tuple(Identifier("email", f"{name}.{i}@x.com") for i in range(identifiers)))
