"""`identity serve` as a user runs it: ingest, stop (even with kill -9), start, query again."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from load_tests.server import free_port, identity_server, sqlite_args

pytestmark = pytest.mark.e2e

INGEST = """mutation($e: [EventInput!]!) { ingestEvents(events: $e) {
  results { status profileId } } }"""
LOOKUP = """query($kind: String!, $value: String!) { profileByIdentifier(kind: $kind, value: $value)
  { id firstName: field(name: "first_name") { value } identifiers { kind } } }"""


def post(url: str, query: str, **variables: object) -> dict[str, object]:
    response = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables},
                          timeout=10)
    response.raise_for_status()
    body: dict[str, object] = response.json()
    return body


EVENTS = [
    {"eventId": "e-1", "type": "identify", "timestamp": "2024-04-01T08:00:00Z", "source": "web",
     "identifiers": [{"kind": "anonymous_id", "value": "cookie-9"},
                     {"kind": "email", "value": "Sam.Ray@fastmail.com"}],
     "traits": {"first_name": "Sam"}},
]


def test_acknowledged_events_survive_graceful_and_hard_restarts(tmp_path: Path) -> None:
    database = tmp_path / "graph.db"
    with identity_server(sqlite_args(database)) as server:
        body = post(server.url, INGEST, e=EVENTS)
        (result,) = body["data"]["ingestEvents"]["results"]  # type: ignore[index]
        assert result["status"] == "accepted".upper()
        server.process.send_signal(signal.SIGKILL)  # no chance to flush: the ack must be durable
        server.process.wait(timeout=10)

    with identity_server(sqlite_args(database)) as server:
        found = post(server.url, LOOKUP, kind="email", value="sam.ray@fastmail.com")
        profile = found["data"]["profileByIdentifier"]  # type: ignore[index]
        assert profile["id"] == result["profileId"]
        assert profile["firstName"] == {"value": "Sam"}
        again = post(server.url, INGEST, e=EVENTS)
        assert again["data"]["ingestEvents"]["results"][0]["status"] == "DUPLICATE"  # type: ignore[index]

    with identity_server(sqlite_args(database)) as server:  # after a graceful stop too
        found = post(server.url, LOOKUP, kind="anonymous_id", value="cookie-9")
        assert found["data"]["profileByIdentifier"]["id"] == result["profileId"]  # type: ignore[index]


def test_serve_reports_an_unusable_database_and_exits(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a folder should be")
    finished = subprocess.run(
        [sys.executable, "-m", "identity.cli", "serve", "--port", str(free_port()),
         "--database", str(blocker / "graph.db")],
        capture_output=True, text=True, timeout=30,
    )
    assert finished.returncode == 2
    assert "cannot open SQLite store" in finished.stderr
