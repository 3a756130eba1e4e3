"""Protobuf <-> domain, here and nowhere else. Pure: no I/O, no service calls.

Requests become the plain values the service takes (an event is the same raw mapping a line of
an `identity ingest` file is, so one parser validates every entry point); service results
become response messages. proto3 has no null: an absent value is the field's empty default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

from identity.domain import events
from identity.domain.changes import ChangeKind
from identity.domain.changes import ProfileChange as DomainChange
from identity.domain.consent import ConsentDecision, Purpose
from identity.domain.errors import ValidationError
from identity.domain.matching.scoring import PairScore
from identity.domain.types import Identifier
from identity.service import IngestResult, IngestStatus, ProfileView, Resolution
from identity.service.consent import ConsentResult
from identity.service.erasure import Erasure
from identity.service.explain import Explanation as DomainExplanation
from identity.service.explain import LinkStep
from identity.service.resolve import RawIdentifier
from identity.service.steward import ActionResult, SplitPreview
from identity.v1 import identity_pb2 as pb

_STATUS = {
    IngestStatus.ACCEPTED: pb.EventResult.STATUS_ACCEPTED,
    IngestStatus.DUPLICATE: pb.EventResult.STATUS_DUPLICATE,
    IngestStatus.REJECTED: pb.EventResult.STATUS_REJECTED,
}
_CHANGE_KIND = {
    ChangeKind.CREATED: pb.ProfileChange.KIND_CREATED,
    ChangeKind.UPDATED: pb.ProfileChange.KIND_UPDATED,
    ChangeKind.MERGED: pb.ProfileChange.KIND_MERGED,
    ChangeKind.SPLIT: pb.ProfileChange.KIND_SPLIT,
    ChangeKind.CONSENT_CHANGED: pb.ProfileChange.KIND_CONSENT_CHANGED,
    ChangeKind.ERASED: pb.ProfileChange.KIND_ERASED,
}


def raw_identifiers(identifiers: Iterable[pb.Identifier]) -> list[RawIdentifier]:
    return [(i.kind, i.value) for i in identifiers]


def raw_event(event: pb.Event) -> dict[str, object]:
    """proto3 has no null: an empty optional field is an absent one."""
    return events.raw_event(event.event_id, event.type, event.timestamp, event.source,
                            raw_identifiers(event.identifiers),
                            traits=dict(event.traits) or None, amount=event.amount or None,
                            currency=event.currency or None, consent=dict(event.consent) or None)


def identifier(value: Identifier) -> pb.Identifier:
    return pb.Identifier(kind=value.kind, value=value.value)


def profile(view: ProfileView) -> pb.Profile:
    return pb.Profile(
        id=view.profile_id,
        requested_id=view.requested_id,
        merged_ids=view.merged_ids,
        created_at=view.created_at,
        first_seen=view.first_seen,
        last_seen=view.last_seen,
        identifiers=[
            pb.ProfileIdentifier(kind=node.identifier.kind, value=node.identifier.value,
                                 first_seen=node.first_seen, last_seen=node.last_seen,
                                 hub_reason=node.hub_reason or "")
            for nodes in view.identifiers_by_kind().values() for node in nodes],
        # echo: protobuf strings are UTF-8, and a trait an older release let a lone surrogate
        # into is shown escaped rather than failing every read of its profile.
        golden=[pb.GoldenField(name=g.field, value=events.echo(g.value), source=g.source,
                               observed_at=g.observed_at, event_id=g.event_id,
                               support=g.support)
                for g in view.golden.values()],
        order_count=view.orders.count,
        total_spend=[pb.Money(currency=currency, amount=str(amount))
                     for currency, amount in view.orders.total_spend],
        unknown_value_order_count=view.orders.unknown_value,
        limits_reached=[pb.LimitReached(kind=kind, limit=limit)
                        for kind, limit in view.limits_reached],
        consent=[consent_decision(d) for d in view.consent],
        updated_at=view.updated_at,  # None: left unset
    )


_PURPOSE = {Purpose.PERSONALIZATION: pb.PURPOSE_PERSONALIZATION,
            Purpose.MARKETING: pb.PURPOSE_MARKETING, Purpose.ANALYTICS: pb.PURPOSE_ANALYTICS,
            Purpose.SALE_SHARING: pb.PURPOSE_SALE_SHARING}
_OF_PURPOSE: dict[int, Purpose] = {int(number): purpose for purpose, number in _PURPOSE.items()}
PURPOSES = ", ".join(f"{pb.Purpose.Name(n)} ({n})" for n in sorted(_OF_PURPOSE))


def purpose(value: int, field: str = "purpose") -> Purpose | None:
    """A request's purpose; None for PURPOSE_UNSPECIFIED (no filter). An unknown number is
    a field error naming the known ones."""
    if value == pb.PURPOSE_UNSPECIFIED:
        return None
    if value not in _OF_PURPOSE:
        raise ValidationError.of(field, f"{value} is not a purpose: {PURPOSES}")
    return _OF_PURPOSE[value]


def consent_decision(decision: ConsentDecision) -> pb.ConsentDecision:
    return pb.ConsentDecision(purpose=_PURPOSE[decision.purpose], granted=decision.granted,
                              source=decision.source, at=decision.at,
                              event_id=decision.event_id)


def set_consent_response(done: ConsentResult) -> pb.SetConsentResponse:
    return pb.SetConsentResponse(action_id=done.action_id, profile_id=done.profile_id,
                                 changed=done.changed,
                                 consent=[consent_decision(d) for d in done.consent])


ProfileMessage = Callable[[ProfileView], pb.Profile]


def resolve_response(resolution: Resolution, message: ProfileMessage) -> pb.ResolveResponse:
    """`message`: how a view becomes a message (`profile`, or a cached one)."""
    return pb.ResolveResponse(
        profile_id=resolution.profile_id or "",
        profile=message(resolution.profile) if resolution.profile else None,
        created=resolution.created,
        merged_profile_ids=resolution.merged_ids,
        conflicting=[identifier(i) for i in resolution.conflicting],
    )


def lookup(key: str | pb.Identifier, view: ProfileView | None,
           message: ProfileMessage) -> pb.ProfileLookup:
    found = message(view) if view else None
    if isinstance(key, str):
        return pb.ProfileLookup(profile_id=key, found=found is not None, profile=found)
    return pb.ProfileLookup(identifier=key, found=found is not None, profile=found)


def event_result(result: IngestResult, offset: int = 0) -> pb.EventResult:
    """`offset`: where the result's batch starts in its stream."""
    return pb.EventResult(
        index=offset + result.index,
        event_id=result.event_id or "",
        status=_STATUS[result.status],
        profile_id=result.profile_id or "",
        merged_profile_ids=result.merged_ids,
        errors=[pb.FieldViolation(field=e.field, description=e.reason) for e in result.errors],
        ignored_identifiers=[pb.IgnoredIdentifier(field=i.field, kind=i.kind, value=i.value,
                                                  reason=i.reason) for i in result.ignored],
        warnings=[pb.FieldViolation(field=w.field, description=w.reason)
                  for w in result.warnings],
    )


def event_results(results: Sequence[IngestResult], offset: int = 0) -> list[pb.EventResult]:
    return [event_result(r, offset) for r in results]


def change(value: DomainChange, position: str) -> pb.ProfileChange:
    return pb.ProfileChange(
        position=position, change_id=value.change_id, kind=_CHANGE_KIND[value.kind],
        profile_id=value.profile_id, absorbed_ids=value.absorbed_ids,
        split_ids=value.split_ids, cause_event_id=value.cause_event_id, at=value.at)


def match_score(pair: PairScore) -> pb.MatchScore:
    return pb.MatchScore(
        fields=[pb.FieldComparison(field=f.field, left=f.left or "", right=f.right or "",
                                   level=f.level, weight=f.weight, bucket=f.bucket.value)
                for f in pair.fields],
        weight=pair.weight, probability=pair.probability, decision=pair.decision.value,
        vetoed_by=pair.non_match or "")


def link(step: LinkStep) -> pb.Link:
    value, comparison = step.link, step.comparison
    ev = value.evidence
    return pb.Link(
        a=identifier(value.a), b=identifier(value.b), rule=ev.rule, is_active=value.is_active,
        inactive_reason=value.inactive_reason or "", score=ev.score, sources=ev.sources,
        first_seen=ev.first_seen, last_seen=ev.last_seen, event_ids=ev.event_ids,
        event_count=ev.event_count,
        comparison=match_score(comparison) if comparison else None)


def explanation(found: DomainExplanation) -> pb.Explanation:
    return pb.Explanation(
        profile_a=found.profile_a or "", profile_b=found.profile_b or "",
        same_profile=found.same_profile,
        path=[link(step) for step in found.path],
        comparison=match_score(found.comparison) if found.comparison else None,
        link_threshold=found.link_threshold, review_threshold=found.review_threshold)


def steward_action(result: ActionResult) -> pb.StewardAction:
    return pb.StewardAction(action_id=result.action_id, profile_ids=list(result.profile_ids),
                            changes=[change(c, "") for c in result.changes])


def split_response(preview: SplitPreview, result: ActionResult | None) -> pb.SplitResponse:
    shown = result.split if result and result.split else preview
    return pb.SplitResponse(
        action=steward_action(result) if result else None,
        cut=[link(LinkStep.of(k)) for k in shown.cut],
        parts=[pb.SplitPart(profile_id=part.profile_id or "",
                            identifiers=[identifier(n) for n in part.identifiers])
               for part in shown.parts])


def erasure(done: Erasure) -> pb.EraseProfileResponse:
    """Ids and counts only (service/erasure.py)."""
    return pb.EraseProfileResponse(
        action_id=done.action_id, profile_id=done.profile_id, erased_ids=list(done.erased_ids),
        identifiers=done.identifiers, rows=dataclasses.asdict(done.rows))
