"""A steward's actions on both stores, end to end through the service: what the issue's
"done when" lists (docs/architecture.md, "Steward operations")."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from identity.domain.errors import ActionRefused
from identity.domain.types import Identifier, ProfileId
from identity.service import IdentityService
from identity.service.change_sinks import ListChangeSink
from identity.store.protocol import AuditFilter
from tests.builders import event, ident

ALICE = Identifier("email", "alice@northwind.org")
BOB = Identifier("email", "bob@northwind.org")
CAROL = Identifier("email", "carol@northwind.org")
TABLET = Identifier("device_id", "tablet-1")
COOKIE = Identifier("anonymous_id", "cookie-9")
PHONE = Identifier("phone", "+447911123456")
ACCOUNT_1 = Identifier("customer_id", "c-1")
ACCOUNT_2 = Identifier("customer_id", "c-2")
ACCOUNT_3 = Identifier("customer_id", "c-3")


def sent(node: Identifier) -> dict[str, str]:
    return ident(node.kind, node.value)


def seen(*nodes: Identifier, day: int = 1, **fields: Any) -> dict[str, Any]:
    return event(*(sent(n) for n in nodes), timestamp=f"2024-05-{day:02d}T10:00:00Z", **fields)


async def ingest(service: IdentityService, *events: dict[str, Any]) -> None:
    results = await service.ingest(list(events))
    assert all(r.status.value in ("accepted", "duplicate") for r in results), results


async def where(service: IdentityService, *nodes: Identifier) -> list[ProfileId | None]:
    return await service.profile_ids(list(nodes))


async def state(service: IdentityService, nodes: list[Identifier]) -> object:
    """Everything a preview must leave as it was."""
    ids = await where(service, *nodes)
    views = await service.profiles([p for p in ids if p])
    audit = await service.audit_log(AuditFilter(), 100, None)
    return (ids, [await service.links([n]) for n in nodes],
            [(v.profile_id, v.version, v.identifiers) for v in views if v],
            [e.action_id for e in audit.entries])


SHARED_TABLET = [seen(ALICE, TABLET, day=1), seen(ALICE, TABLET, day=2),
                 seen(BOB, TABLET, day=3)]


async def test_a_split_preview_changes_nothing(service: IdentityService,
                                               sink: ListChangeSink) -> None:
    await ingest(service, *SHARED_TABLET)
    (profile,) = await where(service, ALICE)
    assert profile is not None
    before = await state(service, [ALICE, BOB, TABLET])
    published = len(sink.changes)
    preview = await service.preview_split(profile, [[ALICE], [BOB]])
    # The link seen once goes, not the one seen twice; Alice's part keeps the id.
    assert [(k.a, k.b) for k in preview.cut] == [(TABLET, BOB)]
    assert [(p.profile_id, p.identifiers) for p in preview.parts] == [
        (profile, (TABLET, ALICE)), (None, (BOB,))]
    assert await state(service, [ALICE, BOB, TABLET]) == before
    assert len(sink.changes) == published


async def test_a_split_stays_split_when_the_same_events_arrive_again(
        service: IdentityService) -> None:
    await ingest(service, *SHARED_TABLET)
    (profile,) = await where(service, ALICE)
    assert profile is not None
    done = await service.split(profile, [[ALICE], [BOB]], "sam", "two flatmates")
    kept, carved = done.profile_ids
    assert kept == profile and carved != profile
    assert await where(service, ALICE, TABLET, BOB) == [profile, profile, carved]
    # The very same events (duplicates), then the same sightings under new event ids, then
    # an event that says outright they are together: none joins them again.
    await ingest(service, *SHARED_TABLET)
    await ingest(service, *[{**e, "event_id": e["event_id"] + "-again"} for e in SHARED_TABLET])
    await ingest(service, seen(ALICE, BOB, day=4))
    assert await where(service, ALICE, TABLET, BOB) == [profile, profile, carved]
    links = {(k.a, k.b, k.evidence.rule): k for k in (await service.links([BOB]))[0]}
    held = links[(TABLET, BOB, "same_event")]
    assert not held.is_active and "kept apart by sam (two flatmates)" in (
        held.inactive_reason or "")


async def test_undo_of_a_split_restores_ids_and_partition(service: IdentityService) -> None:
    await ingest(service, *SHARED_TABLET)
    (profile,) = await where(service, ALICE)
    assert profile is not None
    split = await service.split(profile, [[ALICE], [BOB]], "sam", "two flatmates")
    carved = split.profile_ids[1]
    undone = await service.undo(split.action_id, "sam", "they are one person after all")
    assert await where(service, ALICE, TABLET, BOB) == [profile] * 3
    (view,) = await service.profiles([carved])
    assert view is not None and view.profile_id == profile  # the carved id resolves back
    # The undo is audited and the split is marked undone; it cannot be undone twice.
    (entry,) = (await service.audit_log(AuditFilter(action="split"), 10, None)).entries
    assert entry.undone_by == undone.action_id
    with pytest.raises(ActionRefused, match="undone already"):
        await service.undo(split.action_id, "sam", "again")
    # The never-links went with the undo: the tablet's next sightings join as they did.
    await ingest(service, seen(BOB, TABLET, day=5))
    assert await where(service, ALICE, TABLET, BOB) == [profile] * 3


async def test_undo_of_a_merge_restores_ids_and_partition(service: IdentityService) -> None:
    await ingest(service, seen(ALICE, PHONE, day=1), seen(BOB, COOKIE, day=2),
                 seen(CAROL, day=3), seen(CAROL, COOKIE, day=4))
    first, second, third = await where(service, ALICE, BOB, CAROL)
    assert first is not None and second is not None
    assert third == second  # Carol's profile was merged into Bob's: its id is an alias
    (bob_view,) = await service.profiles([second])
    assert bob_view is not None
    (aliases,) = bob_view.merged_ids
    merged = await service.merge([second, first], "sam", "same customer, confirmed by phone")
    assert merged.profile_ids == (first,)  # the oldest id survives
    assert await where(service, ALICE, PHONE, BOB, COOKIE, CAROL) == [first] * 5
    await service.undo(merged.action_id, "sam", "wrong customer")
    assert await where(service, ALICE, PHONE, BOB, COOKIE, CAROL) == [
        first, first, second, second, second]
    (restored,) = await service.profiles([aliases])  # ids merged into Bob's answer with it
    assert restored is not None and restored.profile_id == second
    assert restored.merged_ids == (aliases,)


async def test_a_merge_over_the_customer_id_limit_needs_an_audited_override(
        service: IdentityService) -> None:
    await ingest(service, seen(ACCOUNT_1, ALICE, day=1), seen(ACCOUNT_2, BOB, day=2))
    first, second = await where(service, ALICE, BOB)
    assert first is not None and second is not None
    with pytest.raises(ActionRefused, match=r"2 customer_id identifiers \(limit 1\)"):
        await service.merge([first, second], "sam", "one household account")
    assert await where(service, ALICE, BOB) == [first, second]
    done = await service.merge([first, second], "sam", "one household account",
                               override_limits=True)
    assert await where(service, ACCOUNT_1, ALICE, ACCOUNT_2, BOB) == [first] * 4
    (entry,) = (await service.audit_log(AuditFilter(action="merge"), 10, None)).entries
    assert (entry.action_id, entry.actor, entry.reason) == (
        done.action_id, "sam", "one household account")
    recorded = json.loads(entry.after)
    assert recorded["override_limits"] is True and recorded["allowed"] == {"customer_id": 2}
    # The override allowed two accounts, not a third.
    await ingest(service, seen(ACCOUNT_3, ALICE, day=3))
    assert await where(service, ACCOUNT_3) != [first]


async def test_undo_is_refused_when_later_events_changed_the_profile(
        service: IdentityService) -> None:
    await ingest(service, seen(ALICE, day=1), seen(BOB, day=2))
    first, second = await where(service, ALICE, BOB)
    assert first is not None and second is not None
    merged = await service.merge([first, second], "sam", "same person")
    await ingest(service, seen(ALICE, PHONE, day=3))
    with pytest.raises(ActionRefused, match=f"profile {first} changed after this action"):
        await service.undo(merged.action_id, "sam", "oops")
    assert await where(service, ALICE, BOB, PHONE) == [first] * 3


async def test_history_lists_each_version_with_its_cause(service: IdentityService) -> None:
    # One batch (one transaction, one time) and then one event at a time.
    await ingest(service, seen(ALICE, TABLET, day=1, event_id="h-1"),
                 seen(ALICE, day=2, event_id="h-2", traits={"first_name": "Alice"}))
    await ingest(service, seen(BOB, day=3, event_id="h-3"))
    await ingest(service, seen(BOB, TABLET, day=4, event_id="h-4"))
    (profile,) = await where(service, ALICE)
    assert profile is not None
    split = await service.split(profile, [[ALICE], [BOB]], "sam", "two flatmates")
    page = await service.profile_versions(profile, 50)
    assert page is not None
    rows = [(v.row.version, v.row.kind, v.row.cause, v.row.actor) for v in page.versions]
    assert rows == [(1, "created", "h-1", "rule:same_event"),
                    (2, "updated", "h-2", "rule:same_event"),
                    (3, "merged", "h-4", "rule:same_event"),
                    (4, "split", split.action_id, "sam")]
    assert page.versions[0].row.added == (TABLET, ALICE)
    assert [(f.name, f.before, f.after) for f in page.versions[1].fields] == [
        ("first_name", None, "Alice")]
    assert page.versions[3].row.removed == (BOB,)
    (view,) = await service.profiles([profile])
    assert view is not None and view.version == 4
    # As of before the merge, the profile held Alice and the tablet only.
    as_of = await service.profile_as_of(profile, page.versions[1].row.at)
    assert as_of is not None and as_of.version == 2
    assert [m.identifier for m in as_of.identifiers] == [TABLET, ALICE]
    assert as_of.golden["first_name"].value == "Alice"


async def test_unlink_splits_a_bridge_and_undo_joins_it_again(
        service: IdentityService) -> None:
    await ingest(service, seen(ALICE, TABLET, day=1), seen(BOB, TABLET, day=2))
    (profile,) = await where(service, ALICE)
    assert profile is not None
    done = await service.unlink(TABLET, BOB, "sam", "a borrowed tablet")
    assert await where(service, ALICE, TABLET) == [profile, profile]
    (bob,) = await where(service, BOB)
    assert bob != profile
    await ingest(service, seen(BOB, TABLET, day=3))
    assert await where(service, BOB) == [bob]
    await service.undo(done.action_id, "sam", "it was his")
    assert await where(service, ALICE, TABLET, BOB) == [profile] * 3


REVIEW_NAMES = {"first_name": "Ada", "last_name": "Lovelace"}


async def test_a_rejected_review_never_links_and_an_accepted_one_does(
        service: IdentityService) -> None:
    cookies = [Identifier("anonymous_id", f"rv-{i}") for i in range(3)]
    await ingest(service, *[seen(c, day=1, traits=REVIEW_NAMES) for c in cookies])
    queue = await service.review_queue(10)
    pairs = {(i.link.link.a, i.link.link.b) for i in queue.items}
    assert (cookies[0], cookies[1]) in pairs and (cookies[0], cookies[2]) in pairs
    await service.decide_review(cookies[0], cookies[1], False, "sam", "different people")
    await service.decide_review(cookies[0], cookies[2], True, "sam", "same person")
    first, second, third = await where(service, *cookies)
    assert first == third and first != second
    # An event that sees the rejected pair together does not join them.
    await ingest(service, seen(cookies[0], cookies[1], day=2))
    assert (await where(service, cookies[1]))[0] == second
    left = {(i.link.link.a, i.link.link.b) for i in (await service.review_queue(10)).items}
    assert (cookies[0], cookies[1]) not in left and (cookies[0], cookies[2]) not in left
    with pytest.raises(ActionRefused, match="decided already"):
        await service.decide_review(cookies[0], cookies[1], True, "sam", "changed my mind")


async def test_undoing_the_later_action_first_makes_the_earlier_one_undoable(
        service: IdentityService) -> None:
    await ingest(service, seen(ALICE, TABLET, day=1), seen(BOB, TABLET, day=2))
    (profile,) = await where(service, ALICE)
    assert profile is not None
    unlinked = await service.unlink(TABLET, BOB, "sam", "a borrowed tablet")
    apart = list(unlinked.profile_ids)
    merged = await service.merge(apart, "kim", "same household after all")
    with pytest.raises(ActionRefused, match="undo the later actions first"):
        await service.undo(unlinked.action_id, "sam", "too early")
    await service.undo(merged.action_id, "kim", "no")
    await service.undo(unlinked.action_id, "sam", "now")
    assert await where(service, ALICE, TABLET, BOB) == [profile] * 3


IVY = {"first_name": "Ivy", "last_name": "Achterberg", "date_of_birth": "1979-02-13",
       "address_line1": "3 Quay Street", "city": "Bristol", "postcode": "BS1 4DJ"}


async def test_a_merge_a_never_link_rule_forbids_is_refused_and_changes_nothing(
        service: IdentityService) -> None:
    """Twins: the match model's never-link rule says the two records are two people, so a
    steward's merge would be held; it is refused with that reason, and nothing moves."""
    await ingest(service, seen(ALICE, day=1, traits=IVY),
                 seen(BOB, CAROL, day=2, traits={**IVY, "first_name": "Harriet"}))
    first, second, third = await where(service, ALICE, BOB, CAROL)
    assert first is not None and second is not None and second == third != first
    with pytest.raises(ActionRefused, match=r"cannot be joined.*never-link rule 'twins'"):
        await service.merge([first, second], "sam", "same person?", override_limits=True)
    assert await where(service, ALICE, BOB, CAROL) == [first, second, second]
    assert (await service.audit_log(AuditFilter(action="merge"), 10, None)).entries == ()


async def test_undoing_one_action_keeps_the_constraint_another_wrote_on_the_same_pair(
        service: IdentityService) -> None:
    """A split and a rejected review item both keep the pair apart with one never-link:
    undoing the rejection takes only its own sighting out of it."""
    cookies = [Identifier("anonymous_id", f"ov-{i}") for i in range(2)]
    await ingest(service, *[seen(c, day=1, traits=REVIEW_NAMES) for c in cookies])
    await ingest(service, seen(*cookies, day=2))
    (profile,) = await where(service, cookies[0])
    assert profile is not None
    await service.split(profile, [[cookies[0]], [cookies[1]]], "sam", "two people")
    rejected = await service.decide_review(cookies[0], cookies[1], False, "kim", "agreed")
    await service.undo(rejected.action_id, "kim", "not my call")
    await ingest(service, seen(*cookies, TABLET, day=3))
    first, second = await where(service, *cookies)
    assert first != second  # the split's never-link still holds


async def test_an_unlink_gives_one_partition_whatever_the_order_of_the_events_around_it(
        service: IdentityService) -> None:
    """The link a steward unlinked makes no bridge of its weak end: an email seen with the
    cookie later joins it, as it does when the email came before the unlink."""
    cookie, other = Identifier("anonymous_id", "ck-1"), Identifier("anonymous_id", "ck-0")
    account = Identifier("customer_id", "c0")
    await ingest(service, seen(TABLET, cookie, account, day=3))
    await service.unlink(cookie, account, "sam", "cookie not his")
    await ingest(service, seen(cookie, ALICE, other, day=3))
    late = await where(service, TABLET, cookie, account, ALICE, other)
    assert late[0] == late[2] and late[1] == late[3] == late[4] and late[0] != late[1]


async def test_changes_of_one_batch_are_versioned_in_the_order_they_happened(
        service: IdentityService, sink: ListChangeSink) -> None:
    """Two events of one batch both settled: the profile the second one made is created, then
    merged, in its versions and in the change feed."""
    await ingest(service, seen(ALICE, BOB, day=1))
    (profile,) = await where(service, ALICE)
    assert profile is not None
    await service.split(profile, [[ALICE], [BOB]], "sam", "two people")
    await ingest(service, seen(ALICE, CAROL, day=2, event_id="o-1"),
                 seen(ALICE, PHONE, day=3, event_id="o-2"))
    made = {c.profile_id for c in sink.changes if c.kind.value == "created"
            and c.cause_event_id in ("o-1", "o-2")}
    assert made  # each event made a profile of its own, then settling merged them
    for created in made:
        page = await service.profile_versions(created, 10)
        assert page is not None
        assert [v.row.kind for v in page.versions][:1] == ["created"]
        assert all(v.row.kind != "merged_into" for v in page.versions[:-1])
    feed = [(c.kind.value, c.profile_id) for c in sink.changes]
    for created in made:
        merged = [i for i, (kind, _) in enumerate(feed) if kind == "merged"
                  and created in sink.changes[i].absorbed_ids]
        assert all(feed.index(("created", created)) < i for i in merged)


async def test_a_profiles_updated_at_is_its_latest_versions_time_and_moves_with_each_action(
        service: IdentityService) -> None:
    """updated_at is the time of the profile's latest version (profileHistory's last): a split
    moves it on the profile kept and sets it on the one carved out, a merge moves it on the
    survivor, and a view as of a time carries the time of the version it folds up to."""

    async def updated_at(profile_id: ProfileId) -> datetime | None:
        (view,) = await service.profiles([profile_id])
        assert view is not None and view.profile_id == profile_id
        page = await service.profile_versions(profile_id, 50)
        assert page is not None and page.versions
        assert view.version == page.versions[-1].row.version
        assert view.updated_at == page.versions[-1].row.at
        return view.updated_at

    await ingest(service, *SHARED_TABLET, seen(CAROL, day=4))
    profile, carol = await where(service, ALICE, CAROL)
    assert profile is not None and carol is not None
    ingested = await updated_at(profile)
    assert ingested is not None
    split = await service.split(profile, [[ALICE], [BOB]], "sam", "two flatmates")
    kept, carved = split.profile_ids
    assert kept == profile
    after_split = await updated_at(profile)
    assert after_split is not None and after_split > ingested
    assert await updated_at(carved) == after_split  # carved out by the same action
    merged = await service.merge([profile, carol], "sam", "same person")
    assert merged.profile_ids == (profile,)
    after_merge = await updated_at(profile)
    assert after_merge is not None and after_merge > after_split
    # Carol's id now answers with the survivor, and its time.
    (via_carol,) = await service.profiles([carol])
    assert via_carol is not None and via_carol.updated_at == after_merge
    as_of = await service.profile_as_of(profile, after_merge - timedelta(microseconds=1))
    assert as_of is not None and as_of.updated_at == after_split
