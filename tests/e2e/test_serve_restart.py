"""`identity serve` as a user runs it: ingest, stop (even with kill -9), start, query again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

INGEST = """mutation($e: [EventInput!]!) { ingestEvents(events: $e) {
  results { status profileId } } }"""
LOOKUP = """query($kind: String!, $value: String!) { profileByIdentifier(kind: $kind, value: $value)
  { id firstName: field(name: "first_name") { value } identifiers { kind } } }"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(database: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "identity.cli", "serve", "--port", str(port),
         "--database", str(database), "--log-level", "warning"],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            assert process.stderr is not None
            raise RuntimeError(f"identity serve did not start: {process.stderr.read()!r}")
        time.sleep(0.1)
    try:
        yield process, url
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=15)
        assert process.stderr is not None
        process.stderr.close()


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
    with serving(database) as (process, url):
        body = post(url, INGEST, e=EVENTS)
        (result,) = body["data"]["ingestEvents"]["results"]  # type: ignore[index]
        assert result["status"] == "accepted".upper()
        process.send_signal(signal.SIGKILL)  # no chance to flush: the ack must already be durable
        process.wait(timeout=10)

    with serving(database) as (process, url):
        found = post(url, LOOKUP, kind="email", value="sam.ray@fastmail.com")
        profile = found["data"]["profileByIdentifier"]  # type: ignore[index]
        assert profile["id"] == result["profileId"]
        assert profile["firstName"] == {"value": "Sam"}
        again = post(url, INGEST, e=EVENTS)
        assert again["data"]["ingestEvents"]["results"][0]["status"] == "DUPLICATE"  # type: ignore[index]

    with serving(database) as (_, url):  # after a graceful stop too
        found = post(url, LOOKUP, kind="anonymous_id", value="cookie-9")
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
