"""Probabilistic matching over real HTTP: explain, explainProfile and reviewQueue."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import graphql

INGEST = """mutation($events: [EventInput!]!) {
  ingestEvents(events: $events) { accepted results { profileId } } }"""

EXPLAIN = """query($a: IdentifierInput!, $b: IdentifierInput!) {
  explain(a: $a, b: $b) {
    profileA profileB sameProfile linkThreshold reviewThreshold
    path { rule isActive score a { kind value } b { kind value }
           comparison { probability decision vetoedBy
                        fields { field left right level weight bucket } } }
    comparison { probability decision fields { field bucket } }
  } }"""

HISTORY = """query($id: ID!) {
  explainProfile(id: $id) { profileId steps { rule a { value } b { value } }
                            blocked { rule inactiveReason } } }"""

QUEUE = """query($first: Int!, $after: String) {
  reviewQueue(first: $first, after: $after) {
    endCursor items { profileA profileB link { rule score a { value } b { value }
                                               comparison { decision } } } } }"""

GRACE = {"first_name": "Grace", "last_name": "Hopkins", "date_of_birth": "1985-07-09",
         "address_line1": "7 Mill Lane", "city": "Leeds", "postcode": "LS1 4AP"}


def person(event_id: str, cookie: str, traits: dict[str, str]) -> dict[str, Any]:
    return {"eventId": event_id, "type": "identify", "timestamp": "2024-05-01T12:00:00Z",
            "source": "web", "identifiers": [{"kind": "anonymous_id", "value": cookie}],
            "traits": traits}


def cookie(value: str) -> dict[str, str]:
    return {"kind": "anonymous_id", "value": value}


def test_explain_shows_each_compared_field_of_a_probabilistic_link(
    client: httpx.Client,
) -> None:
    body = graphql(client, INGEST, events=[
        person("gm-1", "gm-c1", GRACE),
        person("gm-2", "gm-c2", {**GRACE, "first_name": "Gracie", "address_line1": "7 Mill Ln"}),
    ])
    assert body["data"]["ingestEvents"]["accepted"] == 2
    found = graphql(client, EXPLAIN, a=cookie("gm-c1"), b=cookie("gm-c2"))["data"]["explain"]
    assert found["sameProfile"] is True
    (step,) = found["path"]
    assert (step["rule"], step["isActive"]) == ("probabilistic", True)
    assert step["score"] >= found["linkThreshold"]
    fields = {f["field"]: f for f in step["comparison"]["fields"]}
    assert (fields["first_name"]["left"], fields["first_name"]["right"]) == ("Grace", "Gracie")
    assert fields["date_of_birth"]["bucket"] == "SAME"
    assert fields["email"]["bucket"] == "MISSING"
    assert step["comparison"]["decision"] == "LINK"

    history = graphql(client, HISTORY, id=found["profileA"])["data"]["explainProfile"]
    assert [s["rule"] for s in history["steps"]] == ["probabilistic"]


def test_explain_says_why_two_people_are_apart(client: httpx.Client) -> None:
    ivy = {"first_name": "Ivy", "last_name": "Achterberg", "date_of_birth": "1979-02-13",
           "address_line1": "3 Quay Street", "city": "Bristol", "postcode": "BS1 4DJ"}
    graphql(client, INGEST, events=[
        person("gm-3", "gm-c3", ivy),
        person("gm-4", "gm-c4", {**ivy, "first_name": "Harriet"}),  # her twin
    ])
    found = graphql(client, EXPLAIN, a=cookie("gm-c3"), b=cookie("gm-c4"))["data"]["explain"]
    assert found["sameProfile"] is False and found["path"] == []
    assert found["comparison"]["decision"] == "NONE"
    history = graphql(client, HISTORY, id=found["profileA"])["data"]["explainProfile"]
    assert [b["inactiveReason"] for b in history["blocked"]] == ["never-link rule 'twins'"]


def test_review_queue_pages_possible_matches(client: httpx.Client) -> None:
    names = {"first_name": "Ada", "last_name": "Lovelace"}
    graphql(client, INGEST, events=[person(f"gm-r{i}", f"gm-r{i}", names) for i in range(3)])
    first = graphql(client, QUEUE, first=2)["data"]["reviewQueue"]
    assert len(first["items"]) == 2 and first["endCursor"]
    rest = graphql(client, QUEUE, first=2, after=first["endCursor"])["data"]["reviewQueue"]
    items = [*first["items"], *rest["items"]]
    assert len(items) == 3 and rest["endCursor"] is None
    assert all(i["link"]["rule"] == "possible_match" and i["profileA"] != i["profileB"]
               and i["link"]["comparison"]["decision"] == "REVIEW" for i in items)


def test_a_bad_cursor_or_page_size_gets_a_clear_error(client: httpx.Client) -> None:
    body = graphql(client, QUEUE, first=500)
    assert "first: must be between 1 and 100" in body["errors"][0]["message"]
    body = graphql(client, QUEUE, first=5, after="???")
    assert "is not a cursor this API returned" in body["errors"][0]["message"]
