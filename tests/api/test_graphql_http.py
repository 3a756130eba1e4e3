"""The GraphQL API through a real HTTP client against a running uvicorn server."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import httpx
import pytest

from tests.api.conftest import graphql

INGEST = """
mutation Ingest($events: [EventInput!]!) {
  ingestEvents(events: $events) {
    accepted duplicates rejected
    results { index eventId status profileId mergedProfileIds
              errors { field reason } ignoredIdentifiers { field kind value reason } }
  }
}"""

PROFILE_FIELDS = """
  id requestedId mergedIds firstSeen lastSeen orderCount
  totalSpend { currency amount }
  golden { name value source observedAt eventId support }
  firstName: field(name: "first_name") { value source }
  identifiers { kind identifiers { value firstSeen lastSeen } }
"""
BY_IDENTIFIER = f"""
query ByIdentifier($kind: String!, $value: String!) {{
  profileByIdentifier(kind: $kind, value: $value) {{ {PROFILE_FIELDS} }}
}}"""
BY_ID = f"query ById($id: ID!) {{ profile(id: $id) {{ {PROFILE_FIELDS} }} }}"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def ev(event_id: str, *identifiers: tuple[str, str], **fields: Any) -> dict[str, Any]:
    return {"eventId": event_id, "type": fields.pop("type", "identify"),
            "timestamp": fields.pop("timestamp", "2024-05-01T10:00:00Z"),
            "source": fields.pop("source", "web"),
            "identifiers": [{"kind": k, "value": v} for k, v in identifiers], **fields}


def ingest(client: httpx.Client, *events: dict[str, Any]) -> dict[str, Any]:
    body = graphql(client, INGEST, events=list(events))
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]["ingestEvents"]
    return data


def test_ingest_reports_each_event_and_a_bad_one_does_not_sink_the_batch(
    client: httpx.Client,
) -> None:
    email = f"{unique('ann')}@gmail.com"
    good = ev(unique("e"), ("email", email), ("anonymous_id", unique("c")),
              ("phone", "unknown"), traits={"first_name": "Ann"})
    bad = ev(unique("e"), ("email", "ann(at)shop"), ("fax", "1"), timestamp="tomorrow",
             type="order", amount="-3", currency="euro")
    out = ingest(client, good, bad, good)

    assert (out["accepted"], out["duplicates"], out["rejected"]) == (1, 1, 1)
    accepted, rejected, duplicate = out["results"]
    assert accepted["status"] == "ACCEPTED" and accepted["profileId"].startswith("prf_")
    assert accepted["ignoredIdentifiers"] == [{"field": "identifiers[2]", "kind": "phone",
                                               "value": "unknown",
                                               "reason": "placeholder value: never used to link"}]
    assert rejected["status"] == "REJECTED" and rejected["profileId"] is None
    assert {e["field"] for e in rejected["errors"]} == {
        "timestamp", "identifiers[0].value", "identifiers[1].kind", "amount", "currency"}
    assert all(e["reason"] for e in rejected["errors"])
    assert duplicate["status"] == "DUPLICATE"


def test_profile_by_identifier_normalizes_like_ingest_and_returns_golden_profile(
    client: httpx.Client,
) -> None:
    local = unique("jane.doe")
    events = [
        ev(unique("e"), ("email", f"{local}+news@gmail.com"), ("anonymous_id", unique("c")),
           source="web", timestamp="2024-01-01T09:00:00Z", traits={"first_name": "Jane"}),
        ev(unique("e"), ("email", f"{local}@googlemail.com"), ("order_id", unique("o")),
           type="order", source="checkout", timestamp="2024-02-01T09:00:00Z",
           amount="19.99", currency="USD", traits={"first_name": "Janet"}),
    ]
    ingest(client, *events)
    body = graphql(client, BY_IDENTIFIER, kind="email", value=f" {local.upper()}@GMAIL.COM ")
    profile = body["data"]["profileByIdentifier"]

    assert profile["firstName"] == {"value": "Janet", "source": "checkout"}
    assert profile["orderCount"] == 1
    assert profile["totalSpend"] == [{"currency": "USD", "amount": "19.99"}]
    assert [g["kind"] for g in profile["identifiers"]] == ["anonymous_id", "email", "order_id"]
    assert profile["firstSeen"].startswith("2024-01-01")
    assert profile["lastSeen"].startswith("2024-02-01")


def test_merged_profile_id_answers_with_the_survivor(client: httpx.Client) -> None:
    cookie, email = unique("c"), f"{unique('m')}@shop.com"
    first = ingest(client, ev(unique("e"), ("anonymous_id", cookie)))["results"][0]
    second = ingest(client, ev(unique("e"), ("email", email)))["results"][0]
    bridge = ingest(client, ev(unique("e"), ("anonymous_id", cookie), ("email", email)))
    assert bridge["results"][0]["mergedProfileIds"] == [second["profileId"]]

    profile = graphql(client, BY_ID, id=second["profileId"])["data"]["profile"]
    assert profile["id"] == first["profileId"]
    assert profile["requestedId"] == second["profileId"]
    assert profile["mergedIds"] == [second["profileId"]]


def test_identifier_query_shows_links_with_evidence_and_the_profile(client: httpx.Client) -> None:
    cookie, customer, event_id = unique("c"), unique("cust"), unique("e")
    ingest(client, ev(event_id, ("anonymous_id", cookie), ("customer_id", customer),
                      source="ios"))
    body = graphql(client, """
      query Node($kind: String!, $value: String!) {
        identifier(kind: $kind, value: $value) {
          kind value
          links { a { kind value } b { kind value } rule isActive sources eventIds }
          profile { id identifiers { kind } }
        }
      }""", kind="anonymous_id", value=cookie)
    node = body["data"]["identifier"]
    assert node["links"] == [{"a": {"kind": "anonymous_id", "value": cookie},
                              "b": {"kind": "customer_id", "value": customer},
                              "rule": "same_event", "isActive": True, "sources": ["ios"],
                              "eventIds": [event_id]}]
    assert [g["kind"] for g in node["profile"]["identifiers"]] == ["anonymous_id", "customer_id"]


def test_unknown_identifier_and_profile_are_null(client: httpx.Client) -> None:
    body = graphql(client, BY_IDENTIFIER, kind="customer_id", value=unique("nobody"))
    assert body == {"data": {"profileByIdentifier": None}}
    assert graphql(client, BY_ID, id="prf_missing") == {"data": {"profile": None}}
    (error,) = graphql(client, BY_ID, id="x" * 100_000)["errors"]
    assert error["message"].startswith("id: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is not a "
                                       "profile id")


def test_invalid_lookup_gets_a_clear_error(client: httpx.Client) -> None:
    body = graphql(client, BY_IDENTIFIER, kind="phone", value="call me")
    (error,) = body["errors"]
    assert error["message"].startswith("phone 'call me': not a phone number")
    body = graphql(client, BY_IDENTIFIER, kind="fax", value="1")
    (error,) = body["errors"]
    assert "unknown identifier kind 'fax'" in error["message"]


def test_health_readiness_metrics_and_graphiql(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert ready["profile_cache"]["enabled"] is True
    ingest(client, ev(unique("e"), ("anonymous_id", unique("c"))))
    metrics = client.get("/metrics").text
    assert 'identity_events_total{status="accepted"}' in metrics
    assert 'identity_http_request_seconds_count{method="POST",route="/graphql"}' in metrics
    page = client.get("/graphql", headers={"accept": "text/html"})
    # The console's build, or the 503 saying to build it (tests/api/test_console_routes.py).
    assert page.status_code in (200, 503) and "graphiql" in page.text.lower()


def test_a_shared_tablet_shows_as_a_hub_with_inactive_links(client: httpx.Client) -> None:
    tablet, ann, bob = unique("tablet"), unique("ann"), unique("bob")
    ingest(client, ev(unique("e"), ("device_id", tablet), ("customer_id", ann)),
           ev(unique("e"), ("device_id", tablet), ("customer_id", bob)))
    body = graphql(client, """
      query Node($kind: String!, $value: String!) {
        identifier(kind: $kind, value: $value) {
          hubReason links { isActive inactiveReason } profile { identifiers { kind } }
        }
      }""", kind="device_id", value=tablet)
    node = body["data"]["identifier"]
    assert node["hubReason"] == "hub: linked to 2 distinct customer_id identifiers (limit 1)"
    assert [link["isActive"] for link in node["links"]] == [False, False]
    assert all(tablet in link["inactiveReason"] for link in node["links"])
    assert [g["kind"] for g in node["profile"]["identifiers"]] == ["device_id"]


def test_query_validation_errors_reach_the_caller(client: httpx.Client) -> None:
    body = graphql(client, "query { profile(id: \"x\") { idd } }")
    (error,) = body["errors"]
    assert "idd" in error["message"] and error["message"] != "Unexpected error."
    missing = ev(unique("e"), ("anonymous_id", unique("c")))
    del missing["timestamp"]
    body = graphql(client, INGEST, events=[missing])
    assert any("timestamp" in e["message"] for e in body["errors"])


def test_deeply_nested_queries_are_refused(client: httpx.Client) -> None:
    nested = "identifiers { identifiers { profile { identifiers { identifiers { value } } } } }"
    query = f'{{ identifier(kind: "anonymous_id", value: "x") {{ profile {{ {nested} }} }} }}'
    (error,) = graphql(client, query)["errors"]
    assert "exceeds maximum operation depth" in error["message"]


def test_a_body_python_cannot_parse_is_a_400_not_a_500(client: httpx.Client) -> None:
    body = '{"query": "{ __typename }", "variables": {"n": ' + "9" * 5000 + "}}"
    response = client.post("/graphql", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code == 400


def post_raw(client: httpx.Client, body: str) -> httpx.Response:
    """The body exactly as written: JSON escapes such as \\ud800 reach the server as sent."""
    return client.post("/graphql", content=body, headers={"content-type": "application/json"})


@pytest.mark.parametrize(("variables", "reason"), [
    ("[" * 2000 + "]" * 2000, "nested too deeply"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"n": NaN}', "NaN is not a JSON number"),
    ('{"n": -Infinity}', "-Infinity is not a JSON number"),
    ('{"n": 1e400}', "1e400 is out of the range of a number"),
    ('{"n": }', "Expecting value at 47"),
])
def test_a_body_that_is_not_usable_json_is_a_400_that_says_why(
    client: httpx.Client, variables: str, reason: str,
) -> None:
    response = post_raw(client, '{"query": "{ __typename }", "variables": ' + variables + "}")
    assert (response.status_code, response.text) == (
        400, f"Unable to parse request body as JSON: {reason}")


def test_an_event_holding_a_lone_surrogate_is_rejected_alone(client: httpx.Client) -> None:
    good, bad = ev(unique("g"), ("customer_id", unique("C"))), ev(unique("b"), ("email", "x@y.z"))
    bad["source"] = "w\ud800eb"
    bad["traits"] = {"first_name": "\udfff"}
    body = json.dumps({"query": INGEST, "variables": {"events": [good, bad]}})  # escaped

    response = post_raw(client, body)

    assert response.status_code == 200, response.text
    data = response.json()["data"]["ingestEvents"]
    assert (data["accepted"], data["rejected"]) == (1, 1)
    assert {e["field"] for e in data["results"][1]["errors"]} == {"source", "traits.first_name"}


def test_a_query_holding_terminal_escapes_never_reaches_the_log(
    client: httpx.Client, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    body = json.dumps({"query": "query { \u001b]0;pwned\u0007\u001b[31mRED }"})
    assert post_raw(client, body).status_code == 200  # a GraphQL error, in the response
    post_raw(client, json.dumps({"query": "{ __typename }", "variables": {"strict": None}}))
    assert "pwned" not in caplog.text and "\x1b" not in caplog.text
    assert not [r for r in caplog.records if r.name.startswith(("strawberry", "identity"))
                and r.levelno >= logging.ERROR]


INGEST_STRICTLY = """
mutation Ingest($events: [EventInput!]!, $strict: Boolean!) {
  ingestEvents(events: $events, strict: $strict) {
    results { status errors { field } ignoredIdentifiers { field kind value reason }
              warnings { field reason } profileId }
  }
}"""


def test_an_event_with_a_bad_phone_lands_without_it_unless_strict(client: httpx.Client) -> None:
    email = f"{unique('ann')}@gmail.com"

    def order() -> dict[str, Any]:
        return ev(unique("e"), ("email", email), ("phone", "555-01"), ("order_id", unique("o")),
                  type="order", source="checkout")

    def sent(strict: bool) -> dict[str, Any]:
        body = graphql(client, INGEST_STRICTLY, events=[order()], strict=strict)
        (result,) = body["data"]["ingestEvents"]["results"]
        return dict(result)

    strict = sent(strict=True)
    assert strict["status"] == "REJECTED"
    assert [e["field"] for e in strict["errors"]] == ["identifiers[1].value", "amount",
                                                      "currency"]
    lenient = sent(strict=False)
    assert lenient["status"] == "ACCEPTED"
    (dropped,) = lenient["ignoredIdentifiers"]
    assert (dropped["field"], dropped["kind"], dropped["value"]) == (
        "identifiers[1].value", "phone", "555-01")
    assert dropped["reason"].endswith("the event was accepted without it")
    assert lenient["warnings"] == [{"field": "amount", "reason": "missing on an order: "
                                    "recorded as an order of unknown value"}]
    query = BY_IDENTIFIER.replace("orderCount", "orderCount unknownValueOrderCount")
    profile = graphql(client, query, kind="email", value=email)["data"]["profileByIdentifier"]
    assert profile["orderCount"] == 1 and profile["unknownValueOrderCount"] == 1
    assert profile["totalSpend"] == []
    assert {i["kind"] for i in profile["identifiers"]} == {"email", "order_id"}


def test_a_profile_a_limit_held_a_link_at_says_so(client: httpx.Client) -> None:
    tablet, ann, bob = unique("tablet"), unique("ann"), unique("bob")
    ingest(client,
           ev(unique("e"), ("customer_id", ann), ("email", f"{ann}@home.com"),
              timestamp="2024-03-01T10:00:00Z"),
           ev(unique("e"), ("device_id", tablet), ("customer_id", bob),
              timestamp="2024-03-02T10:00:00Z"),
           ev(unique("e"), ("device_id", tablet), ("email", f"{ann}@home.com"),
              timestamp="2024-03-03T10:00:00Z"))
    query = ("query($kind: String!, $value: String!) { profileByIdentifier(kind: $kind, "
             "value: $value) { limitsReached { kind limit } identifiers { kind } } }")
    bobs = graphql(client, query, kind="customer_id", value=bob)["data"]["profileByIdentifier"]
    assert bobs["limitsReached"] == [{"kind": "customer_id", "limit": 1}]
    assert {group["kind"] for group in bobs["identifiers"]} == {"customer_id", "device_id"}
