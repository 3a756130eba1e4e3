"""Steward search through a real HTTP client against the app as `identity serve` runs it, on
SQLite and on Neo4j: names with typos, nicknames and swapped order, emails and phones written
another way, paging, and hostile queries refused with their reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from identity.config import Settings
from tests.api.conftest import ServerThread, graphql
from tests.neo4j_fixtures import Neo4jAccess, wiped

SEARCH = """
query Search($query: String!, $by: SearchBy! = ANY, $kind: String, $first: Int! = 20,
             $after: String) {
  search(query: $query, by: $by, kind: $kind, first: $first, after: $after) {
    total endCursor notes skippedBlocks { key size }
    items { profileId score matches { field value how }
            profile { id firstName: field(name: "first_name") { value }
                      identifiers { kind identifiers { value } } } }
  }
}"""

INGEST = """mutation($events: [EventInput!]!) {
  ingestEvents(events: $events) { accepted results { profileId errors { field reason } } } }"""

GARCIAS = 5  # namesakes, one profile each: what paging walks through


@dataclass(frozen=True)
class People:
    http: httpx.Client
    baker: str  # Anna Baker's profile id
    bahr: str  # Anna Bahr: a namesake with another surname
    hopkins: str  # Robert Hopkins
    garcias: tuple[str, ...]


def person(event_id: str, identifiers: list[tuple[str, str]], first: str, last: str,
           **traits: str) -> dict[str, Any]:
    return {"eventId": event_id, "type": "identify", "timestamp": "2024-05-01T12:00:00Z",
            "source": "web", "identifiers": [{"kind": k, "value": v} for k, v in identifiers],
            "traits": {"first_name": first, "last_name": last, **traits}}


def _settings(kind: str, request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("search")
    # No model file there: the built-in model, matching on, as `identity serve` starts.
    local = Settings(database=str(folder / "graph.db"), model=str(folder / "model.json"),
                     rules=str(folder / "rules.toml"), grpc_port=None, dev_mode=True)
    if kind == "sqlite":
        return local
    access: Neo4jAccess = request.getfixturevalue("neo4j_access")
    wiped(access)
    return Settings(store="neo4j", neo4j_uri=access.uri, neo4j_user=access.user,
                    neo4j_password=access.password, model=local.model, rules=local.rules,
                    grpc_port=None, dev_mode=True)


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def people(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[People]:
    """The app on each store, with the people the tests look for ingested once."""
    with (ServerThread(_settings(request.param, request, tmp_path_factory)) as url,
          httpx.Client(base_url=url, timeout=30) as http):
        events = [
            person("s-baker", [("email", "Anna.Baker+news@gmail.com"),
                               ("phone", "+1 415 555 0132")], "Anna", "Baker"),
            person("s-bahr", [("email", "anna.bahr@mail.org")], "Anna", "Bahr"),
            person("s-hopkins", [("email", "r.hopkins@mail.org"),
                                 ("customer_id", "CUST-0042")], "Robert", "Hopkins"),
            *[person(f"s-garcia-{i}", [("email", f"maria.garcia{i}@mail.org")], "Maria",
                     "Garcia", date_of_birth=f"19{60 + i}-0{i + 1}-1{i}") for i in range(GARCIAS)],
        ]
        body = graphql(http, INGEST, events=events)
        assert "errors" not in body, body
        results = body["data"]["ingestEvents"]["results"]
        assert all(not r["errors"] for r in results), results
        ids = [r["profileId"] for r in results]
        assert len(set(ids)) == len(ids), "each person is a profile of their own"
        yield People(http, ids[0], ids[1], ids[2], tuple(ids[3:]))


def search(people: People, query: str, **arguments: object) -> dict[str, Any]:
    response = people.http.post("/graphql", json={"query": SEARCH, "variables": {
        "query": query, **arguments}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["search"]
    return found


def refusal(people: People, body: str) -> str:
    """The one error a search request sent exactly as `body` gets, its data null."""
    response = people.http.post("/graphql", content=body,
                                headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text[:300]
    payload = response.json()
    assert payload["data"] is None, payload
    (error,) = payload["errors"]
    assert error["path"] == ["search"]
    message: str = error["message"]
    return message


def request(query: str, **arguments: object) -> str:
    return json.dumps({"query": SEARCH, "variables": {"query": query, **arguments}})


def test_a_misspelled_name_finds_the_person_first_and_the_namesake_after(
        people: People) -> None:
    found = search(people, "Anna Bakr", by="NAME")
    assert [i["profileId"] for i in found["items"]] == [people.baker, people.bahr]
    first, second = found["items"]
    assert first["score"] > second["score"]
    assert first["matches"] == [{"field": "name", "value": "Anna Baker", "how":
                                 "first name exact; last name jaro-winkler 0.95, sounds alike"}]
    assert first["profile"]["id"] == people.baker
    assert first["profile"]["firstName"] == {"value": "Anna"}
    assert (found["total"], found["endCursor"], found["notes"]) == (2, None, [])


def test_a_nickname_and_the_name_written_last_name_first_find_the_person(
        people: People) -> None:
    (bob,) = search(people, "Bob Hopkins")["items"]  # ANY: tried as a name too
    assert bob["profileId"] == people.hopkins
    assert bob["matches"][0]["how"] == "first name nickname; last name exact"
    (swapped,) = search(people, "Baker, Anna", by="NAME")["items"]  # Bahr: two edits away
    assert swapped["profileId"] == people.baker
    assert swapped["matches"][0]["how"] == ("first name exact; last name exact; first and last "
                                            "name swapped")


def test_an_email_in_another_case_and_form_finds_the_profile(people: People) -> None:
    for query, by in [("ANNA.BAKER@GMAIL.COM", "EMAIL"), (" annabaker@googlemail.com ", "ANY"),
                      ("Anna.Baker+other@Gmail.com", "ANY")]:
        (found,) = search(people, query, by=by)["items"]
        assert found["profileId"] == people.baker, query
        assert found["score"] == 1.0
        assert (found["matches"][0]["field"], found["matches"][0]["value"]) == (
            "email", "annabaker@gmail.com")


def test_a_phone_written_another_way_finds_the_profile(people: People) -> None:
    for query, by in [("(415) 555-0132", "PHONE"), ("415.555.0132", "ANY"),
                      ("+14155550132", "ANY")]:
        (found,) = search(people, query, by=by)["items"]
        assert found["profileId"] == people.baker, query
        assert found["matches"][0]["value"] == "+14155550132"
        phones = [g for g in found["profile"]["identifiers"] if g["kind"] == "phone"]
        assert phones == [{"kind": "phone", "identifiers": [{"value": "+14155550132"}]}]


def test_any_identifier_by_kind_and_value(people: People) -> None:
    (found,) = search(people, " CUST-0042 ", by="IDENTIFIER", kind="customer_id")["items"]
    assert found["profileId"] == people.hopkins
    (any_kind,) = search(people, "CUST-0042")["items"]
    assert any_kind["matches"] == [{"field": "customer_id", "value": "CUST-0042",
                                    "how": "the query read as customer_id"}]
    assert search(people, "CUST-9999", kind="customer_id")["items"] == []


def test_paging_returns_every_result_once_in_a_stable_order(people: People) -> None:
    seen: list[str] = []
    scores: list[float] = []
    after = None
    for _ in range(GARCIAS + 1):
        page = search(people, "Maria Garcia", by="NAME", first=2, after=after)
        assert page["total"] == GARCIAS
        assert len(page["items"]) <= 2
        seen += [i["profileId"] for i in page["items"]]
        scores += [i["score"] for i in page["items"]]
        after = page["endCursor"]
        if after is None:
            break
    assert sorted(seen) == sorted(people.garcias) and len(seen) == GARCIAS
    assert scores == [1.0] * GARCIAS and seen == sorted(seen)  # equal scores: by profile id


def test_a_cursor_belongs_to_its_search(people: People) -> None:
    cursor = search(people, "Maria Garcia", by="NAME", first=2)["endCursor"]
    assert refusal(people, request("Maria Garcia", by="ANY", after=cursor)) == (
        "after: a cursor of another search: pass the same query, by and kind as the search "
        "that returned it")
    assert refusal(people, request("Maria Garcia", after="???")) == (
        "after: '???' is not a cursor this API returned")


@pytest.mark.parametrize(("body", "expected"), [
    (request("x" * 200_000), "query: at most 256 characters, got 200000"),
    (request("Anna\u0000Baker"), "query: contains control characters"),
    (request("Anna\u001b[2JBaker"), "query: contains control characters"),
    (request("Anna\ud800Baker"),  # json.dumps writes the escape \ud800, sent as is
     "query: contains a lone UTF-16 surrogate, which is not text"),
    (request("Anna\u202eBaker"), "query: contains invisible formatting characters (bidi "
                                 "controls, zero-width space, BOM)"),
    (request(""), "query: must not be empty"),
    (request("Anna Baker", first=101), "first: must be between 1 and 100, got 101"),
    (request("Anna Baker", first=-1), "first: must be between 1 and 100, got -1"),
    (request("Anna Baker", by="IDENTIFIER"), "kind: required with by IDENTIFIER: email, "
                                             "phone, customer_id, ... or external:<system>"),
    (request("Anna Baker", kind="fax\u0000" + "x" * 10_000),
     "kind: unknown identifier kind 'fax\\x00" + "x" * 76 + "...'; expected one of "
     "customer_id, email, phone, "
     "anonymous_id, device_id, session_id, order_id or external:<system>"),
    (request("not a phone", by="PHONE"), "query: cannot be read as phone: not a phone "
                                         "number: (1) The string supplied did not seem to be a "
                                         "phone number."),
    (request("Anna", by="NAME"), "query: a name search needs first_name + last_name: the "
                                 "match model files names under them"),
    (request("Anna Baker", after="x" * 100_000),
     "after: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is not a cursor this API returned"),
])
def test_hostile_input_is_refused_with_what_where_and_why(
        people: People, body: str, expected: str) -> None:
    assert refusal(people, body) == expected
