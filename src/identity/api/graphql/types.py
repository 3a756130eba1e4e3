"""GraphQL output types, each built from a domain or service value by from_domain()."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from identity.api.graphql.consent import ConsentDecision
from identity.api.graphql.context import Context
from identity.domain.changes import ChangeKind as DomainChangeKind
from identity.domain.errors import FieldError as DomainFieldError
from identity.domain.events import IgnoredIdentifier as DomainIgnored
from identity.domain.matching.scoring import Bucket as DomainBucket
from identity.domain.matching.scoring import Decision as DomainDecision
from identity.domain.matching.scoring import FieldScore, PairScore
from identity.domain.survivorship import GoldenField as DomainGoldenField
from identity.domain.types import Identifier, ProfileId
from identity.service import IngestResult, IngestStatus, Member, ProfileView
from identity.service.change_feed import PositionedChange
from identity.service.disclosure import Disclosure
from identity.service.explain import Explanation as DomainExplanation
from identity.service.explain import LinkStep, ReviewPage
from identity.service.explain import ProfileHistory as DomainProfileHistory


@strawberry.enum(description="What happened to one event of an ingestEvents batch.")
class EventStatus(Enum):
    ACCEPTED = IngestStatus.ACCEPTED.value
    DUPLICATE = IngestStatus.DUPLICATE.value
    REJECTED = IngestStatus.REJECTED.value


@strawberry.type(description="A problem with one field of one event: which field, and why.")
class FieldError:
    field: str
    reason: str

    @classmethod
    def from_domain(cls, error: DomainFieldError) -> FieldError:
        return cls(field=error.field, reason=error.reason)


@strawberry.type(description="An identifier kept out of the graph, and why: a placeholder that "
                 "many people share, or a malformed value the event was accepted without.")
class IgnoredIdentifier:
    field: str
    kind: str
    value: str
    reason: str

    @classmethod
    def from_domain(cls, ignored: DomainIgnored) -> IgnoredIdentifier:
        return cls(field=ignored.field, kind=ignored.kind, value=ignored.value,
                   reason=ignored.reason)


@strawberry.type(description="The outcome of one event, in the order the events were sent.")
class EventResult:
    index: int
    event_id: str | None
    status: EventStatus
    profile_id: strawberry.ID | None = strawberry.field(
        description="The profile the event's identifiers belong to after it was applied.")
    merged_profile_ids: list[strawberry.ID] = strawberry.field(
        description="Profile ids this event merged into profileId; they keep resolving to it.")
    errors: list[FieldError]
    ignored_identifiers: list[IgnoredIdentifier]
    warnings: list[FieldError] = strawberry.field(
        description="What was recorded in another form than sent, and why (an order without "
        "an amount, recorded as of unknown value).")

    @classmethod
    def from_domain(cls, result: IngestResult) -> EventResult:
        return cls(
            index=result.index,
            event_id=result.event_id,
            status=EventStatus(result.status.value),
            profile_id=strawberry.ID(result.profile_id) if result.profile_id else None,
            merged_profile_ids=[strawberry.ID(p) for p in result.merged_ids],
            errors=[FieldError.from_domain(e) for e in result.errors],
            ignored_identifiers=[IgnoredIdentifier.from_domain(i) for i in result.ignored],
            warnings=[FieldError.from_domain(w) for w in result.warnings],
        )


@strawberry.type
class IngestEventsPayload:
    accepted: int
    duplicates: int
    rejected: int
    results: list[EventResult]

    @classmethod
    def from_domain(cls, results: list[IngestResult]) -> IngestEventsPayload:
        def count(status: IngestStatus) -> int:
            return sum(1 for r in results if r.status is status)

        return cls(accepted=count(IngestStatus.ACCEPTED), duplicates=count(IngestStatus.DUPLICATE),
                   rejected=count(IngestStatus.REJECTED),
                   results=[EventResult.from_domain(r) for r in results])


@strawberry.type(description="An identifier as stored: kind and normalized value.")
class IdentifierRef:
    kind: str
    value: str

    @classmethod
    def from_domain(cls, identifier: Identifier) -> IdentifierRef:
        return cls(kind=identifier.kind, value=identifier.value)


# The domain's enums, exposed as they are (strawberry registers them in place).
strawberry.enum(DomainBucket, name="Bucket", description="How one field's evidence reads: "
                "same, close, likely, unlikely, no chance, or missing on a side.")
strawberry.enum(DomainDecision, name="Decision",
                description="What the match model decides for a pair of records.")


@strawberry.type(description="One compared field of a pair of records.")
class FieldComparison:
    field: str
    left: str | None
    right: str | None
    level: str = strawberry.field(description="The comparison level reached, e.g. 'exact'.")
    weight: float = strawberry.field(description="Its match weight, log2(m/u).")
    bucket: DomainBucket

    @classmethod
    def from_domain(cls, f: FieldScore) -> FieldComparison:
        return cls(field=f.field, left=f.left, right=f.right, level=f.level, weight=f.weight,
                   bucket=f.bucket)


@strawberry.type(description="A pair of records scored by the match model, field by field.")
class MatchScore:
    fields: list[FieldComparison]
    weight: float = strawberry.field(description="The prior's weight plus every field's.")
    probability: float
    decision: DomainDecision
    vetoed_by: str | None = strawberry.field(
        description="The never-link rule that forbids this pair, whatever its score.")

    @classmethod
    def from_domain(cls, pair: PairScore) -> MatchScore:
        return cls(fields=[FieldComparison.from_domain(f) for f in pair.fields],
                   weight=pair.weight, probability=pair.probability, decision=pair.decision,
                   vetoed_by=pair.non_match)


@strawberry.type(description="A link between two identifiers with the evidence that made it.")
class Link:
    a: IdentifierRef
    b: IdentifierRef
    rule: str = strawberry.field(
        description="same_event, probabilistic, or possible_match (awaiting review).")
    is_active: bool
    inactive_reason: str | None
    score: float | None = strawberry.field(description="Match probability of a scored link.")
    sources: list[str]
    first_seen: datetime
    last_seen: datetime
    event_ids: list[str] = strawberry.field(
        description="The events that made the link: at most 100, the first by id.")
    event_count: int = strawberry.field(description="How many events made the link.")
    comparison: MatchScore | None = strawberry.field(
        description="For a scored link: every compared field, its level, weight and bucket.")

    @classmethod
    def from_domain(cls, step: LinkStep) -> Link:
        link, comparison = step.link, step.comparison
        ev = link.evidence
        return cls(a=IdentifierRef.from_domain(link.a), b=IdentifierRef.from_domain(link.b),
                   rule=ev.rule, is_active=link.is_active, inactive_reason=link.inactive_reason,
                   score=ev.score, sources=list(ev.sources), first_seen=ev.first_seen,
                   last_seen=ev.last_seen, event_ids=list(ev.event_ids),
                   event_count=ev.event_count,
                   comparison=MatchScore.from_domain(comparison) if comparison else None)


@strawberry.type(description="Why two identifiers are, or are not, one person.")
class Explanation:
    a: IdentifierRef
    b: IdentifierRef
    profile_a: strawberry.ID | None = strawberry.field(description="None: a is unknown.")
    profile_b: strawberry.ID | None = strawberry.field(description="None: b is unknown.")
    same_profile: bool
    path: list[Link] = strawberry.field(
        description="The links joining a to b, in order; empty when they are apart.")
    comparison: MatchScore | None = strawberry.field(
        description="When apart: how their records compare under the model now.")
    link_threshold: float | None = strawberry.field(description="Null when matching is off.")
    review_threshold: float | None

    @classmethod
    def from_domain(cls, found: DomainExplanation) -> Explanation:
        return cls(a=IdentifierRef.from_domain(found.a), b=IdentifierRef.from_domain(found.b),
                   profile_a=_id(found.profile_a), profile_b=_id(found.profile_b),
                   same_profile=found.same_profile,
                   path=[Link.from_domain(step) for step in found.path],
                   comparison=MatchScore.from_domain(found.comparison)
                   if found.comparison else None,
                   link_threshold=found.link_threshold,
                   review_threshold=found.review_threshold)


@strawberry.type(description="The links that built a profile, oldest first, and the links "
                 "touching it that guards, never-link rules or reviews keep inactive.")
class ProfileHistory:
    profile_id: strawberry.ID
    steps: list[Link]
    blocked: list[Link]

    @classmethod
    def from_domain(cls, history: DomainProfileHistory) -> ProfileHistory:
        return cls(profile_id=strawberry.ID(history.profile_id),
                   steps=[Link.from_domain(s) for s in history.steps],
                   blocked=[Link.from_domain(s) for s in history.blocked])


@strawberry.type(description="A possible match: two profiles that may be one person.")
class ReviewItem:
    link: Link
    profile_a: strawberry.ID
    profile_b: strawberry.ID


@strawberry.type
class ReviewQueue:
    items: list[ReviewItem]
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next page; null on the last page.")

    @classmethod
    def from_domain(cls, page: ReviewPage) -> ReviewQueue:
        return cls(items=[ReviewItem(link=Link.from_domain(i.link),
                                     profile_a=strawberry.ID(i.profile_a),
                                     profile_b=strawberry.ID(i.profile_b))
                          for i in page.items],
                   end_cursor=page.end_cursor)


def _id(value: str | None) -> strawberry.ID | None:
    return strawberry.ID(value) if value else None


@strawberry.type(description="An identifier node of the graph.")
class IdentifierNode:
    kind: str
    value: str
    first_seen: datetime
    last_seen: datetime
    profile_id: strawberry.ID | None
    hub_reason: str | None = strawberry.field(
        description="Set when this identifier is shared by many people and no longer links.")
    # The identifier as stored, for loading its links: `value` may be masked (disclosure.py).
    stored: strawberry.Private[Identifier]

    @strawberry.field(description="The links touching this identifier, with their evidence.")
    async def links(self, info: strawberry.Info[Context, None]) -> list[Link]:
        found = await info.context.links.load(self.stored)
        steps = info.context.disclosure.steps(
            [ProfileId(self.profile_id) if self.profile_id else None],
            [LinkStep.of(link) for link in found])
        return [Link.from_domain(step) for step in steps]

    @strawberry.field(description="The golden profile this identifier belongs to.")
    async def profile(self, info: strawberry.Info[Context, None]) -> Profile | None:
        if self.profile_id is None:
            return None
        view = await info.context.profiles.load(str(self.profile_id))
        return Profile.from_domain(view, info.context.disclosure) if view else None

    @classmethod
    def from_domain(cls, node: Member, profile_id: str | None,
                    stored: Identifier | None = None) -> IdentifierNode:
        """`node` as the caller may see it; `stored`: its identifier unmasked, when masked."""
        return cls(kind=node.identifier.kind, value=node.identifier.value,
                   first_seen=node.first_seen, last_seen=node.last_seen,
                   profile_id=strawberry.ID(profile_id) if profile_id else None,
                   hub_reason=node.hub_reason, stored=stored or node.identifier)


@strawberry.type
class IdentifierGroup:
    kind: str
    identifiers: list[IdentifierNode]


@strawberry.type(description="A golden-record field: the surviving value and its provenance.")
class GoldenField:
    name: str
    value: str
    source: str
    observed_at: datetime
    event_id: str
    support: int = strawberry.field(description="How many observations agree with this value.")

    @classmethod
    def from_domain(cls, golden: DomainGoldenField) -> GoldenField:
        return cls(name=golden.field, value=golden.value, source=golden.source,
                   observed_at=golden.observed_at, event_id=golden.event_id,
                   support=golden.support)


@strawberry.type
class Money:
    currency: str
    amount: str = strawberry.field(description="A decimal string, exact to the cent.")


@strawberry.type(description="A per-profile limit that holds a link at one of the profile's "
                 "identifiers inactive: a flag for stewards.")
class LimitReached:
    kind: str = strawberry.field(description="The identifier kind, such as customer_id.")
    limit: int = strawberry.field(description="At most this many of it in one profile.")


@strawberry.type(description="A golden profile: one person, resolved from every identifier.")
class Profile:
    id: strawberry.ID
    requested_id: strawberry.ID = strawberry.field(
        description="The id asked for; differs from id when it was merged into this profile.")
    merged_ids: list[strawberry.ID] = strawberry.field(
        description="Profile ids merged into this one; each still resolves here.")
    created_at: datetime
    first_seen: datetime
    last_seen: datetime
    identifiers: list[IdentifierGroup]
    golden: list[GoldenField]
    order_count: int
    total_spend: list[Money] = strawberry.field(description="Order totals, one per currency.")
    unknown_value_order_count: int = strawberry.field(
        description="Orders counted in orderCount whose amount is unknown (none was sent).")
    limits_reached: list[LimitReached] = strawberry.field(
        description="Limits that hold a link at one of its identifiers: on a weak kind a "
        "bot's or a kiosk's chain, on a strong kind two people who met (a household).")
    version: int = strawberry.field(
        description="Bumped by every change to the profile (see profileHistory): a cache key "
        "for front ends, like an ETag. 0: no change recorded since versions were kept.")
    updated_at: datetime | None = strawberry.field(
        description="When the profile last changed: the time of its latest version (see "
        "profileHistory); null when no change was recorded since versions were kept.")
    consent: list[ConsentDecision] = strawberry.field(
        description="The latest consent decision per purpose, with its source, time and "
        "event; a purpose not listed has none, and is not consented.")

    @strawberry.field(description="One golden-record field by name, such as first_name.")
    def field(self, name: str) -> GoldenField | None:
        return next((g for g in self.golden if g.name == name), None)

    @classmethod
    def from_domain(cls, stored: ProfileView, disclosure: Disclosure) -> Profile:
        """The profile as `disclosure`'s caller may see it (personal data masked, or its
        read audited)."""
        view = disclosure.profile(stored)
        groups: dict[str, list[IdentifierNode]] = {}
        for shown, kept in zip(view.identifiers, stored.identifiers, strict=True):
            groups.setdefault(shown.identifier.kind, []).append(
                IdentifierNode.from_domain(shown, view.profile_id, kept.identifier))
        return cls(
            id=strawberry.ID(view.profile_id),
            requested_id=strawberry.ID(view.requested_id),
            merged_ids=[strawberry.ID(p) for p in view.merged_ids],
            created_at=view.created_at,
            first_seen=view.first_seen,
            last_seen=view.last_seen,
            identifiers=[IdentifierGroup(kind=kind, identifiers=nodes)
                         for kind, nodes in sorted(groups.items())],
            golden=[GoldenField.from_domain(g) for g in view.golden.values()],
            order_count=view.orders.count,
            total_spend=[Money(currency=c, amount=str(a)) for c, a in view.orders.total_spend],
            unknown_value_order_count=view.orders.unknown_value,
            limits_reached=[LimitReached(kind=k, limit=n) for k, n in view.limits_reached],
            version=view.version,
            updated_at=view.updated_at,
            consent=[ConsentDecision.from_domain(d) for d in view.consent],
        )


strawberry.enum(DomainChangeKind, name="ChangeKind",
                description="What happened to a profile: created, updated, merged (absorbedIds "
                "were merged into profileId), split (splitIds were carved out of profileId) "
                "or consent_changed (its latest consent decision for a purpose changed; "
                "causeEventId set it).")


@strawberry.type(description="One change of the change feed, as gRPC WatchChanges sends it.")
class ProfileChange:
    position: str = strawberry.field(
        description="Opaque and ordered: pass it as `after` to resume after this change.")
    change_id: str = strawberry.field(
        description="Stable id of the change: the same change is never sent with two ids.")
    kind: DomainChangeKind
    profile_id: strawberry.ID
    absorbed_ids: list[strawberry.ID] = strawberry.field(
        description="MERGED: the profiles merged into profileId; each still resolves to it.")
    split_ids: list[strawberry.ID] = strawberry.field(
        description="SPLIT: the new profiles carved out of profileId.")
    cause_event_id: str = strawberry.field(description="The event that caused the change.")
    at: datetime = strawberry.field(description="When the change was made.")

    @classmethod
    def from_domain(cls, positioned: PositionedChange) -> ProfileChange:
        change = positioned.change
        return cls(position=positioned.position, change_id=change.change_id, kind=change.kind,
                   profile_id=strawberry.ID(change.profile_id),
                   absorbed_ids=[strawberry.ID(p) for p in change.absorbed_ids],
                   split_ids=[strawberry.ID(p) for p in change.split_ids],
                   cause_event_id=change.cause_event_id, at=change.at)
