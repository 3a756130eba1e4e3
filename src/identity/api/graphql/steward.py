"""Steward operations in GraphQL: merge, split (and its preview), unlink, review decisions,
undo, the audit log and profile versions (docs/architecture.md, "Steward operations"). Each
resolver makes one service call; the query and mutation types here are the bases of the
schema's Query and Mutation."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import strawberry
from strawberry.scalars import JSON

from identity.api.graphql.context import Context
from identity.api.graphql.inputs import IdentifierInput
from identity.api.graphql.types import IdentifierRef, Link, Profile
from identity.api.limits import check_profile_ids, indexed
from identity.domain.access import acting
from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.errors import InvalidIdentifier, ValidationError
from identity.domain.identifiers import printable
from identity.domain.types import Identifier
from identity.service.explain import LinkStep
from identity.service.history import VersionPage
from identity.service.steward import (
    MAX_EXCLUDED_ACTIONS,
    ActionResult,
    AuditEntry,
    AuditFilter,
    AuditPage,
    SplitPreview,
    check_sides,
    decode_audit_cursor,
    encode_audit_cursor,
)

Info = strawberry.Info[Context, None]


def normalized(info: Info, field: str, given: IdentifierInput) -> Identifier:
    """As ingest normalizes it; a bad one names its field."""
    try:
        return info.context.service.normalize(given.kind, given.value)
    except InvalidIdentifier as exc:
        raise ValidationError.of(field, f"{printable(given.kind, 32)} "
                                 f"'{printable(given.value, 32)}': {exc}") from None


@strawberry.type(description="A profile change an action made (the same as the change feed's).")
class ActionChange:
    kind: ChangeKind
    profile_id: strawberry.ID
    absorbed_ids: list[strawberry.ID]
    split_ids: list[strawberry.ID]

    @classmethod
    def from_domain(cls, change: ProfileChange) -> ActionChange:
        return cls(kind=change.kind, profile_id=strawberry.ID(change.profile_id),
                   absorbed_ids=[strawberry.ID(p) for p in change.absorbed_ids],
                   split_ids=[strawberry.ID(p) for p in change.split_ids])


@strawberry.type(description="What a steward's action did; actionId is what undo takes.")
class StewardActionPayload:
    action_id: strawberry.ID
    profile_ids: list[strawberry.ID] = strawberry.field(
        description="The profiles it left: a merge's survivor; a split's parts, the one that "
        "kept the id first.")
    changes: list[ActionChange]

    @strawberry.field(description="The profiles it left, as they are now.")
    async def profiles(self, info: Info) -> list[Profile]:
        views = [await info.context.profiles.load(str(p)) for p in self.profile_ids]
        return [Profile.from_domain(v, info.context.disclosure) for v in views if v is not None]

    @classmethod
    def from_domain(cls, result: ActionResult) -> StewardActionPayload:
        return cls(action_id=strawberry.ID(result.action_id),
                   profile_ids=[strawberry.ID(p) for p in result.profile_ids],
                   changes=[ActionChange.from_domain(c) for c in result.changes])


@strawberry.type(description="A profile a split would leave.")
class PlannedPart:
    profile_id: strawberry.ID | None = strawberry.field(
        description="The id it keeps; null: a new id, given when the split is applied.")
    identifiers: list[IdentifierRef]


@strawberry.type(description="What split would do, computed and not written: the links that "
                 "stop joining (the weakest set that keeps the groups apart) and the parts.")
class SplitPlan:
    profile_id: strawberry.ID
    cut: list[Link]
    parts: list[PlannedPart]

    @classmethod
    def from_domain(cls, preview: SplitPreview) -> SplitPlan:
        return cls(profile_id=strawberry.ID(preview.profile_id),
                   cut=[Link.from_domain(LinkStep.of(k)) for k in preview.cut],
                   parts=[PlannedPart(
                       profile_id=strawberry.ID(p.profile_id) if p.profile_id else None,
                       identifiers=[IdentifierRef.from_domain(n) for n in p.identifiers])
                          for p in preview.parts])


@strawberry.type(description="One action on the graph: a steward's, or an automatic merge or "
                 "split (actor rule:<rule>).")
class AuditLogEntry:
    action_id: strawberry.ID
    action: str = strawberry.field(description="merge, split, unlink, accept_review, "
                                   "reject_review, undo, auto_merge or auto_split")
    actor: str
    at: datetime
    reason: str
    profile_ids: list[strawberry.ID]
    before: JSON = strawberry.field(description="The state it started from (what undo "
                                    "restores): each identifier's profile, merged ids.")
    after: JSON = strawberry.field(description="What it left: profiles, their versions, the "
                                   "links it wrote, and e.g. a limit override.")
    undo_of: strawberry.ID | None
    undone_by: strawberry.ID | None

    @classmethod
    def from_domain(cls, entry: AuditEntry) -> AuditLogEntry:
        return cls(action_id=strawberry.ID(entry.action_id), action=entry.action,
                   actor=entry.actor, at=entry.at, reason=entry.reason,
                   profile_ids=[strawberry.ID(p) for p in entry.profile_ids],
                   before=json.loads(entry.before), after=json.loads(entry.after),
                   undo_of=strawberry.ID(entry.undo_of) if entry.undo_of else None,
                   undone_by=strawberry.ID(entry.undone_by) if entry.undone_by else None)


@strawberry.type
class AuditLogPage:
    entries: list[AuditLogEntry]
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next (older) page; null on the last page.")

    @classmethod
    def from_domain(cls, page: AuditPage) -> AuditLogPage:
        return cls(entries=[AuditLogEntry.from_domain(e) for e in page.entries],
                   end_cursor=encode_audit_cursor(page.end_cursor) if page.end_cursor else None)


@strawberry.input
class AuditLogFilter:
    actor: str | None = None
    action: str | None = None
    profile_id: strawberry.ID | None = None
    exclude_actions: list[str] | None = strawberry.field(default=None, description=(
        f"Actions left out, at most {MAX_EXCLUDED_ACTIONS} (read_pii: the reads of personal "
        "data, which outnumber what a steward undoes)."))


@strawberry.type
class FieldChange:
    name: str
    before: str | None
    after: str | None


@strawberry.type(description="One version of a profile: what changed, and who or what did it.")
class ProfileVersion:
    version: int
    at: datetime
    kind: str = strawberry.field(description="created, updated, merged, split, split_from "
                                 "(its first version, carved out of `related`) or "
                                 "merged_into (its last, absorbed by `related`)")
    cause: str = strawberry.field(description="The event id, or the steward action's id.")
    actor: str | None = strawberry.field(
        description="The steward, or rule:<rule> for what the data decided.")
    added: list[IdentifierRef]
    removed: list[IdentifierRef]
    related: list[strawberry.ID] = strawberry.field(
        description="Ids merged in, split out, or the profile it came from or went into.")
    field_changes: list[FieldChange] = strawberry.field(
        description="Golden-record fields whose value this version changed.")


@strawberry.type
class ProfileVersionPage:
    profile_id: strawberry.ID
    versions: list[ProfileVersion]
    end_cursor: int | None = strawberry.field(
        description="Pass as `after` for the next page; null on the last page.")

    @classmethod
    def from_domain(cls, page: VersionPage) -> ProfileVersionPage:
        return cls(profile_id=strawberry.ID(page.profile_id), end_cursor=page.end_cursor,
                   versions=[ProfileVersion(
                       version=v.row.version, at=v.row.at, kind=v.row.kind, cause=v.row.cause,
                       actor=v.row.actor,
                       added=[IdentifierRef.from_domain(n) for n in v.row.added],
                       removed=[IdentifierRef.from_domain(n) for n in v.row.removed],
                       related=[strawberry.ID(p) for p in v.row.related],
                       field_changes=[FieldChange(name=f.name, before=f.before, after=f.after)
                                      for f in v.fields])
                       for v in page.versions])


def _sides(info: Info, sides: list[list[IdentifierInput]]) -> list[list[Identifier]]:
    check_sides(len(sides), sum(len(side) for side in sides))
    return [[normalized(info, f"sides[{i}][{j}]", given) for j, given in enumerate(side)]
            for i, side in enumerate(sides)]


@strawberry.type
class StewardQueries:
    @strawberry.field(description="What split would do to a profile, without doing it.")
    async def split_preview(self, info: Info, profile_id: strawberry.ID,
                            sides: list[list[IdentifierInput]]) -> SplitPlan:
        check_profile_ids([("profileId", str(profile_id))])
        preview = await info.context.service.preview_split(str(profile_id),
                                                           _sides(info, sides))
        return SplitPlan.from_domain(info.context.disclosure.split_preview(preview))

    @strawberry.field(description="Every action on the graph, newest first.")
    async def audit_log(self, info: Info, filter: AuditLogFilter | None = None,
                        first: int = 20, after: str | None = None) -> AuditLogPage:
        given = filter or AuditLogFilter()
        if given.profile_id is not None:
            check_profile_ids([("filter.profileId", str(given.profile_id))])
        where = AuditFilter(given.actor, given.action,
                            str(given.profile_id) if given.profile_id else None,
                            tuple(given.exclude_actions or ()))
        cursor = decode_audit_cursor(after) if after else None
        return AuditLogPage.from_domain(info.context.disclosure.audit_page(
            await info.context.service.audit_log(where, first, cursor)))

    @strawberry.field(description="A profile's versions, oldest first: what changed in each "
                      "(identifiers, merges, splits, golden-record fields) and what did it.")
    async def profile_history(self, info: Info, id: strawberry.ID, first: int = 20,
                              after: int = 0) -> ProfileVersionPage | None:
        check_profile_ids([("id", str(id))])
        page = await info.context.service.profile_versions(str(id), first, after)
        return (ProfileVersionPage.from_domain(info.context.disclosure.versions(page))
                if page else None)


@strawberry.type
class StewardMutations:
    @strawberry.mutation(description="Merges profiles with a steward's link. The per-profile "
                         "limits apply unless overrideLimits, which the audit log records.")
    async def merge(self, info: Info, profile_ids: list[strawberry.ID], actor: str,
                    reason: str, override_limits: bool = False) -> StewardActionPayload:
        check_profile_ids(indexed("profileIds", [str(p) for p in profile_ids]))
        done = await info.context.service.merge([str(p) for p in profile_ids],
                                                _actor(info, actor), reason,
                                                override_limits=override_limits)
        return StewardActionPayload.from_domain(info.context.disclosure.action(done))

    @strawberry.mutation(description="Splits a profile so each group of identifiers ends up "
                         "in its own part (splitPreview shows how), and keeps them apart for "
                         "good: later events, the same ones replayed included, do not rejoin.")
    async def split(self, info: Info, profile_id: strawberry.ID,
                    sides: list[list[IdentifierInput]], actor: str, reason: str
                    ) -> StewardActionPayload:
        check_profile_ids([("profileId", str(profile_id))])
        done = await info.context.service.split(str(profile_id), _sides(info, sides),
                                                _actor(info, actor), reason)
        return StewardActionPayload.from_domain(info.context.disclosure.action(done))

    @strawberry.mutation(description="No link between a and b joins any more; their profile "
                         "splits if that link held it together.")
    async def unlink(self, info: Info, a: IdentifierInput, b: IdentifierInput, actor: str,
                     reason: str) -> StewardActionPayload:
        done = await info.context.service.unlink(normalized(info, "a", a),
                                                 normalized(info, "b", b),
                                                 _actor(info, actor), reason)
        return StewardActionPayload.from_domain(info.context.disclosure.action(done))

    @strawberry.mutation(description="Accepts a possible match (a steward's link joins it) or "
                         "rejects it (a never-link keeps it apart); it leaves the queue.")
    async def decide_review(self, info: Info, a: IdentifierInput, b: IdentifierInput,
                            accept: bool, actor: str, reason: str,
                            override_limits: bool = False) -> StewardActionPayload:
        done = await info.context.service.decide_review(
            normalized(info, "a", a), normalized(info, "b", b), accept, _actor(info, actor), reason,
            override_limits=override_limits)
        return StewardActionPayload.from_domain(info.context.disclosure.action(done))

    @strawberry.mutation(description="Undoes a steward's action from the audit log: the exact "
                         "partition and ids before it, or a clear refusal when later changes "
                         "make that impossible.")
    async def undo(self, info: Info, action_id: strawberry.ID, actor: str, reason: str
                   ) -> StewardActionPayload:
        done = await info.context.service.undo(str(action_id), _actor(info, actor), reason)
        return StewardActionPayload.from_domain(info.context.disclosure.action(done))


def _actor(info: Info, given: str) -> str:
    """Who the audit log names: the caller's key or token subject, then `actor`."""
    return acting(info.context.principal, given)


def as_of_time(value: datetime) -> datetime:
    """A time without an offset is UTC, as an event's timestamp is."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
