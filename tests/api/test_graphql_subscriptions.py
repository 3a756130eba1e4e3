"""The profileChanges subscription over graphql-transport-ws: a real uvicorn serving create_app
(and a real grpc.aio server over the same service), a real WebSocket client (the websockets
package), on SQLite and on Neo4j. Changes arrive in commit order and as gRPC WatchChanges sends
them; a resume after the last position seen misses none and repeats none; a filter keeps the
changes that name its profiles; every refusal (a bad `after` or profile id, the watch bound
shared with gRPC, an oversized message, a silent connection, a too-large document) is clear
and costs only its own operation or connection."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import uvicorn
from prometheus_client import REGISTRY
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin, Subprotocol

from identity import cli
from identity.api.auth.authenticator import DEVELOPMENT_MODE
from identity.api.graphql.http import CONNECTION_INIT_TIMEOUT, create_app
from identity.api.grpc.server import start_server
from identity.api.limits import DEFAULT_MAX_BODY_BYTES, MAX_WATCH_STREAMS
from identity.service import IdentityService
from identity.store import GraphStore
from identity.store.sqlite import SqliteGraphStore
from identity.v1 import identity_pb2 as pb
from identity.v1 import identity_pb2_grpc
from tests.neo4j_fixtures import Neo4jAccess, empty_neo4j_store

PROTOCOL = Subprotocol("graphql-transport-ws")
WAIT_S = 15.0  # for what must come; Neo4j commits take longer than SQLite's
QUIET_S = 0.6  # for what must not: longer than the feed's poll interval (0.5 s)
FIELDS = "position changeId kind profileId absorbedIds splitIds causeEventId at"
SUBSCRIPTION = ("subscription($after: String, $ids: [ID!]) { profileChanges(after: $after, "
                f"profileIds: $ids) {{ {FIELDS} }} }}")
COLUMN = SUBSCRIPTION.index("profileChanges") + 1  # where an error of the field points
INGEST = ("mutation($events: [EventInput!]!) { ingestEvents(events: $events) "
          "{ results { status profileId mergedProfileIds } } }")
REFUSAL = ("at most {} watches (GraphQL profileChanges subscriptions, gRPC WatchChanges and "
           "health Watch streams) are open on this server; retry later")

TABLET, BOB = ("device_id", "tablet-1"), ("customer_id", "bob")
ANN, ANN_EMAIL, COOKIE = ("customer_id", "ann"), ("email", "ann@home.com"), ("anonymous_id", "c-1")
# (event id, timestamp, identifiers): the tablet first joins Bob's account and Ann's email;
# Ann's own login, sent late but stronger, takes her email back (a split of Bob's profile, then
# a merge of the piece into Ann's); then a cookie of hers is merged into her profile.
HOUSEHOLD: list[tuple[str, str, tuple[tuple[str, str], ...]]] = [
    ("e1", "2024-03-02T10:00:00Z", (TABLET, BOB)),
    ("e2", "2024-03-03T10:00:00Z", (TABLET, ANN_EMAIL)),
    ("e3", "2024-03-01T09:00:00Z", (ANN,)),
    ("e4", "2024-03-01T10:00:00Z", (ANN, ANN_EMAIL)),
    ("e5", "2024-03-04T10:00:00Z", (COOKIE,)),
    ("e6", "2024-03-04T11:00:00Z", (COOKIE, ANN)),
]
IN_ORDER = [("CREATED", "e1"), ("UPDATED", "e2"), ("CREATED", "e3"), ("SPLIT", "e4"),
            ("MERGED", "e4"), ("CREATED", "e5"), ("MERGED", "e6")]

Change = dict[str, Any]


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[GraphStore]:
    """An empty store: a SQLite file, or the session's Neo4j (what the neo4j_store fixture
    gives, opened here so that one fixture serves both)."""
    if request.param == "neo4j":
        access: Neo4jAccess = request.getfixturevalue("neo4j_access")
        async with empty_neo4j_store(access) as neo4j_store:
            yield neo4j_store
        return
    sqlite = SqliteGraphStore(str(tmp_path / "graph.db"))
    try:
        yield sqlite
    finally:
        await sqlite.close()


@dataclass(frozen=True)
class Served:
    http: httpx.AsyncClient
    ws_url: str
    grpc: Any  # identity_pb2_grpc.IdentityServiceStub; its stubs omit the methods


@asynccontextmanager
async def serving(store: GraphStore, *, max_watch_streams: int = MAX_WATCH_STREAMS,
                  max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                  connection_init_timeout: timedelta = CONNECTION_INIT_TIMEOUT,
                  ) -> AsyncIterator[Served]:
    """uvicorn serving create_app and a grpc.aio server, both over one service on `store`, on
    this test's event loop."""
    service = IdentityService(store)
    grpc_server = await start_server(service, "127.0.0.1:0", authenticator=DEVELOPMENT_MODE,
                                     max_watch_streams=max_watch_streams)
    app = create_app(lambda: service, max_body_bytes=max_body_bytes,
                     max_watch_streams=max_watch_streams,
                     connection_init_timeout=connection_init_timeout,
                     authenticator=DEVELOPMENT_MODE)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off",
                                           log_level="warning", log_config=None))
    task = asyncio.create_task(server.serve())
    try:
        deadline = time.monotonic() + WAIT_S
        while not server.started:
            assert not task.done() and time.monotonic() < deadline, "uvicorn did not start"
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=WAIT_S) as http, \
                grpc.aio.insecure_channel(f"127.0.0.1:{grpc_server.port}") as channel:
            yield Served(http, f"ws://127.0.0.1:{port}/graphql",
                         identity_pb2_grpc.IdentityServiceStub(channel))
    finally:
        server.should_exit = True
        await task
        await grpc_server.stop(0)


class Subscriber:
    """One acknowledged graphql-transport-ws connection."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def subscribe(self, op: str, *, after: str | None = None,
                        ids: list[str] | None = None, query: str = SUBSCRIPTION) -> None:
        await self.send({"id": op, "type": "subscribe", "payload": {
            "query": query, "variables": {"after": after, "ids": ids or []}}})

    async def message(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), WAIT_S))
        return found

    async def changes(self, count: int, op: str | None = None) -> list[Change]:
        found: list[Change] = []
        while len(found) < count:
            message = await self.message()
            assert message["type"] == "next" and "errors" not in message["payload"], message
            assert op is None or message["id"] == op, message
            found.append(message["payload"]["data"]["profileChanges"])
        return found

    async def errors(self, op: str) -> list[str]:
        message = await self.message()
        assert (message["id"], message["type"]) == (op, "error"), message
        return [error["message"] for error in message["payload"]]

    async def nothing_more(self) -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(self.ws.recv(), QUIET_S)

    async def closed(self) -> ConnectionClosed:
        """Reads on until the server closes the connection."""
        with pytest.raises(ConnectionClosed) as caught:
            while True:
                await asyncio.wait_for(self.ws.recv(), WAIT_S)
        return caught.value


@asynccontextmanager
async def subscriber(served: Served) -> AsyncIterator[Subscriber]:
    async with connect(served.ws_url, subprotocols=[PROTOCOL], open_timeout=WAIT_S) as ws:
        assert ws.subprotocol == PROTOCOL
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), WAIT_S)) == {
            "type": "connection_ack"}
        yield Subscriber(ws)


async def ingest(served: Served, event_id: str, timestamp: str,
                 identifiers: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """One event through GraphQL over HTTP; its result."""
    response = await served.http.post("/graphql", json={"query": INGEST, "variables": {
        "events": [{"eventId": event_id, "type": "identify", "timestamp": timestamp,
                    "source": "web",
                    "identifiers": [{"kind": k, "value": v} for k, v in identifiers]}]}})
    assert response.status_code == 200, response.text
    (result,) = response.json()["data"]["ingestEvents"]["results"]
    assert result["status"] == "ACCEPTED", result
    found: dict[str, Any] = result
    return found


def kinds(changes: list[Change]) -> list[tuple[str, str]]:
    return [(c["kind"], c["causeEventId"]) for c in changes]


def from_grpc(message: pb.ProfileChange) -> Change:
    """A WatchChanges message in GraphQL's words, `at` as the time it is."""
    return {"position": message.position, "changeId": message.change_id,
            "kind": pb.ProfileChange.Kind.Name(message.kind).removeprefix("KIND_"),
            "profileId": message.profile_id, "absorbedIds": list(message.absorbed_ids),
            "splitIds": list(message.split_ids), "causeEventId": message.cause_event_id,
            "at": message.at.ToDatetime(tzinfo=UTC)}


def timed(change: Change) -> Change:
    return {**change, "at": datetime.fromisoformat(change["at"])}


async def grpc_failure(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call.read()
    return caught.value


async def subscribed_once_a_slot_is_free(ws: Subscriber, op: str) -> Change:
    """A slot comes back when the server has seen the watch end, a moment after the client."""
    deadline = time.monotonic() + WAIT_S
    for attempt in range(1_000):
        await ws.subscribe(f"{op}-{attempt}")
        message = await ws.message()
        if message["type"] == "next":
            found: Change = message["payload"]["data"]["profileChanges"]
            return found
        assert message["payload"][0]["extensions"] == {"code": "RESOURCE_EXHAUSTED"}, message
        assert time.monotonic() < deadline, "no slot came back"
        await asyncio.sleep(0.02)
    raise AssertionError("no slot came back")


def open_subscriptions() -> float:
    return REGISTRY.get_sample_value("identity_graphql_subscriptions") or 0.0


# --- what a subscriber sees --------------------------------------------------------------------


async def test_a_subscriber_sees_a_split_and_a_merge_in_commit_order_as_grpc_does(
    store: GraphStore,
) -> None:
    async with serving(store) as served, subscriber(served) as ws:
        await ws.subscribe("feed")  # before any change: it waits for the first
        results = [await ingest(served, *event) for event in HOUSEHOLD]
        changes = await ws.changes(len(IN_ORDER), "feed")
        await ws.nothing_more()

        assert kinds(changes) == IN_ORDER
        positions = [c["position"] for c in changes]
        assert positions == sorted(positions) and len(set(positions)) == len(positions)
        bob, ann, cookie = (results[i]["profileId"] for i in (0, 2, 4))
        assert [c["profileId"] for c in changes] == [bob, bob, ann, bob, ann, cookie, ann]
        split, merged = changes[3], changes[4]
        (piece,) = split["splitIds"]  # Ann's email, carved out of Bob's profile...
        assert merged["absorbedIds"] == [piece] == results[3]["mergedProfileIds"]  # ...joins hers
        assert changes[6]["absorbedIds"] == [cookie]
        assert [c["changeId"] for c in changes] == [
            f"{c['causeEventId']}/{c['kind'].lower()}/{c['profileId']}" for c in changes]

        call = served.grpc.WatchChanges(pb.WatchChangesRequest(), timeout=WAIT_S)
        streamed = [from_grpc(await call.read()) for _ in changes]
        call.cancel()
        assert streamed == [timed(c) for c in changes]  # field by field, the same


async def test_resuming_after_the_last_position_seen_gives_every_later_change_once(
    store: GraphStore,
) -> None:
    async with serving(store) as served:
        for event in HOUSEHOLD[:3]:
            await ingest(served, *event)
        async with subscriber(served) as ws:
            await ws.subscribe("first")
            seen = await ws.changes(3)
        for event in HOUSEHOLD[3:]:  # while nobody watches
            await ingest(served, *event)

        async with subscriber(served) as ws:
            await ws.subscribe("resumed", after=seen[-1]["position"])
            resumed = await ws.changes(4)
            await ws.nothing_more()
            await ingest(served, "e7", "2024-03-05T10:00:00Z", (ANN, ("email", "ann@work.com")))
            live = await ws.changes(2)  # and it follows on
            await ws.nothing_more()
        async with subscriber(served) as ws:
            await ws.subscribe("all")
            every = await ws.changes(9)
            await ws.nothing_more()
        assert seen + resumed + live == every
        # Ann's profile holds a link back (the tablet's): her new email is settled, placed
        # first and then merged.
        assert kinds(every) == [*IN_ORDER, ("CREATED", "e7"), ("MERGED", "e7")]

        async with subscriber(served) as ws:  # between two changes of one commit
            await ws.subscribe("mid", after=every[3]["position"])  # after the split of e4
            assert await ws.changes(5) == every[4:]  # its merge comes first
            await ws.nothing_more()


async def test_a_subscription_to_some_profiles_sees_only_the_changes_that_name_them(
    store: GraphStore,
) -> None:
    async with serving(store) as served:
        results = [await ingest(served, *event) for event in HOUSEHOLD[:3]]
        bob, ann = results[0]["profileId"], results[2]["profileId"]
        async with subscriber(served) as for_ann, subscriber(served) as for_bob:
            await for_ann.subscribe("ann", ids=[ann])
            await for_bob.subscribe("bob", ids=[bob])
            later = [await ingest(served, *event) for event in HOUSEHOLD[3:]]
            assert kinds(await for_ann.changes(3)) == [
                ("CREATED", "e3"), ("MERGED", "e4"), ("MERGED", "e6")]
            assert kinds(await for_bob.changes(3)) == [
                ("CREATED", "e1"), ("UPDATED", "e2"), ("SPLIT", "e4")]
            await for_ann.nothing_more()
            await for_bob.nothing_more()

        cookie = later[1]["profileId"]  # absorbed into Ann's by e6: its watcher hears of it
        async with subscriber(served) as for_cookie:
            await for_cookie.subscribe("cookie", ids=[cookie, "prf_nobody"])
            changes = await for_cookie.changes(2)
            await for_cookie.nothing_more()
        assert kinds(changes) == [("CREATED", "e5"), ("MERGED", "e6")]
        assert changes[1]["absorbedIds"] == [cookie]


# --- refusals ----------------------------------------------------------------------------------


async def test_a_bad_after_or_profile_id_is_a_clear_error_and_the_same_as_over_grpc(
    store: GraphStore,
) -> None:
    async with serving(store) as served, subscriber(served) as ws:
        await ingest(served, *HOUSEHOLD[0])
        await ws.subscribe("one")
        (only,) = await ws.changes(1)
        await ws.send({"id": "one", "type": "complete"})
        ahead = f"{int(only['position']) + 98:020d}"
        reasons = {
            "not-a-position": "not a change position: 'not-a-position'; pass the position of "
                              "the last change received, or none to start from the oldest",
            ahead: f"position {ahead} is ahead of the change log (its last is "
                   f"{only['position']}): it comes from another store, or the store was "
                   "restored from an older backup",
        }
        for i, (after, reason) in enumerate(reasons.items()):
            await ws.subscribe(f"bad-{i}", after=after)
            assert await ws.errors(f"bad-{i}") == [f"after: {reason}"]
            error = await grpc_failure(served.grpc.WatchChanges(
                pb.WatchChangesRequest(after_position=after), timeout=WAIT_S))
            assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
            assert error.details() == f"after_position: {reason}"

        not_an_id = "'{}' is not a profile id (at most 64 letters, digits, '_' or '-')"
        await ws.subscribe("bad-ids", ids=["prf_ok", "not an id!", ""])
        assert await ws.errors("bad-ids") == [
            f"profileIds[1]: {not_an_id.format('not an id!')}; "
            f"profileIds[2]: {not_an_id.format('')}"]
        await ws.subscribe("too-many", ids=["\n"] * 1_001)  # refused by count, unchecked
        assert await ws.errors("too-many") == ["profileIds: at most 1000 per request, got 1001"]

        await ws.subscribe("good")  # the connection serves on
        assert await ws.changes(1, "good") == [only]


async def test_the_watch_bound_counts_grpc_streams_too_and_refuses_the_extra_subscriber(
    store: GraphStore,
) -> None:
    limit = 2
    before = open_subscriptions()
    async with serving(store, max_watch_streams=limit) as served:
        await ingest(served, *HOUSEHOLD[0])
        async with subscriber(served) as first, subscriber(served) as extra:
            for i in range(limit + 1):  # a refused position gives its slot back
                await first.subscribe(f"bad-{i}", after="nope")
                assert (await first.errors(f"bad-{i}"))[0].startswith("after: ")
            await first.subscribe("a")
            await first.changes(1)
            watching = served.grpc.WatchChanges(pb.WatchChangesRequest(), timeout=60)
            await watching.read()
            assert open_subscriptions() == before + 1

            await extra.subscribe("b")  # at once, not a hang
            message = await extra.message()
            assert message == {"id": "b", "type": "error", "payload": [{
                "message": REFUSAL.format(limit), "locations": [{"line": 1, "column": COLUMN}],
                "path": ["profileChanges"], "extensions": {"code": "RESOURCE_EXHAUSTED"}}]}
            error = await grpc_failure(served.grpc.WatchChanges(pb.WatchChangesRequest(),
                                                                timeout=WAIT_S))
            assert error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED

            watching.cancel()  # a gRPC stream that ends makes room for a subscription
            await subscribed_once_a_slot_is_free(extra, "c")
            await extra.subscribe("d")
            assert (await extra.errors("d")) == [REFUSAL.format(limit)]
            await first.send({"id": "a", "type": "complete"})  # and so does a subscription
            await subscribed_once_a_slot_is_free(extra, "e")
            assert open_subscriptions() == before + 2
        for _ in range(500):  # and so does a connection that closes, once the server sees it
            if open_subscriptions() == before:
                break
            await asyncio.sleep(0.02)
        assert open_subscriptions() == before


async def test_a_message_over_the_body_limit_closes_its_own_connection_only(
    store: GraphStore,
) -> None:
    limit = 16_384

    def message_of(size: int) -> dict[str, Any]:
        """A query over the socket (no subscription), padded to `size` bytes."""
        message: dict[str, Any] = {"id": "q", "type": "subscribe", "payload": {
            "query": "query { __typename }", "extensions": {"pad": ""}}}
        message["payload"]["extensions"]["pad"] = "x" * (size - len(json.dumps(message)))
        assert len(json.dumps(message)) == size
        return message

    async with serving(store, max_body_bytes=limit, max_watch_streams=2) as served:
        await ingest(served, *HOUSEHOLD[0])
        async with subscriber(served) as sender, subscriber(served) as other:
            await sender.subscribe("a")
            await sender.changes(1)
            await other.subscribe("b")
            await other.changes(1)

            await sender.send(message_of(limit))  # at the limit: served
            assert await sender.message() == {
                "id": "q", "type": "next", "payload": {"data": {"__typename": "Query"}}}
            assert (await sender.message())["type"] == "complete"
            await sender.send(message_of(limit + 1))
            closed = await sender.closed()
            assert closed.rcvd is not None
            assert (closed.rcvd.code, closed.rcvd.reason) == (
                1009, f"a message is at most {limit} bytes (max_body_bytes)")

            await ingest(served, *HOUSEHOLD[1])  # the other connection serves on
            assert kinds(await other.changes(1, "b")) == [("UPDATED", "e2")]
            async with subscriber(served) as again:  # and the closed one's slot came back
                await subscribed_once_a_slot_is_free(again, "c")


def test_identity_serve_bounds_a_websocket_message_in_uvicorn_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """uvicorn refuses a larger frame before it reads it whole (the app's bound sees a message
    only once uvicorn has read it)."""
    ran: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: ran.update(options))
    monkeypatch.setenv("IDENTITY_MAX_BODY_BYTES", "2048")
    assert cli.main(["serve", "--database", str(tmp_path / "graph.db")]) == 0
    assert ran["ws_max_size"] == 2048


async def test_a_connection_that_never_says_connection_init_is_closed(store: GraphStore) -> None:
    async with serving(store, connection_init_timeout=timedelta(seconds=0.3)) as served:
        async with connect(served.ws_url, subprotocols=[PROTOCOL]) as ws:
            started = time.monotonic()
            closed = await Subscriber(ws).closed()
            assert time.monotonic() - started < 5
        assert closed.rcvd is not None
        assert (closed.rcvd.code, closed.rcvd.reason) == (
            4408, "Connection initialisation timeout")
    assert CONNECTION_INIT_TIMEOUT.total_seconds() == 10  # what `identity serve` allows


async def test_query_limits_apply_to_subscription_documents(store: GraphStore) -> None:
    async with serving(store) as served:
        async with subscriber(served) as ws:
            fields = " ".join(["position"] * 501)
            await ws.subscribe("wide", query=f"subscription {{ profileChanges {{ {fields} }} }}")
            assert await ws.errors("wide") == [
                "the query selects 502 fields (fragments expanded); at most 500 are served per "
                "request"]
            await ws.subscribe("long", query="subscription { " + "a " * 5_001 + "}")
            closed = await ws.closed()  # strawberry closes on a syntax error
        assert closed.rcvd is not None
        assert (closed.rcvd.code, closed.rcvd.reason) == (
            4400, "Syntax Error: Document contains more than 5000 tokens. Parsing aborted.")

        async with subscriber(served) as ws:  # one quoting a long name: cut to a close frame
            await ws.subscribe("quote", query='subscription { "' + "x" * 300 + '" }')
            closed = await ws.closed()
        assert closed.rcvd is not None and closed.rcvd.code == 4400
        reason = closed.rcvd.reason
        assert reason.startswith("Syntax Error: ") and reason.endswith("xxx...")
        assert len(reason.encode()) == 123


async def test_only_graphql_transport_ws_serves_subscriptions(store: GraphStore) -> None:
    async with serving(store) as served:
        async with connect(served.ws_url, subprotocols=[Subprotocol("graphql-ws")]) as ws:
            closed = await Subscriber(ws).closed()
        assert closed.rcvd is not None
        assert (closed.rcvd.code, closed.rcvd.reason) == (4406, "Subprotocol not acceptable")

        response = await served.http.post("/graphql", json={"query": SUBSCRIPTION})
        assert (response.status_code, response.text) == (
            400, "subscriptions are served on the WebSocket of /graphql (protocol "
                 "graphql-transport-ws), not over HTTP")


STEWARD_MERGE = ("mutation($ids: [ID!]!) { merge(profileIds: $ids, actor: \"sam\", "
                 "reason: \"one person\") { actionId profileIds } }")
STEWARD_SPLIT = ("mutation($id: ID!, $sides: [[IdentifierInput!]!]!) { split(profileId: $id, "
                 "sides: $sides, actor: \"sam\", reason: \"two people\") { actionId profileIds } }")
STEWARD_UNDO = ("mutation($id: ID!) { undo(actionId: $id, actor: \"sam\", reason: \"back\") "
                "{ actionId } }")


async def steward(served: Served, query: str, **variables: Any) -> dict[str, Any]:
    response = await served.http.post("/graphql", json={"query": query, "variables": variables})
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    (done,) = body["data"].values()
    found: dict[str, Any] = done
    return found


async def test_a_subscriber_sees_a_stewards_merge_split_and_undo_in_order_and_resumes(
    store: GraphStore,
) -> None:
    """The actions' changes are caused by their audited action ids; a subscriber that drops
    after the merge resumes from its position and gets the split and the undo, once each."""
    async with serving(store) as served:
        ann = (await ingest(served, "s1", "2024-03-02T10:00:00Z", (ANN, ANN_EMAIL)))["profileId"]
        bob = (await ingest(served, "s2", "2024-03-02T11:00:00Z", (COOKIE, TABLET)))["profileId"]
        async with subscriber(served) as ws:
            await ws.subscribe("before", ids=[ann])
            known = await ws.changes(1)  # Ann's profile was created
            merged = await steward(served, STEWARD_MERGE, ids=[ann, bob])
            (change,) = await ws.changes(1)
        assert (change["kind"], change["profileId"], change["absorbedIds"],
                change["causeEventId"]) == ("MERGED", ann, [bob], merged["actionId"])
        split = await steward(served, STEWARD_SPLIT, id=ann, sides=[
            [{"kind": "customer_id", "value": "ann"}], [{"kind": "anonymous_id", "value": "c-1"}]])
        undone = await steward(served, STEWARD_UNDO, id=split["actionId"])
        async with subscriber(served) as ws:
            await ws.subscribe("resumed", after=change["position"], ids=[ann])
            later = await ws.changes(2)
            await ws.nothing_more()
        (carved,) = later[0]["splitIds"]
        assert [(c["kind"], c["causeEventId"]) for c in later] == [
            ("SPLIT", split["actionId"]), ("MERGED", undone["actionId"])]
        assert later[1]["absorbedIds"] == [carved]
        assert [c["position"] for c in [*known, change, *later]] == sorted(
            {c["position"] for c in [*known, change, *later]})


async def test_a_refused_origin_reaches_the_log_escaped_and_cut(
    store: GraphStore, caplog: pytest.LogCaptureFixture,
) -> None:
    """A page on another site may not open the socket; the log line saying so quotes the
    caller's Origin header bounded, never whole."""
    origin = "https://zelda.quarry.example/" + "x" * 3000
    async with serving(store) as served:
        with caplog.at_level(logging.WARNING, logger="strawberry.ws"), \
                pytest.raises(Exception) as refused:
            await connect(served.ws_url, subprotocols=[PROTOCOL], open_timeout=WAIT_S,
                          origin=Origin(origin))
    assert "403" in str(refused.value) or "rejected" in str(refused.value).lower()
    (line,) = [r.getMessage() for r in caplog.records if r.name == "strawberry.ws"]
    assert "https://zelda.quarry.example/xxx" in line and "x" * 200 not in line
    assert len(line) < 500
