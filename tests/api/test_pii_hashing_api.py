"""Emails and phones kept as keyed hashes, through a running server on both stores: every
entry point that takes an identifier from a caller (GraphQL profileByIdentifier, identifier,
search, explain, splitPreview; gRPC Resolve, BatchGetProfiles, Explain) hashes it as ingest
did, so the clear value finds the person and only hashes come back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from identity.v1 import identity_pb2 as pb
from tests.api.conftest import Served, graphql, served_on, settings_on

KEY = "1:" + "k" * 20 + "-api-test-key-0123456789"
EMAIL, PHONE = "Ada.Byron@northwind.org", "+44 20 7946 0958"

INGEST = """mutation($events: [EventInput!]!) {
  ingestEvents(events: $events) { results { status profileId warnings { field } } } }"""
BY_IDENTIFIER = """query($kind: String!, $value: String!) {
  profileByIdentifier(kind: $kind, value: $value) { id identifiers { kind identifiers { value } } }
  identifier(kind: $kind, value: $value) { kind value profile { id } } }"""
SEARCH = """query($text: String!, $by: SearchBy!) {
  search(query: $text, by: $by) { items { profileId } } }"""
EXPLAIN = """query($a: IdentifierInput!, $b: IdentifierInput!) {
  explain(a: $a, b: $b) { profileA profileB sameProfile } }"""
PREVIEW = """query($id: ID!, $sides: [[IdentifierInput!]!]!) {
  splitPreview(profileId: $id, sides: $sides) { parts { profileId identifiers { value } } } }"""


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    settings = settings_on(request.param, tmp_path, request, dev_mode=True, pii_hash_key=KEY)
    with served_on(settings) as running:
        yield running


def clear_in(text: str) -> bool:
    folded = text.lower()
    return any(value in folded for value in ("ada.byron", "northwind", "7946", "2079"))


def test_every_lookup_hashes_the_callers_value(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=10) as http:
        events: list[dict[str, Any]] = [
            {"eventId": "p1", "type": "identify", "timestamp": "2025-03-01T09:00:00Z",
             "source": "web", "identifiers": [{"kind": "email", "value": EMAIL},
                                              {"kind": "anonymous_id", "value": "ck-1"}],
             "traits": {"first_name": "Ada", "phone_number": PHONE}},
            {"eventId": "p2", "type": "identify", "timestamp": "2025-03-01T09:05:00Z",
             "source": "crm", "identifiers": [{"kind": "email", "value": EMAIL.upper()},
                                              {"kind": "phone", "value": PHONE}]}]
        results = graphql(http, INGEST, events=events)["data"]["ingestEvents"]["results"]
        person = results[0]["profileId"]
        assert [r["profileId"] for r in results] == [person, person]
        assert results[0]["warnings"] == [{"field": "traits.phone_number"}]

        found = graphql(http, BY_IDENTIFIER, kind="email", value=EMAIL.lower())["data"]
        assert found["profileByIdentifier"]["id"] == found["identifier"]["profile"]["id"] \
            == person
        assert found["identifier"]["value"].startswith("h1:")
        assert not clear_in(str(found))
        by_phone = graphql(http, BY_IDENTIFIER, kind="phone", value="+442079460958")
        assert by_phone["data"]["profileByIdentifier"]["id"] == person
        searched = graphql(http, SEARCH, text=EMAIL, by="EMAIL")["data"]["search"]["items"]
        assert [item["profileId"] for item in searched] == [person]
        explained = graphql(http, EXPLAIN, a={"kind": "email", "value": EMAIL},
                            b={"kind": "phone", "value": PHONE})["data"]["explain"]
        assert explained["sameProfile"] and explained["profileA"] == person
        preview = graphql(http, PREVIEW, id=person, sides=[
            [{"kind": "email", "value": EMAIL}, {"kind": "anonymous_id", "value": "ck-1"}],
            [{"kind": "phone", "value": PHONE}]])
        assert "errors" not in preview, preview
        assert len(preview["data"]["splitPreview"]["parts"]) == 2
        assert not clear_in(str(preview))

    resolved = served.stub.Resolve(pb.ResolveRequest(
        identifiers=[pb.Identifier(kind="email", value=EMAIL)],
        mode=pb.ResolveRequest.MODE_LOOKUP))
    assert resolved.profile_id == person and not clear_in(str(resolved))
    batch = served.stub.BatchGetProfiles(pb.BatchGetProfilesRequest(
        identifiers=[pb.Identifier(kind="phone", value=PHONE),
                     pb.Identifier(kind="email", value="someone.else@northwind.org")]))
    assert [(lookup.found, lookup.profile.id) for lookup in batch.lookups] == [
        (True, person), (False, "")]
    explanation = served.stub.Explain(pb.ExplainRequest(
        a=pb.Identifier(kind="email", value=EMAIL), b=pb.Identifier(kind="phone", value=PHONE)))
    assert explanation.profile_a == explanation.profile_b == person
