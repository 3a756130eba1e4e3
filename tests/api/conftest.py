from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import uvicorn

from identity.app import build_app
from identity.config import Settings
from identity.v1 import identity_pb2_grpc
from tests.neo4j_fixtures import Neo4jAccess, wiped


class ServerThread:
    """A real uvicorn server on a free port, in a thread, for real HTTP clients; the console
    served from `console_static` when given (a build the test wrote)."""

    def __init__(self, settings: Settings, *, console_static: Path | None = None) -> None:
        self.app = build_app(settings, console_static=console_static)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0,
                                log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        (sock,) = self.server.servers[0].sockets
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    @property
    def grpc_port(self) -> int | None:
        """The gRPC port the app bound at start-up (None: gRPC off)."""
        port: int | None = self.app.state.grpc_port
        return port

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass(frozen=True)
class Served:
    """The app as `identity serve` runs it: GraphQL at `url`, gRPC on `grpc_port`, with an
    open channel to it and a stub on that channel."""

    url: str
    grpc_port: int
    channel: grpc.Channel
    stub: identity_pb2_grpc.IdentityServiceStub


def settings_on(kind: str, folder: Path, request: pytest.FixtureRequest, **fields: Any
                ) -> Settings:
    """`identity serve`'s settings on a SQLite file in `folder`, or on the session's Neo4j
    emptied (kind "neo4j"), gRPC on a free port, the match model file (absent: the built-in
    one) in `folder`; `fields` on top."""
    settings = Settings(database=str(folder / "graph.db"), model=str(folder / "m.json"),
                        grpc_port=0)
    if kind == "neo4j":
        access: Neo4jAccess = request.getfixturevalue("neo4j_access")
        wiped(access)
        settings = replace(settings, store="neo4j", neo4j_uri=access.uri,
                           neo4j_user=access.user, neo4j_password=access.password)
    return replace(settings, **fields)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database=str(tmp_path / "graph.db"), model=str(tmp_path / "model.json"),
                    grpc_port=0, dev_mode=True)


@pytest.fixture
def served(settings: Settings) -> Iterator[Served]:
    with served_on(settings) as running:
        yield running


@contextmanager
def served_on(settings: Settings) -> Iterator[Served]:
    """`identity serve` on `settings` (gRPC on), with a channel to its gRPC port."""
    thread = ServerThread(settings)
    with thread as url:
        port = thread.grpc_port
        assert port is not None, "the settings turn gRPC on"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield Served(url, port, channel, identity_pb2_grpc.IdentityServiceStub(channel))


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("api")
    # No model file there: the service scores with the built-in model.
    settings = Settings(database=str(folder / "graph.db"), model=str(folder / "model.json"),
                        grpc_port=0, dev_mode=True)
    with ServerThread(settings) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as http:
        yield http


def graphql(client: httpx.Client, query: str, **variables: object) -> dict[str, Any]:
    """The response body: JSON, typed as such (Any below the top)."""
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body

