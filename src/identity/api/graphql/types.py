"""GraphQL output types, each built from a domain or service value by from_domain()."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from identity.api.graphql.context import Context
from identity.domain.errors import FieldError as DomainFieldError
from identity.domain.events import IgnoredIdentifier as DomainIgnored
from identity.domain.links import Link as DomainLink
from identity.domain.survivorship import GoldenField as DomainGoldenField
from identity.domain.types import Identifier
from identity.service import IngestResult, IngestStatus, ProfileView
from identity.store.protocol import NodeRow


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


@strawberry.type(description="An identifier kept out of the graph (a placeholder), and why.")
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


@strawberry.type(description="A link between two identifiers with the evidence that made it.")
class Link:
    a: IdentifierRef
    b: IdentifierRef
    rule: str
    is_active: bool
    inactive_reason: str | None
    score: float | None
    sources: list[str]
    first_seen: datetime
    last_seen: datetime
    event_ids: list[str]

    @classmethod
    def from_domain(cls, link: DomainLink) -> Link:
        ev = link.evidence
        return cls(a=IdentifierRef.from_domain(link.a), b=IdentifierRef.from_domain(link.b),
                   rule=ev.rule, is_active=link.is_active, inactive_reason=link.inactive_reason,
                   score=ev.score, sources=list(ev.sources), first_seen=ev.first_seen,
                   last_seen=ev.last_seen, event_ids=list(ev.event_ids))


@strawberry.type(description="An identifier node of the graph.")
class IdentifierNode:
    kind: str
    value: str
    first_seen: datetime
    last_seen: datetime
    profile_id: strawberry.ID | None
    hub_reason: str | None = strawberry.field(
        description="Set when this identifier is shared by many people and no longer links.")

    @strawberry.field(description="The links touching this identifier, with their evidence.")
    async def links(self, info: strawberry.Info[Context, None]) -> list[Link]:
        found = await info.context.links.load(Identifier(self.kind, self.value))
        return [Link.from_domain(link) for link in found]

    @strawberry.field(description="The golden profile this identifier belongs to.")
    async def profile(self, info: strawberry.Info[Context, None]) -> Profile | None:
        if self.profile_id is None:
            return None
        view = await info.context.profiles.load(str(self.profile_id))
        return Profile.from_domain(view) if view else None

    @classmethod
    def from_domain(cls, node: NodeRow, profile_id: str | None) -> IdentifierNode:
        return cls(kind=node.identifier.kind, value=node.identifier.value,
                   first_seen=node.first_seen, last_seen=node.last_seen,
                   profile_id=strawberry.ID(profile_id) if profile_id else None,
                   hub_reason=node.hub_reason)


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

    @strawberry.field(description="One golden-record field by name, such as first_name.")
    def field(self, name: str) -> GoldenField | None:
        return next((g for g in self.golden if g.name == name), None)

    @classmethod
    def from_domain(cls, view: ProfileView) -> Profile:
        return cls(
            id=strawberry.ID(view.profile_id),
            requested_id=strawberry.ID(view.requested_id),
            merged_ids=[strawberry.ID(p) for p in view.merged_ids],
            created_at=view.created_at,
            first_seen=view.first_seen,
            last_seen=view.last_seen,
            identifiers=[
                IdentifierGroup(kind=kind, identifiers=[
                    IdentifierNode.from_domain(n, view.profile_id) for n in nodes])
                for kind, nodes in view.identifiers_by_kind().items()
            ],
            golden=[GoldenField.from_domain(g) for g in view.golden.values()],
            order_count=view.orders.count,
            total_spend=[Money(currency=c, amount=str(a)) for c, a in view.orders.total_spend],
        )
