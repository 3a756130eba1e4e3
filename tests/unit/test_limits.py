"""Per-profile limits (docs/architecture.md, invariant 7) through the service, on SQLite."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identity.domain.changes import ChangeKind
from identity.domain.guards import GraphRules, HubRules, ProfileLimits
from identity.domain.types import Identifier
from identity.service import IdentityService, IngestStatus
from identity.service.change_sinks import ListChangeSink
from identity.store.sqlite import SqliteGraphStore
from tests.builders import event, ident
from tests.invariants import partition_checked
from tests.order_independence import POOL, guarded_service, partition_after, raw_events

CUSTOMER, EMAIL, COOKIE, DEVICE, SESSION = (
    "customer_id", "email", "anonymous_id", "device_id", "session_id")


async def profile_of(service: IdentityService, kind: str, value: str) -> str | None:
    (found,) = await service.profile_ids([Identifier(kind, value)])
    return found


async def kinds_in(service: IdentityService, kind: str, value: str) -> dict[str, set[str]]:
    (view,) = await service.profiles_by_identifier([Identifier(kind, value)])
    assert view is not None
    found: dict[str, set[str]] = {}
    for node in view.identifiers:
        found.setdefault(node.identifier.kind, set()).add(node.identifier.value)
    return found


async def test_a_family_tablet_used_by_three_members_with_their_own_accounts_leaves_three(
    service: IdentityService,
) -> None:
    tablet = ident(DEVICE, "tablet-1")
    members = [("ann", "ann@home.com"), ("bob", "bob@home.com"), ("cy", "cy@home.com")]
    await service.ingest([
        event(tablet, ident(CUSTOMER, cid), ident(EMAIL, email), ident(SESSION, f"s-{cid}"),
              timestamp=f"2024-03-0{day}T10:00:00Z")
        for day, (cid, email) in enumerate(members, start=1)])

    profiles = {await profile_of(service, CUSTOMER, cid) for cid, _ in members}
    assert len(profiles) == 3
    for cid, email in members:
        assert await profile_of(service, EMAIL, email) == await profile_of(service, CUSTOMER, cid)
        assert len((await kinds_in(service, CUSTOMER, cid))[CUSTOMER]) == 1


async def test_a_device_seen_with_one_members_account_and_anothers_email_bridges_nothing(
    service: IdentityService,
) -> None:
    """Neither link alone is wrong and the tablet is no hub (one account, one email), yet it
    would join Bob's account to Ann's: the per-profile limit keeps them apart, and the link
    through the tablet (the lowest-priority identifier) is the one held."""
    tablet = ident(DEVICE, "tablet-1")
    await service.ingest([
        event(ident(CUSTOMER, "ann"), ident(EMAIL, "ann@home.com"),
              timestamp="2024-03-01T10:00:00Z"),
        event(tablet, ident(CUSTOMER, "bob"), timestamp="2024-03-02T10:00:00Z"),
        event(tablet, ident(EMAIL, "ann@home.com"), ident("order_id", "o-1"), type="order",
              amount="10", currency="EUR", timestamp="2024-03-03T10:00:00Z"),
    ])

    assert await profile_of(service, EMAIL, "ann@home.com") == await profile_of(
        service, CUSTOMER, "ann")
    assert await profile_of(service, DEVICE, "tablet-1") == await profile_of(
        service, CUSTOMER, "bob")
    assert await profile_of(service, CUSTOMER, "ann") != await profile_of(
        service, CUSTOMER, "bob")
    (links,) = await service.links([Identifier(DEVICE, "tablet-1")])
    (held,) = [k for k in links if not k.is_active]
    assert (held.a, held.b) == (Identifier(DEVICE, "tablet-1"), Identifier(EMAIL, "ann@home.com"))
    assert held.inactive_reason == (
        "per-profile limit: joining would make one profile hold 2 customer_id identifiers "
        "(limit 1); the link through device_id tablet-1 stays inactive")


async def test_a_late_old_event_moves_the_decision_and_says_so(
    service: IdentityService, sink: ListChangeSink,
) -> None:
    """The tablet first joins Bob's account and Ann's email; Ann's own login, sent late but
    stronger (an account and an email), takes her email back: a split, then a merge."""
    tablet = ident(DEVICE, "tablet-1")
    await service.ingest([event(tablet, ident(CUSTOMER, "bob"), timestamp="2024-03-02T10:00Z"),
                          event(tablet, ident(EMAIL, "ann@home.com"),
                                timestamp="2024-03-03T10:00Z")])
    bob = await profile_of(service, CUSTOMER, "bob")
    assert await profile_of(service, EMAIL, "ann@home.com") == bob
    (ann_account,) = await service.ingest([event(ident(CUSTOMER, "ann"),
                                                 timestamp="2024-03-01T09:00Z")])
    before = len(sink.changes)

    (login,) = await service.ingest([event(ident(CUSTOMER, "ann"), ident(EMAIL, "ann@home.com"),
                                           timestamp="2024-03-01T10:00Z")])

    ann = ann_account.profile_id
    assert login.status is IngestStatus.ACCEPTED and login.profile_id == ann
    assert await profile_of(service, EMAIL, "ann@home.com") == ann
    assert await profile_of(service, DEVICE, "tablet-1") == bob
    kinds = [(c.kind, c.profile_id) for c in sink.changes[before:]]
    assert (ChangeKind.SPLIT, bob) in kinds and (ChangeKind.MERGED, ann) in kinds
    split = next(c for c in sink.changes[before:] if c.kind is ChangeKind.SPLIT)
    merged = next(c for c in sink.changes[before:] if c.kind is ChangeKind.MERGED)
    assert merged.absorbed_ids == split.split_ids  # the piece carved out of Bob's joins Ann
    (old_piece,) = split.split_ids
    (view,) = await service.profiles([old_piece])
    assert view is not None and view.profile_id == ann  # an id handed out keeps resolving


async def test_sessions_seen_only_on_a_tablet_two_accounts_share_belong_to_no_one(
    service: IdentityService,
) -> None:
    tablet = ident(DEVICE, "tablet-1")
    await service.ingest([
        event(tablet, ident(CUSTOMER, "ann"), timestamp="2024-03-01T10:00Z"),
        event(tablet, ident(CUSTOMER, "bob"), timestamp="2024-03-02T10:00Z"),
        event(tablet, ident(SESSION, "s-9"), timestamp="2024-03-03T10:00Z"),
        event(tablet, ident(SESSION, "s-10"), timestamp="2024-03-04T10:00Z"),
    ])
    # Two accounts on one device: a hub, which links no one.
    owners = {await profile_of(service, kind, value) for kind, value in (
        (CUSTOMER, "ann"), (CUSTOMER, "bob"), (SESSION, "s-9"), (SESSION, "s-10"))}
    assert len(owners) == 4


async def test_weak_identifiers_are_bounded_too_and_the_profile_says_a_limit_was_reached(
) -> None:
    """A bot or a kiosk's chain of cookies and sessions, each seen with the next, cannot
    grow one profile without end."""
    store = SqliteGraphStore(":memory:")
    rules = GraphRules(HubRules(), ProfileLimits({COOKIE: 5, SESSION: 5}))
    service = IdentityService(store, graph_rules=rules)
    chain = [event(ident(COOKIE, f"c{i}"), ident(SESSION, f"s{i}"),
                   timestamp=f"2024-03-01T10:{i:02d}:00Z") for i in range(30)]
    chain += [event(ident(SESSION, f"s{i}"), ident(COOKIE, f"c{i + 1}"),
                    timestamp=f"2024-03-01T10:{i:02d}:30Z") for i in range(29)]
    for start in range(0, len(chain), 7):
        await service.ingest(chain[start:start + 7])

    nodes = [Identifier(COOKIE, f"c{i}") for i in range(30)] + [
        Identifier(SESSION, f"s{i}") for i in range(30)]
    parts = await partition_checked(store, nodes)
    assert all(len([n for n in part if n.kind == COOKIE]) <= 5 for part in parts)
    assert all(len([n for n in part if n.kind == SESSION]) <= 5 for part in parts)
    assert len(parts) >= 6
    (first,) = await service.profiles_by_identifier([Identifier(COOKIE, "c0")])
    assert first is not None and first.limits_reached
    await store.close()


async def test_a_profile_never_holds_two_customer_ids_unless_a_steward_joins_them(
    service: IdentityService,
) -> None:
    await service.ingest([
        event(ident(CUSTOMER, "ann"), ident(EMAIL, "a@x.com")),
        event(ident(CUSTOMER, "bob"), ident(EMAIL, "b@x.com")),
        event(ident(EMAIL, "a@x.com"), ident(EMAIL, "b@x.com")),
        event(ident(COOKIE, "c"), ident(CUSTOMER, "ann"), ident(CUSTOMER, "bob")),
    ])
    for cid in ("ann", "bob"):
        assert (await kinds_in(service, CUSTOMER, cid))[CUSTOMER] == {cid}


# --- the property: order independence with limits, hubs, matching and late old events ------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=raw_events, data=st.data())
def test_the_partition_does_not_depend_on_arrival_order_with_every_guard_at_work(
    events: list[dict[str, object]], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(events))
    batch = data.draw(st.integers(min_value=1, max_value=5))

    async def run() -> None:
        in_order, reordered = SqliteGraphStore(":memory:"), SqliteGraphStore(":memory:")
        expected = await partition_after(events, len(events), in_order)
        assert await partition_after(list(shuffled), batch, reordered) == expected
        await in_order.close()
        await reordered.close()

    asyncio.run(run())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=raw_events)
def test_no_profile_ever_holds_more_than_its_limit(events: list[dict[str, object]]) -> None:
    async def run() -> None:
        store = SqliteGraphStore(":memory:")
        service = guarded_service(store)
        for one in events:
            await service.ingest([one])
        views = await service.profiles_by_identifier([Identifier(k, v) for k, v in POOL])
        for view in filter(None, views):
            kinds = view.identifiers_by_kind()
            assert len(kinds.get(CUSTOMER, [])) <= 1 and len(kinds.get(EMAIL, [])) <= 2
        await store.close()

    asyncio.run(run())
