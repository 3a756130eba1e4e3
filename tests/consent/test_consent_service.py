"""Consent through the service, on both stores: decisions from events (ours and Segment's)
and from stewards, shown on the golden profile with their source, time and event, the latest
winning whatever the arrival order, carried through merges and splits, filtering reads by
purpose, and announced as consent_changed changes (docs/architecture.md, "Consent")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from identity.domain.changes import ChangeKind
from identity.domain.consent import ConsentDecision, Purpose
from identity.domain.errors import ValidationError
from identity.domain.types import Identifier, ProfileId
from identity.service import IdentityService, ProfileView
from identity.service.change_sinks import ListChangeSink
from identity.service.search import SearchBy
from identity.store.protocol import AuditFilter, GraphStore
from tests.builders import event, ident

ANN = ident("email", "ann@northwind.org")
COOKIE = ident("anonymous_id", "cookie-1")
ACCOUNT = ident("customer_id", "C-7")


def consent_event(*identifiers: dict[str, str], day: int, event_id: str,
                  **consent: bool) -> dict[str, object]:
    return event(*identifiers, event_id=event_id, timestamp=f"2024-03-{day:02d}T10:00:00Z",
                 source="web", consent=consent)


def at(day: int) -> datetime:
    return datetime(2024, 3, day, 10, tzinfo=UTC)


async def profile_of(service: IdentityService, kind: str, value: str,
                     purpose: Purpose | None = None) -> ProfileView | None:
    return (await service.profiles_by_identifier([Identifier(kind, value)],
                                                 purpose=purpose))[0]


def decisions(view: ProfileView | None) -> dict[str, tuple[bool, str]]:
    assert view is not None
    return {d.purpose.value: (d.granted, d.event_id) for d in view.consent}


def consent_changes(sink: ListChangeSink) -> list[tuple[str, str]]:
    return [(c.profile_id, c.cause_event_id) for c in sink.changes
            if c.kind is ChangeKind.CONSENT_CHANGED]


async def test_an_events_consent_is_on_the_golden_profile_with_its_provenance(
        service: IdentityService, sink: ListChangeSink) -> None:
    [result] = await service.ingest([consent_event(ANN, COOKIE, day=2, event_id="e-1",
                                                   marketing=True, analytics=False)])
    assert result.status == "accepted"
    view = await profile_of(service, "email", "ann@northwind.org")
    assert view is not None
    assert view.consent == (
        ConsentDecision(Purpose.MARKETING, True, "web", at(2), "e-1"),
        ConsentDecision(Purpose.ANALYTICS, False, "web", at(2), "e-1"))
    assert consent_changes(sink) == [(view.profile_id, "e-1")]


async def test_the_later_decision_wins_whichever_arrives_first(
        service: IdentityService, sink: ListChangeSink) -> None:
    """The withdrawal of the 5th arrives before the grant of the 3rd: still withdrawn, and
    the late grant changes nothing, so no consent change is announced for it."""
    await service.ingest([consent_event(ANN, day=5, event_id="e-late", marketing=False)])
    await service.ingest([consent_event(ANN, day=3, event_id="e-early", marketing=True)])
    view = await profile_of(service, "email", "ann@northwind.org")
    assert decisions(view) == {"marketing": (False, "e-late")}
    assert [cause for _, cause in consent_changes(sink)] == ["e-late"]
    # A decision of the same day: the event id breaks the tie (e-z after e-late).
    await service.ingest([consent_event(ANN, day=5, event_id="e-z", marketing=True)])
    view = await profile_of(service, "email", "ann@northwind.org")
    assert decisions(view) == {"marketing": (True, "e-z")}  # read past the cache
    assert [cause for _, cause in consent_changes(sink)] == ["e-late", "e-z"]


async def test_decisions_follow_the_person_through_a_merge_and_a_split(
        service: IdentityService, sink: ListChangeSink) -> None:
    await service.ingest([consent_event(COOKIE, day=1, event_id="e-c", analytics=True),
                          consent_event(ANN, day=2, event_id="e-a", marketing=True)])
    # One event joins the cookie's profile and Ann's: the merged profile holds both.
    [joined] = await service.ingest([event(ANN, COOKIE, event_id="e-join")])
    merged = await profile_of(service, "anonymous_id", "cookie-1")
    assert decisions(merged) == {"marketing": (True, "e-a"), "analytics": (True, "e-c")}
    # A steward splits the cookie off: each part keeps the decisions of its identifiers.
    assert joined.profile_id is not None
    await service.split(joined.profile_id, [[Identifier("email", "ann@northwind.org")],
                                            [Identifier("anonymous_id", "cookie-1")]],
                        "steward:ann", "two people")
    assert decisions(await profile_of(service, "email", "ann@northwind.org")) == {
        "marketing": (True, "e-a")}
    assert decisions(await profile_of(service, "anonymous_id", "cookie-1")) == {
        "analytics": (True, "e-c")}


async def test_reads_for_a_purpose_leave_out_profiles_without_consent_for_it(
        service: IdentityService) -> None:
    await service.ingest([consent_event(ANN, day=2, event_id="e-1", marketing=True,
                                        analytics=False),
                          event(ACCOUNT, event_id="e-2")])  # no decision at all
    ann = await profile_of(service, "email", "ann@northwind.org")
    account = await profile_of(service, "customer_id", "C-7")
    assert ann is not None and account is not None
    ids = [ann.profile_id, account.profile_id, "prf_unknown"]
    assert [v.profile_id if v else None for v in await service.profiles(
        ids, purpose=Purpose.MARKETING)] == [ann.profile_id, None, None]
    assert await service.profiles(ids, purpose=Purpose.ANALYTICS) == [None, None, None]
    assert await profile_of(service, "customer_id", "C-7", Purpose.MARKETING) is None
    assert [v is not None for v in await service.profiles(ids)] == [True, True, False]
    page = await service.search("ann@northwind.org", SearchBy.EMAIL,
                                purpose=Purpose.MARKETING)
    assert [hit.profile_id for hit in page.hits] == [ann.profile_id]
    page = await service.search("ann@northwind.org", SearchBy.EMAIL,
                                purpose=Purpose.SALE_SHARING)
    assert page.hits == ()


async def test_resolve_for_a_purpose_keeps_the_id_and_leaves_the_profile_out(
        service: IdentityService) -> None:
    await service.ingest([consent_event(ANN, day=2, event_id="e-1", personalization=True)])
    found = await service.resolve([("email", "ann@northwind.org")], False, "web",
                                  purpose=Purpose.PERSONALIZATION)
    assert found.profile is not None and found.profile_id == found.profile.profile_id
    hidden = await service.resolve([("email", "ann@northwind.org")], False, "web",
                                   purpose=Purpose.MARKETING)
    assert hidden.profile_id == found.profile_id and hidden.profile is None


async def test_a_stewards_decision_is_audited_shown_and_announced(
        service: IdentityService, sink: ListChangeSink, store: GraphStore) -> None:
    await service.ingest([consent_event(ANN, COOKIE, day=2, event_id="e-1", marketing=True)])
    view = await profile_of(service, "email", "ann@northwind.org")
    assert view is not None
    done = await service.set_consent(view.profile_id, Purpose.MARKETING, False,
                                     "steward:bo", "withdrawn by phone, ticket 42")
    assert done.changed and done.profile_id == view.profile_id
    assert done.decision.source == "steward" and done.decision.event_id == done.action_id
    after = await profile_of(service, "email", "ann@northwind.org")
    assert decisions(after) == {"marketing": (False, done.action_id)}
    assert consent_changes(sink)[-1] == (view.profile_id, done.action_id)
    [entry] = (await service.audit_log(AuditFilter(action="set_consent"), 5, None)).entries
    assert (entry.actor, entry.reason, entry.profile_ids) == (
        "steward:bo", "withdrawn by phone, ticket 42", (view.profile_id,))
    assert '"granted": true' in entry.before and '"granted": false' in entry.after
    # The same decision again is kept and audited, and changes nothing.
    again = await service.set_consent(view.profile_id, Purpose.MARKETING, False,
                                      "steward:bo", "confirmed")
    assert not again.changed and again.changes == ()
    assert len(consent_changes(sink)) == 2
    # The decision hangs on the strongest identifier: a split keeps it with the email.
    await service.split(view.profile_id, [[Identifier("email", "ann@northwind.org")],
                                          [Identifier("anonymous_id", "cookie-1")]],
                        "steward:bo", "two people")
    assert decisions(await profile_of(service, "anonymous_id", "cookie-1")) == {}


async def test_a_steward_decides_for_a_known_profile_with_a_reason(
        service: IdentityService) -> None:
    with pytest.raises(ValidationError, match="profileId: no profile 'prf_nobody'"):
        await service.set_consent("prf_nobody", Purpose.ANALYTICS, True, "steward:bo", "ok")
    await service.ingest([event(ANN, event_id="e-1")])
    view = await profile_of(service, "email", "ann@northwind.org")
    assert view is not None
    with pytest.raises(ValidationError, match="reason: a reason is required"):
        await service.set_consent(view.profile_id, Purpose.ANALYTICS, True, "steward:bo",
                                  "  ")


async def test_a_merged_away_id_decides_for_its_survivor(service: IdentityService) -> None:
    [a] = await service.ingest([event(ANN, event_id="e-1")])
    [b] = await service.ingest([event(COOKIE, event_id="e-2")])
    await service.ingest([event(ANN, COOKIE, event_id="e-3")])
    assert a.profile_id is not None and b.profile_id is not None
    done = await service.set_consent(b.profile_id, Purpose.ANALYTICS, True, "steward:bo",
                                     "asked in store")
    assert done.profile_id == ProfileId(a.profile_id)  # the oldest id survives
    assert decisions(await profile_of(service, "anonymous_id", "cookie-1")) == {
        "analytics": (True, done.action_id)}


async def test_a_segment_message_brings_its_consent_preferences(
        service: IdentityService) -> None:
    message = {"messageId": "seg-1", "type": "identify", "userId": "U-1",
               "timestamp": "2024-03-04T10:00:00Z",
               "context": {"consent": {"categoryPreferences": {
                   "Advertising": True, "Analytics": False, "Functional": True}}}}
    [result] = await service.ingest([message])
    assert result.status == "accepted"
    assert [(w.field, w.reason.split(":")[0]) for w in result.warnings] == [
        ("context.consent.categoryPreferences.Functional",
         "is not one of our purposes (personalization, marketing, analytics, sale_sharing)")]
    view = await profile_of(service, "customer_id", "U-1")
    assert decisions(view) == {"marketing": (True, "seg-1"), "analytics": (False, "seg-1")}
    [refused] = await service.ingest([{**message, "messageId": "seg-2", "context": {
        "consent": {"categoryPreferences": {"Marketing": "yes"}}}}])
    assert refused.status == "rejected"
    assert [(e.field, e.reason) for e in refused.errors] == [
        ("context.consent.categoryPreferences.Marketing",
         "must be true (granted) or false (withdrawn)")]
