"""`viewer` over real HTTP: who the server authenticated, which the console reads to show only
the actions a key may take. Any authenticated caller may ask; nobody else."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from identity.config import Settings
from identity.domain.access import Scope
from tests.api.conftest import ServerThread, graphql, settings_on
from tests.auth_fixtures import bearer, issue_key

VIEWER = "{ viewer { subject scopes development } }"
EVERY_SCOPE = ["profile:read", "profile:read_pii", "ingest", "steward", "admin"]


@dataclass(frozen=True)
class Secured:
    url: str
    settings: Settings


@pytest.fixture
def secured(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Secured]:
    """`identity serve` with authentication on, on SQLite (keys from its store)."""
    settings = settings_on("sqlite", tmp_path, request)
    with ServerThread(settings) as url:
        yield Secured(url, settings)


def ask(secured: Secured, key: str | None) -> httpx.Response:
    return httpx.post(f"{secured.url}/graphql", json={"query": VIEWER},
                      headers=bearer(key) if key else {}, timeout=10)


def test_development_mode_is_the_development_caller_with_every_scope(
        client: httpx.Client) -> None:
    assert graphql(client, VIEWER) == {"data": {"viewer": {
        "subject": "development", "scopes": EVERY_SCOPE, "development": True}}}


def test_a_read_key_sees_itself_and_only_its_scope(secured: Secured) -> None:
    key = issue_key(secured.settings, Scope.PROFILE_READ)
    response = ask(secured, key)
    assert response.status_code == 200, response.text
    viewer = response.json()["data"]["viewer"]
    key_id = key.split("_")[1]  # idk_<id>_<secret>
    assert viewer == {"subject": f"key:{key_id}", "scopes": ["profile:read"],
                      "development": False}


def test_a_steward_key_lists_its_scopes_in_one_order(secured: Secured) -> None:
    key = issue_key(secured.settings, Scope.STEWARD, Scope.INGEST)
    assert ask(secured, key).json()["data"]["viewer"]["scopes"] == ["ingest", "steward"]


def test_an_admin_key_lists_every_scope_as_admin_holds_them_all(secured: Secured) -> None:
    viewer = ask(secured, issue_key(secured.settings, Scope.ADMIN)).json()["data"]["viewer"]
    assert viewer["scopes"] == EVERY_SCOPE and viewer["development"] is False


def test_without_a_key_there_is_no_viewer(secured: Secured) -> None:
    response = ask(secured, None)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


POSITION = "{ latestChangePosition }"
INGEST = """mutation($e: [EventInput!]!) { ingestEvents(events: $e) { accepted } }"""


def test_the_latest_change_position_moves_with_each_change_and_needs_read(
    secured: Secured,
) -> None:
    """What the console passes as `after` to follow a profile from now on."""
    reader = issue_key(secured.settings, Scope.PROFILE_READ)
    writer = issue_key(secured.settings, Scope.INGEST)
    with httpx.Client(base_url=secured.url, headers=bearer(reader), timeout=10) as client:
        empty = graphql(client, POSITION)["data"]["latestChangePosition"]
        assert empty == "0" * 20
        sent = httpx.post(f"{secured.url}/graphql", headers=bearer(writer), timeout=10, json={
            "query": INGEST, "variables": {"e": [{
                "eventId": "pos-1", "type": "identify", "timestamp": "2026-01-01T00:00:00Z",
                "source": "web", "identifiers": [{"kind": "customer_id", "value": "P-1"}]}]}})
        assert sent.json()["data"]["ingestEvents"]["accepted"] == 1
        assert graphql(client, POSITION)["data"]["latestChangePosition"] > empty
    refused = httpx.post(f"{secured.url}/graphql", json={"query": POSITION},
                         headers=bearer(writer), timeout=10)
    assert refused.status_code == 403
