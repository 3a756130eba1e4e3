"""Hostile and broken events, through a real HTTP client and a real gRPC channel, on each
store: one bad value costs its event alone, never its batch, and nothing stored can make a
profile unreadable or take over its golden record."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest

from identity.v1 import identity_pb2 as pb
from tests.hostile.conftest import Service

INGEST = """
mutation Ingest($events: [EventInput!]!) {
  ingestEvents(events: $events) {
    results { eventId status profileId errors { field reason } warnings { field reason } }
  }
}"""
PROFILE = """
query P($kind: String!, $value: String!) {
  profileByIdentifier(kind: $kind, value: $value) {
    id lastSeen
    golden { name value }
    totalSpend { currency amount }
    identifiers { kind identifiers { value } }
  }
}"""
README = Path(__file__).resolve().parents[2] / "README.md"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def event(*identifiers: tuple[str, str], **fields: Any) -> dict[str, Any]:
    return {"eventId": fields.pop("eventId", unique("e")), "type": fields.pop("type", "identify"),
            "timestamp": fields.pop("timestamp", "2024-05-01T10:00:00Z"),
            "source": fields.pop("source", "web"),
            "identifiers": [{"kind": k, "value": v} for k, v in identifiers], **fields}


def ingest_raw(served: Service, body: str) -> list[dict[str, Any]]:
    """The body exactly as written: a JSON escape such as \\ud800 reaches the server as sent."""
    response = served.http.post("/graphql", content=body,
                                headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    payload = response.json()
    assert "errors" not in payload, payload
    results: list[dict[str, Any]] = payload["data"]["ingestEvents"]["results"]
    return results


def ingest(served: Service, *events: dict[str, Any]) -> list[dict[str, Any]]:
    return ingest_raw(served, json.dumps({"query": INGEST, "variables": {"events": events}}))


def profile(served: Service, kind: str, value: str) -> dict[str, Any] | None:
    response = served.http.post("/graphql", json={"query": PROFILE, "variables": {
        "kind": kind, "value": value}})
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    found: dict[str, Any] | None = response.json()["data"]["profileByIdentifier"]
    return found


def golden(found: dict[str, Any] | None) -> dict[str, str]:
    assert found is not None
    return {g["name"]: g["value"] for g in found["golden"]}


@pytest.mark.parametrize("field", ["eventId", "source", "identifier value"])
def test_a_lone_surrogate_rejects_its_event_alone(served: Service, field: str) -> None:
    good_id, bad_id = unique("C"), unique("C")
    bad = event(("customer_id", bad_id))
    if field == "identifier value":
        bad["identifiers"].append({"kind": "email", "value": "x\ud800@mailbox.org"})
        bad["identifiers"].pop(0)
    else:
        bad[field] = "w\ud800x"
    body = json.dumps({"query": INGEST, "variables": {"events": [
        event(("customer_id", good_id)), bad]}})  # json.dumps writes the escape \ud800

    good_result, bad_result = ingest_raw(served, body)

    assert good_result["status"] == "ACCEPTED"
    assert bad_result["status"] == "REJECTED"
    (error,) = bad_result["errors"]
    assert error["field"] == {"eventId": "event_id", "source": "source",
                              "identifier value": "identifiers[0].value"}[field]
    assert "lone UTF-16 surrogate" in error["reason"]
    assert profile(served, "customer_id", good_id) is not None


def test_a_poisoned_trait_is_refused_and_the_profile_stays_readable_over_grpc(
        served: Service) -> None:
    email = f"{unique('victim')}@mailbox.org"
    assert ingest(served, event(("email", email), traits={"first_name": "Ann"}))[0][
        "status"] == "ACCEPTED"
    poisoned = event(("email", email), traits={"first_name": "Ann\ud800", "city": "Leeds"})
    (result,) = ingest_raw(served, json.dumps({"query": INGEST,
                                               "variables": {"events": [poisoned]}}))
    assert result["status"] == "REJECTED"
    assert result["errors"] == [{"field": "traits.first_name",
                                 "reason": "contains a lone UTF-16 surrogate, which is not text"}]

    found = served.grpc.Resolve(pb.ResolveRequest(
        identifiers=[pb.Identifier(kind="email", value=email)],
        mode=pb.ResolveRequest.MODE_LOOKUP))
    again = served.grpc.GetProfile(pb.GetProfileRequest(profile_id=found.profile_id))
    assert {g.name: g.value for g in again.golden}["first_name"] == "Ann"
    assert "city" not in {g.name for g in again.golden}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_a_future_timestamp_cannot_take_over_the_golden_record(served: Service) -> None:
    email = f"{unique('owner')}@mailbox.org"
    now = datetime.now(UTC)
    ingest(served, event(("email", email), timestamp=_iso(now - timedelta(hours=1)),
                         traits={"first_name": "Alice", "city": "Bath"}))

    far, edge = ingest(served, event(("anonymous_id", unique("a")), ("email", email),
                                     timestamp="2099-06-01T00:00:00Z",
                                     traits={"first_name": "Mallory"}),
                       event(("email", email), timestamp="2100-01-01T00:00:00Z"))
    assert far["status"] == edge["status"] == "REJECTED"
    assert "ahead of the clock of the server" in far["errors"][0]["reason"]
    assert edge["errors"][0]["reason"] == "'2100-01-01T00:00:00Z' is outside 1970-2099"

    # Within the allowed skew the event lands, recorded when it was received, not later.
    (near,) = ingest(served, event(("email", email), timestamp=_iso(now + timedelta(minutes=4)),
                                   traits={"first_name": "Mallory", "city": "Evil"}))
    assert near["status"] == "ACCEPTED"
    assert near["warnings"][0]["field"] == "timestamp"
    seen = profile(served, "email", email)
    assert seen is not None
    assert datetime.fromisoformat(seen["lastSeen"]) <= datetime.now(UTC)

    time.sleep(0.01)
    ingest(served, event(("email", email), timestamp=_iso(datetime.now(UTC)),
                         traits={"first_name": "Alice", "city": "Bath"}))
    assert golden(profile(served, "email", email)).items() >= {("first_name", "Alice"),
                                                               ("city", "Bath")}


@pytest.mark.parametrize(("fields", "field", "reason"), [
    ({"amount": "10", "currency": "ZZZ"}, "currency", "is not an ISO 4217 code"),
    ({"amount": "10", "currency": "BTC"}, "currency", "is not an ISO 4217 code"),
    ({"amount": "10", "currency": "XTS"}, "currency", "testing, not money"),
    ({"amount": "-0", "currency": "EUR"}, "amount", "is not a non-negative decimal amount"),
    ({"amount": "\u0661\u0662", "currency": "EUR"}, "amount", "is not a non-negative decimal"),
    ({"eventId": "e\x00nul"}, "event_id", "control characters"),
    ({"eventId": "e\nline"}, "event_id", "control characters"),
    ({"source": "w\x85eb"}, "source", "control characters"),
    ({"source": "we\u202eb"}, "source", "invisible formatting characters"),
    ({"traits": {"city": "Le\x1beds"}}, "traits.city", "control characters"),
    ({"traits": {"city": "Le\u200beds"}}, "traits.city", "invisible formatting characters"),
])
def test_a_bad_value_is_refused_at_its_field(served: Service, fields: dict[str, Any],
                                             field: str, reason: str) -> None:
    order = "amount" in fields
    raw = event(("customer_id", unique("C")), *([("order_id", unique("o"))] if order else []),
                type="order" if order else "identify", **fields)
    (result,) = ingest(served, raw)
    assert result["status"] == "REJECTED"
    assert any(e["field"] == field and reason in e["reason"] for e in result["errors"]), result


@pytest.mark.parametrize("invisible", ["\u200b", "\u202e", "\ufeff", "\u00ad", "\u2060"])
def test_an_identifier_that_only_looks_like_another_is_refused(served: Service,
                                                               invisible: str) -> None:
    (result,) = ingest(served, event(("customer_id", f"C{invisible}{unique('x')}")))
    assert result["status"] == "REJECTED"
    assert "invisible formatting characters" in result["errors"][0]["reason"]


def test_identifiers_that_look_the_same_are_one_identifier(served: Service) -> None:
    plain = unique("ABC").upper()
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in plain)
    first, second = ingest(served, event(("customer_id", plain)),
                           event(("customer_id", wide), traits={"city": "\uff2c\uff45\uff45ds"}))
    assert first["profileId"] == second["profileId"]
    # A trait is free text: kept as sent (NFC), and compared folded by the match model.
    assert golden(profile(served, "customer_id", wide))["city"] == "\uff2c\uff45\uff45ds"


def test_a_currency_is_stored_in_upper_case(served: Service) -> None:
    customer = unique("C")
    (result,) = ingest(served, event(("customer_id", customer), ("order_id", unique("o")),
                                     type="order", amount="12.50", currency="eur"))
    assert result["status"] == "ACCEPTED"
    found = profile(served, "customer_id", customer)
    assert found is not None
    assert found["totalSpend"] == [{"currency": "EUR", "amount": "12.50"}]


def test_line_breaks_in_a_trait_are_stored_as_one_space(served: Service) -> None:
    customer = unique("C")
    ingest(served, event(("customer_id", customer),
                         traits={"address_line1": "1 High St\r\nFlat 2"}))
    assert golden(profile(served, "customer_id", customer))["address_line1"] == "1 High St Flat 2"


def test_an_event_of_placeholders_only_is_rejected_as_the_readme_says(served: Service) -> None:
    (result,) = ingest(served, event(("email", "test@test.com"), ("phone", "0000000000")))
    assert result["status"] == "REJECTED"
    (error,) = result["errors"]
    said = " ".join(README.read_text().split())
    assert f"`{error['field']}: {error['reason']}`" in said


def test_a_bad_grpc_event_is_refused_alone_and_too_many_events_are_refused_whole(
        served: Service) -> None:
    """What arrives over gRPC is checked as GraphQL's is: a bad event costs itself alone,
    and a request over the bound on events is refused whole, naming the bound."""
    good = pb.Event(event_id=unique("g"), type="identify", timestamp="2024-05-01T10:00:00Z",
                    source="grpc", identifiers=[pb.Identifier(kind="customer_id",
                                                              value=unique("C"))])
    bad = pb.Event(event_id=unique("b"), type="identify", timestamp="2024-05-01T10:00:00Z",
                   source="gr\u202epc", identifiers=[pb.Identifier(kind="customer_id",
                                                                   value=unique("C"))])
    response = served.grpc.IngestEvents(pb.IngestEventsRequest(events=[good, bad]))
    assert [r.status for r in response.results] == [pb.EventResult.STATUS_ACCEPTED,
                                                    pb.EventResult.STATUS_REJECTED]
    assert response.results[1].errors[0].field == "source"
    with pytest.raises(grpc.RpcError) as caught:
        served.grpc.IngestEvents(pb.IngestEventsRequest(events=[good] * 1001))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "at most 1000 per request, got 1001" in (caught.value.details() or "")


def test_a_request_of_too_many_identifiers_is_refused_whole_with_the_bound(
        served: Service) -> None:
    """1,000 events of 20 emails held the server for 6.5 s, 1,000 of 50 for 28.6 s."""
    wide = [event(*[("customer_id", unique("C")) for _ in range(50)]) for _ in range(101)]
    response = served.http.post("/graphql", json={"query": INGEST, "variables": {
        "events": wide}})
    assert response.json()["errors"][0]["message"] == (
        "events: at most 5000 identifiers across a request's events, got 5050; send fewer "
        "events per request")
    with pytest.raises(grpc.RpcError) as caught:
        served.grpc.IngestEvents(pb.IngestEventsRequest(events=[pb.Event(
            event_id=unique("g"), type="identify", timestamp="2024-05-01T10:00:00Z",
            source="grpc", identifiers=[pb.Identifier(kind="customer_id", value=unique("C"))
                                        for _ in range(50)]) for _ in range(101)]))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
