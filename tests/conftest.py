from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from identity.api.auth.authenticator import DEVELOPMENT_MODE
from identity.api.grpc.server import GrpcServer, start_server
from identity.service import IdentityService
from identity.service.change_sinks import ListChangeSink
from identity.store.sqlite import SqliteGraphStore
from identity.v1 import identity_pb2_grpc


@pytest.fixture(autouse=True)
def no_saved_model(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                   ) -> None:
    """A model trained in the working copy (data/model.json) must not change what tests see:
    the service scores with the built-in model unless a test says otherwise."""
    monkeypatch.setenv("IDENTITY_MODEL", str(tmp_path_factory.mktemp("model") / "model.json"))


@pytest.fixture
def sink() -> ListChangeSink:
    return ListChangeSink()


@pytest.fixture
async def service(sink: ListChangeSink) -> AsyncIterator[IdentityService]:
    store = SqliteGraphStore(":memory:")
    yield IdentityService(store, sink=sink)
    await store.close()


@pytest.fixture
async def grpc_server(service: IdentityService) -> AsyncIterator[GrpcServer]:
    """`service` served by a real grpc.aio server on a free port (health follows it fast)."""
    running = await start_server(service, "127.0.0.1:0", authenticator=DEVELOPMENT_MODE,
                                 readiness_interval_s=0.02)
    yield running
    await running.stop(0)


@pytest.fixture
async def channel(grpc_server: GrpcServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_server.port}") as opened:
        yield opened


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> identity_pb2_grpc.IdentityServiceStub:
    return identity_pb2_grpc.IdentityServiceStub(channel)


pytest_plugins = ["tests.neo4j_fixtures", "tests.kafka_fixtures", "tests.both_stores"]
