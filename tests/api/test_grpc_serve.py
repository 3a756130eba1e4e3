"""gRPC inside `identity serve`: beside GraphQL in the app's lifespan, over one service; its
port from the flag or the environment; a port that cannot be bound fails the start."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from identity import cli
from identity.api.auth.authenticator import DEVELOPMENT_MODE
from identity.api.grpc.server import start_server
from identity.cli.arguments import parser, settings_of
from identity.config import Settings
from identity.service import IdentityService
from identity.store.sqlite import SqliteGraphStore
from identity.v1 import identity_pb2 as pb
from tests.api.conftest import Served, ServerThread, graphql


def test_grpc_and_graphql_share_one_service(served: Served) -> None:
    created = served.stub.Resolve(pb.ResolveRequest(
        mode=pb.ResolveRequest.MODE_CREATE, source="checkout",
        identifiers=[pb.Identifier(kind="email", value="ada@shop.com")]), timeout=5)
    health = cast(Any, health_pb2_grpc.HealthStub(served.channel)).Check(
        health_pb2.HealthCheckRequest(service="identity.v1.IdentityService"), timeout=5)
    explained = served.stub.Explain(pb.ExplainRequest(
        a=pb.Identifier(kind="email", value="ada@shop.com"),
        b=pb.Identifier(kind="email", value="bob@shop.com")), timeout=5)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    assert explained.HasField("link_threshold")  # the served service matches in real time
    with httpx.Client(base_url=served.url, timeout=10) as client:
        body = graphql(client, "query($v: String!) { profileByIdentifier(kind: \"email\", "
                       "value: $v) { id } }", v="ada@shop.com")
    assert body["data"] == {"profileByIdentifier": {"id": created.profile_id}}


def test_shutdown_closes_the_grpc_port(settings: Settings) -> None:
    thread = ServerThread(settings)
    with thread:
        port = thread.grpc_port
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_grpc_off_starts_no_grpc_server(settings: Settings) -> None:
    off = Settings(database=settings.database, model=settings.model, grpc_port=None,
                   dev_mode=True)
    thread = ServerThread(off)
    with thread:
        assert thread.grpc_port is None


async def test_a_port_in_use_fails_the_start_with_the_address() -> None:
    store = SqliteGraphStore(":memory:")
    service = IdentityService(store)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"127.0.0.1:{port}"):
            await start_server(service, f"127.0.0.1:{port}", authenticator=DEVELOPMENT_MODE)
    await store.close()


@pytest.mark.parametrize(("raw", "port"), [("50052", 50052), ("0", 0), ("off", None),
                                           (" OFF ", None)])
def test_grpc_port_from_the_environment(raw: str, port: int | None) -> None:
    assert Settings.from_env({"IDENTITY_GRPC_PORT": raw}).grpc_port == port
    assert Settings.from_env({}).grpc_port == 50051


@pytest.mark.parametrize("raw", ["", "grpc", "-1", "70000", "\u0665\u0660\u0660\u0665\u0661",
                                 "50_051", "8" * 5000])
def test_a_bad_grpc_port_names_the_variable(raw: str) -> None:
    """Arabic-Indic digits and underscores were read as a port; a long value is shown cut."""
    with pytest.raises(ValueError, match="IDENTITY_GRPC_PORT must be a port number") as refused:
        Settings.from_env({"IDENTITY_GRPC_PORT": raw})
    assert len(str(refused.value)) < 120


def test_the_grpc_port_flag_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_GRPC_PORT", "6000")
    parse = parser().parse_args
    assert settings_of(parse(["serve"])).grpc_port == 6000
    assert settings_of(parse(["serve", "--grpc-port", "off"])).grpc_port is None
    assert settings_of(parse(["serve", "--grpc-port", "7000"])).grpc_port == 7000


def test_serve_with_a_bad_grpc_port_exits_with_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve", "--database", str(tmp_path / "g.db"), "--grpc-port", "x"]) == 2
    assert "--grpc-port must be a port number" in capsys.readouterr().err
