"""The change log (outbox) contract: append, read in pages, filter, prune; on every adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.types import EventId, ProfileId
from identity.store import GraphStore
from identity.store.protocol import ChangePage
from tests.contract.values import T1, T2, Boom

T3 = datetime(2024, 3, 1, tzinfo=UTC)


def change(kind: ChangeKind, profile_id: str, event_id: str = "e1", at: datetime = T1, *,
           absorbed: tuple[str, ...] = (), split: tuple[str, ...] = ()) -> ProfileChange:
    return ProfileChange(kind, ProfileId(profile_id), EventId(event_id), at,
                         tuple(map(ProfileId, absorbed)), tuple(map(ProfileId, split)))


CREATED_A = change(ChangeKind.CREATED, "prf_a", "e1")
CREATED_B = change(ChangeKind.CREATED, "prf_b", "e2")
MERGED_C_INTO_A = change(ChangeKind.MERGED, "prf_a", "e3", absorbed=("prf_c", "prf_x"))
SPLIT_E_FROM_D = change(ChangeKind.SPLIT, "prf_d", "e4", T2, split=("prf_e", "prf_f"))
UPDATED_G = change(ChangeKind.UPDATED, "prf_g", "e5", T3)
HISTORY = [CREATED_A, CREATED_B, MERGED_C_INTO_A, SPLIT_E_FROM_D, UPDATED_G]


async def append(store: GraphStore, *changes: ProfileChange) -> None:
    async with store.transaction() as tx:
        await tx.changes.append_changes(changes)


async def read(store: GraphStore, after: int = 0, limit: int = 100,
               profile_ids: tuple[str, ...] = ()) -> ChangePage:
    async with store.transaction(read_only=True) as tx:
        return await tx.changes.read_changes(after, limit, profile_ids)


async def prune(store: GraphStore, before: datetime, limit: int = 100) -> int:
    async with store.transaction() as tx:
        return await tx.changes.prune_changes(before, limit)


async def test_an_empty_log_reads_as_nothing_before_position_one(store: GraphStore) -> None:
    assert await read(store) == ChangePage([], 0, 0, 0)


async def test_changes_come_back_whole_in_commit_order_under_dense_positions(
    store: GraphStore
) -> None:
    await append(store, *HISTORY[:3])
    await append(store, *HISTORY[3:])
    page = await read(store)
    assert [(r.position, r.change) for r in page.changes] == list(enumerate(HISTORY, start=1))
    assert (page.through, page.pruned_through, page.last) == (5, 0, 5)


async def test_the_last_position_is_the_highest_handed_out_pruned_or_not(
    store: GraphStore
) -> None:
    async def last() -> int:
        async with store.transaction(read_only=True) as tx:
            return await tx.changes.last_position()

    assert await last() == 0
    await append(store, *HISTORY[:3])
    assert await last() == 3
    await append(store, *HISTORY[3:])
    assert await last() == 5 == (await read(store)).last
    assert await prune(store, T3) == 4  # the log shrinks; positions handed out stay handed out
    assert await last() == 5


async def test_a_rolled_back_append_logs_nothing_and_leaves_no_hole(store: GraphStore) -> None:
    await append(store, CREATED_A)
    with pytest.raises(Boom):
        async with store.transaction() as tx:
            await tx.changes.append_changes([CREATED_B, UPDATED_G])
            raise Boom
    await append(store, SPLIT_E_FROM_D)
    page = await read(store)
    assert [(r.position, r.change) for r in page.changes] == [(1, CREATED_A),
                                                              (2, SPLIT_E_FROM_D)]
    assert page.last == 2


async def test_pages_follow_on_from_through_until_the_end(store: GraphStore) -> None:
    await append(store, *HISTORY)
    seen: list[list[int]] = []
    after = 0
    while True:
        page = await read(store, after, limit=2)
        seen.append([r.position for r in page.changes])
        if page.through == after:
            break
        after = page.through
    assert seen == [[1, 2], [3, 4], [5], []]
    assert (await read(store, after=5)).through == 5


@pytest.mark.parametrize(("profile_ids", "expected"), [
    (("prf_a",), [CREATED_A, MERGED_C_INTO_A]),
    (("prf_c",), [MERGED_C_INTO_A]),  # an absorbed id hears of its merge
    (("prf_x",), [MERGED_C_INTO_A]),
    (("prf_f",), [SPLIT_E_FROM_D]),  # a carved-out id hears of its split
    (("prf_d",), [SPLIT_E_FROM_D]),
    (("prf_g", "prf_b", "prf_unknown"), [CREATED_B, UPDATED_G]),
    (("prf_unknown",), []),
])
async def test_a_filter_keeps_changes_that_mention_a_wanted_profile(
    store: GraphStore, profile_ids: tuple[str, ...], expected: list[ProfileChange]
) -> None:
    await append(store, *HISTORY)
    page = await read(store, profile_ids=profile_ids)
    assert [r.change for r in page.changes] == expected
    assert page.through == 5  # every change was scanned, matching or not


async def test_a_filtered_page_scans_limit_changes_and_reports_how_far(
    store: GraphStore
) -> None:
    await append(store, *HISTORY)
    first = await read(store, limit=2, profile_ids=("prf_g",))
    second = await read(store, first.through, limit=2, profile_ids=("prf_g",))
    third = await read(store, second.through, limit=2, profile_ids=("prf_g",))
    assert (first.changes, first.through) == ([], 2)
    assert (second.changes, second.through) == ([], 4)
    assert [(r.position, r.change) for r in third.changes] == [(5, UPDATED_G)]


async def test_prune_removes_the_oldest_changes_and_says_how_far(store: GraphStore) -> None:
    await append(store, *HISTORY)  # made at T1, T1, T1, T2, T3
    assert await prune(store, before=T2) == 3
    page = await read(store)
    assert [r.position for r in page.changes] == [4, 5]
    assert (page.pruned_through, page.last) == (3, 5)
    assert await prune(store, before=T2) == 0
    assert (await read(store)).pruned_through == 3


async def test_prune_takes_at_most_limit_and_only_from_the_start(store: GraphStore) -> None:
    late = change(ChangeKind.UPDATED, "prf_a", "e9", T3)
    await append(store, CREATED_A, late, CREATED_B)  # the third is old, but after a new one
    assert await prune(store, before=T2, limit=5) == 1
    assert [r.change for r in (await read(store)).changes] == [late, CREATED_B]
    assert await prune(store, before=T3 + timedelta(days=1), limit=1) == 1
    assert [r.position for r in (await read(store)).changes] == [3]


async def test_positions_are_never_handed_out_again_after_a_prune(store: GraphStore) -> None:
    await append(store, CREATED_A, CREATED_B)
    assert await prune(store, before=T3) == 2
    await append(store, UPDATED_G)
    page = await read(store)
    assert [(r.position, r.change) for r in page.changes] == [(3, UPDATED_G)]
    assert (page.pruned_through, page.last) == (2, 3)


async def test_a_read_from_a_pruned_position_starts_at_the_oldest_kept_and_says_so(
    store: GraphStore
) -> None:
    await append(store, *HISTORY)
    await prune(store, before=T2)
    page = await read(store, after=1)
    assert [r.position for r in page.changes] == [4, 5]
    assert page.pruned_through == 3  # above `after`: the caller learns it missed some


async def test_a_touch_entry_names_its_profiles_to_readers_of_everything_only(
    store: GraphStore
) -> None:
    async with store.transaction() as tx:
        await tx.changes.append_changes([CREATED_A], [ProfileId("prf_t2"), ProfileId("prf_t1"),
                                                      ProfileId("prf_t2")])
    async with store.transaction() as tx:  # a commit that changed no profile, only views
        await tx.changes.append_changes([], [ProfileId("prf_t3")])
    await append(store, CREATED_B)
    everything = await read(store)
    # The touch entries take positions (2 and 3) but are no changes: a feed skips them.
    assert [(r.position, r.change) for r in everything.changes] == [(1, CREATED_A),
                                                                    (4, CREATED_B)]
    assert everything.touched == ["prf_t1", "prf_t2", "prf_t3"]
    assert (everything.through, everything.last) == (4, 4)
    filtered = await read(store, profile_ids=("prf_t1", "prf_b"))
    assert [r.position for r in filtered.changes] == [4]
    assert filtered.touched == []
    assert (await read(store, after=1, limit=1)).touched == ["prf_t1", "prf_t2"]


async def test_nothing_to_log_logs_nothing(store: GraphStore) -> None:
    async with store.transaction() as tx:
        await tx.changes.append_changes([], [])
    assert await read(store) == ChangePage([], 0, 0, 0)


async def test_touch_entries_are_pruned_by_age_like_changes(store: GraphStore) -> None:
    async with store.transaction() as tx:
        await tx.changes.append_changes([], [ProfileId("prf_t1")])
    await append(store, UPDATED_G)
    assert await prune(store, datetime.now(UTC) + timedelta(days=1)) == 2
    page = await read(store)
    assert (page.changes, page.touched, page.pruned_through, page.last) == ([], [], 2, 2)
