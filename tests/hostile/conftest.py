"""The service as `identity serve` runs it (GraphQL and gRPC on one store), once per store:
hostile input must be harmless on the embedded store and on Neo4j alike."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import pytest

from identity.config import Settings
from identity.v1 import identity_pb2_grpc
from tests.api.conftest import ServerThread
from tests.neo4j_fixtures import Neo4jAccess, wiped


@dataclass(frozen=True)
class Service:
    http: httpx.Client
    grpc: identity_pb2_grpc.IdentityServiceStub


def _settings(kind: str, folder: Path, request: pytest.FixtureRequest) -> Settings:
    local = Settings(database=str(folder / "graph.db"), model=str(folder / "model.json"),
                     rules=str(folder / "rules.toml"), grpc_port=0, dev_mode=True)
    if kind == "sqlite":
        return local
    access: Neo4jAccess = request.getfixturevalue("neo4j_access")
    wiped(access)
    return Settings(store="neo4j", neo4j_uri=access.uri, neo4j_user=access.user,
                    neo4j_password=access.password, model=local.model, rules=local.rules,
                    grpc_port=0, dev_mode=True)


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Service]:
    settings = _settings(request.param, tmp_path_factory.mktemp("hostile"), request)
    thread = ServerThread(settings)
    with thread as url, httpx.Client(base_url=url, timeout=30) as http:
        port = thread.grpc_port
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield Service(http, identity_pb2_grpc.IdentityServiceStub(channel))
