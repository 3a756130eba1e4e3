"""A full session of good and bad requests against `identity serve`, as a separate process
at the debug log level: its log holds no email, phone or name, and no traceback, whatever
the callers sent."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from identity.v1 import identity_pb2 as pb
from identity.v1 import identity_pb2_grpc
from load_tests.server import free_port, identity_server, sqlite_args
from tests.neo4j_fixtures import Neo4jAccess, empty_neo4j_store

pytestmark = pytest.mark.e2e

EMAILS = ["zelda.quarry@fastmail.com", "bad@@quarry-mail.net", "quarry.x@mailbox.org"]
PHONES = ["+447700900461", "07700 900461", "+1 415 555 0133"]
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


def grpc_session(port: int) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        calls: list[Callable[[], object]] = [
            lambda: stub.Resolve(pb.ResolveRequest(identifiers=[pb.Identifier(
                kind="email", value=EMAILS[1])], mode=pb.ResolveRequest.MODE_LOOKUP)),
            lambda: stub.Resolve(pb.ResolveRequest(identifiers=[pb.Identifier(
                kind="phone", value=PHONES[0])], mode=pb.ResolveRequest.MODE_CREATE)),
            lambda: stub.GetProfile(pb.GetProfileRequest(profile_id=EMAILS[0])),
            lambda: stub.Explain(pb.ExplainRequest(a=pb.Identifier(kind="email", value=EMAILS[0]),
                                                   b=pb.Identifier(kind="phone", value="x"))),
            lambda: stub.IngestEvents(pb.IngestEventsRequest(events=[pb.Event(
                event_id="g-1", type="identify", timestamp="2024-05-01T10:00:00Z", source="grpc",
                identifiers=[pb.Identifier(kind="email", value=EMAILS[1])])] * 1001)),
            lambda: channel.unary_unary("/identity.v1.IdentityService/GetProfile")(
                b"\x0a\xff" + EMAILS[0].encode()),  # type: ignore[arg-type]  # raw bytes
        ]
        for call in calls:
            with contextlib.suppress(grpc.RpcError):  # most are refused: that is the point
                call()


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store_args(request: pytest.FixtureRequest, tmp_path: Path
               ) -> Iterator[tuple[list[str], dict[str, str]]]:
    if request.param == "sqlite":
        yield sqlite_args(tmp_path / "graph.db"), {}
        return
    access: Neo4jAccess = request.getfixturevalue("neo4j_access")

    async def wipe() -> None:
        async with empty_neo4j_store(access):
            pass

    asyncio.run(wipe())
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
        grpc_session(grpc_port)
    text = log.read_text(errors="replace")
    assert "identity.access: POST /graphql 200" in text  # the log was written, at debug
    secrets = [*EMAILS, *PHONES, *NAMES, "quarry", "900461", "555 0133"]
    leaked = [s for s in secrets if s.lower() in text.lower()]
    assert leaked == [], [line for line in text.splitlines()
                          if any(s.lower() in line.lower() for s in leaked)][:5]
    assert "Traceback" not in text
