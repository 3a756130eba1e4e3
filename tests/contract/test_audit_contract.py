"""The audit log role (tx.audit) of the store contract, on every adapter: entries come back
whole, newest first by (at, action id), page by cursor without a gap or a repeat, filter by
actor, action and profile, and record what undid them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from identity.domain.types import ProfileId
from identity.store import GraphStore
from identity.store.protocol import AuditCursor, AuditEntry, AuditFilter
from tests.contract.values import T1


def minute(n: int) -> datetime:
    return T1 + timedelta(minutes=n)


def entry(action_id: str, at: datetime, action: str, actor: str, profiles: tuple[str, ...],
          undo_of: str | None = None) -> AuditEntry:
    return AuditEntry(action_id, action, actor, at, f"why {action_id}",
                      tuple(map(ProfileId, profiles)), f'{{"before": "{action_id}"}}',
                      f'{{"after": "{action_id}"}}', undo_of)


A1 = entry("a1", minute(0), "merge", "steward:ann", ("prf_a", "prf_b"))
A2 = entry("a2", minute(1), "split", "steward:bob", ("prf_a", "prf_c"))
# Three actions in one instant: the action id orders them (b7, b5, b3 newest first).
B7 = entry("b7", minute(2), "merge", "rule:same_event", ())
B3 = entry("b3", minute(2), "unlink", "steward:ann", ("prf_c", "prf_a"))
B5 = entry("b5", minute(2), "merge", "steward:bob", ("prf_a",))
A9 = entry("a9", minute(3), "undo", "steward:ann", ("prf_a", "prf_b"), undo_of="a1")
C0 = entry("c0", minute(4), "auto_merge", "rule:probabilistic", ("prf_d",))
NEWEST_FIRST = [C0, A9, B7, B5, B3, A2, A1]


async def append(store: GraphStore, *entries: AuditEntry) -> None:
    async with store.transaction() as tx:
        await tx.audit.append_entries(entries)


async def logged(store: GraphStore) -> None:
    """The history, appended out of order in two transactions."""
    await append(store, B5, A9, A1)
    await append(store, C0, B3, A2, B7)


EVERY = AuditFilter()


async def page(store: GraphStore, where: AuditFilter = EVERY,
               before: AuditCursor | None = None, limit: int = 100) -> list[AuditEntry]:
    async with store.transaction(read_only=True) as tx:
        return await tx.audit.page_entries(where, before, limit)


async def every_page(store: GraphStore, where: AuditFilter, limit: int
                     ) -> list[list[AuditEntry]]:
    """Pages read one after the other, each from the last entry of the one before, up to
    the first empty one; a cursor that does not move on fails rather than loops."""
    pages = [await page(store, where, None, limit)]
    while pages[-1]:
        assert len(pages) <= len(NEWEST_FIRST) + 1, "paging does not end"
        last = pages[-1][-1]
        pages.append(await page(store, where, (last.at, last.action_id), limit))
    return pages


async def test_an_empty_log_has_no_page(store: GraphStore) -> None:
    assert await page(store) == []
    assert await page(store, AuditFilter(profile_id="prf_a")) == []


async def test_entries_read_back_whole_in_the_order_asked_unknown_ids_left_out(
    store: GraphStore
) -> None:
    await logged(store)
    async with store.transaction(read_only=True) as tx:
        assert await tx.audit.read_entries(["a9", "missing", "b7", "a1"]) == [A9, B7, A1]
        assert await tx.audit.read_entries(["missing"]) == []
        assert await tx.audit.read_entries([]) == []


async def test_a_page_is_newest_first_with_ties_in_time_broken_by_action_id(
    store: GraphStore
) -> None:
    await logged(store)
    assert await page(store) == NEWEST_FIRST
    assert await page(store, limit=3) == NEWEST_FIRST[:3]


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
async def test_pages_from_each_cursor_give_every_entry_once_in_order(
    store: GraphStore, limit: int
) -> None:
    await logged(store)
    pages = await every_page(store, EVERY, limit)
    assert [e for p in pages for e in p] == NEWEST_FIRST  # none twice, none missed
    assert all(len(p) == limit for p in pages[:-2]) and pages[-1] == []


async def test_a_page_starts_strictly_before_its_cursor(store: GraphStore) -> None:
    await logged(store)
    # Within the tie at minute 2: b7 is newer than b5 and b5 is the cursor, so both are out.
    assert await page(store, before=(minute(2), "b5")) == [B3, A2, A1]
    assert await page(store, before=(minute(2), "b0")) == [A2, A1]
    assert await page(store, before=(minute(2), "zz")) == [B7, B5, B3, A2, A1]
    assert await page(store, before=(minute(0), "a1")) == []


@pytest.mark.parametrize(("where", "expected"), [
    (AuditFilter(actor="steward:ann"), [A9, B3, A1]),
    (AuditFilter(action="merge"), [B7, B5, A1]),
    (AuditFilter(profile_id="prf_a"), [A9, B5, B3, A2, A1]),  # b5, b3 tie
    (AuditFilter(profile_id="prf_c"), [B3, A2]),
    (AuditFilter(actor="steward:bob", profile_id="prf_a"), [B5, A2]),
    (AuditFilter(actor="steward:ann", action="undo"), [A9]),
    (AuditFilter(actor="steward:ann", profile_id="prf_a"), [A9, B3, A1]),
    (AuditFilter(action="merge", profile_id="prf_a"), [B5, A1]),
    (AuditFilter(actor="steward:ann", action="merge", profile_id="prf_b"), [A1]),
    (AuditFilter(actor="steward:nobody"), []),
    (AuditFilter(profile_id="prf_unknown"), []),
    # Actions left out, on each leading index: by time, actor, action and profile.
    (AuditFilter(exclude_actions=("merge", "auto_merge")), [A9, B3, A2]),
    (AuditFilter(actor="steward:ann", exclude_actions=("undo",)), [B3, A1]),
    (AuditFilter(action="merge", exclude_actions=("merge",)), []),
    (AuditFilter(profile_id="prf_a", exclude_actions=("undo", "split")), [B5, B3, A1]),
    (AuditFilter(profile_id="prf_a", exclude_actions=("no_such_action",)),
     [A9, B5, B3, A2, A1]),
])
async def test_a_filter_keeps_the_matching_entries_and_pages_through_them(
    store: GraphStore, where: AuditFilter, expected: list[AuditEntry]
) -> None:
    await logged(store)
    assert await page(store, where) == expected
    pages = await every_page(store, where, limit=1)
    assert [e for p in pages for e in p] == expected


async def test_a_profile_named_twice_by_one_action_pages_it_once(store: GraphStore) -> None:
    twice = entry("d1", minute(5), "merge", "steward:ann", ("prf_a", "prf_e", "prf_a"))
    await logged(store)
    await append(store, twice)
    assert await page(store, AuditFilter(profile_id="prf_a"), limit=2) == [twice, A9]
    async with store.transaction(read_only=True) as tx:
        assert await tx.audit.read_entries(["d1"]) == [twice]  # kept as it was given


async def test_mark_undone_records_the_undo_on_that_entry_only(store: GraphStore) -> None:
    await logged(store)
    async with store.transaction() as tx:
        await tx.audit.mark_undone([("a1", "a9"), ("b5", "u2")])
    async with store.transaction(read_only=True) as tx:
        a1, b5, a2 = await tx.audit.read_entries(["a1", "b5", "a2"])
    assert (a1.undone_by, b5.undone_by, a2.undone_by) == ("a9", "u2", None)
    assert a1 == replace(A1, undone_by="a9")  # nothing else moved
    assert (await page(store, AuditFilter(actor="steward:ann")))[-1].undone_by == "a9"
