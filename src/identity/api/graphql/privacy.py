"""Erasure and access in GraphQL (GDPR Art. 15 and 17; docs/architecture.md, "Erasure and
access"): eraseProfile, exportProfile and liftSuppressions, each for `admin` keys only
(permissions.py) and audited under the caller's subject. The bases of the schema's Query and
Mutation, as steward.py's are."""

from __future__ import annotations

import dataclasses

import strawberry
from strawberry.scalars import JSON

from identity.api.graphql.context import Context
from identity.api.graphql.inputs import IdentifierInput
from identity.api.graphql.steward import normalized
from identity.api.limits import check_profile_ids
from identity.domain.access import Scope
from identity.domain.errors import ValidationError
from identity.domain.types import Identifier
from identity.service.erasure import Erasure

Info = strawberry.Info[Context, None]
MAX_LIFTED = 100  # identifiers one liftSuppressions call may name


def _admin(info: Info, what: str) -> str:
    """The caller's subject, for the audit log; PermissionDenied without `admin` (checked
    before execution too: permissions.py)."""
    return info.context.principal.require(Scope.ADMIN, what)


def _every_form(info: Info, field: str, given: IdentifierInput) -> tuple[Identifier, ...]:
    """Every form ingest links the value under (its hash under each PII key while one is
    rotated), as `identity suppressions lift` names them: a tombstone of any one would keep
    the person out. A bad one names its field (steward.py: normalized)."""
    normalized(info, field, given)
    return info.context.service.normalize_every_key(given.kind, given.value)


@strawberry.type(description="What an erasure removed: ids and counts, never a value.")
class ErasurePayload:
    action_id: strawberry.ID = strawberry.field(description="The audit log's entry.")
    profile_id: strawberry.ID
    erased_ids: list[strawberry.ID] = strawberry.field(
        description="The profile and every id that had been merged into it.")
    identifiers: int = strawberry.field(
        description="Identifiers erased, each now a tombstone (a keyed hash) that suppresses "
        "it at ingest.")
    rows: JSON = strawberry.field(description="Rows removed, by kind.")

    @classmethod
    def from_domain(cls, erasure: Erasure) -> ErasurePayload:
        return cls(action_id=strawberry.ID(erasure.action_id),
                   profile_id=strawberry.ID(erasure.profile_id),
                   erased_ids=[strawberry.ID(p) for p in erasure.erased_ids],
                   identifiers=erasure.identifiers,
                   rows=JSON(dataclasses.asdict(erasure.rows)))


@strawberry.type
class LiftPayload:
    action_id: strawberry.ID
    lifted: int = strawberry.field(description="How many of the identifiers were suppressed "
                                   "(the others were not).")


@strawberry.type
class PrivacyQueries:
    @strawberry.field(description="Everything held about the person of a profile, as one JSON "
                      "document (GDPR Art. 15): profile, identifiers, golden record with "
                      "sources, observations, links with evidence, events and orders, review "
                      "items, versions, changes, consents, audit entries. Admin only; audited.")
    async def export_profile(self, info: Info, id: strawberry.ID) -> JSON:
        actor = _admin(info, "exportProfile")
        check_profile_ids([("id", str(id))])
        return JSON(await info.context.service.export_profile(str(id), actor))


@strawberry.type
class PrivacyMutations:
    @strawberry.mutation(description="Erases a profile (GDPR Art. 17): every identifier, link, "
                         "event, observation, review item, version, change-log entry and cached "
                         "copy of the person, and the ids merged into it; leaves keyed-hash "
                         "tombstones that suppress the identifiers at ingest, so no replay "
                         "rebuilds them. Emits an `erased` change. Admin only; audited.")
    async def erase_profile(self, info: Info, id: strawberry.ID, reason: str
                            ) -> ErasurePayload:
        actor = _admin(info, "eraseProfile")
        check_profile_ids([("id", str(id))])
        return ErasurePayload.from_domain(
            await info.context.service.erase_profile(str(id), actor, reason))

    @strawberry.mutation(description="Lifts the suppression of erased identifiers (the person "
                         "came back, or consented again): events naming them are taken in "
                         "again. Admin only; audited.")
    async def lift_suppressions(self, info: Info, identifiers: list[IdentifierInput],
                                reason: str) -> LiftPayload:
        actor = _admin(info, "liftSuppressions")
        if len(identifiers) > MAX_LIFTED:
            raise ValidationError.of("identifiers", f"at most {MAX_LIFTED}, "
                                     f"got {len(identifiers)}")
        wanted = [_every_form(info, f"identifiers[{i}]", given)
                  for i, given in enumerate(identifiers)]
        lifted = await info.context.service.lift_suppressions(
            [form for forms in wanted for form in forms], actor, reason)
        found = set(lifted.lifted)
        return LiftPayload(action_id=strawberry.ID(lifted.action_id),
                           lifted=sum(1 for forms in wanted if found.intersection(forms)))
