"""The primitives per-profile limits stand on, on every adapter: what a link was before a
sighting, link states, held marks, a group's makeup, the count of match records."""

from __future__ import annotations

from datetime import UTC, datetime

from identity.domain.links import LinkObservation, LinkRule
from identity.domain.matching.records import MatchRecord
from identity.domain.resolution import GroupMakeup
from identity.domain.types import EventId, Identifier, ProfileId
from identity.store import GraphStore
from identity.store.protocol import PriorLink

ANN = Identifier("email", "ann@shop.com")
COOKIE = Identifier("anonymous_id", "c1")
ACCOUNT = Identifier("customer_id", "C-1")
T1 = datetime(2024, 1, 1, tzinfo=UTC)
T2 = datetime(2024, 2, 1, 12, 30, 15, 250_000, tzinfo=UTC)
T0 = datetime(2023, 12, 1, tzinfo=UTC)


def sighting(a: Identifier, b: Identifier, event: str, at: datetime,
             rule: LinkRule = LinkRule.SAME_EVENT, score: float | None = None
             ) -> LinkObservation:
    return LinkObservation(a, b, rule, EventId(event), "web", at, score=score)


async def test_add_links_says_what_each_link_was_before_the_call(store: GraphStore) -> None:
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers([(ANN, T1), (COOKIE, T1), (ACCOUNT, T1)])
        first = await tx.graph.add_links([sighting(ANN, COOKIE, "e1", T2),
                                    sighting(ACCOUNT, ANN, "e2", T1, LinkRule.PROBABILISTIC,
                                             0.97)])
        again = await tx.graph.add_links([sighting(ANN, COOKIE, "e3", T0),
                                    sighting(ANN, COOKIE, "e4", T1),
                                    sighting(ACCOUNT, ANN, "e5", T2, LinkRule.PROBABILISTIC,
                                             0.99)])
    assert first == [None, None]
    # Two sightings of one link in one call both see it as it was before the call.
    assert again == [PriorLink(T2, None), PriorLink(T2, None), PriorLink(T1, 0.97)]
    async with store.transaction(read_only=True) as tx:
        links = {link.evidence.rule: link for link in await tx.graph.read_links([ANN])}
    assert links["same_event"].evidence.first_seen == T0
    assert links["probabilistic"].evidence.score == 0.99


async def test_link_states_set_and_clear_the_reason(store: GraphStore) -> None:
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers([(ANN, T1), (COOKIE, T1)])
        await tx.graph.add_links([sighting(ANN, COOKIE, "e1", T1)])
        await tx.graph.set_link_states([(ANN, COOKIE, "same_event", "held by a limit")])
    async with store.transaction(read_only=True) as tx:
        ((held,),) = [await tx.graph.read_links([ANN])]
    assert (held.is_active, held.inactive_reason) == (False, "held by a limit")
    assert held.evidence.event_ids == ("e1",)
    async with store.transaction() as tx:
        await tx.graph.set_link_states([(ANN, COOKIE, "same_event", None)])
        ((joined,),) = [await tx.graph.read_links([ANN])]
    assert (joined.is_active, joined.inactive_reason) == (True, None)


async def test_held_marks_show_on_nodes_and_a_groups_makeup_counts_kinds(
    store: GraphStore,
) -> None:
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers([(ANN, T1), (COOKIE, T1), (ACCOUNT, T1)])
        (group, other) = await tx.graph.create_groups([ProfileId("prf_a"), ProfileId("prf_b")], T1)
        await tx.graph.assign_members([(ANN, group.group_id), (COOKIE, group.group_id),
                                 (ACCOUNT, other.group_id)])
        await tx.graph.mark_held([(ANN, "2:mark-a"), (COOKIE, "2:mark-b")])
        await tx.graph.mark_held([(ANN, None)])
    async with store.transaction(read_only=True) as tx:
        nodes = {n.identifier: n.held for n in await tx.graph.find_identifiers([ANN, COOKIE])}
        members = {n.identifier: n.held for n in await tx.graph.read_members([group.group_id])}
        makeup = await tx.graph.read_makeup([group.group_id, other.group_id, 999])
    assert nodes == members == {ANN: None, COOKIE: "2:mark-b"}
    assert makeup == {group.group_id: GroupMakeup({"email": 1, "anonymous_id": 1}, "2:mark-b"),
                      other.group_id: GroupMakeup({"customer_id": 1}, None)}


async def test_the_store_counts_its_match_records(store: GraphStore) -> None:
    records = [MatchRecord(f"r{i}", ANN, (("first_name", f"Ann{i}"),), (f"k{i}",),
                           EventId(f"e{i}"), "web", T1) for i in range(3)]
    async with store.transaction() as tx:
        assert await tx.matches.count_records() == 0
        await tx.graph.upsert_identifiers([(ANN, T1)])
        await tx.matches.index_records([*records, records[0]], max_block=10)
    async with store.transaction(read_only=True) as tx:
        assert await tx.matches.count_records() == 3
