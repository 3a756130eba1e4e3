"""Consent through a running server, on both stores: events bring decisions in GraphQL and
gRPC alike, `Profile.consent` shows them in both, reads filter by purpose in both, a steward
decides with setConsent / SetConsent, and the change feed carries consent_changed
(docs/architecture.md, "Consent")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import grpc
import httpx
import pytest

from identity.v1 import identity_pb2 as pb
from tests.api.conftest import Served, graphql, served_on, settings_on


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    settings = settings_on(request.param, tmp_path, request, dev_mode=True)
    with served_on(settings) as running:
        yield running


INGEST = """mutation($events: [EventInput!]!) {
  ingestEvents(events: $events) { results { status profileId errors { field reason } } } }"""
CONSENT = "consent { purpose granted source at eventId }"
PROFILE = f"""query($id: ID!, $purpose: Purpose) {{
  profile(id: $id, purpose: $purpose) {{ id {CONSENT} }} }}"""
BY_IDENTIFIER = """query($purpose: Purpose) {
  profileByIdentifier(kind: "email", value: "ann@northwind.org", purpose: $purpose) { id } }"""
SEARCH = """query($purpose: Purpose) {
  search(query: "ann@northwind.org", by: EMAIL, purpose: $purpose) {
    total items { profileId } } }"""
SET = f"""mutation($id: ID!, $purpose: Purpose!, $granted: Boolean!) {{
  setConsent(profileId: $id, purpose: $purpose, granted: $granted, reason: "ticket 42") {{
    actionId profileId changed {CONSENT} }} }}"""


def event(event_id: str, day: int, email: str, **consent: bool) -> dict[str, Any]:
    return {"eventId": event_id, "type": "identify", "timestamp": f"2024-03-{day:02d}T10:00:00Z",
            "source": "web", "identifiers": [{"kind": "email", "value": email}],
            "consent": consent}


def test_graphql_shows_filters_and_sets_consent(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        body = graphql(client, INGEST, events=[
            event("e-2", 2, "ann@northwind.org", marketing=True, analytics=False),
            event("e-1", 1, "ann@northwind.org", marketing=False),  # older: loses
            event("e-3", 3, "bo@northwind.org")])
        ann_id, _, bo_id = [r["profileId"] for r in body["data"]["ingestEvents"]["results"]]
        ann = graphql(client, PROFILE, id=ann_id)["data"]["profile"]
        assert ann["consent"] == [
            {"purpose": "MARKETING", "granted": True, "source": "web",
             "at": "2024-03-02T10:00:00+00:00", "eventId": "e-2"},
            {"purpose": "ANALYTICS", "granted": False, "source": "web",
             "at": "2024-03-02T10:00:00+00:00", "eventId": "e-2"}]
        assert graphql(client, PROFILE, id=ann_id, purpose="MARKETING")["data"]["profile"]
        assert graphql(client, PROFILE, id=ann_id, purpose="ANALYTICS")["data"] == {
            "profile": None}
        assert graphql(client, PROFILE, id=bo_id, purpose="MARKETING")["data"] == {
            "profile": None}  # no decision: not consented
        assert graphql(client, BY_IDENTIFIER, purpose="MARKETING")["data"][
            "profileByIdentifier"] == {"id": ann_id}
        assert graphql(client, BY_IDENTIFIER, purpose="SALE_SHARING")["data"][
            "profileByIdentifier"] is None
        assert graphql(client, SEARCH, purpose="MARKETING")["data"]["search"]["items"] == [
            {"profileId": ann_id}]
        assert graphql(client, SEARCH, purpose="PERSONALIZATION")["data"]["search"] == {
            "total": 1, "items": []}

        done = graphql(client, SET, id=bo_id, purpose="SALE_SHARING", granted=True)
        payload = done["data"]["setConsent"]
        assert payload["changed"] is True and payload["profileId"] == bo_id
        assert [(c["purpose"], c["granted"], c["source"], c["eventId"])
                for c in payload["consent"]] == [
            ("SALE_SHARING", True, "steward", payload["actionId"])]
        assert graphql(client, PROFILE, id=bo_id, purpose="SALE_SHARING")["data"][
            "profile"]["id"] == bo_id


def test_graphql_refuses_a_bad_consent_with_its_field(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        body = graphql(client, INGEST, events=[
            {**event("e-1", 1, "ann@northwind.org"), "consent": {"marketting": True,
                                                                 "analytics": "yes"}}])
        [result] = body["data"]["ingestEvents"]["results"]
        assert result["status"] == "REJECTED"
        assert result["errors"] == [
            {"field": "consent.analytics", "reason": "must be true (granted) or false "
             "(withdrawn)"},
            {"field": "consent.marketting", "reason": "'marketting' is not a purpose: one of "
             "personalization, marketing, analytics, sale_sharing"}]
        unknown = graphql(client, SET, id="prf_nobody", purpose="MARKETING", granted=True)
        assert unknown["errors"][0]["message"] == "profileId: no profile 'prf_nobody'"


def test_grpc_shows_filters_sets_and_watches_consent(served: Served) -> None:
    stub = served.stub
    response = stub.IngestEvents(pb.IngestEventsRequest(events=[
        pb.Event(event_id="e-1", type="identify", timestamp="2024-03-01T10:00:00Z",
                 source="app", identifiers=[pb.Identifier(kind="email",
                                                          value="ann@northwind.org")],
                 consent={"personalization": True, "marketing": False}),
        pb.Event(event_id="e-2", type="identify", timestamp="2024-03-01T10:00:00Z",
                 source="app", identifiers=[pb.Identifier(kind="email",
                                                          value="bo@northwind.org")],
                 consent={"marketting": True})]))
    ann_result, refused = response.results
    ann_id = ann_result.profile_id
    assert [(e.field, e.description[:28]) for e in refused.errors] == [
        ("consent.marketting", "'marketting' is not a purpos")]
    profile = stub.GetProfile(pb.GetProfileRequest(profile_id=ann_id))
    assert [(pb.Purpose.Name(c.purpose), c.granted, c.source, c.event_id,
             c.at.ToJsonString()) for c in profile.consent] == [
        ("PURPOSE_PERSONALIZATION", True, "app", "e-1", "2024-03-01T10:00:00Z"),
        ("PURPOSE_MARKETING", False, "app", "e-1", "2024-03-01T10:00:00Z")]
    assert stub.GetProfile(pb.GetProfileRequest(
        profile_id=ann_id, purpose=pb.PURPOSE_PERSONALIZATION)).id == ann_id
    with pytest.raises(grpc.RpcError) as denied:
        stub.GetProfile(pb.GetProfileRequest(profile_id=ann_id, purpose=pb.PURPOSE_MARKETING))
    assert denied.value.code() == grpc.StatusCode.NOT_FOUND
    assert "is not consented for marketing" in (denied.value.details() or "")
    with pytest.raises(grpc.RpcError) as bad:
        stub.GetProfile(pb.GetProfileRequest(profile_id=ann_id, purpose=cast(Any, 9)))
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "purpose: 9 is not a purpose: PURPOSE_PERSONALIZATION (1)" in (
        bad.value.details() or "")

    lookups = stub.BatchGetProfiles(pb.BatchGetProfilesRequest(
        profile_ids=[ann_id], identifiers=[pb.Identifier(kind="email",
                                                         value="ann@northwind.org")],
        purpose=pb.PURPOSE_MARKETING)).lookups
    assert [lookup.found for lookup in lookups] == [False, False]
    ann = pb.Identifier(kind="email", value="ann@northwind.org")
    hidden = stub.Resolve(pb.ResolveRequest(identifiers=[ann], mode=pb.ResolveRequest.MODE_LOOKUP,
                                            purpose=pb.PURPOSE_MARKETING))
    assert hidden.profile_id == ann_id and not hidden.HasField("profile")
    shown = stub.Resolve(pb.ResolveRequest(identifiers=[ann], mode=pb.ResolveRequest.MODE_LOOKUP,
                                           purpose=pb.PURPOSE_PERSONALIZATION))
    assert shown.profile.id == ann_id

    done = stub.SetConsent(pb.SetConsentRequest(profile_id=ann_id, purpose=pb.PURPOSE_MARKETING,
                                                granted=True, reason="asked at the till"))
    assert done.changed and done.profile_id == ann_id
    assert [(pb.Purpose.Name(c.purpose), c.granted, c.source) for c in done.consent] == [
        ("PURPOSE_PERSONALIZATION", True, "app"), ("PURPOSE_MARKETING", True, "steward")]
    lookups = stub.BatchGetProfiles(pb.BatchGetProfilesRequest(
        profile_ids=[ann_id], purpose=pb.PURPOSE_MARKETING)).lookups
    assert [lookup.found for lookup in lookups] == [True]
    with pytest.raises(grpc.RpcError) as missing:
        stub.SetConsent(pb.SetConsentRequest(profile_id=ann_id, granted=True, reason="r"))
    assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (missing.value.details() or "").startswith("purpose: is required")

    call = stub.WatchChanges(pb.WatchChangesRequest(profile_ids=[ann_id]), timeout=5)
    seen: list[tuple[str, str]] = []
    for change in call:
        seen.append((pb.ProfileChange.Kind.Name(change.kind), change.cause_event_id))
        if change.cause_event_id == done.action_id:
            call.cancel()
            break
    assert seen == [("KIND_CREATED", "e-1"), ("KIND_CONSENT_CHANGED", "e-1"),
                    ("KIND_CONSENT_CHANGED", done.action_id)]


def test_graphql_refuses_hostile_consent_keys_and_values_escaped(served: Served) -> None:
    """Lone surrogates and control characters in a purpose, a nested value and a huge map:
    each refused at its field, the name shown escaped, in a response that is valid JSON."""
    hostile = [
        {**event("e-1", 1, "ann@northwind.org"), "consent": {"\ud800": True,
                                                             "mark\x1b[2Jeting": False}},
        {**event("e-2", 1, "ann@northwind.org"), "consent": {"marketing": {"a": [[{}]]}}},
        {**event("e-3", 1, "ann@northwind.org"),
         "consent": {f"p{n}": True for n in range(10_000)}},
    ]
    body = json.dumps({"query": INGEST, "variables": {"events": hostile}})  # \ud800 escaped
    with httpx.Client(base_url=served.url, timeout=30) as client:
        response = client.post("/graphql", content=body,
                               headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    results = response.json()["data"]["ingestEvents"]["results"]
    assert [r["status"] for r in results] == ["REJECTED"] * 3
    assert [[e["field"] for e in r["errors"]] for r in results] == [
        ["consent.\\ud800", "consent.mark\\x1b[2Jeting"], ["consent.marketing"], ["consent"]]
    # Nothing echoed raw anywhere (a message too): JSON would show it as \u001b or \ud800.
    assert "\\u001b" not in response.text
    assert "\\ud800" not in response.text.replace("\\\\ud800", "")
