"""Steward operations through a running server, as front ends (GraphQL over HTTP) and back
ends (gRPC) call them, on both stores: the same service calls, the same answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from identity.v1 import identity_pb2 as pb
from tests.api.conftest import Served, graphql, served_on, settings_on


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def steward_served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    settings = settings_on(request.param, tmp_path, request, dev_mode=True)
    with served_on(settings) as running:
        yield running


INGEST = """mutation($events: [EventInput!]!) {
  ingestEvents(events: $events) { accepted results { profileId } } }"""
PROFILE = """query($id: ID!, $asOf: DateTime) {
  profile(id: $id, asOf: $asOf) { id version identifiers { kind identifiers { value } } } }"""
PREVIEW = """query($id: ID!, $sides: [[IdentifierInput!]!]!) {
  splitPreview(profileId: $id, sides: $sides) {
    profileId cut { rule a { value } b { value } } parts { profileId identifiers { value } } } }"""
SPLIT = """mutation($id: ID!, $sides: [[IdentifierInput!]!]!) {
  split(profileId: $id, sides: $sides, actor: "sam", reason: "two flatmates") {
    actionId profileIds changes { kind profileId splitIds } profiles { id version } } }"""
PROFILE_UPDATED = """query($id: ID!) { profile(id: $id) { updatedAt } }"""
MERGE = """mutation($ids: [ID!]!, $override: Boolean!) {
  merge(profileIds: $ids, actor: "sam", reason: "one household", overrideLimits: $override) {
    actionId profileIds changes { kind profileId absorbedIds } } }"""
UNDO = """mutation($id: ID!) {
  undo(actionId: $id, actor: "sam", reason: "wrong call") { actionId profileIds } }"""
AUDIT = """query($filter: AuditLogFilter, $first: Int!, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) {
    endCursor entries { actionId action actor reason profileIds after undoOf undoneBy } } }"""
HISTORY = """query($id: ID!) {
  profileHistory(id: $id) { profileId versions { version kind cause actor
    added { value } removed { value } related fieldChanges { name before after } } } }"""


def raw_graphql(http: httpx.Client, query: str, **variables: object) -> dict[str, Any]:
    """As graphql(), with the body escaped to ASCII: a lone surrogate travels as JSON allows
    (\\ud800), which a client encoding UTF-8 cannot send."""
    response = http.post("/graphql", content=json.dumps(
        {"query": query, "variables": variables}), headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def email(value: str) -> dict[str, str]:
    return {"kind": "email", "value": value}


def device(value: str) -> dict[str, str]:
    return {"kind": "device_id", "value": value}


def event(event_id: str, day: int, *identifiers: dict[str, str], **extra: Any
          ) -> dict[str, Any]:
    return {"eventId": event_id, "type": "identify", "source": "web",
            "timestamp": f"2024-05-{day:02d}T10:00:00Z", "identifiers": list(identifiers),
            **extra}


def flatmates(http: httpx.Client) -> str:
    """Alice's and Bob's emails seen on one tablet: one profile, which the steward splits."""
    body = graphql(http, INGEST, events=[
        event("f-1", 1, email("alice@northwind.org"), device("tablet-1")),
        event("f-2", 2, email("alice@northwind.org"), device("tablet-1")),
        event("f-3", 3, email("bob@northwind.org"), device("tablet-1"))])
    ids = {r["profileId"] for r in body["data"]["ingestEvents"]["results"]}
    assert len(ids) == 1
    return str(ids.pop())


def test_graphql_previews_splits_audits_and_undoes(steward_served: Served) -> None:
    with httpx.Client(base_url=steward_served.url, timeout=10) as http:
        profile = flatmates(http)
        sides = [[email("alice@northwind.org")], [email("bob@northwind.org")]]
        preview = graphql(http, PREVIEW, id=profile, sides=sides)["data"]["splitPreview"]
        assert preview["cut"] == [{"rule": "same_event", "a": {"value": "tablet-1"},
                                   "b": {"value": "bob@northwind.org"}}]
        assert preview["parts"] == [
            {"profileId": profile, "identifiers": [{"value": "tablet-1"},
                                                   {"value": "alice@northwind.org"}]},
            {"profileId": None, "identifiers": [{"value": "bob@northwind.org"}]}]
        version = graphql(http, PROFILE, id=profile)["data"]["profile"]["version"]
        split = graphql(http, SPLIT, id=profile, sides=sides)["data"]["split"]
        kept, carved = split["profileIds"]
        assert kept == profile and split["changes"] == [
            {"kind": "SPLIT", "profileId": profile, "splitIds": [carved]}]
        assert split["profiles"][0] == {"id": profile, "version": version + 1}

        # By actor: the log holds the service's reads of personal data too (read_pii).
        audit = graphql(http, AUDIT, filter={"profileId": profile, "actor": "sam"},
                        first=1)["data"]["auditLog"]
        (entry,) = audit["entries"]
        assert (entry["actionId"], entry["action"], entry["actor"], entry["reason"]) == (
            split["actionId"], "split", "sam", "two flatmates")
        assert entry["after"]["cut"] == [["device_id|tablet-1", "email|bob@northwind.org",
                                          "same_event"]]
        assert audit["endCursor"] is None  # Bob joined by an update: no automatic merge

        history = graphql(http, HISTORY, id=profile)["data"]["profileHistory"]["versions"]
        assert [(v["kind"], v["cause"], v["actor"]) for v in history] == [
            ("created", "f-1", "rule:same_event"), ("updated", "f-3", "rule:same_event"),
            ("split", split["actionId"], "sam")]

        undone = graphql(http, UNDO, id=split["actionId"])["data"]["undo"]
        assert undone["profileIds"] == [profile]
        view = graphql(http, PROFILE, id=carved)["data"]["profile"]
        assert view["id"] == profile  # the carved-out id resolves to the restored profile
        again = graphql(http, UNDO, id=split["actionId"])
        assert "undone already" in again["errors"][0]["message"]
        sam = {"actor": "sam"}
        newest = graphql(http, AUDIT, filter=sam, first=1)["data"]["auditLog"]
        older = graphql(http, AUDIT, filter=sam, first=5,
                        after=newest["endCursor"])["data"]["auditLog"]
        assert [(e["action"], e["undoOf"], e["undoneBy"])
                for e in [*newest["entries"], *older["entries"]]] == [
            ("undo", split["actionId"], None), ("split", None, undone["actionId"])]
        assert older["endCursor"] is None
        # Actions left out: the page holds the others, as many as asked for.
        kept = graphql(http, AUDIT, filter={**sam, "excludeActions": ["undo"]},
                       first=1)["data"]["auditLog"]["entries"]
        assert [e["action"] for e in kept] == ["split"]


def test_graphql_refuses_a_merge_over_the_limits_unless_overridden(
        steward_served: Served) -> None:
    with httpx.Client(base_url=steward_served.url, timeout=10) as http:
        body = graphql(http, INGEST, events=[
            event("m-1", 1, email("ann@northwind.org"), {"kind": "customer_id", "value": "1"}),
            event("m-2", 2, email("ben@northwind.org"), {"kind": "customer_id", "value": "2"})])
        first, second = [r["profileId"] for r in body["data"]["ingestEvents"]["results"]]
        refused = graphql(http, MERGE, ids=[first, second], override=False)
        assert refused["data"] is None
        assert "2 customer_id identifiers (limit 1)" in refused["errors"][0]["message"]
        merged = graphql(http, MERGE, ids=[first, second], override=True)["data"]["merge"]
        assert merged["profileIds"] == [first]
        assert merged["changes"] == [{"kind": "MERGED", "profileId": first,
                                      "absorbedIds": [second]}]
        (entry,) = graphql(http, AUDIT, filter={"action": "merge"},
                           first=5)["data"]["auditLog"]["entries"]
        assert entry["after"]["override_limits"] is True
        assert entry["after"]["allowed"] == {"customer_id": 2}


def test_graphql_names_bad_steward_input(steward_served: Served) -> None:
    with httpx.Client(base_url=steward_served.url, timeout=10) as http:
        profile = flatmates(http)
        bad = graphql(http, """mutation { merge(profileIds: ["a"], actor: " ",
            reason: "x") { actionId } }""")
        assert "actor: is required" in bad["errors"][0]["message"]
        stranger = graphql(http, PREVIEW, id=profile,
                           sides=[[email("alice@northwind.org")], [email("eve@northwind.org")]])
        assert "email 'eve@northwind.org' (group 2) is not a member of the profile" in \
            stranger["errors"][0]["message"]
        hostile = raw_graphql(http, AUDIT, first=5, filter={"actor": "sam\ud800",
                                                             "action": "x" * 5000})
        assert hostile["errors"][0]["message"] == (
            "filter.actor: 'sam\\ud800' is not an actor (at most 200 printable characters); "
            "filter.action: '" + "x" * 32 + "...' is not an action (merge, split, unlink, "
            "undo, ...)")
        left_out = raw_graphql(http, AUDIT, first=5, filter={
            "excludeActions": ["read_pii", "x\ud800", "y" * 5000]})
        assert left_out["errors"][0]["message"] == (
            "filter.excludeActions[1]: 'x\\ud800' is not an action (merge, split, unlink, "
            "undo, ...); filter.excludeActions[2]: '" + "y" * 32 + "...' is not an action "
            "(merge, split, unlink, undo, ...)")
        crowd_out = graphql(http, AUDIT, first=5, filter={"excludeActions": ["merge"] * 21})
        assert crowd_out["errors"][0]["message"] == (
            "filter.excludeActions: at most 20 actions, got 21")
        for action_id in ("act_\ud800", "act_" + "0" * 5000):
            refused = raw_graphql(http, UNDO, id=action_id)
            assert "actionId: '" in refused["errors"][0]["message"]
            assert "is not an action id (act_ and 32 hexadecimal digits)" in \
                refused["errors"][0]["message"]
        unknown = graphql(http, UNDO, id="act_" + "0" * 32)
        assert "no action 'act_" + "0" * 32 + "' in the audit log" in \
            unknown["errors"][0]["message"]
        for forged in ("12:nope", "9999999999999999999:act_x"):  # the second overflows a time
            cursor = graphql(http, AUDIT, first=5, after=forged)
            assert "is not a cursor this API returned" in cursor["errors"][0]["message"]
        groups = [[email(f"g{i}@northwind.org")] for i in range(11)]
        many = graphql(http, PREVIEW, id=profile, sides=groups)
        assert "sides: at most 10 groups in a split, got 11" in many["errors"][0]["message"]
        crowd = [[email(f"g{i}@northwind.org") for i in range(30)],
                 [email(f"h{i}@northwind.org") for i in range(21)]]
        wide = graphql(http, PREVIEW, id=profile, sides=crowd)
        assert "at most 50 identifiers across the groups of a split, got 51" in \
            wide["errors"][0]["message"]
        apart = graphql(http, PREVIEW, id=profile, sides=[
            [email("alice@northwind.org"), email("bob@northwind.org")], [device("tablet-1")]])
        assert "sides[0]: these identifiers are joined only through identifiers of another " \
            "group" in apart["errors"][0]["message"]


def grpc_identifier(kind: str, value: str) -> pb.Identifier:
    return pb.Identifier(kind=kind, value=value)


def test_grpc_splits_with_a_preview_unlinks_and_undoes(steward_served: Served) -> None:
    stub = steward_served.stub
    with httpx.Client(base_url=steward_served.url, timeout=10) as http:
        profile = flatmates(http)
    alice = grpc_identifier("email", "alice@northwind.org")
    bob = grpc_identifier("email", "bob@northwind.org")
    sides = [pb.IdentifierGroup(identifiers=[alice]), pb.IdentifierGroup(identifiers=[bob])]
    preview = stub.Split(pb.SplitRequest(profile_id=profile, sides=sides, preview=True))
    assert not preview.HasField("action")
    assert [(p.profile_id, [i.value for i in p.identifiers]) for p in preview.parts] == [
        (profile, ["tablet-1", "alice@northwind.org"]), ("", ["bob@northwind.org"])]
    assert [(k.a.value, k.b.value) for k in preview.cut] == [("tablet-1", "bob@northwind.org")]
    # The preview wrote nothing: Bob is still in the profile.
    still = stub.GetProfile(pb.GetProfileRequest(profile_id=profile))
    assert "bob@northwind.org" in {i.value for i in still.identifiers}

    done = stub.Split(pb.SplitRequest(profile_id=profile, sides=sides, actor="sam",
                                      reason="two flatmates"))
    kept, carved = done.action.profile_ids
    assert kept == profile and [p.profile_id for p in done.parts] == [profile, carved]
    assert [c.kind for c in done.action.changes] == [pb.ProfileChange.KIND_SPLIT]
    # updated_at: the latest version's time, moved by the split, as GraphQL's updatedAt.
    after = stub.GetProfile(pb.GetProfileRequest(profile_id=profile))
    assert still.HasField("updated_at")
    assert after.updated_at.ToDatetime() > still.updated_at.ToDatetime()
    with httpx.Client(base_url=steward_served.url, timeout=10) as http:
        shown = graphql(http, PROFILE_UPDATED, id=profile)["data"]["profile"]["updatedAt"]
    assert after.updated_at.ToDatetime(tzinfo=UTC) == datetime.fromisoformat(shown)

    undone = stub.Undo(pb.UndoRequest(action_id=done.action.action_id, actor="sam",
                                      reason="one person"))
    assert list(undone.action.profile_ids) == [profile]
    with pytest.raises(grpc.RpcError) as refused:
        stub.Undo(pb.UndoRequest(action_id=done.action.action_id, actor="sam", reason="x"))
    assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "undone already" in (refused.value.details() or "")

    unlinked = stub.Unlink(pb.UnlinkRequest(a=grpc_identifier("device_id", "tablet-1"), b=bob,
                                            actor="sam", reason="a borrowed tablet"))
    assert len(unlinked.action.profile_ids) == 2
    with pytest.raises(grpc.RpcError) as invalid:
        stub.Split(pb.SplitRequest(profile_id=profile, sides=sides[:1], actor="sam",
                                   reason="x"))
    assert invalid.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "at least two groups" in (invalid.value.details() or "")


def test_grpc_merge_and_review_decisions_need_who_and_why(steward_served: Served) -> None:
    stub = steward_served.stub
    with pytest.raises(grpc.RpcError) as missing:
        stub.Merge(pb.MergeRequest(profile_ids=["prf_a", "prf_b"]))
    assert missing.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "actor: is required" in (missing.value.details() or "")
    with pytest.raises(grpc.RpcError) as one:
        stub.Merge(pb.MergeRequest(profile_ids=["prf_a", "prf_a"], actor="sam", reason="x"))
    assert (one.value.details() or "").startswith(
        "profile_ids: a merge takes 2 to 20 distinct profile ids, got 1")
    with pytest.raises(grpc.RpcError) as undecided:
        stub.DecideReview(pb.DecideReviewRequest(
            a=grpc_identifier("email", "a@northwind.org"),
            b=grpc_identifier("email", "b@northwind.org"), actor="sam", reason="x"))
    assert undecided.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "DECISION_ACCEPT" in (undecided.value.details() or "")


def test_graphql_reads_a_profile_as_of_a_time_given_with_or_without_an_offset(
        steward_served: Served) -> None:
    """A time without an offset is UTC, as an event's timestamp is; a time before the profile
    existed names none."""
    with httpx.Client(base_url=steward_served.url, timeout=10) as http:
        profile = flatmates(http)
        now = graphql(http, PROFILE, id=profile)["data"]["profile"]
        for later in ("2999-01-01T00:00:00", "2999-01-01T00:00:00+00:00"):
            seen = graphql(http, PROFILE, id=profile, asOf=later)["data"]["profile"]
            assert seen == now
        assert graphql(http, PROFILE, id=profile,
                       asOf="2000-01-01T00:00:00")["data"]["profile"] is None


UPDATED = """query($id: ID!) {
  profile(id: $id) { id version updatedAt }
  profileHistory(id: $id) { versions { version at } } }"""
SEARCHED = """query($email: String!) {
  search(query: $email, by: EMAIL) { items { profileId profile { id updatedAt } } } }"""


def test_graphql_profile_updated_at_is_its_latest_versions_time(
        steward_served: Served) -> None:
    """updatedAt is the `at` of the profile's last version in profileHistory: it moves with a
    split, on the profile kept and the one carved out, and shows in search results."""
    with httpx.Client(base_url=steward_served.url, timeout=10) as http:
        profile = flatmates(http)

        def updated_at(profile_id: str) -> str:
            data = graphql(http, UPDATED, id=profile_id)["data"]
            *_, latest = data["profileHistory"]["versions"]
            assert data["profile"]["version"] == latest["version"]
            assert data["profile"]["updatedAt"] == latest["at"]
            return str(latest["at"])

        ingested = updated_at(profile)
        sides = [[email("alice@northwind.org")], [email("bob@northwind.org")]]
        kept, carved = graphql(http, SPLIT, id=profile, sides=sides)["data"]["split"][
            "profileIds"]
        assert kept == profile
        split_at = updated_at(profile)
        assert datetime.fromisoformat(split_at) > datetime.fromisoformat(ingested)
        assert updated_at(carved) == split_at
        (hit,) = graphql(http, SEARCHED, email="bob@northwind.org")["data"]["search"]["items"]
        assert hit["profile"] == {"id": carved, "updatedAt": split_at}
