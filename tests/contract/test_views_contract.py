"""ProfileViews: one reading of a profile equals what the separate primitives say, on every
store (docs/architecture.md, "Stores")."""

from __future__ import annotations

from datetime import datetime

from identity.domain.types import Identifier, ProfileId
from identity.service import IdentityService
from identity.store import GraphStore
from identity.store.protocol import VersionRow
from tests.builders import event, ident
from tests.contract.values import T0, T1, T2

ANN, ANN_MAIL = Identifier("customer_id", "ann"), Identifier("email", "ann@mailbox.org")
BOB, TABLET = Identifier("customer_id", "bob"), Identifier("device_id", "tablet-1")
COOKIE = Identifier("anonymous_id", "c-1")


def sent(*nodes: Identifier, day: int, **fields: object) -> dict[str, object]:
    return event(*(ident(n.kind, n.value) for n in nodes),
                 timestamp=f"2024-05-{day:02d}T10:00:00Z", **fields)


async def test_a_reading_is_what_the_primitives_say_of_the_profile(store: GraphStore) -> None:
    service = IdentityService(store, profile_cache=0)
    await service.ingest([sent(ANN, ANN_MAIL, day=1, traits={"first_name": "Ann"}),
                          sent(COOKIE, day=2, amount="12.50", currency="EUR", type="order"),
                          sent(COOKIE, ANN_MAIL, day=3),  # merges the cookie's profile in
                          sent(TABLET, BOB, day=4), sent(TABLET, ANN_MAIL, day=5)])  # held
    (profile,) = await service.profile_ids([ANN])
    (cookie_first,) = [r for r in await service.ingest([sent(COOKIE, day=6)])]
    assert profile is not None and cookie_first.profile_id == profile
    async with store.transaction(read_only=True) as tx:
        (merged,) = await tx.graph.merged_ids(profile)  # the cookie's profile, merged in
        readings = await tx.views.read_profiles([merged, "prf_unknown", profile])
        (row,) = await tx.graph.lookup_profiles([merged])
        members = await tx.graph.read_members([row.group_id])
        events = await tx.events.read_stored_events([m.identifier for m in members])
        held = [m.identifier for m in members if m.held is not None]
        reasons = sorted({k.inactive_reason for k in await tx.graph.read_links(held)
                          if not k.is_active and k.inactive_reason})
        versions = await tx.versions.latest_versions([profile])
    assert [r.row.requested_id for r in readings] == [merged, profile]
    for reading in readings:
        assert reading.row.profile_id == row.profile_id == profile
        assert (reading.row.group_id, reading.row.created_at) == (row.group_id, row.created_at)
        assert reading.members == members
        assert sorted(reading.events, key=lambda e: e.event_id) == sorted(
            events, key=lambda e: e.event_id)
        assert reading.merged_ids == [merged]
        assert reading.version == versions[profile] >= 2
        assert reading.held_reasons == reasons and reasons  # the tablet is held at Ann's email
    assert {e.order is not None for e in readings[0].events} == {True, False}


async def test_a_reading_by_identifier_is_the_reading_of_its_profile(store: GraphStore) -> None:
    service = IdentityService(store, profile_cache=0)
    await service.ingest([sent(ANN, ANN_MAIL, day=1, traits={"first_name": "Ann"}),
                          sent(COOKIE, day=2), sent(COOKIE, ANN_MAIL, day=3),
                          sent(BOB, day=4)])
    ann, bob = await service.profile_ids([ANN, BOB])
    assert ann is not None and bob is not None
    async with store.transaction(read_only=True) as tx:
        by_node = await tx.views.read_profiles_of([COOKIE, TABLET, BOB, ANN])
        by_id = {r.row.requested_id: r for r in await tx.views.read_profiles([ann, bob])}
    assert list(by_node) == [COOKIE, BOB, ANN]  # the tablet is unknown: left out
    assert by_node[COOKIE] == by_node[ANN] == by_id[ann]
    assert by_node[BOB] == by_id[bob]


async def test_the_profile_id_of_each_known_identifier_in_one_read(store: GraphStore) -> None:
    service = IdentityService(store, profile_cache=0)
    await service.ingest([sent(ANN, ANN_MAIL, day=1), sent(BOB, day=2)])
    ann, bob = await service.profile_ids([ANN, BOB])
    async with store.transaction(read_only=True) as tx:
        found = await tx.views.profile_ids_of([BOB, TABLET, ANN_MAIL])
    assert found == {BOB: bob, ANN_MAIL: ann} and list(found) == [BOB, ANN_MAIL]


async def test_a_reading_carries_the_time_of_its_latest_version(store: GraphStore) -> None:
    """None before any version (a profile from before versions were kept), then the time of
    whichever version is the last, read in the same query as the version itself."""
    profile = ProfileId("prf_a")
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers([(ANN, T0)])
        (group,) = await tx.graph.create_groups([profile], T0)
        await tx.graph.assign_members([(ANN, group.group_id)])

    async def reading() -> tuple[int, datetime | None]:
        async with store.transaction(read_only=True) as tx:
            (by_id,) = await tx.views.read_profiles([profile])
            by_node = (await tx.views.read_profiles_of([ANN]))[ANN]
        assert by_node == by_id
        return by_id.version, by_id.updated_at

    assert await reading() == (0, None)
    async with store.transaction() as tx:  # out of order: the last version is not the last row
        await tx.versions.append_versions([
            VersionRow(profile, 2, T2, "updated", "e2", None, added=(COOKIE,)),
            VersionRow(profile, 1, T1, "created", "e1", None, added=(ANN,)),
            VersionRow(ProfileId("prf_other"), 3, T0, "created", "e3", None)])
    assert await reading() == (2, T2)  # T2 has microseconds: they survive the round trip
    async with store.transaction() as tx:
        await tx.versions.append_versions([
            VersionRow(profile, 3, T1, "split", "act-1", "steward:sam", removed=(COOKIE,))])
    async with store.transaction(read_only=True) as tx:
        (latest,) = await tx.versions.read_versions(profile, 2, 10)
    assert await reading() == (3, latest.at) == (3, T1)  # the last version's, not the latest
