"""End to end over HTTP with API keys, on the app `identity serve` runs: a key without
`profile:read_pii` reads masked data, one with it reads it in the clear, and the lifespan's
audit task writes that read to the audit log within a second or so."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from identity.config import Settings
from identity.domain.access import Scope
from tests.api.conftest import ServerThread
from tests.auth_fixtures import bearer, issue_key
from tests.privacy.conftest import ANNA, ANNA_EMAIL, ANNA_PHONE, leaked

INGEST = """mutation($e: [EventInput!]!) { ingestEvents(events: $e) { results { status
  profileId } } }"""
PROFILE = """query($id: ID!) { profile(id: $id) { golden { name value } identifiers {
  identifiers { kind value } } } }"""
AUDIT = """{ auditLog(filter: {action: "read_pii"}) { entries { actor profileIds after } } }"""


def post(http: httpx.Client, key: str, query: str, **variables: object) -> dict[str, Any]:
    response = http.post("/graphql", json={"query": query, "variables": variables},
                         headers=bearer(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def test_keys_read_masked_or_clear_and_clear_reads_are_audited(tmp_path: Path) -> None:
    settings = replace(Settings(database=str(tmp_path / "graph.db"),
                                model=str(tmp_path / "model.json"), grpc_port=None),
                       dev_mode=False)
    ingest, masked, clear = (issue_key(settings, *scopes) for scopes in (
        [Scope.INGEST], [Scope.PROFILE_READ], [Scope.PROFILE_READ, Scope.PROFILE_READ_PII,
                                               Scope.STEWARD]))
    with ServerThread(settings) as url, httpx.Client(base_url=url, timeout=10) as http:
        done = post(http, ingest, INGEST, e=[{
            "eventId": "http-1", "type": "identify", "timestamp": "2025-01-05T10:00:00Z",
            "source": "web", "identifiers": [{"kind": "email", "value": ANNA_EMAIL},
                                             {"kind": "phone", "value": ANNA_PHONE}],
            "traits": {k: ANNA[k] for k in ("first_name", "last_name", "date_of_birth")}}])
        profile_id = done["ingestEvents"]["results"][0]["profileId"]
        shown = post(http, masked, PROFILE, id=profile_id)
        assert not leaked(str(shown)) and "a•••@n•••.org" in str(shown)
        assert post(http, masked, PROFILE, id=profile_id) == shown  # cached, still masked
        seen = post(http, clear, PROFILE, id=profile_id)
        assert ANNA_EMAIL in str(seen) and ANNA["last_name"] in str(seen)
        deadline = time.monotonic() + 5
        while not (entries := post(http, clear, AUDIT)["auditLog"]["entries"]):
            assert time.monotonic() < deadline, "the read was not audited within 5 s"
            time.sleep(0.1)
    (entry,) = entries
    assert entry["actor"].startswith("key:") and entry["profileIds"] == [profile_id]
    assert entry["after"]["fields"] == ["date_of_birth", "email", "first_name", "last_name",
                                        "phone"]
    assert entry["after"]["reads"] == 1
