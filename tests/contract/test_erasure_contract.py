"""The erasure role (tx.erasure) of the store contract, on every adapter: erase_rows removes
every row of the given identifiers and profile ids and no other, the change log stays dense,
tombstones suppress until lifted, and the erasure key is kept once (docs/architecture.md,
"Erasure and access")."""

from __future__ import annotations

from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.events import Order
from identity.domain.links import LinkRule
from identity.domain.matching.records import MatchRecord
from identity.domain.types import EventId, Identifier, ProfileId
from identity.store import GraphStore
from identity.store.protocol import (
    AuditEntry,
    ErasedRows,
    Holding,
    ReviewItem,
    StoredEvent,
    Tombstone,
    VersionRow,
)
from tests.contract.values import ANN, BOB, COOKIE, PHONE, T0, T1, T2, into, seen, sighting

P1, P2 = ProfileId("prf_gone"), ProfileId("prf_kept")


def record(record_id: str, anchor: Identifier, keys: tuple[str, ...]) -> MatchRecord:
    return MatchRecord(record_id, anchor, (("last_name", "Lindqvist"),), keys,
                       EventId(f"e-{record_id}"), "web", T1)


async def two_profiles(store: GraphStore) -> None:
    """P1 holds ANN and BOB; P2 holds COOKIE and PHONE; an inactive link joins BOB to COOKIE
    (a household's device): one of everything the erasure of P1 must take, or leave."""
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN, BOB, COOKIE, PHONE], T0))
        one, two = await tx.graph.create_groups([P1, P2], T0)
        await tx.graph.assign_members([*into([ANN, BOB], one.group_id),
                                       *into([COOKIE, PHONE], two.group_id)])
        await tx.graph.add_links([sighting(ANN, BOB, "e1", T0),
                                  sighting(BOB, COOKIE, "e2", T1, inactive_reason="hub"),
                                  sighting(COOKIE, PHONE, "e3", T1)])
        await tx.events.record_events([
            StoredEvent(EventId("e1"), "identify", "web", T0, BOB, (("first_name", "Ana"),)),
            StoredEvent(EventId("e1b"), "identify", "web", T0, ANN),  # no data
            StoredEvent(EventId("e4"), "order", "web", T1, BOB, order=Order(None, None)),
            StoredEvent(EventId("e3"), "identify", "web", T1, COOKIE, (("first_name", "Bo"),)),
        ])
        await tx.matches.index_records([record("r1", BOB, ("ln:lindqvist", "fn:a")),
                                        record("r2", COOKIE, ("ln:lindqvist",))], 500)
        await tx.reviews.enqueue([ReviewItem(ANN, PHONE, 0.7, "web", T1),
                                  ReviewItem(COOKIE, PHONE, 0.6, "web", T1)])
        await tx.versions.append_versions([
            VersionRow(P1, 1, T0, "created", "e1", None, added=(ANN, BOB)),
            VersionRow(P2, 1, T1, "created", "e3", None, added=(COOKIE, PHONE)),
            VersionRow(P2, 2, T2, "split_from", "act-1", "steward", removed=(ANN,),
                       related=(P1,))])
        await tx.changes.append_changes(
            [ProfileChange(ChangeKind.CREATED, P1, EventId("e1"), T0),
             ProfileChange(ChangeKind.CREATED, P2, EventId("e3"), T1),
             ProfileChange(ChangeKind.SPLIT, P2, EventId("act-1"), T2, split_ids=(P1,))],
            touched=[P1, P2])


async def test_erase_rows_takes_the_person_and_leaves_the_household(store: GraphStore
                                                                     ) -> None:
    await two_profiles(store)
    async with store.transaction() as tx:
        rows = await tx.erasure.erase_rows([ANN, BOB], [P1])
    assert rows == ErasedRows(nodes=2, links=2, events=3, records=1, reviews=1, profiles=1,
                              versions=1, changes=2)
    async with store.transaction(read_only=True) as tx:
        assert [n.identifier for n in await tx.graph.find_identifiers(
            [ANN, BOB, COOKIE, PHONE])] == [COOKIE, PHONE]
        assert [(k.a, k.b) for k in await tx.graph.read_links([ANN, BOB, COOKIE])] == [
            (COOKIE, PHONE)]
        assert [e.event_id for e in await tx.events.read_stored_events([ANN, BOB, COOKIE])
                ] == ["e3"]
        assert await tx.events.seen_event_ids(["e1", "e1b", "e4", "e3"]) == {"e3"}
        assert await tx.matches.read_records([BOB]) == []
        found = await tx.matches.find_records(["ln:lindqvist", "fn:a"], 500)
        assert [r.record_id for r in found.records] == ["r2"] and found.oversized == []
        assert [(i.a, i.b) for i in await tx.reviews.read_items(
            [(ANN, PHONE), (COOKIE, PHONE)])] == [(COOKIE, PHONE)]
        assert [p.profile_id for p in await tx.graph.lookup_profiles([P1, P2])] == [P2]
        assert await tx.versions.read_versions(P1, 0, 10) == []
        assert len(await tx.versions.read_versions(P2, 0, 10)) == 2
        page = await tx.changes.read_changes(0, 100, [])
        # Positions stay dense: the emptied entries are read past, never shown.
        assert page.through == page.last == 4
        assert [(c.position, c.change.profile_id) for c in page.changes] == [(2, P2)]
        assert page.touched == [P2]


async def test_strip_versions_takes_the_erased_out_of_others_history(store: GraphStore
                                                                     ) -> None:
    await two_profiles(store)
    async with store.transaction() as tx:
        assert await tx.erasure.strip_versions([P2], [ANN, BOB], [P1]) == 1
        assert await tx.erasure.strip_versions([P2], [ANN, BOB], [P1]) == 0
    async with store.transaction(read_only=True) as tx:
        versions = await tx.versions.read_versions(P2, 0, 10)
    assert [(v.added, v.removed, v.related) for v in versions] == [
        ((COOKIE, PHONE), (), ()), ((), (), ())]


async def test_redact_audit_replaces_the_texts_and_keeps_the_record(store: GraphStore
                                                                    ) -> None:
    entry = AuditEntry("act-1", "merge", "steward", T1, "ann@shop.com asked", (P1, P2),
                       '{"profile_of": {"email|ann@shop.com": "prf_gone"}}', "{}")
    async with store.transaction() as tx:
        await tx.audit.append_entries([entry])
        await tx.erasure.redact_audit([("act-1", "[erased] asked", '{"profile_of": {}}', "{}")])
    async with store.transaction(read_only=True) as tx:
        (found,) = await tx.audit.read_entries(["act-1"])
    assert (found.reason, found.before, found.after) == ("[erased] asked", '{"profile_of": {}}',
                                                         "{}")
    assert (found.action, found.actor, found.at, found.profile_ids) == (
        "merge", "steward", T1, (P1, P2))


async def test_tombstones_suppress_until_lifted_and_again_when_erased_again(
        store: GraphStore) -> None:
    async with store.transaction() as tx:
        await tx.erasure.add_tombstones([Tombstone("h1", "act-1", T1),
                                         Tombstone("h2", "act-1", T1)])
        assert await tx.erasure.suppressed(["h1", "h2", "h3"]) == {"h1", "h2"}
        assert await tx.erasure.lift(["h1", "h3"], T2) == ["h1"]
        assert await tx.erasure.lift(["h1"], T2) == []
        assert await tx.erasure.suppressed(["h1", "h2"]) == {"h2"}
        await tx.erasure.add_tombstones([Tombstone("h1", "act-2", T2)])
    async with store.transaction(read_only=True) as tx:
        assert await tx.erasure.suppressed(["h1", "h2"]) == {"h1", "h2"}
        assert await tx.erasure.suppressed([]) == set()


async def test_the_first_erasure_key_is_kept(store: GraphStore) -> None:
    async with store.transaction() as tx:
        assert await tx.erasure.erasure_key("first-key") == "first-key"
    async with store.transaction() as tx:
        assert await tx.erasure.erasure_key("second-key") == "first-key"


async def test_erasing_nothing_changes_nothing(store: GraphStore) -> None:
    await two_profiles(store)
    async with store.transaction() as tx:
        assert await tx.erasure.erase_rows([], []) == ErasedRows()
    async with store.transaction(read_only=True) as tx:
        assert len(await tx.graph.find_identifiers([ANN, BOB, COOKIE, PHONE])) == 4
        assert len((await tx.changes.read_changes(0, 100, [])).changes) == 3
        assert LinkRule.SAME_EVENT in {k.evidence.rule for k in await tx.graph.read_links([ANN])}


async def test_holding_finds_values_kept_elsewhere_and_rewrite_takes_them_out(
        store: GraphStore) -> None:
    """A record, an event and a link of the household (COOKIE) that hold Ann's email, as a
    steward split leaves them: found whatever their anchor, in any case, then rewritten."""
    await two_profiles(store)
    held = MatchRecord("r3", COOKIE, (("email", "ann@shop.com"), ("last_name", "Lindqvist")),
                       ("ln:lindqvist", "em:ann@shop.com"), EventId("e5"), "web", T1)
    details = '{"fields":[{"field":"email","left":"ann@shop.com","right":null}]}'
    async with store.transaction() as tx:
        await tx.matches.index_records([held], 500)
        await tx.events.record_events([StoredEvent(
            EventId("e5"), "identify", "web", T1, COOKIE,
            (("colour", "teal"), ("contact", "ANN@Shop.com")))])
        await tx.graph.add_links([sighting(COOKIE, PHONE, "e5", T1, LinkRule.PROBABILISTIC,
                                           0.9, details=details)])
    async with store.transaction() as tx:
        found = await tx.erasure.holding(["ann@shop.com"])
        assert [r.record_id for r in found.records] == ["r3"]
        assert [(e.event_id, e.anchor) for e in found.events] == [("e5", COOKIE)]
        assert found.details == [(COOKIE, PHONE, LinkRule.PROBABILISTIC.value, details)]
        assert await tx.erasure.holding([]) == Holding()
        assert await tx.erasure.rewrite_holding(
            ["r3"], [(EventId("e5"), (("colour", "teal"),))],
            [(COOKIE, PHONE, LinkRule.PROBABILISTIC.value, '{"fields":[]}')]) == 1
    async with store.transaction(read_only=True) as tx:
        assert await tx.erasure.holding(["ann@shop.com"]) == Holding()
        assert [r.record_id for r in await tx.matches.read_records([COOKIE])] == ["r2"]
        lookup = await tx.matches.find_records(["ln:lindqvist", "em:ann@shop.com"], 500)
        assert sorted(r.record_id for r in lookup.records) == ["r1", "r2"]
        (event,) = [e for e in await tx.events.read_stored_events([COOKIE])
                    if e.event_id == "e5"]
        assert event.traits == (("colour", "teal"),)
        (link,) = [k for k in await tx.graph.read_links([COOKIE])
                   if k.evidence.rule == LinkRule.PROBABILISTIC]
        assert link.evidence.details == '{"fields":[]}'
