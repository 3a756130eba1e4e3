"""eraseProfile and exportProfile over GraphQL and gRPC, with authentication on, on both
stores: admin keys only, audited under the key (docs/architecture.md, "Erasure and
access")."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest

from identity.service.erasure import ERASED_REASON
from identity.v1 import identity_pb2 as pb
from tests.api.test_auth import INGEST, PROFILE, Secured, call, post, secured
from tests.auth_fixtures import grpc_metadata, issue_key

__all__ = ["secured"]  # the fixture, imported so this module runs against the same servers

EMAIL = "grete.nordahl@northwind.org"
EVENTS = [{"eventId": "erase-api-1", "type": "identify", "source": "web",
           "timestamp": "2026-11-01T10:00:00Z",
           "traits": {"first_name": "Grete", "last_name": "Nordahl"},
           "identifiers": [{"kind": "email", "value": EMAIL},
                           {"kind": "customer_id", "value": "cust-grete-5"}]}]
ERASE = """mutation($id: ID!, $reason: String!) {
  eraseProfile(id: $id, reason: $reason) { actionId profileId erasedIds identifiers rows } }"""
EXPORT = "query($id: ID!) { exportProfile(id: $id) }"
AUDIT = "{ auditLog { entries { action actor profileIds } } }"


def ingest(secured: Secured, key: str, events: list[dict[str, Any]] = EVENTS
           ) -> dict[str, Any]:
    response = post(secured, INGEST.replace("profileId", "profileId status errors { reason }"),
                    key, events=events)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["data"]["ingestEvents"]["results"][0]
    return result


def data(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]
    return found


def test_graphql_exports_then_erases_and_replay_is_refused(secured: Secured) -> None:
    admin = issue_key(secured.settings, "admin")
    profile_id = ingest(secured, admin)["profileId"]

    document = data(post(secured, EXPORT, admin, id=profile_id))["exportProfile"]
    assert document["profile_id"] == profile_id and EMAIL in json.dumps(document)

    erased = data(post(secured, ERASE, admin, id=profile_id, reason="request 4711"))
    assert erased["eraseProfile"]["profileId"] == profile_id
    assert erased["eraseProfile"]["identifiers"] == 2
    assert erased["eraseProfile"]["rows"]["nodes"] == 2
    assert data(post(secured, PROFILE, admin, id=profile_id)) == {"profile": None}

    again = ingest(secured, admin)
    assert again["status"] == "REJECTED" and ERASED_REASON in again["errors"][0]["reason"]
    gone = post(secured, EXPORT, admin, id=profile_id).json()
    assert "no profile" in gone["errors"][0]["message"]

    entries = data(post(secured, AUDIT, admin))["auditLog"]["entries"]
    acted = {e["action"]: e["actor"] for e in entries if e["action"] in ("erase", "export")}
    assert set(acted) == {"erase", "export"}
    assert all(actor.startswith("key:") for actor in acted.values())


def test_grpc_exports_then_erases_and_watchers_hear_it(secured: Secured) -> None:
    admin = issue_key(secured.settings, "admin")
    profile_id = ingest(secured, admin)["profileId"]
    meta = grpc_metadata(admin)

    exported = secured.stub.ExportProfile(pb.ExportProfileRequest(profile_id=profile_id),
                                          metadata=meta, timeout=10)
    assert EMAIL in exported.document and json.loads(exported.document)["profile_id"] == \
        profile_id
    erased = secured.stub.EraseProfile(
        pb.EraseProfileRequest(profile_id=profile_id, reason="request 4712"),
        metadata=meta, timeout=10)
    assert erased.profile_id == profile_id and list(erased.erased_ids) == [profile_id]
    assert erased.identifiers == 2 and erased.rows["nodes"] == 2

    kinds = []
    for change in secured.stub.WatchChanges(pb.WatchChangesRequest(profile_ids=[profile_id]),
                                            metadata=meta, timeout=10):
        kinds.append(change.kind)
        if change.kind == pb.ProfileChange.KIND_ERASED:
            assert change.change_id.startswith(erased.action_id)
            break
    assert kinds[-1] == pb.ProfileChange.KIND_ERASED

    with pytest.raises(grpc.RpcError) as unknown:
        secured.stub.EraseProfile(pb.EraseProfileRequest(profile_id=profile_id,
                                                         reason="again"),
                                  metadata=meta, timeout=10)
    assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "no profile" in (unknown.value.details() or "")


def test_only_admin_keys_erase_or_export(secured: Secured) -> None:
    admin = issue_key(secured.settings, "admin")
    steward = issue_key(secured.settings, "steward", "profile:read_pii", "ingest")
    profile_id = ingest(secured, admin)["profileId"]

    assert post(secured, ERASE, steward, id=profile_id, reason="no").status_code == 403
    assert post(secured, EXPORT, steward, id=profile_id).status_code == 403
    for method, request in (
            (secured.stub.EraseProfile, pb.EraseProfileRequest(profile_id=profile_id,
                                                                reason="no")),
            (secured.stub.ExportProfile, pb.ExportProfileRequest(profile_id=profile_id))):
        refused = call(method, request, steward)
        assert isinstance(refused, grpc.RpcError)
        assert refused.code() == grpc.StatusCode.PERMISSION_DENIED
    assert data(post(secured, PROFILE, admin, id=profile_id))["profile"]["id"] == profile_id
