"""eraseProfile, the suppression it leaves and exportProfile, through the service, on both
stores (docs/architecture.md, "Erasure and access")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from identity.domain.changes import ChangeKind
from identity.domain.errors import ValidationError
from identity.domain.types import Identifier
from identity.service import IdentityService, IngestStatus
from identity.service.change_sinks import ListChangeSink
from identity.service.erasure import ERASED_REASON
from identity.store.protocol import AuditFilter, GraphStore
from tests.builders import event, ident
from tests.erasure.conftest import dump, holding

ANA = [ident("customer_id", "cust-ana-7"), ident("email", "ana.lindqvist@northwind.org"),
       ident("phone", "+14155550142")]
BO = [ident("customer_id", "cust-bo-9"), ident("email", "bo.okafor@northwind.org")]
DEVICE = ident("device_id", "tv-household-41c2")  # the household's shared device
ANA_VALUES = ["cust-ana-7", "ana.lindqvist@northwind.org", "+14155550142", "Lindqvist",
              "ord-ana-1", "cookie-ana-3"]


def ana_events() -> list[dict[str, Any]]:
    return [
        event(*ANA, DEVICE, event_id="ana-1",
              traits={"first_name": "Ana", "last_name": "Lindqvist"}),
        event(ANA[0], ident("order_id", "ord-ana-1"), event_id="ana-2", type="order",
              amount="42.50", currency="EUR"),
        event(ANA[1], ident("anonymous_id", "cookie-ana-3"), event_id="ana-3"),
    ]


def bo_events() -> list[dict[str, Any]]:
    return [event(*BO, DEVICE, event_id="bo-1",
                  traits={"first_name": "Bo", "last_name": "Okafor"})]


async def household(service: IdentityService) -> tuple[str, str]:
    """Ana and Bo share a device: two accounts make it a hub, so they stay two profiles."""
    results = await service.ingest([*bo_events(), *ana_events()])
    assert all(r.status is IngestStatus.ACCEPTED for r in results), results
    ana = results[1].profile_id
    bo = results[0].profile_id
    assert ana is not None and bo is not None and ana != bo
    return ana, bo


async def bo_as_seen(service: IdentityService, bo: str) -> tuple[Any, ...]:
    (view,) = await service.profiles([bo])
    assert view is not None
    return (view.profile_id, sorted(m.identifier for m in view.identifiers),
            {k: v.value for k, v in view.golden.items()})


async def test_erasure_leaves_no_value_in_the_store(service: IdentityService,
                                                    store: GraphStore,
                                                    sink: ListChangeSink) -> None:
    ana, bo = await household(service)
    before = await dump(store)
    assert all(holding(before, value) for value in ANA_VALUES)  # the check can fail
    bo_before = await bo_as_seen(service, bo)
    email = Identifier("email", "ana.lindqvist@northwind.org")
    # Read twice: the second answer comes from the profile cache, which erasure must empty.
    for _ in range(2):
        assert (await service.profiles([ana]))[0] is not None
        assert (await service.profiles_by_identifier([email]))[0] is not None

    erasure = await service.erase_profile(ana, "dpo@northwind.org", "GDPR Art. 17 request 118")

    assert erasure.profile_id == ana and erasure.identifiers >= 5
    after = await dump(store)
    for value in ANA_VALUES:
        assert holding(after, value) == {}, value
    # The profile id: only in the audit log and in the one `erased` change.
    left = holding(after, ana)
    assert set(left) <= {"audit_entries", "audit_mentions", "AuditEntry", "AuditMention",
                         "changes", "Change"}, left
    assert len(left.get("changes", left.get("Change", []))) == 1
    assert await service.profiles([ana]) == [None]
    assert await service.profiles_by_identifier([email]) == [None]
    assert await bo_as_seen(service, bo) == bo_before  # the household is untouched
    erased = [c for c in sink.changes if c.kind is ChangeKind.ERASED]
    assert [(c.profile_id, c.cause_event_id) for c in erased] == [(ana, erasure.action_id)]


async def test_the_erased_change_is_in_the_feed_with_ids_only(service: IdentityService) -> None:
    ana, _ = await household(service)
    erasure = await service.erase_profile(ana, "dpo@northwind.org", "request 119")
    feed = service.watch_changes("0", [ana])
    positioned = await anext(feed)
    await feed.aclose()
    assert positioned.change.kind is ChangeKind.ERASED
    assert positioned.change.cause_event_id == erasure.action_id
    assert positioned.change.added == () and positioned.change.removed == ()


async def test_replaying_the_events_does_not_bring_the_person_back(
        service: IdentityService, store: GraphStore) -> None:
    ana, bo = await household(service)
    bo_before = await bo_as_seen(service, bo)
    await service.erase_profile(ana, "dpo@northwind.org", "request 120")

    results = await service.ingest([*ana_events(), *bo_events()])

    shared, order, cookie, bo_again = results
    # The shared device's sighting stays, without Ana's identifiers, traits or order.
    assert shared.status is IngestStatus.ACCEPTED
    assert any(ERASED_REASON in w.reason for w in shared.warnings)
    assert order.status is IngestStatus.REJECTED
    assert ERASED_REASON in order.errors[0].reason
    # The cookie was Ana's: erased with her, so this event has nothing left either.
    assert cookie.status is IngestStatus.REJECTED
    assert bo_again.status is IngestStatus.DUPLICATE
    after = await dump(store)
    for value in ANA_VALUES:
        assert holding(after, value) == {}, value
    assert await bo_as_seen(service, bo) == bo_before


async def test_a_new_event_naming_an_erased_identifier_keeps_the_rest(
        service: IdentityService) -> None:
    ana, _ = await household(service)
    await service.erase_profile(ana, "dpo@northwind.org", "request 121")
    (result,) = await service.ingest([event(
        ANA[1], ident("email", "ana.new@northwind.org"), event_id="fresh-1",
        traits={"first_name": "Ana"})])
    assert result.status is IngestStatus.ACCEPTED
    (view,) = await service.profiles([result.profile_id or ""])
    assert view is not None
    assert [m.identifier.value for m in view.identifiers] == ["ana.new@northwind.org"]
    assert "first_name" not in view.golden  # the event's traits went with the erased email


async def test_lifting_a_suppression_takes_the_identifier_in_again(
        service: IdentityService) -> None:
    ana, _ = await household(service)
    await service.erase_profile(ana, "dpo@northwind.org", "request 122")
    email = Identifier("email", "ana.lindqvist@northwind.org")
    lifted = await service.lift_suppressions(
        [email, Identifier("email", "never.erased@northwind.org")], "dpo@northwind.org",
        "Ana signed up again")
    assert lifted.lifted == (email,)
    (result,) = await service.ingest([event(ANA[1], event_id="back-1")])
    assert result.status is IngestStatus.ACCEPTED and not result.warnings


async def test_audit_entries_keep_the_action_without_the_values(
        service: IdentityService, store: GraphStore) -> None:
    ana, bo = await household(service)
    merged = await service.merge([ana, bo], "steward@northwind.org",
                                 "same household, ana.lindqvist@northwind.org said so",
                                 override_limits=True)
    split_id = merged.profile_ids[0]
    erasure = await service.erase_profile(split_id, "dpo@northwind.org", "request 123")
    page = await service.audit_log(AuditFilter(), 50, None)
    actions = [e.action for e in page.entries]
    assert "merge" in actions and "erase" in actions
    for entry in page.entries:
        text = json.dumps([entry.reason, entry.before, entry.after])
        for value in ANA_VALUES:
            assert value not in text, (entry.action, value)
    (mine,) = [e for e in page.entries if e.action_id == erasure.action_id]
    assert mine.actor == "dpo@northwind.org"


async def test_unknown_profile_and_missing_reason_are_clear_errors(
        service: IdentityService) -> None:
    with pytest.raises(ValidationError, match="no profile"):
        await service.erase_profile("p-not-there", "dpo@northwind.org", "request")
    ana, _ = await household(service)
    with pytest.raises(ValidationError, match="reason"):
        await service.erase_profile(ana, "dpo@northwind.org", " ")
    with pytest.raises(ValidationError, match="no profile"):
        await service.export_profile("p-not-there", "dpo@northwind.org")


async def test_export_holds_everything_about_the_person(service: IdentityService) -> None:
    ana, _ = await household(service)
    document = await service.export_profile(ana, "dpo@northwind.org")
    text = json.dumps(document)
    for value in ANA_VALUES:
        assert value in text, value
    assert "bo.okafor@northwind.org" not in text and "Okafor" not in text
    assert document["profile_id"] == ana
    assert {i["identifier"]["value"] for i in document["identifiers"]} >= {
        "cust-ana-7", "ord-ana-1"}
    assert any(e["order"] and e["order"]["amount"] == "42.50" for e in document["events"])
    assert document["links"] and document["changes"]
    page = await service.audit_log(AuditFilter(action="export"), 10, None)
    assert [(e.actor, e.profile_ids) for e in page.entries] == [("dpo@northwind.org", (ana,))]


async def test_the_erasure_entry_keeps_no_value_its_reason_named(
        service: IdentityService) -> None:
    ana, _ = await household(service)
    erasure = await service.erase_profile(
        ana, "dpo@northwind.org",
        "GDPR request from Ana.Lindqvist@Northwind.org (customer cust-ana-7, +14155550142)")
    (entry,) = (await service.audit_log(AuditFilter(action="erase"), 10, None)).entries
    assert entry.action_id == erasure.action_id
    assert entry.reason == "GDPR request from [erased] (customer [erased], [erased])"
