"""Profile versions and the audit trail of automatic merges and splits, written in the
transaction that made the changes; and reading a profile back as it was (docs/architecture.md,
"Steward operations").

Every change bumps the version of each profile it concerns: a merge gives the survivor a
`merged` version and each absorbed id a last `merged_into` one; a split gives the profile a
`split` version and each carved-out id a first `split_from` one. A version keeps what changed
in membership (identifiers added, removed, the ids merged in); what changed in the golden
record is computed when the history is read, from the members and the events received by
then, so ingest writes no more than a row per change.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.errors import ValidationError
from identity.domain.identifiers import printable
from identity.domain.survivorship import GoldenField, SurvivorshipRules
from identity.domain.types import Identifier, ProfileId
from identity.service.queries import Member, ProfileView, profile_data
from identity.service.retry import retry_on_conflict
from identity.store.protocol import (
    AuditEntry,
    GraphStore,
    GraphTransaction,
    ProfileVersions,
    StoredEvent,
    VersionRow,
)

CREATED, UPDATED, MERGED, SPLIT = "created", "updated", "merged", "split"
SPLIT_FROM, MERGED_INTO = "split_from", "merged_into"
VERSION_PAGE = 1000  # versions read per query when a profile's timeline is folded


def new_action_id() -> str:
    """Random, like profile ids: an audited action is named once, on every store."""
    return f"act_{uuid.uuid4().hex}"


_ACTION_ID = re.compile(r"act_[0-9a-f]{32}")


def check_action_id(field: str, action_id: str) -> None:
    """A caller's action id is one new_action_id could have made, or a clear refusal."""
    if not _ACTION_ID.fullmatch(action_id):
        raise ValidationError.of(field, f"'{printable(action_id, 32)}' is not an action id "
                                 "(act_ and 32 hexadecimal digits)")


async def record_changes(tx: GraphTransaction, changes: Sequence[ProfileChange],
                         actor: str | None = None,
                         touched: Iterable[ProfileId] = ()) -> None:
    """The versions of every profile the changes concern and, for automatic merges and
    splits (no `actor`), their audit entries; then the change log, last (its lock is held
    for the commit only on Neo4j), with the `touched` profiles no change mentions: what
    other replicas' caches must forget too (docs/architecture.md, "Caching across
    replicas")."""
    mentioned = {p for change in changes for p in change.mentioned_ids}
    unchanged = sorted(set(touched) - mentioned)
    if changes:
        await _record_versions(tx, changes, actor)
    if changes and actor is None:
        await tx.audit.append_entries([_automatic_entry(c) for c in changes
                                       if c.kind in (ChangeKind.MERGED, ChangeKind.SPLIT)])
    await tx.changes.append_changes(changes, unchanged)


async def _record_versions(tx: GraphTransaction, changes: Sequence[ProfileChange],
                           actor: str | None) -> None:
    latest = await tx.versions.latest_versions(
        sorted({p for change in changes for p in change.mentioned_ids}))
    rows: list[VersionRow] = []
    for change in changes:
        by = actor or (f"rule:{change.rule}" if change.rule else None)
        for profile_id, kind, added, removed, related in _versions_of(change):
            latest[profile_id] = latest.get(profile_id, 0) + 1
            rows.append(VersionRow(profile_id, latest[profile_id], change.at, kind,
                                   change.cause_event_id, by, added, removed, related))
    await tx.versions.append_versions(rows)


_Version = tuple[ProfileId, str, tuple[Identifier, ...], tuple[Identifier, ...],
                 tuple[ProfileId, ...]]  # profile, kind, added, removed, related


def _versions_of(change: ProfileChange) -> list[_Version]:
    """The new version of each profile one change concerns, in the order they happened."""
    if change.kind is ChangeKind.MERGED:
        return [(change.profile_id, MERGED, change.added, (), change.absorbed_ids),
                *((absorbed, MERGED_INTO, (), (), (change.profile_id,))
                  for absorbed in change.absorbed_ids)]
    if change.kind is ChangeKind.SPLIT:
        return [(change.profile_id, SPLIT, (), change.removed, change.split_ids),
                *((split_id, SPLIT_FROM, piece, (), (change.profile_id,))
                  for split_id, piece in zip(change.split_ids, change.pieces, strict=True))]
    return [(change.profile_id, change.kind.value, change.added, (), ())]


def _automatic_entry(change: ProfileChange) -> AuditEntry:
    merged = change.kind is ChangeKind.MERGED
    rule = change.rule or "same_event"
    if merged:
        reason = (f"event {change.cause_event_id} joined them ({rule})")
        before: dict[str, object] = {
            "profiles": sorted([change.profile_id, *change.absorbed_ids])}
        after: dict[str, object] = {"profiles": [change.profile_id]}
    else:
        reason = f"event {change.cause_event_id} made the limits decide again ({rule})"
        before = {"profiles": [change.profile_id]}
        after = {"profiles": [change.profile_id, *change.split_ids],
                 "moved": [[n.kind, n.value] for n in change.removed]}
    return AuditEntry(new_action_id(), "auto_merge" if merged else "auto_split",
                      f"rule:{rule}", change.at, reason, change.mentioned_ids,
                      json.dumps(before, sort_keys=True), json.dumps(after, sort_keys=True))


@dataclass
class Timeline:
    """Folds versions into members, reading each profile's versions once."""

    versions: ProfileVersions
    _read: dict[str, list[VersionRow]]

    @classmethod
    def over(cls, versions: ProfileVersions) -> Timeline:
        return cls(versions, {})

    async def of(self, profile_id: str) -> list[VersionRow]:
        if profile_id not in self._read:
            rows: list[VersionRow] = []
            while True:
                page = await self.versions.read_versions(profile_id, len(rows), VERSION_PAGE)
                rows += page
                if len(page) < VERSION_PAGE:
                    break
            self._read[profile_id] = rows
        return self._read[profile_id]

    async def survivor(self, profile_id: str, until: datetime) -> str:
        """Where an id pointed at `until`: itself, or the profile it was merged into."""
        seen = {profile_id}
        while True:
            last = [v for v in await self.of(profile_id) if v.at <= until]
            if not last or last[-1].kind != MERGED_INTO or last[-1].related[0] in seen:
                return profile_id
            profile_id = last[-1].related[0]
            seen.add(profile_id)

    async def members(self, profile_id: str, until: datetime, through: int | None = None,
                      into: str | None = None, depth: int = 0) -> set[Identifier]:
        """Its members at `until` (and at most version `through`); `into`: stop before it
        was merged into that profile (the members a merge brought)."""
        found: set[Identifier] = set()
        for row in await self.of(profile_id):
            if row.at > until or (through is not None and row.version > through):
                break
            if row.kind == MERGED_INTO:
                if into is not None and into in row.related and row.at >= until:
                    break
                found = set()
                continue
            found |= set(row.added)
            found -= set(row.removed)
            if row.kind == MERGED and depth < 64:  # a cycle of merges cannot recurse forever
                for absorbed in row.related:
                    found |= await self.members(absorbed, row.at, into=profile_id,
                                                depth=depth + 1)
        return found


@dataclass(frozen=True, slots=True)
class FieldChange:
    name: str
    before: str | None  # None: the field had no value
    after: str | None


@dataclass(frozen=True, slots=True)
class VersionView:
    row: VersionRow
    fields: tuple[FieldChange, ...]  # golden-record fields this version changed


@dataclass(frozen=True, slots=True)
class VersionPage:
    profile_id: ProfileId
    versions: tuple[VersionView, ...]
    end_cursor: int | None  # the last version listed, when more follow


MAX_VERSIONS_PAGE = 50


class History:
    """Reads a profile's versions and the profile as it was at a time."""

    def __init__(self, store: GraphStore, survivorship: SurvivorshipRules) -> None:
        self._store = store
        self._survivorship = survivorship

    async def versions(self, profile_id: str, first: int, after: int) -> VersionPage | None:
        """Oldest first; None for an id no profile ever had."""
        if not 1 <= first <= MAX_VERSIONS_PAGE:
            raise ValidationError.of(
                "first", f"must be between 1 and {MAX_VERSIONS_PAGE}, got {first}")
        if not 0 <= after <= 2**62:
            raise ValidationError.of("after", f"must be a version number, got {after}")

        async def read() -> VersionPage | None:
            async with self._store.transaction(read_only=True) as tx:
                rows = await tx.versions.read_versions(profile_id, after, first + 1)
                if not rows and not await tx.graph.lookup_profiles([profile_id]):
                    return None
                page = rows[:first]
                timeline = Timeline.over(tx.versions)
                members = [await timeline.members(profile_id, v.at, v.version) for v in page]
                previous = await timeline.members(profile_id, page[0].at, page[0].version - 1) \
                    if page else set()
                lineage = await timeline.of(profile_id)
                events = await tx.events.read_stored_events(
                    sorted(set().union(previous, *members)))
            golden = [self._golden(events, previous, page[0], lineage, before=True)] \
                if page else []
            golden += [self._golden(events, m, v, lineage) for v, m in zip(page, members,
                                                                          strict=True)]
            views = tuple(VersionView(v, _field_changes(golden[i], golden[i + 1]))
                          for i, v in enumerate(page))
            more = len(rows) > first
            return VersionPage(ProfileId(profile_id), views,
                               page[-1].version if more and page else None)

        return await retry_on_conflict(read)

    def _golden(self, events: Sequence[StoredEvent], members: set[Identifier],
                version: VersionRow, lineage: Sequence[VersionRow], *, before: bool = False
                ) -> Mapping[str, GoldenField]:
        """The golden record of `members` at `version` (just before it, for the state it
        started from): the events received earlier, and of those received in the same
        transaction, the ones that caused this profile's versions so far."""
        last = version.version - 1 if before else version.version
        causes = {v.cause for v in lineage if v.version <= last}
        kept = [e for e in events if e.anchor in members and (
            e.received_at is None or e.received_at < version.at or
            (e.received_at == version.at and e.event_id in causes))]
        return profile_data(kept, self._survivorship)[0]

    async def as_of(self, profile_id: str, at: datetime) -> ProfileView | None:
        """The profile an id named at `at`, with the members and golden record it had then;
        None when the id named no profile then (or before versions were recorded)."""

        async def read() -> ProfileView | None:
            async with self._store.transaction(read_only=True) as tx:
                timeline = Timeline.over(tx.versions)
                current = await timeline.survivor(profile_id, at)
                rows = [v for v in await timeline.of(current) if v.at <= at]
                if not rows:
                    return None
                members = await timeline.members(current, at)
                if not members:
                    return None
                nodes = await tx.graph.find_identifiers(sorted(members))
                events = await tx.events.read_stored_events(sorted(members))
            kept = [e for e in events if e.received_at is None or e.received_at <= at]
            golden, orders = profile_data(kept, self._survivorship)
            absorbed = sorted({p for v in rows if v.kind == MERGED for p in v.related})
            return ProfileView(
                profile_id=ProfileId(current), requested_id=profile_id, created_at=rows[0].at,
                merged_ids=tuple(ProfileId(p) for p in absorbed),
                identifiers=tuple(Member(n.identifier, n.first_seen, min(n.last_seen, at)
                                         if n.first_seen <= at else n.last_seen, n.hub_reason)
                                  for n in nodes),
                golden=golden, orders=orders, version=rows[-1].version,
                updated_at=rows[-1].at)

        return await retry_on_conflict(read)


def _field_changes(before: Mapping[str, GoldenField], after: Mapping[str, GoldenField]
                   ) -> tuple[FieldChange, ...]:
    changed = []
    for name in sorted(set(before) | set(after)):
        old = before[name].value if name in before else None
        new = after[name].value if name in after else None
        if old != new:
            changed.append(FieldChange(name, old, new))
    return tuple(changed)
