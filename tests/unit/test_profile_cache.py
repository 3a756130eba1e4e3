"""The profile cache: fast, and never stale (service/profile_cache.py says why)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.survivorship import OrderSummary
from identity.domain.types import Identifier, ProfileId
from identity.service import IdentityService, Member, ProfileView
from identity.service.matching import Matcher
from identity.service.profile_cache import LOOK_EVERY_S, ProfileCache
from identity.store.sqlite import SqliteGraphStore
from tests.builders import event, ident

EMAIL = "email"


async def cached_service(store: SqliteGraphStore, capacity: int = 100) -> IdentityService:
    return IdentityService(store, profile_cache=capacity,
                           matcher=Matcher(DEFAULT_MODEL, max_block=500))


async def view_of(service: IdentityService, kind: str, value: str) -> ProfileView | None:
    (view,) = await service.profiles_by_identifier([service.normalize(kind, value)])
    return view


# --- the cache on its own ------------------------------------------------------------------


class Elsewhere:
    """A store's commit counts, moved by hand."""

    def __init__(self, value: int | None = 1) -> None:
        self.value = value
        self.here = 0

    def commits(self) -> int:
        return self.here

    def commits_elsewhere(self) -> int | None:
        return self.value


def a_view(profile_id: str, *values: str) -> ProfileView:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    return ProfileView(ProfileId(profile_id), profile_id, at, (), tuple(
        Member(Identifier(EMAIL, v), at, at) for v in values), {}, OrderSummary(0, ()))


def test_a_kept_view_is_served_until_a_commit_touches_its_profile() -> None:
    cache = ProfileCache(10, Elsewhere())
    ticket = cache.ticket()
    cache.keep_view(ticket, a_view("p1", "a@x.com", "b@x.com"))
    assert cache.view(ProfileId("p1")) is not None
    assert cache.profile_id(Identifier(EMAIL, "b@x.com")) == "p1"
    cache.evict([ProfileId("p2")])
    assert cache.view(ProfileId("p1")) is not None
    cache.evict([ProfileId("p1")])
    assert cache.view(ProfileId("p1")) is None
    assert cache.profile_id(Identifier(EMAIL, "b@x.com")) is None


def test_what_a_read_found_is_not_kept_when_a_commit_landed_during_it() -> None:
    cache = ProfileCache(10, Elsewhere())
    ticket = cache.ticket()
    cache.evict([ProfileId("p9")])  # any commit: it may have touched what the read saw
    cache.keep_view(ticket, a_view("p1", "a@x.com"))
    cache.keep_placements(ticket, {Identifier(EMAIL, "a@x.com"): ProfileId("p1")})
    assert cache.view(ProfileId("p1")) is None
    assert cache.profile_id(Identifier(EMAIL, "a@x.com")) is None


def test_a_commit_by_someone_else_empties_it_within_the_look_interval() -> None:
    elsewhere = Elsewhere()
    cache = ProfileCache(10, elsewhere)
    cache.keep_view(cache.ticket(), a_view("p1", "a@x.com"))
    elsewhere.value = 2
    time.sleep(LOOK_EVERY_S)
    assert cache.ticket() is not None
    assert cache.view(ProfileId("p1")) is None and len(cache) == 0


def test_the_store_is_asked_about_other_writers_at_most_once_per_interval() -> None:
    looks: list[int] = []

    class Counted(Elsewhere):
        def commits_elsewhere(self) -> int | None:
            looks.append(1)
            return 1

    cache = ProfileCache(10, Counted())
    started = time.monotonic()
    for _ in range(1000):
        cache.ticket()
    elapsed = time.monotonic() - started
    assert 2 <= len(looks) <= 2 + elapsed / LOOK_EVERY_S  # the constructor's, then per interval


def test_a_store_that_cannot_tell_for_a_moment_is_asked_again_at_the_next_read() -> None:
    elsewhere = Elsewhere()
    cache = ProfileCache(10, elsewhere)
    cache.keep_view(cache.ticket(), a_view("p1", "a@x.com"))
    elsewhere.value = None  # a failed look: keep nothing, serve nothing from memory
    time.sleep(LOOK_EVERY_S)
    assert cache.ticket() is None and len(cache) == 0
    elsewhere.value = 1  # answering again: the cache works again at once
    ticket = cache.ticket()
    assert ticket is not None
    cache.keep_view(ticket, a_view("p1", "a@x.com"))
    assert cache.view(ProfileId("p1")) is not None


def test_a_commit_through_the_store_that_the_cache_did_not_hear_of_empties_it() -> None:
    store = Elsewhere()
    cache = ProfileCache(10, store)
    cache.keep_view(cache.ticket(), a_view("p1", "a@x.com"))
    cache.keep_view(cache.ticket(), a_view("p2", "b@x.com"))
    store.here += 1  # its own ingest path committed, touching p2
    cache.evict([ProfileId("p2")])
    assert cache.view(ProfileId("p1")) is not None and cache.view(ProfileId("p2")) is None
    store.here += 1  # someone else's commit through the same store object
    assert cache.ticket() is not None
    assert len(cache) == 0
    cache.keep_view(cache.ticket(), a_view("p1", "a@x.com"))
    store.here += 2  # someone else's, then its own: the evict sees two
    cache.evict([])
    assert len(cache) == 0


def test_nothing_is_kept_when_the_store_cannot_tell_or_the_capacity_is_zero() -> None:
    for cache in (ProfileCache(10, Elsewhere(None)), ProfileCache(0, Elsewhere())):
        assert not cache.enabled and cache.ticket() is None
        cache.keep_view(cache.ticket(), a_view("p1", "a@x.com"))
        assert cache.view(ProfileId("p1")) is None


def test_the_least_recently_used_profile_goes_first_with_its_identifiers() -> None:
    cache = ProfileCache(2, Elsewhere())
    for pid in ("p1", "p2"):
        cache.keep_view(cache.ticket(), a_view(pid, f"{pid}@x.com"))
    assert cache.view(ProfileId("p1")) is not None  # p1 used last: p2 is the oldest now
    cache.keep_view(cache.ticket(), a_view("p3", "p3@x.com"))
    assert len(cache) == 2
    assert cache.view(ProfileId("p2")) is None
    assert cache.profile_id(Identifier(EMAIL, "p2@x.com")) is None
    assert cache.view(ProfileId("p1")) is not None and cache.view(ProfileId("p3")) is not None


def test_a_view_read_through_a_merged_id_is_not_kept_under_the_survivor() -> None:
    cache = ProfileCache(10, Elsewhere())
    merged = a_view("p1", "a@x.com")
    merged = ProfileView(merged.profile_id, "p0", merged.created_at, (ProfileId("p0"),),
                         merged.identifiers, merged.golden, merged.orders)
    cache.keep_view(cache.ticket(), merged)
    assert cache.view(ProfileId("p1")) is None


def test_a_rendering_is_made_once_per_cached_view() -> None:
    cache = ProfileCache(10, Elsewhere())
    view = a_view("p1", "a@x.com")
    calls: list[str] = []

    def render(v: ProfileView) -> str:
        calls.append(v.profile_id)
        return f"<{v.profile_id}>"

    assert cache.rendering(view, "text", render) == "<p1>"  # not cached: rendered each time
    cache.keep_view(cache.ticket(), view)
    assert [cache.rendering(view, "text", render) for _ in range(3)] == ["<p1>"] * 3
    assert calls == ["p1", "p1"]
    cache.evict([ProfileId("p1")])
    cache.rendering(view, "text", render)
    assert calls == ["p1", "p1", "p1"]


# --- the cache in the service: every answer is the store's --------------------------------

POOL = [("email", f"person{i}@shop.com") for i in range(4)] + \
    [("anonymous_id", f"anon-{i}") for i in range(4)] + \
    [("device_id", f"dev-{i}") for i in range(2)] + \
    [("customer_id", f"C{i}") for i in range(2)]
TRAITS = st.fixed_dictionaries({}, optional={
    "first_name": st.sampled_from(["Ann", "Anne", "Bob"]),
    "last_name": st.sampled_from(["Smith", "Smyth"]),
    "date_of_birth": st.sampled_from(["1980-01-02", "1980-02-01"]),
    "city": st.sampled_from(["Leeds", "York"]),
})
STEP: st.SearchStrategy[tuple[Any, ...]] = st.one_of(
    st.tuples(st.just("ingest"), st.lists(st.sampled_from(POOL), min_size=1, max_size=3,
                                          unique=True), TRAITS),
    st.tuples(st.just("lookup"), st.lists(st.sampled_from(POOL), min_size=1, max_size=3),
              st.just({})),
    st.tuples(st.just("by_id"), st.integers(0, 20), st.just({})),
)


async def cached_and_uncached_agree(steps: list[tuple[str, Any, dict[str, str]]],
                                    capacity: int) -> None:
    store = SqliteGraphStore(":memory:")
    cached = await cached_service(store, capacity)
    truth = await cached_service(store, 0)  # same store, nothing cached: what the store says
    seen_ids: list[str] = []
    try:
        for minute, (kind, arg, traits) in enumerate(steps):
            if kind == "ingest":
                raw = event(*(ident(k, v) for k, v in arg),
                            timestamp=f"2024-05-01T12:{minute:02d}:00Z", traits=traits)
                results = await cached.ingest([raw])
                seen_ids += [r.profile_id for r in results if r.profile_id]
                seen_ids += [m for r in results for m in r.merged_ids]
            elif kind == "lookup":
                wanted = [cached.normalize(k, v) for k, v in arg]
                assert await cached.profiles_by_identifier(wanted) == \
                    await truth.profiles_by_identifier(wanted)
                assert await cached.profile_ids(wanted) == await truth.profile_ids(wanted)
                for k, v in arg:
                    cached_resolution = await cached.resolve([(k, v)], False, "test")
                    assert cached_resolution == await truth.resolve([(k, v)], False, "test")
            elif seen_ids:
                wanted_ids = [seen_ids[arg % len(seen_ids)]]
                assert await cached.profiles(wanted_ids) == await truth.profiles(wanted_ids)
    finally:
        await store.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=1, max_size=30), capacity=st.sampled_from([1, 3, 100]))
def test_a_cached_service_answers_exactly_what_the_store_holds(
    steps: list[tuple[str, Any, dict[str, str]]], capacity: int
) -> None:
    """Merges, hub splits, probabilistic joins, new traits and mere sightings (last_seen)
    interleaved with reads: every read equals a read straight from the store."""
    asyncio.run(cached_and_uncached_agree(steps, capacity))


async def test_a_write_by_another_process_is_seen_by_the_next_read(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    here, there = SqliteGraphStore(path), SqliteGraphStore(path)  # two processes, in effect
    try:
        reader, writer = await cached_service(here), await cached_service(there)
        await writer.ingest([event(ident(EMAIL, "ann@shop.com"),
                                   traits={"first_name": "Ann"})])
        before = await view_of(reader, EMAIL, "ann@shop.com")
        assert before is not None and before.golden["first_name"].value == "Ann"
        assert await view_of(reader, EMAIL, "ann@shop.com") is before  # served from memory
        await writer.ingest([event(ident(EMAIL, "ann@shop.com"), traits={"first_name": "Anna"},
                                   timestamp="2024-06-01T00:00:00Z")])
        await asyncio.sleep(LOOK_EVERY_S)
        after = await view_of(reader, EMAIL, "ann@shop.com")
        assert after is not None and after.golden["first_name"].value == "Anna"
    finally:
        await here.close()
        await there.close()


async def test_a_write_by_another_service_on_the_same_store_is_seen_at_once() -> None:
    store = SqliteGraphStore(":memory:")
    try:
        reader, writer = await cached_service(store), await cached_service(store)
        await writer.ingest([event(ident(EMAIL, "ann@shop.com"), traits={"first_name": "Ann"})])
        before = await view_of(reader, EMAIL, "ann@shop.com")
        assert before is not None and before.golden["first_name"].value == "Ann"
        await writer.ingest([event(ident(EMAIL, "ann@shop.com"), traits={"first_name": "Zed"},
                                   timestamp="2024-06-01T00:00:00Z")])
        after = await view_of(reader, EMAIL, "ann@shop.com")
        assert after is not None and after.golden["first_name"].value == "Zed"
    finally:
        await store.close()


async def test_an_ingest_about_one_profile_leaves_the_others_cached(tmp_path: Path) -> None:
    """Only what a commit touched goes."""
    store = SqliteGraphStore(str(tmp_path / "one.db"))
    try:
        service = await cached_service(store)
        await service.ingest([event(ident(EMAIL, "ann@shop.com")),
                              event(ident(EMAIL, "bo@shop.com"))])
        ann = await view_of(service, EMAIL, "ann@shop.com")
        bo = await view_of(service, EMAIL, "bo@shop.com")
        for day in (2, 3):
            await service.ingest([event(ident(EMAIL, "bo@shop.com"),
                                        timestamp=f"2024-06-0{day}T00:00:00Z")])
            assert await view_of(service, EMAIL, "ann@shop.com") is ann
            assert await view_of(service, EMAIL, "bo@shop.com") != bo
    finally:
        await store.close()


async def test_a_shared_view_cannot_be_changed_by_one_of_its_readers() -> None:
    store = SqliteGraphStore(":memory:")
    try:
        service = await cached_service(store)
        await service.ingest([event(ident(EMAIL, "ann@shop.com"), traits={"first_name": "Ann"})])
        view = await view_of(service, EMAIL, "ann@shop.com")
        assert view is not None
        with pytest.raises(TypeError):
            view.golden["first_name"] = view.golden["first_name"]  # type: ignore[index]
    finally:
        await store.close()


async def test_reads_of_a_cached_profile_do_not_touch_the_store(tmp_path: Path) -> None:
    store = SqliteGraphStore(str(tmp_path / "one.db"))
    try:
        service = await cached_service(store)
        (result,) = await service.ingest([event(ident(EMAIL, "ann@shop.com"))])
        first = await view_of(service, EMAIL, "ann@shop.com")
        reads = 0
        real = store.transaction

        def counting(*, read_only: bool = False) -> Any:
            nonlocal reads
            reads += 1
            return real(read_only=read_only)

        store.transaction = counting  # type: ignore[method-assign]
        assert await view_of(service, EMAIL, "ann@shop.com") is first
        assert await service.profiles([result.profile_id or ""]) == [first]
        assert (await service.resolve([(EMAIL, "ann@shop.com")], False, "t")).profile is first
        assert reads == 0
    finally:
        await store.close()


async def test_sqlite_counts_commits_by_other_connections_only(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    here, there = SqliteGraphStore(path), SqliteGraphStore(path)
    try:
        before = here.commits_elsewhere()
        async with here.transaction() as tx:
            await tx.graph.upsert_identifiers([(Identifier(EMAIL, "a@x.com"), datetime.now(UTC))])
        assert here.commits_elsewhere() == before  # its own commit
        async with there.transaction() as tx:
            await tx.graph.upsert_identifiers([(Identifier(EMAIL, "b@x.com"), datetime.now(UTC))])
        assert here.commits_elsewhere() != before
    finally:
        await here.close()
        await there.close()
    assert here.commits_elsewhere() is None  # closed: cannot tell


async def test_a_new_hub_refreshes_the_profile_across_its_held_link() -> None:
    """A device becoming a hub gives its held links the hub's reason, and so changes the
    view of the profile at their far end (its limits reached), outside the region settled:
    that profile is forgotten too (and named to other replicas' caches)."""
    store = SqliteGraphStore(":memory:")
    cached = IdentityService(store, profile_cache=100)
    truth = IdentityService(store, profile_cache=0)

    async def view(service: IdentityService, kind: str, value: str) -> ProfileView:
        (found,) = await service.profiles_by_identifier([service.normalize(kind, value)])
        assert found is not None
        return found

    await cached.ingest([event(ident("customer_id", "c1"), ident("email", "e@northwind.org"))])
    await cached.ingest([event(ident("customer_id", "c2"), ident("device_id", "d1"))])
    await cached.ingest([event(ident("email", "e@northwind.org"), ident("device_id", "d1"),
                               timestamp="2024-05-02T00:00:00Z")])
    before = await view(cached, "email", "e@northwind.org")
    assert before.limits_reached == (("customer_id", 1),)
    for i in range(5):  # d1 is seen with ever more emails: a shared device, a hub
        await cached.ingest([event(ident("device_id", "d1"),
                                   ident("email", f"x{i}@northwind.org"),
                                   timestamp=f"2024-05-0{3 + i}T00:00:00Z")])
    device = await truth.identifier(truth.normalize("device_id", "d1"))
    assert device is not None and device.node.hub_reason
    now = await view(cached, "email", "e@northwind.org")
    assert now.limits_reached == (await view(truth, "email", "e@northwind.org")).limits_reached
    assert now.limits_reached != before.limits_reached
    await store.close()
