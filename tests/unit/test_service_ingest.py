"""Service-level invariants of docs/architecture.md on a real SQLite store in memory."""

from __future__ import annotations

import asyncio
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identity.domain.changes import ChangeKind
from identity.domain.identifiers import NormalizationRules
from identity.domain.types import Identifier
from identity.service import IdentityService, IngestStatus
from identity.service.change_sinks import ListChangeSink
from identity.store.sqlite import SqliteGraphStore
from tests.builders import event, ident
from tests.invariants import partition_checked

EMAIL, COOKIE, PHONE, CUSTOMER = "email", "anonymous_id", "phone", "customer_id"


async def profile_of(service: IdentityService, kind: str, value: str) -> str | None:
    (view,) = await service.profiles_by_identifier([service.normalize(kind, value)])
    (profile_id,) = await service.profile_ids([service.normalize(kind, value)])
    assert profile_id == (view.profile_id if view else None)
    return profile_id


async def test_identifiers_seen_together_share_one_profile(service: IdentityService) -> None:
    results = await service.ingest([event(ident(EMAIL, "a@shop.com"), ident(COOKIE, "c1"))])
    assert results[0].status is IngestStatus.ACCEPTED
    assert await profile_of(service, EMAIL, "a@shop.com") == results[0].profile_id
    assert await profile_of(service, COOKIE, "c1") == results[0].profile_id


async def test_merge_keeps_oldest_profile_id_and_absorbed_ids_keep_resolving(
    service: IdentityService, sink: ListChangeSink
) -> None:
    (old,) = await service.ingest([event(ident(COOKIE, "c1"))])
    # The newer profile is the larger one, so it is the container: the id must still be old's.
    (new,) = await service.ingest([event(ident(EMAIL, "a@shop.com"), ident(PHONE, "+14155552671"),
                                         ident(COOKIE, "c2"))])
    (bridge,) = await service.ingest([event(ident(COOKIE, "c1"), ident(EMAIL, "a@shop.com"))])

    assert bridge.profile_id == old.profile_id
    assert bridge.merged_ids == (new.profile_id,)
    (view,) = await service.profiles([new.profile_id or ""])
    assert view is not None
    assert view.profile_id == old.profile_id
    assert view.requested_id == new.profile_id
    assert view.merged_ids == (new.profile_id,)
    assert {n.identifier.value for n in view.identifiers} == {
        "c1", "c2", "a@shop.com", "+14155552671"}
    assert sink.changes[-1].kind is ChangeKind.MERGED
    assert sink.changes[-1].absorbed_ids == (new.profile_id,)


async def test_ids_merged_twice_resolve_to_the_final_survivor(service: IdentityService) -> None:
    (first,) = await service.ingest([event(ident(COOKIE, "c1"))])
    (second,) = await service.ingest([event(ident(COOKIE, "c2"))])
    (third,) = await service.ingest([event(ident(COOKIE, "c3"))])
    await service.ingest([event(ident(COOKIE, "c2"), ident(COOKIE, "c3"))])
    await service.ingest([event(ident(COOKIE, "c1"), ident(COOKIE, "c3"))])

    views = await service.profiles([p.profile_id or "" for p in (first, second, third)])
    assert {v.profile_id for v in views if v} == {first.profile_id}
    assert views[0] is not None
    assert set(views[0].merged_ids) == {second.profile_id, third.profile_id}


async def test_replayed_event_is_a_duplicate_and_changes_nothing(
    service: IdentityService, sink: ListChangeSink
) -> None:
    raw = event(ident(EMAIL, "a@shop.com"), traits={"first_name": "Ann"})
    (accepted,) = await service.ingest([raw])
    changes = len(sink.changes)
    again = await service.ingest([raw, raw])

    assert [r.status for r in again] == [IngestStatus.DUPLICATE, IngestStatus.DUPLICATE]
    assert len(sink.changes) == changes
    (view,) = await service.profiles([accepted.profile_id or ""])
    assert view is not None and view.golden["first_name"].support == 1


async def test_duplicate_inside_one_batch_is_applied_once(service: IdentityService) -> None:
    raw = event(ident(EMAIL, "a@shop.com"), type="order", amount="10", currency="EUR")
    results = await service.ingest([raw, dict(raw)])
    assert [r.status for r in results] == [IngestStatus.ACCEPTED, IngestStatus.DUPLICATE]
    (view,) = await service.profiles([results[0].profile_id or ""])
    assert view is not None and view.orders.count == 1


async def test_a_bad_event_is_rejected_alone_and_its_batch_lands(service: IdentityService) -> None:
    good = event(ident(EMAIL, "a@shop.com"))
    bad = event(ident(EMAIL, "not-an-email"), timestamp="soon")
    results = await service.ingest([good, bad])

    assert [r.status for r in results] == [IngestStatus.ACCEPTED, IngestStatus.REJECTED]
    assert {e.field for e in results[1].errors} == {"identifiers[0].value", "timestamp"}
    assert await profile_of(service, EMAIL, "a@shop.com") == results[0].profile_id


async def test_placeholder_identifiers_never_link_two_people(service: IdentityService) -> None:
    results = await service.ingest([
        event(ident(EMAIL, "ann@shop.com"), ident(PHONE, "0000000000")),
        event(ident(EMAIL, "bob@shop.com"), ident(PHONE, "0000000000")),
    ])
    assert results[0].profile_id != results[1].profile_id
    assert results[0].ignored[0].field == "identifiers[1]"


async def test_golden_profile_reports_traits_orders_and_identifiers_by_kind(
    service: IdentityService,
) -> None:
    await service.ingest([
        event(ident(EMAIL, "ann@shop.com"), ident(COOKIE, "c1"), source="web",
              timestamp="2024-01-01T00:00:00Z", traits={"first_name": "Anne", "city": "Leeds"}),
        event(ident(EMAIL, "ann@shop.com"), ident("order_id", "o1"), type="order",
              source="checkout", timestamp="2024-02-01T00:00:00Z", amount="10.50",
              currency="eur", traits={"first_name": "Ann"}),
        event(ident(EMAIL, "ann@shop.com"), ident("order_id", "o2"), type="order",
              source="checkout", timestamp="2024-03-01T00:00:00Z", amount="4.50",
              currency="EUR"),
    ])
    (view,) = await service.profiles_by_identifier([Identifier(EMAIL, "ann@shop.com")])
    assert view is not None
    assert view.golden["first_name"].value == "Ann"  # most recent wins between equal sources
    assert view.golden["first_name"].source == "checkout"
    assert view.golden["city"].value == "Leeds"
    assert view.orders.count == 2
    assert [(c, str(a)) for c, a in view.orders.total_spend] == [("EUR", "15.00")]
    assert list(view.identifiers_by_kind()) == ["anonymous_id", "email", "order_id"]
    assert view.first_seen.isoformat() == "2024-01-01T00:00:00+00:00"
    assert view.last_seen.isoformat() == "2024-03-01T00:00:00+00:00"


async def test_links_keep_rule_sources_first_last_seen_and_events(
    service: IdentityService,
) -> None:
    first = event(ident(EMAIL, "ann@shop.com"), ident(COOKIE, "c1"), source="web",
                  timestamp="2024-03-01T00:00:00Z")
    later = event(ident(EMAIL, "ann@shop.com"), ident(COOKIE, "c1"), source="ios",
                  timestamp="2024-04-01T00:00:00Z")
    earlier = event(ident(EMAIL, "ann@shop.com"), ident(COOKIE, "c1"), source="web",
                    timestamp="2024-01-01T00:00:00Z")
    await service.ingest([first, later, earlier])
    ((link,),) = await service.links([Identifier(COOKIE, "c1")])
    assert link.evidence.rule == "same_event"
    assert link.evidence.sources == ("ios", "web")
    assert link.evidence.first_seen.month == 1 and link.evidence.last_seen.month == 4
    assert set(link.evidence.event_ids) == {first["event_id"], later["event_id"],
                                            earlier["event_id"]}


async def test_changes_say_created_updated_and_merged(
    service: IdentityService, sink: ListChangeSink
) -> None:
    (a,) = await service.ingest([event(ident(COOKIE, "c1"))])
    await service.ingest([event(ident(COOKIE, "c1"), ident(EMAIL, "a@shop.com"))])
    await service.ingest([event(ident(COOKIE, "c1"))])  # a page view on a known cookie
    (b,) = await service.ingest([event(ident(COOKIE, "c2"))])
    await service.ingest([event(ident(COOKIE, "c2"), ident(EMAIL, "a@shop.com"))])

    assert [(c.kind, c.profile_id) for c in sink.changes] == [
        (ChangeKind.CREATED, a.profile_id), (ChangeKind.UPDATED, a.profile_id),
        (ChangeKind.CREATED, b.profile_id), (ChangeKind.MERGED, a.profile_id)]
    assert len({c.change_id for c in sink.changes}) == 4


# --- Order independence and idempotency (docs/architecture.md, invariant 3), with hypothesis

# Two customer ids, so a cookie seen with both becomes a hub: guards are order-independent too.
POOL = [("email", f"p{i}@shop.com") for i in range(4)] + [
    ("anonymous_id", f"c{i}") for i in range(5)] + [("phone", "+14155552671"),
                                                   ("customer_id", "C-1"), ("customer_id", "C-2")]
NAMES = ["Ann", "Anne", "Bob"]

raw_events = st.lists(
    st.tuples(
        st.lists(st.sampled_from(POOL), min_size=1, max_size=3),
        st.sampled_from(["web", "crm", "ios"]),
        st.integers(min_value=1, max_value=28),
        st.sampled_from(NAMES),
    ),
    min_size=1,
    max_size=12,
).map(lambda items: [
    event(*(ident(k, v) for k, v in ids), source=source,
          timestamp=f"2024-02-{day:02d}T00:00:00Z", traits={"first_name": name})
    for ids, source, day, name in items
])


async def snapshot(service: IdentityService) -> tuple[frozenset[frozenset[str]], frozenset[str]]:
    """The partition of the pool's identifiers, and each profile's golden first name."""
    identifiers = [Identifier(k, v) for k, v in POOL]
    views = await service.profiles_by_identifier(identifiers)
    groups: dict[str, set[str]] = {}
    first_name: dict[str, str | None] = {}
    for identifier, view in zip(identifiers, views, strict=True):
        if view is not None:
            groups.setdefault(view.profile_id, set()).add(identifier.key)
            name = view.golden.get("first_name")
            first_name[view.profile_id] = name.value if name else None
    partition = frozenset(frozenset(g) for g in groups.values())
    checked = await partition_checked(service.store, identifiers)
    assert partition == frozenset(frozenset(i.key for i in part) for part in checked)
    golden = frozenset(f"{min(groups[pid])}={first_name[pid]}" for pid in groups)
    return partition, golden


async def ingest_in_batches(events: list[dict[str, object]], batch: int) -> IdentityService:
    service = IdentityService(SqliteGraphStore(":memory:"))
    for start in range(0, len(events), batch):
        await service.ingest(events[start : start + batch])
    return service


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=raw_events, data=st.data())
def test_partition_and_golden_record_do_not_depend_on_arrival_order(
    events: list[dict[str, object]], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(events))
    batch = data.draw(st.integers(min_value=1, max_value=5))

    async def run() -> None:
        in_order = await ingest_in_batches(events, len(events))
        reordered = await ingest_in_batches(list(shuffled), batch)
        assert await snapshot(in_order) == await snapshot(reordered)

    asyncio.run(run())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=raw_events, data=st.data())
def test_replaying_any_subset_of_events_changes_nothing(
    events: list[dict[str, object]], data: st.DataObject
) -> None:
    replay = data.draw(st.lists(st.sampled_from(events), max_size=len(events)))

    async def run() -> None:
        service = await ingest_in_batches(events, 3)
        before = await snapshot(service)
        results = await service.ingest(replay)
        assert all(r.status is IngestStatus.DUPLICATE for r in results)
        assert await snapshot(service) == before

    asyncio.run(run())


def test_every_identifier_is_in_exactly_one_profile_and_profiles_are_components() -> None:
    """Profiles equal the connected components of the active links (docs/architecture.md,
    invariant 1)."""
    events = [event(ident("anonymous_id", f"c{i}"), ident("anonymous_id", f"c{j}"))
              for i, j in itertools.combinations(range(8), 2) if (i * j) % 5 == 1]
    events += [event(ident("anonymous_id", "c9"))]

    async def run() -> None:
        service = await ingest_in_batches(events, 2)
        keys = [Identifier("anonymous_id", f"c{i}") for i in range(10)]
        views = await service.profiles_by_identifier(keys)
        links = await service.links(keys)
        parent = {k: k for k in keys}

        def root(k: Identifier) -> Identifier:
            while parent[k] != k:
                k = parent[k]
            return k

        for per_identifier in links:
            for link in per_identifier:
                parent[root(link.a)] = root(link.b)
        components: dict[Identifier, set[Identifier]] = {}
        for k in keys:
            components.setdefault(root(k), set()).add(k)
        profiles: dict[str, set[Identifier]] = {}
        for k, view in zip(keys, views, strict=True):
            if view is not None:
                profiles.setdefault(view.profile_id, set()).add(k)
                assert k in {n.identifier for n in view.identifiers}
        known = {k for k in keys if views[keys.index(k)] is not None}
        assert sorted(map(sorted, profiles.values())) == sorted(
            sorted(c) for c in components.values() if c & known)

    asyncio.run(run())


# --- Hub guard (docs/architecture.md, invariant 7) ---------------------------------------------

async def test_a_shared_device_stops_bridging_and_the_household_splits_apart(
    service: IdentityService, sink: ListChangeSink
) -> None:
    tablet = ident("device_id", "tablet-1")
    (ann,) = await service.ingest([event(tablet, ident(CUSTOMER, "ann"),
                                         ident(COOKIE, "ann-cookie"))])
    (bob,) = await service.ingest([event(tablet, ident(CUSTOMER, "bob"),
                                         ident(EMAIL, "bob@shop.com"))])

    assert bob.profile_id != ann.profile_id  # the second login already finds a hub
    people = {await profile_of(service, CUSTOMER, "ann"),
              await profile_of(service, CUSTOMER, "bob")}
    assert len(people) == 2
    assert await profile_of(service, COOKIE, "ann-cookie") == await profile_of(
        service, CUSTOMER, "ann")
    assert await profile_of(service, EMAIL, "bob@shop.com") == await profile_of(
        service, CUSTOMER, "bob")
    tablet_profile = await profile_of(service, "device_id", "tablet-1")
    assert tablet_profile not in people

    ((hub_link, *_),) = await service.links([Identifier("device_id", "tablet-1")])
    assert not hub_link.is_active
    assert hub_link.inactive_reason == ("device_id tablet-1 stopped bridging: hub: linked to 2 "
                                        "distinct customer_id identifiers (limit 1)")
    split = [c for c in sink.changes if c.kind is ChangeKind.SPLIT]
    assert len(split) == 1 and len(split[0].split_ids) >= 1


async def test_later_events_through_a_hub_link_nothing(service: IdentityService) -> None:
    tablet = ident("device_id", "tablet-1")
    await service.ingest([event(tablet, ident(CUSTOMER, "ann")),
                          event(tablet, ident(CUSTOMER, "bob"))])
    (carol,) = await service.ingest([event(tablet, ident(EMAIL, "carol@shop.com"))])
    assert carol.status is IngestStatus.ACCEPTED
    assert await profile_of(service, EMAIL, "carol@shop.com") not in {
        await profile_of(service, CUSTOMER, "ann"), await profile_of(service, CUSTOMER, "bob"),
        await profile_of(service, "device_id", "tablet-1")}


async def test_one_person_with_a_main_and_a_mistyped_email_is_not_a_hub(
    service: IdentityService,
) -> None:
    phone = ident(PHONE, "+14155552671")
    await service.ingest([event(phone, ident(EMAIL, "ann@shop.com")),
                          event(phone, ident(EMAIL, "ann@shpo.com"))])
    assert await profile_of(service, EMAIL, "ann@shop.com") == await profile_of(
        service, EMAIL, "ann@shpo.com")


async def test_profiles_created_and_merged_within_one_batch_keep_resolving(
    service: IdentityService, sink: ListChangeSink
) -> None:
    results = await service.ingest([
        event(ident(COOKIE, "c1")),
        event(ident(COOKIE, "c2")),
        event(ident(COOKIE, "c3")),
        event(ident(COOKIE, "c2"), ident(COOKIE, "c3")),
        event(ident(COOKIE, "c1"), ident(COOKIE, "c3")),
    ])
    first, second, third = (r.profile_id for r in results[:3])
    assert len({first, second, third}) == 3
    assert results[3].profile_id == second and results[3].merged_ids == (third,)
    assert results[4].profile_id == first and results[4].merged_ids == (second,)
    views = await service.profiles([first or "", second or "", third or ""])
    assert {v.profile_id for v in views if v} == {first}
    assert views[0] is not None and set(views[0].merged_ids) == {second, third}
    assert [c.kind for c in sink.changes] == [ChangeKind.CREATED] * 3 + [ChangeKind.MERGED] * 2
    assert await partition_checked(service.store, [Identifier(COOKIE, f"c{i}")
                                                   for i in (1, 2, 3)])


async def test_an_event_says_whether_it_made_its_profile(service: IdentityService) -> None:
    (first,) = await service.ingest([event(ident(EMAIL, "a@shop.com"))])
    (again,) = await service.ingest([event(ident(EMAIL, "a@shop.com"), ident(COOKIE, "c9"))])
    (other,) = await service.ingest([event(ident(COOKIE, "c8"))])
    (bridge,) = await service.ingest([event(ident(COOKIE, "c8"), ident(EMAIL, "a@shop.com"))])
    assert (first.created, again.created, other.created, bridge.created) == (
        True, False, True, False)


# --- An event keeps its good part (docs/architecture.md, invariant 11) ------------------------

async def test_an_event_with_one_bad_phone_lands_with_its_other_identifiers(
    service: IdentityService,
) -> None:
    (result,) = await service.ingest([event(
        ident(EMAIL, "ann@shop.com"), ident(PHONE, "+44 7416 71319"), ident(COOKIE, "c1"),
        ident("order_id", "o-1"), type="order", amount="12.50", currency="GBP")])

    assert result.status is IngestStatus.ACCEPTED
    assert [(i.field, i.kind) for i in result.ignored] == [("identifiers[1].value", PHONE)]
    (view,) = await service.profiles([result.profile_id or ""])
    assert view is not None
    assert {n.identifier.kind for n in view.identifiers} == {EMAIL, COOKIE, "order_id"}
    assert view.orders.count == 1


async def test_a_uk_national_phone_resolves_with_the_gb_region_of_its_source() -> None:
    rules = NormalizationRules(source_regions=(("pos-gb", "GB"),))
    store = SqliteGraphStore(":memory:")
    service = IdentityService(store, rules=rules)
    (till,) = await service.ingest([event(ident("external:loyalty", "L-1"),
                                          ident(PHONE, "07416 713197"), source="pos-gb")])
    (web,) = await service.ingest([event(ident(EMAIL, "ann@shop.com"),
                                         ident(PHONE, "+44 7416 713197"))])
    assert till.status is IngestStatus.ACCEPTED and not till.ignored
    assert web.profile_id == till.profile_id
    assert await profile_of(service, PHONE, "+447416713197") == till.profile_id
    await store.close()


async def test_an_order_without_an_amount_counts_as_an_order_of_unknown_value(
    service: IdentityService,
) -> None:
    results = await service.ingest([
        event(ident(EMAIL, "ann@shop.com"), ident("order_id", "o-1"), type="order"),
        event(ident(EMAIL, "ann@shop.com"), ident("order_id", "o-2"), type="order",
              amount="10", currency="EUR")])
    assert [w.field for w in results[0].warnings] == ["amount"]
    (view,) = await service.profiles([results[1].profile_id or ""])
    assert view is not None
    assert (view.orders.count, view.orders.unknown_value) == (2, 1)
    assert [(c, str(a)) for c, a in view.orders.total_spend] == [("EUR", "10")]


async def test_a_strict_service_rejects_what_a_lenient_one_accepts_without() -> None:
    store = SqliteGraphStore(":memory:")
    strict = IdentityService(store, strict_ingest=True)
    (result,) = await strict.ingest([event(ident(EMAIL, "ann@shop.com"), ident(PHONE, "12"))])
    assert result.status is IngestStatus.REJECTED
    assert [e.field for e in result.errors] == ["identifiers[1].value"]
    await store.close()


async def test_a_device_shared_by_two_loyalty_cards_becomes_a_hub_and_keeps_them_apart(
        service: IdentityService) -> None:
    """External ids are found by their prefix when the store reads a node's neighbors: without
    it, a till's device would join every loyalty card swiped on it."""
    till = ident("device_id", "till-7")
    results = await service.ingest([
        event(till, ident("external:loyalty", "L-1"), timestamp="2024-05-01T10:00:00Z"),
        event(till, ident("external:loyalty", "L-2"), timestamp="2024-05-01T11:00:00Z"),
    ])
    assert {r.status for r in results} == {IngestStatus.ACCEPTED}
    first, second = await service.profile_ids([Identifier("external:loyalty", "L-1"),
                                               Identifier("external:loyalty", "L-2")])
    assert first is not None and second is not None and first != second
    found = await service.identifier(Identifier("device_id", "till-7"))
    assert found is not None
    assert found.node.hub_reason == "hub: linked to 2 distinct external:loyalty identifiers " \
        "(limit 1)"


async def test_a_rejected_event_is_named_by_its_own_id_in_either_shape(
    service: IdentityService,
) -> None:
    """What a producer sent as the id names the result, ours (`event_id`) or Segment's
    (`messageId`), so the rejection can be matched to what was sent."""
    ours, segments = await service.ingest([
        {"event_id": "ours-1", "type": "identify"},
        {"messageId": "seg-1", "type": "identify", "userId": "u-1"},
    ])
    assert (ours.status, ours.event_id) == (IngestStatus.REJECTED, "ours-1")
    assert (segments.status, segments.event_id) == (IngestStatus.REJECTED, "seg-1")
