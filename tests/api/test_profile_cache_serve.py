"""The profile cache inside `identity serve`: gRPC and GraphQL readers see every write, their
own server's at once and another process's (`identity ingest` on the same file) within the
cache's look interval."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from identity import cli
from identity.cli.arguments import parser, settings_of
from identity.config import Settings
from identity.service.profile_cache import LOOK_EVERY_S
from identity.v1 import identity_pb2 as pb
from identity.v1 import identity_pb2_grpc
from tests.api.conftest import Served, graphql
from tests.builders import event, ident


def first_name(stub: identity_pb2_grpc.IdentityServiceStub, email: str) -> str:
    response = stub.Resolve(pb.ResolveRequest(
        identifiers=[pb.Identifier(kind="email", value=email)]), timeout=5)
    golden: dict[str, str] = {g.name: g.value for g in response.profile.golden}
    return golden.get("first_name", "")


def test_a_write_through_graphql_is_read_at_once_over_grpc(
    served: Served,
) -> None:
    url, stub = served.url, served.stub
    mutation = ("mutation($events: [EventInput!]!) { ingestEvents(events: $events) "
                "{ results { status } } }")
    with httpx.Client(base_url=url, timeout=10) as client:
        for i, name in enumerate(["Ada", "Adeline"]):
            body = graphql(client, mutation, events=[{
                "eventId": f"e{i}", "type": "identify", "timestamp": f"2024-05-0{i + 1}T00:00:00Z",
                "source": "web", "identifiers": [{"kind": "email", "value": "ada@shop.com"}],
                "traits": {"first_name": name}}])
            assert body["data"]["ingestEvents"]["results"] == [{"status": "ACCEPTED"}]
            assert first_name(stub, "ada@shop.com") == name  # cached after the first read


def test_identity_ingest_on_the_same_file_is_seen_by_the_running_server(
    served: Served, settings: Settings, tmp_path: Path,
) -> None:
    stub = served.stub
    for day, name in ((1, "Ada"), (2, "Adeline")):
        events = tmp_path / f"day{day}.jsonl"
        events.write_text(json.dumps(event(ident("email", "ada@shop.com"),
                                           timestamp=f"2024-05-0{day}T00:00:00Z",
                                           traits={"first_name": name})) + "\n")
        assert cli.main(["ingest", str(events), "--database", settings.database,
                         "--quiet"]) == 0
        time.sleep(LOOK_EVERY_S)
        assert first_name(stub, "ada@shop.com") == name


def test_the_cache_size_comes_from_the_flag_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parse = parser().parse_args
    assert Settings.from_env({}).profile_cache == 10_000
    monkeypatch.setenv("IDENTITY_PROFILE_CACHE", "0")
    assert settings_of(parse(["serve"])).profile_cache == 0
    assert settings_of(parse(["serve", "--profile-cache", "50"])).profile_cache == 50


def test_a_negative_cache_size_stops_serve_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["serve", "--database", str(tmp_path / "g.db"),
                     "--profile-cache", "-1"]) == 2
    assert "IDENTITY_PROFILE_CACHE must be at least 0, got -1" in capsys.readouterr().err
