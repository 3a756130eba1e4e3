"""A full session of good and bad requests against `identity serve`, as a separate process
at the debug log level: its log holds no email, phone or name, and no traceback, whatever
the callers sent."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from starlette.websockets import WebSocketDisconnected as SentAfterClose
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from identity.api.graphql.http import TransportWS
from identity.cli.arguments import parser, settings_of
from identity.v1 import identity_pb2 as pb
from identity.v1 import identity_pb2_grpc
from load_tests.server import free_port, identity_server, sqlite_args
from tests.auth_fixtures import issue_key
from tests.neo4j_fixtures import Neo4jAccess, wiped

pytestmark = pytest.mark.e2e

EMAILS = ["zelda.quarry@fastmail.com", "bad@@quarry-mail.net", "quarry.x@mailbox.org"]
PHONES = ["+447700900461", "07700 900461", "+1 415 555 0133", "+447911123456"]  # [3]: valid
NAMES = ["Zelda", "Quarrington"]
INGEST = """mutation($e: [EventInput!]!) { ingestEvents(events: $e) { results { status } } }"""
LOOKUP = "query($k: String!, $v: String!) { profileByIdentifier(kind: $k, value: $v) { id } }"


def event(n: int, *identifiers: tuple[str, str], **fields: object) -> dict[str, object]:
    return {"eventId": f"log-{n}", "type": "identify", "timestamp": "2024-05-01T10:00:00Z",
            "source": "web", "identifiers": [{"kind": k, "value": v} for k, v in identifiers],
            **fields}


def graphql_session(url: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        good = event(1, ("email", EMAILS[0]), ("phone", PHONES[0]),
                     traits={"first_name": NAMES[0], "last_name": NAMES[1]})
        bad = [event(2, ("email", EMAILS[1]), ("phone", PHONES[1])),  # both malformed
               event(3, ("email", EMAILS[2]), traits={"first_name": NAMES[0] + "\ud800"}),
               event(4, ("phone", PHONES[2]), timestamp="2099-01-01T00:00:00Z")]
        http.post("/graphql", content=json.dumps({"query": INGEST, "variables": {
            "e": [good, *bad]}}), headers={"content-type": "application/json"})
        http.post("/graphql", json={"query": INGEST, "variables": {  # over the batch limit
            "e": [event(10 + i, ("email", EMAILS[0])) for i in range(1001)]}})
        for kind, value in [("email", EMAILS[0]), ("email", EMAILS[1]), ("phone", PHONES[1])]:
            http.get("/graphql", params={"query": LOOKUP, "variables": json.dumps(
                {"k": kind, "v": value})})
            http.post("/graphql", json={"query": LOOKUP, "variables": {"k": kind, "v": value}})
        http.get("/graphql", params={"query": f'{{ profileByIdentifier(kind: "email", '
                                              f'value: "{EMAILS[0]}") {{ nope }} }}'})
        http.post("/graphql", json={"query": f'{{ syntax error "{EMAILS[2]}" {NAMES[1]}'})
        http.post("/graphql", json={"query": f'{{ profile(id: "{EMAILS[0]}") {{ id }} }}'})
        http.get(f"/users/{EMAILS[0]}?phone={PHONES[0]}")
        http.post("/graphql", content=b'{"query": "' + EMAILS[0].encode() + b'"',
                  headers={"content-type": "application/json"})


OTHER = {"email": "ottoline.brack@fastmail.com", "phone": "+447400123456",
         "first_name": "Ottoline", "last_name": "Brackenbury", "date_of_birth": "1961-07-23",
         "address_line1": "41 Wenlock Mews", "city": "Aberystwyth", "postcode": "SY23 1DE"}
PROFILE = """query($id: ID!) { profile(id: $id) { id golden { name value } identifiers {
  identifiers { kind value links { a { value } b { value } comparison { fields { left right }
  } } } } } }"""


def pii_session(url: str, grpc_port: int) -> None:
    """Reads, explanations, search, a merge and a split of profiles full of personal data,
    shown in the clear (development mode) and audited, over GraphQL and gRPC."""
    person = {"first_name": NAMES[0], "last_name": NAMES[1], "date_of_birth": "1990-04-01",
              "address_line1": "9 Quarry Close", "city": "Quarrington", "postcode": "NE4 7QQ"}
    other = {k: v for k, v in OTHER.items() if k not in ("email", "phone")}
    with httpx.Client(base_url=url, timeout=30) as http:
        def ask(query: str, **variables: object) -> dict[str, object]:
            body: dict[str, object] = http.post("/graphql", json={
                "query": query, "variables": variables}).json()
            return body

        done = ask(INGEST.replace("{ status }", "{ status profileId }"), e=[
            event(20, ("email", EMAILS[0]), ("phone", PHONES[3]), traits=person),
            event(21, ("email", OTHER["email"]), ("phone", OTHER["phone"]), traits=other)])
        results = done["data"]["ingestEvents"]["results"]  # type: ignore[index]
        first, second = (r["profileId"] for r in results)
        for profile_id in (first, second):
            ask(PROFILE, id=profile_id)
        ask("""query($a: String!, $b: String!) { explain(a: {kind: "email", value: $a},
            b: {kind: "email", value: $b}) { path { rule } comparison { fields { left right } }
            } }""", a=EMAILS[0], b=OTHER["email"])
        ask("query($id: ID!) { explainProfile(id: $id) { steps { a { value } } } }", id=first)
        ask("query($q: String!) { search(query: $q) { items { matches { value } } } }",
            q=f"{NAMES[0]} {NAMES[1]}")
        merged = ask("""mutation($ids: [ID!]!) { merge(profileIds: $ids, actor: "sam",
            reason: "one person") { actionId profiles { golden { value } } } }""",
                     ids=[first, second])
        assert "errors" not in merged, merged
        ask("""mutation($id: ID!, $a: String!, $b: String!) { split(profileId: $id, sides: [
            [{kind: "email", value: $a}], [{kind: "email", value: $b}]], actor: "sam",
            reason: "two people") { actionId } }""", id=first, a=EMAILS[0], b=OTHER["email"])
        ask("""{ auditLog(filter: {action: "read_pii"}) { entries { actor } } }""")
        ask(PROFILE, id=OTHER["email"])  # bad input holding personal data
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        stub.GetProfile(pb.GetProfileRequest(profile_id=first))
        stub.Explain(pb.ExplainRequest(a=pb.Identifier(kind="email", value=EMAILS[0]),
                                       b=pb.Identifier(kind="phone", value=OTHER["phone"])))
        stub.BatchGetProfiles(pb.BatchGetProfilesRequest(identifiers=[
            pb.Identifier(kind="email", value=OTHER["email"])]))


GRPC_REFUSED = "/identity.v1.IdentityService/GetProfile"  # sent as bytes that do not decode


def grpc_session(port: int) -> dict[str, grpc.StatusCode]:
    """Each call, by what it tries, and the status it got back."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        calls: dict[str, Callable[[], object]] = {
            "lookup a malformed email": lambda: stub.Resolve(pb.ResolveRequest(
                identifiers=[pb.Identifier(kind="email", value=EMAILS[1])],
                mode=pb.ResolveRequest.MODE_LOOKUP)),
            "create by an unallocated phone": lambda: stub.Resolve(pb.ResolveRequest(
                identifiers=[pb.Identifier(kind="phone", value=PHONES[0])],
                mode=pb.ResolveRequest.MODE_CREATE)),
            "create by a valid phone": lambda: stub.Resolve(pb.ResolveRequest(
                identifiers=[pb.Identifier(kind="phone", value=PHONES[3])],
                mode=pb.ResolveRequest.MODE_CREATE)),
            "profile by an email": lambda: stub.GetProfile(
                pb.GetProfileRequest(profile_id=EMAILS[0])),
            "explain a bad phone": lambda: stub.Explain(pb.ExplainRequest(
                a=pb.Identifier(kind="email", value=EMAILS[0]),
                b=pb.Identifier(kind="phone", value="x"))),
            "ingest 1001 events": lambda: stub.IngestEvents(pb.IngestEventsRequest(events=[
                pb.Event(event_id="g-1", type="identify", timestamp="2024-05-01T10:00:00Z",
                         source="grpc", identifiers=[pb.Identifier(kind="email",
                                                                   value=EMAILS[1])])] * 1001)),
            "undecodable bytes": lambda: channel.unary_unary(GRPC_REFUSED)(
                b"\x0a\xff" + EMAILS[0].encode()),  # type: ignore[arg-type]  # raw bytes
        }
        codes: dict[str, grpc.StatusCode] = {}
        for name, call in calls.items():
            try:
                call()
                codes[name] = grpc.StatusCode.OK
            except grpc.RpcError as exc:  # most are refused: that is the point
                codes[name] = exc.code()
        return codes


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store_args(request: pytest.FixtureRequest, tmp_path: Path
               ) -> Iterator[tuple[list[str], dict[str, str]]]:
    if request.param == "sqlite":
        yield sqlite_args(tmp_path / "graph.db"), {}
        return
    access: Neo4jAccess = request.getfixturevalue("neo4j_access")
    wiped(access)
    yield (["--store", "neo4j", "--neo4j-uri", access.uri, "--neo4j-user", access.user],
           {"IDENTITY_NEO4J_PASSWORD": access.password})


def test_no_log_line_holds_personal_data_or_a_traceback(
        tmp_path: Path, store_args: tuple[list[str], dict[str, str]]) -> None:
    log = tmp_path / "serve.log"
    grpc_port = free_port()
    args, env = store_args
    with identity_server([*args, "--grpc-port", str(grpc_port)], env, log=log,
                         log_level="debug") as server:
        graphql_session(server.url)
        codes = grpc_session(grpc_port)
        pii_session(server.url, grpc_port)
    text = log.read_text(errors="replace")
    assert "identity.access: POST /graphql 200" in text  # the log was written, at debug
    # Every gRPC call reached the server and was answered by it, not by the channel.
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    assert codes == {"lookup a malformed email": invalid,
                     "create by an unallocated phone": invalid,
                     "create by a valid phone": grpc.StatusCode.OK,
                     "profile by an email": invalid, "explain a bad phone": invalid,
                     "ingest 1001 events": invalid, "undecodable bytes": invalid}
    (refused,) = [line for line in text.splitlines() if f"gRPC {GRPC_REFUSED}: " in line]
    assert refused.startswith("DEBUG") and refused.endswith(
        f"identity.grpc: gRPC {GRPC_REFUSED}: the request is not a valid "
        "identity.v1.GetProfileRequest message"), refused
    secrets = [*EMAILS, *PHONES, *NAMES, "quarry", "900461", "555 0133", "7911123456",
               "7911 123456", *OTHER.values(), "7400123456", "ottoline", "brack", "wenlock",
               "sy23", "1990-04-01", "ne4 7qq"]
    leaked = [s for s in secrets if s.lower() in text.lower()]
    assert leaked == [], [line for line in text.splitlines()
                          if any(s.lower() in line.lower() for s in leaked)][:5]
    assert "Traceback" not in text


# --- refusals with authentication on: none writes a traceback ---------------------------------

LIMITED_ENV = {"IDENTITY_RATE_BURST": "3", "IDENTITY_GRAPHQL_MAX_COST": "100",
               "IDENTITY_GRAPHQL_INTROSPECTION": "off"}
PAGE = "{ reviewQueue(first: 100) { items { profileA profileB } } }"  # costs 301


def key_for(args: list[str], env: dict[str, str], scopes: str, rate_per_s: float,
            monkeypatch: pytest.MonkeyPatch) -> str:
    """A key in the store the server was started on, read from the same flags."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = settings_of(parser().parse_args(["keys", "list", *args]))
    return issue_key(settings, scopes, rate_per_s=rate_per_s)


def refused_session(url: str, key: str, slow_key: str) -> list[int]:
    """HTTP: the statuses of failed authentication, scope, cost, introspection, bad JSON and
    rate refusals."""
    statuses = []
    with httpx.Client(base_url=url, timeout=30) as http:
        attempts: list[dict[str, str] | dict[bytes, bytes]] = [
            {}, {"authorization": "Basic " + EMAILS[0]},
            {"authorization": "Bearer idk_" + "x" * 12 + "_" + "y" * 43},
            {"authorization": "Bearer eyJhbGciOiJIUzI1NiJ9." + EMAILS[0]},
            {b"authorization": ("Bearer " + PHONES[0]).encode() + b"\xe9"}]  # not ASCII
        for headers in attempts:
            statuses.append(http.post("/graphql", json={"query": LOOKUP, "variables": {
                "k": "email", "v": EMAILS[0]}}, headers=headers).status_code)
        good = {"authorization": f"Bearer {key}"}
        for query in [PAGE, "{ __schema { types { name } } }", '{ __type(name: "X") { name } }']:
            statuses.append(http.post("/graphql", json={"query": query}, headers=good
                                      ).status_code)
        statuses.append(http.post("/graphql", content=b'{"query": "' + EMAILS[0].encode(),
                                  headers={**good, "content-type": "application/json"}
                                  ).status_code)
        slow = {"authorization": f"Bearer {slow_key}"}
        for _ in range(5):  # a burst of 3, then refused
            statuses.append(http.post("/graphql", json={"query": INGEST, "variables": {
                "e": [event(90, ("email", EMAILS[0]))]}}, headers=slow).status_code)
    return statuses


def websocket_session(url: str, key: str, slow_key: str) -> list[str]:
    """Bad frames, no credentials in connection_init, a rate-limited key: how each ended."""
    ws_url = url.replace("http://", "ws://") + "/graphql"
    protocol = [Subprotocol("graphql-transport-ws")]
    ends: list[str] = []
    frames: list[list[str | bytes]] = [
        ["{not json " + EMAILS[0]],  # not a message
        [json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {key}"}}),
         b"\xff\xfe" + PHONES[0].encode()],  # then binary garbage
        [json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {key}"}}),
         json.dumps({"type": "subscribe", "id": "1", "payload": {
             "query": f'subscription {{ profileChanges(profileIds: ["{EMAILS[0]}"]) {{ kind '
                      f'}} }}'}}),
         json.dumps({"type": "what", "id": NAMES[0]})],
        [json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer " +
                                                            EMAILS[0]}})],
    ]
    for messages in frames:
        try:
            with ws_connect(ws_url, subprotocols=protocol, open_timeout=10) as ws:
                for message in messages:
                    ws.send(message)
                while True:
                    ws.recv(timeout=10)
        except ConnectionClosed as closed:
            ends.append(f"closed {closed.rcvd.code if closed.rcvd else None}")
        except TimeoutError:
            ends.append("open")
    for _ in range(4):  # the slow key's bucket is empty: its upgrade is refused
        try:
            with ws_connect(ws_url, subprotocols=protocol, open_timeout=10,
                            additional_headers={"authorization": f"Bearer {slow_key}"}):
                ends.append("accepted")
        except InvalidStatus as refused:
            ends.append(f"refused {refused.response.status_code}")
        except ConnectionClosed as closed:
            ends.append(f"closed {closed.rcvd.code if closed.rcvd else None}")
    return ends


def grpc_refusals(port: int, key: str, slow_key: str) -> list[grpc.StatusCode]:
    codes = []
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        reflection: Any = reflection_pb2_grpc.ServerReflectionStub(channel)
        calls: list[Callable[[], object]] = [
            lambda: stub.GetProfile(pb.GetProfileRequest(profile_id="prf_1")),
            lambda: stub.GetProfile(pb.GetProfileRequest(profile_id="prf_1"), metadata=(
                ("authorization", "Bearer idk_" + EMAILS[0]),)),
            lambda: stub.IngestEvents(pb.IngestEventsRequest(), metadata=(
                ("authorization", f"Bearer {slow_key}"),)),
            lambda: list(reflection.ServerReflectionInfo(iter([
                reflection_pb2.ServerReflectionRequest(list_services="")]),
                metadata=(("authorization", f"Bearer {key}"),))),
        ]
        for call in calls:
            try:
                call()
                codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as exc:
                codes.append(exc.code())
    return codes


def test_refusals_with_authentication_on_write_no_traceback(
        tmp_path: Path, store_args: tuple[list[str], dict[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Failed authentication, rate limits, cost and introspection refusals, bad JSON and bad
    WebSocket frames, over HTTP, WebSocket and gRPC: answered, logged without a traceback,
    a key or the caller's text."""
    log = tmp_path / "serve.log"
    grpc_port = free_port()
    args, env = store_args
    with identity_server([*args, "--grpc-port", str(grpc_port)], {**env, **LIMITED_ENV},
                         log=log, log_level="debug", dev=False) as server:
        key = key_for(args, env, "admin", 100_000, monkeypatch)
        slow_key = key_for(args, env, "profile:read", 0.01, monkeypatch)  # no ingest: 403
        statuses = refused_session(server.url, key, slow_key)
        ends = websocket_session(server.url, key, slow_key)
        codes = grpc_refusals(grpc_port, key, slow_key)
    text = log.read_text(errors="replace")
    assert statuses == [401, 401, 401, 401, 401, 200, 200, 200, 400, 403, 403, 403, 429, 429]
    assert ends[:4] == ["closed 4400", "closed 4400", "closed 4400", "closed 4403"], ends
    assert ends[4:] == ["refused 403"] * 4, ends
    assert codes == [grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.UNAUTHENTICATED,
                     grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNIMPLEMENTED]
    assert "identity.access: POST /graphql 429" in text  # the log was written, at debug
    secrets = [*EMAILS, *PHONES, *NAMES, key, slow_key, "quarry", "900461"]
    leaked = [s for s in secrets if s.lower() in text.lower()]
    assert leaked == [], [line for line in text.splitlines()
                          if any(s.lower() in line.lower() for s in leaked)][:5]
    assert "Traceback" not in text


async def test_an_answer_to_a_client_already_gone_is_not_logged_as_a_bug(
        caplog: pytest.LogCaptureFixture) -> None:
    """The race the session above can lose: strawberry's operation task sends its refusal
    after the socket was closed for the client's next, broken, message."""
    handler = object.__new__(TransportWS)  # handle_task_exception reads no state
    with caplog.at_level(logging.DEBUG, logger="strawberry.ws.task"):
        await handler.handle_task_exception(SentAfterClose("the client is gone"))
        assert caplog.records == []
        await handler.handle_task_exception(ValueError("a bug"))
    (record,) = caplog.records
    assert record.exc_info is not None and record.exc_info[0] is ValueError
