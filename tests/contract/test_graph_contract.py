"""The identity graph role (tx.graph) of the store contract, run unchanged on every adapter:
nodes, links with their evidence and state, groups, members, profiles."""

from __future__ import annotations

from identity.domain.links import MAX_EVENT_IDS_SHOWN, LinkRule
from identity.domain.resolution import GroupMakeup
from identity.domain.types import Identifier, ProfileId
from identity.store import GraphStore
from identity.store.protocol import PriorLink
from tests.contract.values import (
    ACCOUNT,
    ANN,
    ANNA,
    BOB,
    COOKIE,
    PHONE,
    T0,
    T1,
    T2,
    into,
    seen,
    sighting,
)


async def test_upsert_creates_nodes_and_widens_first_and_last_seen(store: GraphStore) -> None:
    async with store.transaction() as tx:
        (created,) = await tx.graph.upsert_identifiers(seen([ANN], T2))
        assert (created.identifier, created.group_id, created.first_seen) == (ANN, None, T2)
        (again,) = await tx.graph.upsert_identifiers(seen([ANN], T1))
        twice = await tx.graph.upsert_identifiers([(COOKIE, T2), (COOKIE, T1)])
    assert (again.first_seen, again.last_seen) == (T1, T2)
    assert [(r.first_seen, r.last_seen) for r in twice] == [(T1, T2), (T1, T2)]
    async with store.transaction(read_only=True) as tx:
        assert await tx.graph.find_identifiers([PHONE, ANN, COOKIE]) == [again, twice[1]]


async def test_groups_take_members_and_report_size_and_creation_order(store: GraphStore) -> None:
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN, COOKIE, PHONE], T1))
        first, second = await tx.graph.create_groups([ProfileId("prf_a"), ProfileId("prf_b")], T1)
        await tx.graph.assign_members(into([ANN, COOKIE], first.group_id))
        await tx.graph.assign_members(into([PHONE], second.group_id))
        groups = {g.profile_id: g for g in await tx.graph.read_groups([first.group_id,
                                                                 second.group_id])}
    a, b = groups[ProfileId("prf_a")], groups[ProfileId("prf_b")]
    assert a.size == 2 and b.size == 1
    assert a.profile_seq < b.profile_seq
    async with store.transaction(read_only=True) as tx:
        members = await tx.graph.read_members([first.group_id])
    assert [m.identifier for m in members] == sorted([ANN, COOKIE])


async def test_move_and_relabel_keep_merged_ids_resolving(store: GraphStore) -> None:
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN, COOKIE, PHONE], T1))
        old, new = await tx.graph.create_groups([ProfileId("prf_old"), ProfileId("prf_new")], T1)
        await tx.graph.assign_members(into([COOKIE], old.group_id))
        await tx.graph.assign_members(into([ANN, PHONE], new.group_id))
        await tx.graph.move_members([(old.group_id, new.group_id)])
        await tx.graph.relabel_groups(
            [(new.group_id, ProfileId("prf_old"), [ProfileId("prf_new")])])
    async with store.transaction(read_only=True) as tx:
        rows = await tx.graph.lookup_profiles(["prf_new", "prf_old", "prf_missing"])
        (group,) = await tx.graph.read_groups([new.group_id])
        assert await tx.graph.read_groups([old.group_id]) == []
        assert await tx.graph.merged_ids(ProfileId("prf_old")) == ["prf_new"]
        members = await tx.graph.read_members([new.group_id])
    assert [(r.requested_id, r.profile_id, r.group_id) for r in rows] == [
        ("prf_new", "prf_old", new.group_id), ("prf_old", "prf_old", new.group_id)]
    assert group.size == 3 and group.profile_id == "prf_old"
    assert len(members) == 3


async def test_links_fold_sightings_into_one_with_all_evidence(store: GraphStore) -> None:
    sightings = [
        sighting(ANN, COOKIE, "e2", T2, source="ios"),
        sighting(ANN, COOKIE, "e1", T1),
        sighting(ANN, COOKIE, "e1", T1),
    ]
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN, COOKIE, PHONE], T1))
        await tx.graph.add_links(sightings)
    async with store.transaction(read_only=True) as tx:
        (link,) = await tx.graph.read_links([COOKIE])
        assert await tx.graph.read_links([PHONE]) == []
    assert (link.a, link.b, link.is_active) == (ANN, COOKIE, True)
    assert link.evidence.event_ids == ("e1", "e2")
    assert link.evidence.sources == ("ios", "web")
    assert (link.evidence.first_seen, link.evidence.last_seen) == (T1, T2)


async def test_neighbors_filter_by_rule_kind_and_prefix_over_active_and_inactive_links(
    store: GraphStore,
) -> None:
    loyalty = Identifier("external:loyalty", "L-1")
    other = Identifier("email", "other@shop.com")
    sightings = [
        sighting(ANN, COOKIE, "e1", T1),
        sighting(COOKIE, other, "e4", T1, LinkRule.PROBABILISTIC, 0.99),
        sighting(COOKIE, PHONE, "e2", T1),
        sighting(COOKIE, loyalty, "e3", T1, source="pos"),
    ]
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN, COOKIE, PHONE, loyalty, other], T1))
        await tx.graph.add_links(sightings)
        await tx.graph.set_link_states([(COOKIE, PHONE, LinkRule.SAME_EVENT.value, "test")])
    async with store.transaction(read_only=True) as tx:
        emails = await tx.graph.read_neighbors([COOKIE], "same_event", ["email"])
        strong = await tx.graph.read_neighbors([COOKIE], "same_event", ["email", "phone"],
                                         ["external:"])
        nothing = await tx.graph.read_neighbors([COOKIE], "same_event", [], [])
        scored = await tx.graph.read_neighbors([COOKIE], "probabilistic", ["email", "phone"])
    assert emails == [(COOKIE, ANN)]
    assert sorted(strong) == sorted([(COOKIE, ANN), (COOKIE, PHONE), (COOKIE, loyalty)])
    assert nothing == []
    assert scored == [(COOKIE, other)]


async def test_an_inactive_link_keeps_its_evidence_and_reason(store: GraphStore) -> None:
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN, COOKIE, PHONE], T1))
        await tx.graph.add_links([sighting(ANN, COOKIE, "e1", T1), sighting(ANN, PHONE, "e2", T1)])
        await tx.graph.set_link_states(
            [(ANN, COOKIE, LinkRule.SAME_EVENT.value, "cookie is a hub")])
        await tx.graph.mark_hubs([(COOKIE, "hub: test")])
    async with store.transaction(read_only=True) as tx:
        links = {link.b: link for link in await tx.graph.read_links([ANN])}
        (cookie,) = await tx.graph.find_identifiers([COOKIE])
    assert (links[COOKIE].is_active, links[COOKIE].inactive_reason) == (False, "cookie is a hub")
    assert links[COOKIE].evidence.event_ids == ("e1",)
    assert (links[PHONE].is_active, links[PHONE].inactive_reason) == (True, None)
    assert cookie.hub_reason == "hub: test"


async def test_assign_members_moves_nodes_between_groups_and_keeps_sizes(
    store: GraphStore,
) -> None:
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN, COOKIE, PHONE], T1))
        first, second = await tx.graph.create_groups([ProfileId("prf_a"), ProfileId("prf_b")], T1)
        await tx.graph.assign_members(into([ANN, COOKIE, PHONE], first.group_id))
        await tx.graph.assign_members(into([PHONE, COOKIE], second.group_id))
        await tx.graph.assign_members(into([PHONE], second.group_id))  # already there: no change
        sizes = {g.profile_id: g.size for g in await tx.graph.read_groups([first.group_id,
                                                                    second.group_id])}
        moved = await tx.graph.read_members([second.group_id])
    assert sizes == {"prf_a": 1, "prf_b": 2}
    assert [m.identifier for m in moved] == sorted([COOKIE, PHONE])


async def test_a_sighting_can_make_a_link_inactive_but_never_active_again(
    store: GraphStore,
) -> None:
    blocked = sighting(ANN, COOKIE, "e1", T1, inactive_reason="cookie is a hub")
    plain = sighting(ANN, COOKIE, "e2", T2)
    later_block = sighting(ANN, PHONE, "e3", T2, inactive_reason="phone is a hub")
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN, COOKIE, PHONE], T1))
        await tx.graph.add_links([blocked, plain])
        await tx.graph.add_links([sighting(ANN, PHONE, "e4", T1)])
        await tx.graph.add_links([later_block])
    async with store.transaction(read_only=True) as tx:
        links = {link.b: link for link in await tx.graph.read_links([ANN])}
    assert (links[COOKIE].is_active, links[COOKIE].inactive_reason) == (False, "cookie is a hub")
    assert links[COOKIE].evidence.event_ids == ("e1", "e2")
    assert (links[PHONE].is_active, links[PHONE].inactive_reason) == (False, "phone is a hub")


async def test_moves_apply_in_order_so_chained_merges_land_in_the_last_group(
    store: GraphStore,
) -> None:
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN, COOKIE, PHONE], T1))
        a, b, c = await tx.graph.create_groups([ProfileId("prf_a"), ProfileId("prf_b"),
                                          ProfileId("prf_c")], T1)
        await tx.graph.assign_members(
            [(ANN, a.group_id), (COOKIE, b.group_id), (PHONE, c.group_id)])
        await tx.graph.move_members([(a.group_id, b.group_id), (b.group_id, c.group_id)])
        await tx.graph.relabel_groups([(c.group_id, ProfileId("prf_a"),
                                  [ProfileId("prf_b"), ProfileId("prf_c")])])
        (group,) = await tx.graph.read_groups([a.group_id, b.group_id, c.group_id])
        members = await tx.graph.read_members([c.group_id])
        rows = await tx.graph.lookup_profiles(["prf_a", "prf_b", "prf_c"])
    assert (group.group_id, group.size, group.profile_id) == (c.group_id, 3, "prf_a")
    assert len(members) == 3
    assert {r.profile_id for r in rows} == {"prf_a"}
    assert a.profile_seq < b.profile_seq < c.profile_seq


async def test_a_profile_id_can_pass_from_group_to_group_within_one_transaction(
    store: GraphStore,
) -> None:
    """A batch whose deterministic and probabilistic merges chain hands the surviving
    profile id on twice before it commits."""
    async with store.transaction() as tx:
        first, second = await tx.graph.create_groups([ProfileId("p1"), ProfileId("p2")], T1)
        await tx.graph.upsert_identifiers(seen([ANN, COOKIE], T1))
        await tx.graph.assign_members([(ANN, first.group_id), (COOKIE, second.group_id)])
    async with store.transaction() as tx:
        (newest,) = await tx.graph.create_groups([ProfileId("p9")], T2)
        await tx.graph.move_members([(newest.group_id, first.group_id)])
        await tx.graph.relabel_groups([(first.group_id, ProfileId("p9"), [ProfileId("p1")])])
        await tx.graph.move_members([(first.group_id, second.group_id)])
        await tx.graph.relabel_groups([(second.group_id, ProfileId("p9"), [ProfileId("p2")])])
    async with store.transaction(read_only=True) as tx:
        rows = await tx.graph.lookup_profiles(["p1", "p2", "p9"])
        members = await tx.graph.read_members([second.group_id])
    assert {(r.requested_id, r.profile_id, r.group_id) for r in rows} == {
        ("p1", "p9", second.group_id), ("p2", "p9", second.group_id),
        ("p9", "p9", second.group_id)}
    assert {m.identifier for m in members} == {ANN, COOKIE}


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


async def test_scored_links_keep_the_best_score_and_its_details(store: GraphStore) -> None:
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers([(ANN, T1), (ANNA, T1)])
        await tx.graph.add_links([
            sighting(ANN, ANNA, "e1", T1, LinkRule.PROBABILISTIC, 0.97, details='{"p": 0.97}'),
            sighting(ANN, ANNA, "e2", T1, LinkRule.PROBABILISTIC, 0.99, details='{"p": 0.99}',
                     source="crm"),
            sighting(ANN, ANNA, "e3", T1, LinkRule.PROBABILISTIC, 0.96, details='{"p": 0.96}',
                     source="crm"),
        ])
    async with store.transaction(read_only=True) as tx:
        (link,) = await tx.graph.read_links([ANN])
    assert (link.evidence.score, link.evidence.details) == (0.99, '{"p": 0.99}')
    assert link.evidence.event_ids == ("e1", "e2", "e3")


async def test_links_of_one_rule_page_in_order_of_their_ends(store: GraphStore) -> None:
    ends = [ANN, ANNA, BOB, PHONE]
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers([(e, T1) for e in ends])
        await tx.graph.add_links([
            sighting(min(a, b), max(a, b), "e", T1, rule, 0.8,
                     inactive_reason="awaiting review"
                     if rule is LinkRule.POSSIBLE_MATCH else None)
            for a, b, rule in [(ANN, ANNA, LinkRule.POSSIBLE_MATCH),
                               (BOB, PHONE, LinkRule.POSSIBLE_MATCH),
                               (ANN, PHONE, LinkRule.POSSIBLE_MATCH),
                               (ANN, BOB, LinkRule.SAME_EVENT)]])
    async with store.transaction(read_only=True) as tx:
        first = await tx.graph.read_links_by_rule("possible_match", None, 2)
        last = first[-1]
        rest = await tx.graph.read_links_by_rule("possible_match", (last.a.key, last.b.key), 2)
    keys = [(link.a.key, link.b.key) for link in [*first, *rest]]
    assert keys == sorted(keys) and len(keys) == 3
    assert all(not link.is_active and link.evidence.rule == "possible_match"
               for link in [*first, *rest])


async def test_a_link_reads_back_its_first_events_by_id_and_how_many_there_are(
        store: GraphStore) -> None:
    """A pair seen in 10,000 events carried them all into every read of it, settling's too."""
    events = [f"e{n:04d}" for n in range(MAX_EVENT_IDS_SHOWN + 50)]
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN, COOKIE], T1))
        await tx.graph.add_links([sighting(ANN, COOKIE, e, T1, source=f"s{n % 3}")
                                  for n, e in enumerate(reversed(events))])
    async with store.transaction(read_only=True) as tx:
        (link,) = await tx.graph.read_links([ANN])
        (paged,) = await tx.graph.read_links_by_rule("same_event", None, 10)
    for found in (link, paged):
        assert found.evidence.event_ids == tuple(events[:MAX_EVENT_IDS_SHOWN])
        assert found.evidence.event_count == len(events)
        assert found.evidence.sources == ("s0", "s1", "s2")


async def test_withdrawing_every_sighting_deletes_the_link_and_leaves_the_others(
    store: GraphStore
) -> None:
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN, COOKIE, PHONE], T1))
        await tx.graph.add_links([sighting(ANN, PHONE, "e0", T1),
                                  sighting(ANN, COOKIE, "e3", T1, LinkRule.PROBABILISTIC, 0.9)])
        # Made last: a store that hands its link id out again must not hand its evidence too.
        await tx.graph.add_links([sighting(ANN, COOKIE, "e1", T1),
                                  sighting(ANN, COOKIE, "e2", T2, source="ios")])
    async with store.transaction(read_only=True) as tx:
        before = {(link.b, link.evidence.rule): link for link in await tx.graph.read_links([ANN])}
    async with store.transaction() as tx:
        await tx.graph.withdraw_sightings([(ANN, COOKIE, LinkRule.SAME_EVENT.value, "e1"),
                                           (ANN, COOKIE, LinkRule.SAME_EVENT.value, "e2")])
    async with store.transaction(read_only=True) as tx:
        after = {(link.b, link.evidence.rule): link for link in await tx.graph.read_links([ANN])}
        assert await tx.graph.read_neighbors([COOKIE], "same_event", ["email"]) == []
    del before[(COOKIE, "same_event")]
    assert after == before  # the same ends under another rule, and other ends, untouched
    async with store.transaction() as tx:
        (prior,) = await tx.graph.add_links([sighting(ANN, COOKIE, "e9", T2)])
        (again,) = [link for link in await tx.graph.read_links([COOKIE])
                    if link.evidence.rule == "same_event"]
    assert prior is None  # gone, not emptied
    assert (again.evidence.event_ids, again.evidence.event_count) == (("e9",), 1)
    assert (again.evidence.sources, again.evidence.first_seen) == (("web",), T2)


async def test_restore_groups_gives_a_merged_id_back_with_its_age_and_the_ids_it_took(
    store: GraphStore
) -> None:
    survivor, restored, taken, left, direct = map(
        ProfileId, ["prf_s", "prf_p", "prf_q", "prf_r", "prf_x"])
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN, COOKIE, PHONE, BOB, ACCOUNT], T1))
        (s,) = await tx.graph.create_groups([survivor], T0)
        (p,) = await tx.graph.create_groups([restored], T1)
        q, r, x = await tx.graph.create_groups([taken, left, direct], T2)
        for group, member in [(s, ANN), (p, COOKIE), (q, PHONE), (r, BOB), (x, ACCOUNT)]:
            await tx.graph.assign_members([(member, group.group_id)])
        # q and r merge into p, then p and x into s: q and r are repointed to s.
        await tx.graph.move_members([(q.group_id, p.group_id), (r.group_id, p.group_id)])
        await tx.graph.relabel_groups([(p.group_id, restored, [taken, left])])
        await tx.graph.move_members([(p.group_id, s.group_id), (x.group_id, s.group_id)])
        await tx.graph.relabel_groups([(s.group_id, survivor, [restored, direct])])
    async with store.transaction() as tx:
        (state,) = await tx.graph.restore_groups([(restored, [taken])])
        assert await tx.graph.read_groups([state.group_id]) == [state]
    assert (state.profile_id, state.profile_seq, state.size) == (restored, p.profile_seq, 0)
    async with store.transaction(read_only=True) as tx:
        rows = await tx.graph.lookup_profiles([restored, taken, left, direct, survivor])
        assert await tx.graph.merged_ids(restored) == [taken]
        assert await tx.graph.merged_ids(survivor) == [left, direct]
        assert await tx.graph.read_members([state.group_id]) == []
    assert [(r.requested_id, r.profile_id, r.group_id, r.created_at) for r in rows] == [
        (restored, restored, state.group_id, T1),  # its own age, not a new one
        (taken, restored, state.group_id, T1),  # given back
        (left, survivor, s.group_id, T0),  # not given: stays where it pointed
        (direct, survivor, s.group_id, T0),
        (survivor, survivor, s.group_id, T0),
    ]


async def test_withdrawing_one_sighting_keeps_the_link_with_the_others(
    store: GraphStore
) -> None:
    """Two steward actions wrote one link: undoing one leaves the other's."""
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN, COOKIE], T1))
        await tx.graph.add_links([sighting(ANN, COOKIE, "act_1", T1, LinkRule.NEVER),
                                  sighting(ANN, COOKIE, "act_2", T2, LinkRule.NEVER)])
    async with store.transaction() as tx:
        await tx.graph.withdraw_sightings([(ANN, COOKIE, LinkRule.NEVER.value, "act_1"),
                                           (ANN, COOKIE, LinkRule.NEVER.value, "act_9")])
    async with store.transaction(read_only=True) as tx:
        (link,) = await tx.graph.read_links([ANN])
    assert (link.evidence.rule, link.evidence.event_ids, link.evidence.event_count) == (
        "never_link", ("act_2",), 1)
    async with store.transaction() as tx:
        await tx.graph.withdraw_sightings([(ANN, COOKIE, LinkRule.NEVER.value, "act_2")])
    async with store.transaction(read_only=True) as tx:
        assert await tx.graph.read_links([ANN]) == []


async def test_groups_around_read_as_their_four_reads_do(store: GraphStore) -> None:
    """read_groups_around is read_groups, read_members, read_links of the members and
    find_identifiers of the links' other ends, at once; in a write transaction too."""
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN, COOKIE, PHONE, BOB, ACCOUNT, ANNA], T1))
        first, second, third = await tx.graph.create_groups(
            [ProfileId("prf_a"), ProfileId("prf_b"), ProfileId("prf_c")], T1)
        await tx.graph.assign_members(into([ANN, COOKIE], first.group_id))
        await tx.graph.assign_members(into([PHONE], second.group_id))
        await tx.graph.assign_members(into([BOB], third.group_id))  # ACCOUNT, ANNA: none
        await tx.graph.add_links([
            sighting(ANN, COOKIE, "e1", T1), sighting(COOKIE, PHONE, "e2", T1),
            sighting(ANN, ANNA, "e3", T2, LinkRule.PROBABILISTIC, 0.9),
            sighting(BOB, ACCOUNT, "e4", T1)])
        ids = [second.group_id, first.group_id, 12345]
        around = await tx.graph.read_groups_around(ids)
        assert sorted(g.group_id for g in around.groups) == sorted([first.group_id,
                                                                   second.group_id])
        assert around.groups == sorted(await tx.graph.read_groups(ids),
                                       key=lambda g: g.group_id)
        members = await tx.graph.read_members(ids)
        assert sorted(around.members, key=lambda n: n.identifier) == sorted(
            members, key=lambda n: n.identifier)
        assert [m.identifier for m in around.members] == sorted(
            [ANN, COOKIE, PHONE], key=lambda i: (i.kind, i.value))
        assert around.links == await tx.graph.read_links([m.identifier for m in members])
        assert len(around.links) == 3  # BOB's link is not at a member
        assert around.ends == await tx.graph.find_identifiers([ANNA])  # in no group yet
    async with store.transaction(read_only=True) as tx:
        assert await tx.graph.read_groups_around([third.group_id]) == (
            await tx.graph.read_groups_around([third.group_id]))
        alone = await tx.graph.read_groups_around([third.group_id])
    assert [n.identifier for n in alone.ends] == [ACCOUNT]
    assert [k.b for k in alone.links] == [ACCOUNT] or [k.a for k in alone.links] == [ACCOUNT]
