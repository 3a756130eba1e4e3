"""Abuse limits through a real server, on both stores: per-key rates over HTTP and gRPC with
Retry-After, the GraphQL cost limit, and introspection with reflection switched off
(docs/architecture.md, "Security and privacy")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from identity.config import Settings
from identity.domain.access import Scope
from identity.v1 import identity_pb2 as pb
from identity.v1 import identity_pb2_grpc
from tests.api.conftest import ServerThread, settings_on
from tests.auth_fixtures import bearer, grpc_metadata, issue_key

PROFILE = '{ profile(id: "prf_0000") { id } }'
# Cost 1 + 6n: the page's selection (endCursor, items with two ids and a link's isActive)
# counted `first` times.
PAGE = ("query($n: Int!) { reviewQueue(first: $n) { endCursor items { profileA profileB "
        "link { isActive } } } }")
MAX_COST = 300
BURST = 3


@dataclass(frozen=True)
class Limited:
    url: str
    settings: Settings
    grpc_port: int
    stub: identity_pb2_grpc.IdentityServiceStub
    channel: grpc.Channel


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def limited(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Limited]:
    """`identity serve` with authentication on, a burst of 3, a cost limit of 300 and
    introspection off (as production should run)."""
    settings = settings_on(request.param, tmp_path_factory.mktemp("limits"), request,
                           rate_burst=BURST, graphql_max_cost=MAX_COST,
                           graphql_introspection=False)
    thread = ServerThread(settings)
    with thread as url:
        assert thread.grpc_port is not None
        with grpc.insecure_channel(f"127.0.0.1:{thread.grpc_port}") as channel:
            yield Limited(url, settings, thread.grpc_port,
                          identity_pb2_grpc.IdentityServiceStub(channel), channel)


def post(limited: Limited, key: str, query: str, **variables: object) -> httpx.Response:
    return httpx.post(f"{limited.url}/graphql", json={"query": query, "variables": variables},
                      headers=bearer(key), timeout=10)


def retry_after(error: grpc.RpcError) -> str:
    call: Any = error  # a refused call's error is its grpc.Call too
    found = [value for key, value in call.trailing_metadata() or () if key == "retry-after"]
    assert len(found) == 1, call.trailing_metadata()
    return str(found[0])


def fast_key(limited: Limited) -> str:
    """An admin key whose own rate no test reaches."""
    return issue_key(limited.settings, Scope.ADMIN, rate_per_s=100_000)


def test_a_key_over_its_rate_gets_429_with_retry_after_and_resource_exhausted(
        limited: Limited) -> None:
    slow = issue_key(limited.settings, Scope.PROFILE_READ, rate_per_s=0.01)
    for _ in range(BURST):
        assert post(limited, slow, PROFILE).status_code == 200
    refused = post(limited, slow, PROFILE)
    assert refused.status_code == 429
    # A token every 100 s, less what refilled while the burst was spent, rounded up.
    assert 95 <= int(refused.headers["retry-after"]) <= 100
    (error,) = refused.json()["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED"}
    assert error["message"].startswith("too many requests for this key: try again in ")
    assert "idk_" not in refused.text  # the key is never quoted

    # The same key over gRPC draws on the same bucket.
    with pytest.raises(grpc.RpcError) as over:
        limited.stub.GetProfile(pb.GetProfileRequest(profile_id="prf_0000"),
                                metadata=grpc_metadata(slow))
    assert over.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "too many requests for this key" in (over.value.details() or "")
    assert 95 <= int(retry_after(over.value)) <= 100

    # Another key is not held back by this one.
    assert post(limited, fast_key(limited), PROFILE).status_code == 200


def test_a_key_limited_over_grpc_first_gets_retry_after_there(limited: Limited) -> None:
    slow = issue_key(limited.settings, Scope.PROFILE_READ, rate_per_s=0.02)
    request = pb.GetProfileRequest(profile_id="prf_0000")
    for _ in range(BURST):  # served: there is no such profile
        with pytest.raises(grpc.RpcError) as served:
            limited.stub.GetProfile(request, metadata=grpc_metadata(slow))
        assert served.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as over:
        limited.stub.GetProfile(request, metadata=grpc_metadata(slow))
    assert over.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert 45 <= int(retry_after(over.value)) <= 50  # a token every 50 s
    assert 45 <= int(post(limited, slow, PROFILE).headers["retry-after"]) <= 50


def test_a_query_over_the_cost_limit_is_refused_naming_cost_and_limit(
        limited: Limited) -> None:
    key = fast_key(limited)
    small = post(limited, key, PAGE, n=2)
    assert small.status_code == 200 and "errors" not in small.json(), small.text
    big = post(limited, key, PAGE, n=100)  # the same text: the cost follows the variables
    (error,) = big.json()["errors"]
    assert error["message"] == (
        "the query costs 601 (each field 1, the fields under a page counted `first` times); "
        f"at most {MAX_COST} is served per request")
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 601,
                                   "maxCost": MAX_COST}
    assert big.json().get("data") is None  # refused before execution
    again = post(limited, key, PAGE, n=2)  # a refusal is not cached for the text
    assert "errors" not in again.json(), again.text
    literal = post(limited, key, PAGE.replace("query($n: Int!) ", "").replace("$n", "60"))
    assert "costs 361" in literal.json()["errors"][0]["message"]


def test_introspection_off_refuses_schema_and_type_and_turns_graphiql_off(
        limited: Limited) -> None:
    key = fast_key(limited)
    for query, name in [("{ __schema { queryType { name } } }", "__schema"),
                        ('{ __type(name: "Profile") { name } }', "__type"),
                        ("query { ...F } fragment F on Query { __schema { types { name } } }",
                         "__schema")]:
        (error,) = post(limited, key, query).json()["errors"]
        assert error["message"] == (f"introspection is off on this server: {name} is not "
                                    "served (IDENTITY_GRAPHQL_INTROSPECTION=off)")
    assert post(limited, key, "{ __typename }").json() == {"data": {"__typename": "Query"}}
    page = httpx.get(f"{limited.url}/graphql", headers={"accept": "text/html"}, timeout=10)
    assert "graphiql" not in page.text.lower()


def test_grpc_reflection_is_absent_when_introspection_is_off(limited: Limited) -> None:
    reflection: Any = reflection_pb2_grpc.ServerReflectionStub(limited.channel)
    key = fast_key(limited)
    with pytest.raises(grpc.RpcError) as absent:
        for _ in reflection.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                metadata=grpc_metadata(key)):
            pass
    assert absent.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_each_operation_on_an_open_websocket_takes_a_token(limited: Limited) -> None:
    """A socket opened within the rate cannot send past it: each subscribe message (a query
    sent on the socket here) is one request; one over the rate gets an `error` for that
    operation, and the socket stays open."""
    slow = issue_key(limited.settings, Scope.PROFILE_READ, rate_per_s=0.01)
    url = limited.url.replace("http://", "ws://") + "/graphql"
    with ws_connect(url, subprotocols=[Subprotocol("graphql-transport-ws")],
                    additional_headers=bearer(slow), open_timeout=10) as ws:  # token 1
        ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        answers = []
        for n in range(1, 4):  # tokens 2 and 3, then none
            ws.send(json.dumps({"id": str(n), "type": "subscribe",
                                "payload": {"query": "{ __typename }"}}))
            answers.append(json.loads(ws.recv(timeout=10)))
            if answers[-1]["type"] == "next":
                assert json.loads(ws.recv(timeout=10))["type"] == "complete"
        assert [a["type"] for a in answers] == ["next", "next", "error"]
        (refusal,) = answers[2]["payload"]
        assert refusal["message"].startswith("too many requests for this key")
        assert refusal["extensions"]["code"] == "RATE_LIMITED"
        assert 95 <= refusal["extensions"]["retryAfter"] <= 100
        ws.send(json.dumps({"type": "ping"}))  # still open
        assert json.loads(ws.recv(timeout=10))["type"] == "pong"
