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

QUEUE = """query($first: Int!, $after: String, $minScore: Float! = 0, $maxScore: Float! = 1,
              $source: String) {
  reviewQueue(first: $first, after: $after, minScore: $minScore, maxScore: $maxScore,
              source: $source) {
    endCursor items { profileA profileB link { rule score sources a { value } b { value }
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
    first = graphql(client, QUEUE, first=2, source="web")["data"]["reviewQueue"]
    assert len(first["items"]) == 2 and first["endCursor"]
    rest = graphql(client, QUEUE, first=2, after=first["endCursor"],
                   source="web")["data"]["reviewQueue"]
    items = [*first["items"], *rest["items"]]
    assert len(items) == 3 and rest["endCursor"] is None
    assert all(i["link"]["rule"] == "possible_match" and i["profileA"] != i["profileB"]
               and i["link"]["comparison"]["decision"] == "REVIEW" for i in items)


# Three possible matches scored apart (0.82, 0.77, 0.61 under the built-in model), each from
# a source of its own; their pairs' order (city, names, post) is not their scores'.
FAMILIES = {
    "names": ({"first_name": "Marit", "last_name": "Quaresma"},
              {"first_name": "Marit", "last_name": "Quaresma"}),
    "post": ({"last_name": "Underhill", "postcode": "YO1 7HH", "address_line1": "3 Swan Court"},
             {"last_name": "Underhill", "postcode": "YO1 7HH", "address_line1": "58 Elm Row"}),
    "city": ({"first_name": "Odile", "last_name": "Fairweather", "city": "York",
              "date_of_birth": "1979-02-13"},
             {"first_name": "Odile", "last_name": "Fairweather", "city": "York",
              "date_of_birth": "1961-08-30"}),
}


def pairs(queue: dict[str, Any]) -> list[tuple[str, str]]:
    return [(i["link"]["a"]["value"], i["link"]["b"]["value"]) for i in queue["items"]]


def test_review_queue_sorts_by_score_and_filters_by_score_and_source(
    client: httpx.Client,
) -> None:
    graphql(client, INGEST, events=[
        {**person(f"gm-f{name}{side}", f"gm-f{name}{side}", traits), "source": f"gm-{name}"}
        for name, both in FAMILIES.items() for side, traits in enumerate(both, start=1)])
    every = graphql(client, QUEUE, first=100)["data"]["reviewQueue"]
    scores = [i["link"]["score"] for i in every["items"]]
    assert scores == sorted(scores, reverse=True)
    assert [p for p in pairs(every) if p[0].startswith("gm-f")] == [
        ("gm-fnames1", "gm-fnames2"), ("gm-fpost1", "gm-fpost2"), ("gm-fcity1", "gm-fcity2")]
    post = graphql(client, QUEUE, first=10, source="gm-post")["data"]["reviewQueue"]
    assert pairs(post) == [("gm-fpost1", "gm-fpost2")] and post["endCursor"] is None
    assert post["items"][0]["link"]["sources"] == ["gm-post"]
    score = post["items"][0]["link"]["score"]
    exactly = graphql(client, QUEUE, first=10, minScore=score, maxScore=score,
                      source="gm-post")["data"]["reviewQueue"]
    assert pairs(exactly) == [("gm-fpost1", "gm-fpost2")]
    assert pairs(graphql(client, QUEUE, first=10, minScore=0.5, maxScore=0.7,
                         source="gm-city")["data"]["reviewQueue"]) == [("gm-fcity1", "gm-fcity2")]
    assert pairs(graphql(client, QUEUE, first=10, maxScore=0.8,
                         source="gm-names")["data"]["reviewQueue"]) == []


def test_a_bad_review_filter_gets_a_clear_error(client: httpx.Client) -> None:
    body = graphql(client, QUEUE, first=5, minScore=0.9, maxScore=0.1)
    assert body["errors"][0]["message"] == "maxScore: must be at least minScore (0.9), got 0.1"
    body = graphql(client, QUEUE, first=5, minScore=2)
    assert body["errors"][0]["message"] == "minScore: must be between 0 and 1, got 2.0"


def test_a_bad_cursor_or_page_size_gets_a_clear_error(client: httpx.Client) -> None:
    body = graphql(client, QUEUE, first=500)
    assert "first: must be between 1 and 100" in body["errors"][0]["message"]
    body = graphql(client, QUEUE, first=5, after="???")
    assert "is not a cursor this API returned" in body["errors"][0]["message"]
