"""Consent in GraphQL: the Purpose enum, a profile's decisions (`Profile.consent`) and the
steward's `setConsent` (docs/architecture.md, "Consent"). One service call per resolver."""

from __future__ import annotations

from datetime import datetime

import strawberry

from identity.api.graphql.context import Context
from identity.api.limits import check_profile_ids
from identity.domain.consent import ConsentDecision as DomainDecision
from identity.domain.consent import Purpose
from identity.service.consent import ConsentResult

strawberry.enum(Purpose, name="Purpose",
                description="What a person's data may be used for. A profile is consented for "
                "a purpose when its latest decision for it grants it; none recorded: not "
                "consented. SALE_SHARING is CCPA's sale or sharing of personal information.")

PURPOSE_ARGUMENT = ("Only a profile consented for this purpose; any other answers null, "
                    "as an unknown one.")


@strawberry.type(description="The latest consent decision for one purpose, and what set it.")
class ConsentDecision:
    purpose: Purpose
    granted: bool = strawberry.field(description="true: granted; false: withdrawn.")
    source: str = strawberry.field(description="The event's source, or `steward`.")
    at: datetime = strawberry.field(description="The decision's time (the event's).")
    event_id: str = strawberry.field(
        description="The event that set it, or the steward's action id (act_...).")

    @classmethod
    def from_domain(cls, decision: DomainDecision) -> ConsentDecision:
        return cls(purpose=decision.purpose, granted=decision.granted, source=decision.source,
                   at=decision.at, event_id=decision.event_id)


@strawberry.type(description="What a steward's consent decision did.")
class SetConsentPayload:
    action_id: strawberry.ID = strawberry.field(description="Its audit log entry.")
    profile_id: strawberry.ID = strawberry.field(
        description="The profile decided for (a merged id's survivor).")
    changed: bool = strawberry.field(
        description="false: the profile's latest decision already said so (no "
        "consent_changed change; the decision is kept and audited all the same).")
    consent: list[ConsentDecision] = strawberry.field(
        description="The profile's latest decision per purpose, after.")

    @classmethod
    def from_domain(cls, result: ConsentResult) -> SetConsentPayload:
        return cls(action_id=strawberry.ID(result.action_id),
                   profile_id=strawberry.ID(result.profile_id), changed=result.changed,
                   consent=[ConsentDecision.from_domain(d) for d in result.consent])


@strawberry.type
class ConsentMutations:
    @strawberry.mutation(description="Records a steward's consent decision for a profile and "
                         "purpose, dated now and audited (the caller is the actor); it hangs "
                         "on the profile's strongest identifier and follows it through "
                         "merges and splits.")
    async def set_consent(self, info: strawberry.Info[Context, None],
                          profile_id: strawberry.ID, purpose: Purpose, granted: bool,
                          reason: str) -> SetConsentPayload:
        check_profile_ids([("profileId", str(profile_id))])
        done = await info.context.service.set_consent(
            str(profile_id), purpose, granted, info.context.principal.subject, reason)
        return SetConsentPayload.from_domain(done)
