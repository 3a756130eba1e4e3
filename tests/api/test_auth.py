"""Authentication and scopes on both APIs, on both stores: a real server, real HTTP and gRPC
clients, keys issued into the server's store (docs/architecture.md, "Security and
privacy")."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

import identity.api.graphql.http as graphql_http
from identity.api.graphql.permissions import AUTHENTICATED, ROOT_FIELD_SCOPES
from identity.api.graphql.schema import schema
from identity.api.grpc.auth import METHOD_SCOPES
from identity.config import Settings
from identity.domain.access import Scope
from identity.service.api_keys import ApiKeys
from identity.store import open_store
from identity.v1 import identity_pb2 as pb
from identity.v1 import identity_pb2_grpc
from tests.api.conftest import ServerThread, settings_on
from tests.auth_fixtures import bearer, grpc_metadata, issue_for, issue_key

INGEST = """mutation($events: [EventInput!]!) {
  ingestEvents(events: $events) { accepted results { profileId } } }"""
PROFILE = "query($id: ID!) { profile(id: $id) { id } }"
AUDIT = "{ auditLog { entries { actionId } } }"
EVENT = {"eventId": "auth-1", "type": "identify", "source": "web",
         "timestamp": "2026-11-01T10:00:00Z",
         "identifiers": [{"kind": "email", "value": "ada.lovelace@northwind.org"},
                         {"kind": "cookie", "value": "ck-auth-1"}]}


@dataclass(frozen=True)
class Secured:
    url: str
    settings: Settings
    stub: identity_pb2_grpc.IdentityServiceStub
    channel: grpc.Channel


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def secured(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Secured]:
    """`identity serve` with authentication on (no --dev): API keys from its store."""
    settings = settings_on(request.param, tmp_path, request)
    thread = ServerThread(settings)
    with thread as url:
        assert thread.grpc_port is not None
        with grpc.insecure_channel(f"127.0.0.1:{thread.grpc_port}") as channel:
            yield Secured(url, settings, identity_pb2_grpc.IdentityServiceStub(channel),
                          channel)


def post(secured: Secured, query: str, key: str | None = None, **variables: object
         ) -> httpx.Response:
    headers = bearer(key) if key else {}
    return httpx.post(f"{secured.url}/graphql", json={"query": query, "variables": variables},
                      headers=headers, timeout=10)


def ingested_profile(secured: Secured, key: str) -> str:
    response = post(secured, INGEST, key, events=[EVENT])
    assert response.status_code == 200, response.text
    profile_id = response.json()["data"]["ingestEvents"]["results"][0]["profileId"]
    assert isinstance(profile_id, str), response.text
    return profile_id


def test_graphql_without_credentials_is_401_and_says_how(secured: Secured) -> None:
    response = post(secured, PROFILE, id="prf_x")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Authorization: Bearer" in error["message"]


@pytest.mark.parametrize("credential", [
    "idk_aaaaaaaaaaaa_" + "A" * 43,  # well formed, unknown
    "idk_short",  # malformed
    "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",  # a JWT, and no JWKS configured
])
def test_graphql_with_a_credential_that_does_not_verify_is_401(secured: Secured,
                                                                credential: str) -> None:
    response = post(secured, PROFILE, credential, id="prf_x")
    assert response.status_code == 401
    assert credential not in response.text  # never echoed


def test_a_key_is_held_to_its_scopes_over_graphql(secured: Secured) -> None:
    ingest = issue_key(secured.settings, Scope.INGEST)
    reader = issue_key(secured.settings, Scope.PROFILE_READ)
    profile_id = ingested_profile(secured, ingest)

    denied = post(secured, PROFILE, ingest, id=profile_id)  # ingest may not read
    assert denied.status_code == 403
    (error,) = denied.json()["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["message"] == "profile needs the profile:read scope"
    assert denied.json()["data"] is None

    read = post(secured, PROFILE, reader, id=profile_id)
    assert read.status_code == 200 and read.json()["data"]["profile"]["id"] == profile_id
    assert post(secured, INGEST, reader, events=[EVENT]).status_code == 403
    assert post(secured, AUDIT, reader).status_code == 403  # steward's
    # A denied field hidden in a fragment is found too; nothing of the operation runs.
    sneaky = "query { ...F } fragment F on Query { auditLog { entries { actionId } } }"
    assert post(secured, sneaky, reader).status_code == 403


def test_admin_holds_every_scope(secured: Secured) -> None:
    admin = issue_key(secured.settings, Scope.ADMIN)
    profile_id = ingested_profile(secured, admin)
    assert post(secured, PROFILE, admin, id=profile_id).status_code == 200
    assert post(secured, AUDIT, admin).status_code == 200


def test_a_revoked_key_is_refused_within_the_cache_time(secured: Secured) -> None:
    reader = issue_key(secured.settings, Scope.PROFILE_READ)
    answered = post(secured, PROFILE, reader, id="prf_x")
    assert answered.status_code == 200
    assert answered.headers["cache-control"] == "no-store"  # a caller's data: never cached
    key_id = reader.split("_")[1]

    async def revoke() -> None:
        store = await open_store(secured.settings.store_config())
        try:
            assert await ApiKeys(store).revoke(key_id)
        finally:
            await store.close()

    asyncio.run(revoke())
    deadline = time.monotonic() + 10
    while post(secured, PROFILE, reader, id="prf_x").status_code == 200:
        assert time.monotonic() < deadline, "a revoked key still works after 10 s"
        time.sleep(0.2)
    response = post(secured, PROFILE, reader, id="prf_x")
    assert response.status_code == 401 and "revoked" in response.json()["errors"][0]["message"]


def test_graphiql_page_is_served_without_credentials_but_its_queries_are_not(
        secured: Secured) -> None:
    page = httpx.get(f"{secured.url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    query = httpx.get(f"{secured.url}/graphql", params={"query": "{ __typename }"},
                      headers={"Accept": "text/html"})
    assert query.status_code == 401


def call(method: Any, request: Any, key: str | None) -> grpc.RpcError | Any:
    try:
        return method(request, metadata=grpc_metadata(key) if key else None, timeout=10)
    except grpc.RpcError as error:
        return error


def test_grpc_needs_credentials_and_the_method_s_scope(secured: Secured) -> None:
    lookup = pb.ResolveRequest(identifiers=[pb.Identifier(kind="email",
                                                          value="ada.lovelace@northwind.org")],
                               mode=pb.ResolveRequest.MODE_LOOKUP)
    anonymous = call(secured.stub.Resolve, lookup, None)
    assert isinstance(anonymous, grpc.RpcError)
    assert anonymous.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "Bearer" in (anonymous.details() or "")

    ingest = issue_key(secured.settings, Scope.INGEST)
    denied = call(secured.stub.Resolve, lookup, ingest)
    assert isinstance(denied, grpc.RpcError)
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED
    assert denied.details() == "Resolve needs the profile:read scope"

    reader = issue_key(secured.settings, Scope.PROFILE_READ)
    assert not isinstance(call(secured.stub.Resolve, lookup, reader), grpc.RpcError)
    create = pb.ResolveRequest(identifiers=lookup.identifiers, mode=pb.ResolveRequest.MODE_CREATE)
    refused = call(secured.stub.Resolve, create, reader)  # creating is ingesting
    assert isinstance(refused, grpc.RpcError)
    assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    events = pb.IngestEventsRequest(events=[pb.Event(
        event_id="g-1", type="identify", timestamp="2026-11-01T10:00:00Z", source="app",
        identifiers=lookup.identifiers)])
    ingested = call(secured.stub.IngestEvents, events, ingest)
    assert not isinstance(ingested, grpc.RpcError)
    assert ingested.results[0].status == pb.EventResult.STATUS_ACCEPTED
    stewarding = call(secured.stub.Undo, pb.UndoRequest(action_id="x", actor="a", reason="r"),
                      reader)
    assert isinstance(stewarding, grpc.RpcError)
    assert stewarding.code() == grpc.StatusCode.PERMISSION_DENIED


def test_several_credentials_in_one_request_are_refused_on_both_apis(secured: Secured) -> None:
    """HTTP servers keep the last of repeated headers, gRPC the first: one only, or none."""
    reader = issue_key(secured.settings, Scope.PROFILE_READ)
    steward = issue_key(secured.settings, Scope.STEWARD)
    for pair in ([reader, steward], [steward, reader]):
        response = httpx.post(f"{secured.url}/graphql", json={"query": AUDIT}, headers=[
            ("Authorization", f"Bearer {pair[0]}"), ("Authorization", f"Bearer {pair[1]}")])
        assert response.status_code == 401
        assert response.json()["errors"][0]["message"] == "2 Authorization values: send one"
        both = (("authorization", f"Bearer {pair[0]}"), ("authorization", f"Bearer {pair[1]}"))
        with pytest.raises(grpc.RpcError) as refused:
            secured.stub.GetProfile(pb.GetProfileRequest(profile_id="prf_x"), metadata=both,
                                    timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_grpc_health_is_open_to_load_balancers(secured: Secured) -> None:
    health: Any = health_pb2_grpc.HealthStub(secured.channel)  # the stubs omit its methods
    answer = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert answer.status in (health_pb2.HealthCheckResponse.SERVING,
                             health_pb2.HealthCheckResponse.NOT_SERVING)


def test_every_root_field_and_every_grpc_method_is_given_its_scope() -> None:
    """A field or method missing from the tables needs admin: this says which to add."""
    graphql_schema = schema._schema
    for operation, root in (("query", graphql_schema.query_type),
                            ("mutation", graphql_schema.mutation_type),
                            ("subscription", graphql_schema.subscription_type)):
        assert root is not None
        missing = set(root.fields) - set(ROOT_FIELD_SCOPES[operation])
        assert not missing, f"{operation} fields without a scope in permissions.py: {missing}"
    opened = {(operation, field) for operation, fields in ROOT_FIELD_SCOPES.items()
              for field, scope in fields.items() if scope is AUTHENTICATED}
    assert opened == {("query", "viewer")}, "a field open to every caller names its caller only"
    methods = set(pb.DESCRIPTOR.services_by_name["IdentityService"].methods_by_name)
    assert methods <= set(METHOD_SCOPES), f"methods without a scope: {methods - set(METHOD_SCOPES)}"


def test_the_audit_log_names_the_key_that_acted_not_only_the_name_it_gave(
        secured: Secured) -> None:
    steward = issue_key(secured.settings, Scope.STEWARD, Scope.INGEST)
    first = ingested_profile(secured, steward)
    other = {**EVENT, "eventId": "auth-2",
             "identifiers": [{"kind": "email", "value": "grace.hopper@northwind.org"}]}
    second = post(secured, INGEST, steward, events=[other]).json()[
        "data"]["ingestEvents"]["results"][0]["profileId"]
    merged = post(secured, """mutation($ids: [ID!]!) { merge(profileIds: $ids, actor: "sam",
        reason: "same person") { actionId } }""", steward, ids=[first, second])
    assert merged.status_code == 200, merged.text
    log = post(secured, "{ auditLog { entries { action actor } } }", steward).json()
    key_id = steward.split("_")[1]
    assert {"action": "merge", "actor": f"key:{key_id} for sam"} in log["data"]["auditLog"][
        "entries"]


async def _init(url: str, payload: dict[str, object], headers: dict[str, str] | None = None
                ) -> tuple[Any, dict[str, Any]]:
    ws = await connect(url.replace("http", "ws") + "/graphql", subprotocols=[
        Subprotocol("graphql-transport-ws")], additional_headers=headers, open_timeout=10)
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    try:
        answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
    except ConnectionClosed as closed:
        answer = {"closed": closed.rcvd.code if closed.rcvd else None}
    return ws, answer


async def test_a_websocket_authenticates_in_connection_init_or_its_upgrade(
        secured: Secured) -> None:
    reader = await issue_for(secured.settings, Scope.PROFILE_READ)
    ingest = await issue_for(secured.settings, Scope.INGEST)
    ws, ack = await _init(secured.url, {"Authorization": f"Bearer {reader}"})
    assert ack == {"type": "connection_ack"}
    await ws.close()

    ws, refused = await _init(secured.url, {"Authorization": "Bearer idk_nope"})
    assert refused == {"closed": 4403}
    ws, refused = await _init(secured.url, {})
    assert refused == {"closed": 4403}

    ws, ack = await _init(secured.url, {"Authorization": f"Bearer {ingest}"})
    assert ack["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
        "query": "subscription { profileChanges { kind } }"}}))
    error = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert error["type"] == "error"
    assert error["payload"][0]["message"] == "profileChanges needs the profile:read scope"
    await ws.close()

    with pytest.raises(InvalidStatus) as upgrade:  # a bad header: refused at the upgrade
        await _init(secured.url, {}, headers=bearer("idk_" + "x" * 20))
    assert upgrade.value.response.status_code == 403
    ws, ack = await _init(secured.url, {}, headers=bearer(reader))
    assert ack == {"type": "connection_ack"}
    await ws.close()


async def test_a_websocket_whose_key_is_revoked_is_closed_and_reads_no_more(
        secured: Secured, monkeypatch: pytest.MonkeyPatch) -> None:
    """A socket outlives the HTTP requests that check keys: its credential is verified
    again before each operation and every few seconds, so a revoked key stops reading."""
    monkeypatch.setattr(graphql_http, "CREDENTIAL_RECHECK_S", 0.3)
    reader = await issue_for(secured.settings, Scope.PROFILE_READ)
    ws, ack = await _init(secured.url, {"Authorization": f"Bearer {reader}"})
    assert ack == {"type": "connection_ack"}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
        "query": "subscription { profileChanges { kind } }"}}))
    store = await open_store(secured.settings.store_config())
    try:
        assert await ApiKeys(store).revoke(reader.split("_")[1])
    finally:
        await store.close()
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(10):  # the key cache's 2 s, then a recheck
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    assert "revoked" in closed.value.rcvd.reason


async def test_a_websocket_shows_what_its_connection_init_key_may_see(
        secured: Secured) -> None:
    """The caller named in connection_init decides the masking, not the anonymous socket it
    opened as: a key with profile:read_pii reads clear values over the socket too."""
    admin = await issue_for(secured.settings, Scope.ADMIN)
    clear = await issue_for(secured.settings, Scope.PROFILE_READ, Scope.PROFILE_READ_PII)
    profile_id = await asyncio.to_thread(ingested_profile, secured, admin)
    ws, ack = await _init(secured.url, {"Authorization": f"Bearer {clear}"})
    assert ack == {"type": "connection_ack"}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
        "query": "query($id: ID!) { profile(id: $id) { identifiers { identifiers { value } } } }",
        "variables": {"id": profile_id}}}))
    answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
    await ws.close()
    values = {n["value"] for g in answer["payload"]["data"]["profile"]["identifiers"]
              for n in g["identifiers"]}
    assert "ada.lovelace@northwind.org" in values
