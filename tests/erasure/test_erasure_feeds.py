"""The `erased` change reaches a GraphQL profileChanges subscriber and a gRPC WatchChanges
stream alike, field by field, with ids only, and is all the log keeps of the profile, on
both stores (docs/architecture.md, invariant 8
and "Erasure and access")."""

from __future__ import annotations

from identity.store import GraphStore
from identity.v1 import identity_pb2 as pb
from tests.api.test_graphql_subscriptions import (
    WAIT_S,
    from_grpc,
    ingest,
    kinds,
    serving,
    store,
    subscriber,
    timed,
)

__all__ = ["store"]  # the fixture: a SQLite file or the session's Neo4j

ERASE = """mutation($id: ID!) { eraseProfile(id: $id, reason: "request 77") { actionId } }"""


async def test_subscribers_hear_the_erasure_as_grpc_watchers_do(store: GraphStore) -> None:
    async with serving(store) as served:
        result = await ingest(served, "feed-1", "2024-03-02T10:00:00Z",
                              (("email", "lena.berg@northwind.org"), ("customer_id", "c-lb")))
        profile_id = result["profileId"]
        async with subscriber(served) as ws:
            await ws.subscribe("mine", ids=[profile_id])
            (created,) = await ws.changes(1, "mine")
            response = await served.http.post("/graphql", json={
                "query": ERASE, "variables": {"id": profile_id}})
            assert response.status_code == 200, response.text
            action_id = response.json()["data"]["eraseProfile"]["actionId"]
            (erased,) = await ws.changes(1, "mine")
            await ws.nothing_more()

        assert kinds([created, erased]) == [("CREATED", "feed-1"), ("ERASED", action_id)]
        assert erased["profileId"] == profile_id
        assert erased["absorbedIds"] == [] and erased["splitIds"] == []
        # Watched from the start after the erasure: the log holds the erased change alone.
        call = served.grpc.WatchChanges(pb.WatchChangesRequest(profile_ids=[profile_id]),
                                        timeout=WAIT_S)
        streamed = from_grpc(await call.read())
        call.cancel()
        assert streamed == timed(erased)
