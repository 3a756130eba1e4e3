"""liftSuppressions over GraphQL lifts what `identity suppressions lift` lifts: while a PII
hashing key is rotated, the identifier under every key listed, as ingest links it
(docs/architecture.md, "Erasure and access")."""

from __future__ import annotations

from typing import Any

from strawberry.types import ExecutionResult

from identity.api.graphql.context import Context
from identity.api.graphql.schema import schema
from identity.domain.access import DEVELOPMENT
from identity.domain.identifiers import NormalizationRules
from identity.domain.pii_hashing import parse_keys
from identity.service import IdentityService, IngestStatus
from identity.store.protocol import GraphStore
from tests.builders import event, ident
from tests.erasure.conftest import ERASURE_KEY
from tests.steward.conftest import ticking_clock

OLD = "1:" + "o" * 16 + "ld-pii-key-for-lift-tests-0123"
NEW = "2:" + "n" * 16 + "ew-pii-key-for-lift-tests-0123"
EMAIL = "lift.me@northwind.org"
LIFT = """mutation($value: String!, $reason: String!) { liftSuppressions(
  identifiers: [{kind: "email", value: $value}], reason: $reason) { actionId lifted } }"""


def service_with(store: GraphStore, keys: str) -> IdentityService:
    return IdentityService(store, rules=NormalizationRules(pii_keys=parse_keys(keys, "keys")),
                           clock=ticking_clock(), profile_cache=0, erasure_key=ERASURE_KEY)


async def lift(service: IdentityService, **variables: Any) -> ExecutionResult:
    result = await schema.execute(LIFT, variable_values=variables,
                                  context_value=Context(service, DEVELOPMENT))
    assert isinstance(result, ExecutionResult)
    return result


async def test_lifting_during_a_key_rotation_lifts_every_keys_tombstone(
        store: GraphStore) -> None:
    rotating = service_with(store, f"{NEW},{OLD}")  # both keys' hashes linked, and erased
    (first,) = await rotating.ingest([event(ident("email", EMAIL), event_id="lift-1")])
    assert first.profile_id is not None
    erased = await rotating.erase_profile(first.profile_id, "dpo@northwind.org", "request 9")
    assert erased.identifiers == 2
    (replay,) = await rotating.ingest([event(ident("email", EMAIL), event_id="lift-2")])
    assert replay.status is IngestStatus.REJECTED

    result = await lift(rotating, value=EMAIL, reason="consented again")
    assert result.errors is None and result.data is not None
    assert result.data["liftSuppressions"]["lifted"] == 1  # the one identifier named
    (back,) = await rotating.ingest([event(ident("email", EMAIL), event_id="lift-3")])
    assert back.status is IngestStatus.ACCEPTED and not back.warnings
    rotated = service_with(store, NEW)  # the old key retired
    (later,) = await rotated.ingest([event(ident("email", EMAIL), event_id="lift-4")])
    assert later.status is IngestStatus.ACCEPTED and not later.warnings


async def test_lifting_refuses_hostile_values_and_reasons(store: GraphStore) -> None:
    service = service_with(store, OLD)
    for value, reason, said in (
            ("a\ud800@x.org", "r", "surrogate"), ("a\x1b@x.org", "r", "control"),
            ("a" * 100_000 + "@x.org", "r", "longer than"),
            (EMAIL, "r\ud800", "surrogate"), (EMAIL, "r\x00\x1b[2J", "control"),
            (EMAIL, "r" * 100_000, "at most 2000")):
        result = await lift(service, value=value, reason=reason)
        assert result.errors is not None and said in str(result.errors[0]), result.errors
