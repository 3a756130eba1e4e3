"""What a steward's action records: the profiles as they were before it (what undo gives
back), what it left (the links it wrote, the versions of the profiles), its audit entry, and
undo's check that nothing has moved since (docs/architecture.md, "Steward operations")."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from identity.domain.errors import ActionRefused, ValidationError
from identity.domain.guards import ProfileLimits
from identity.domain.identifiers import printable
from identity.domain.links import Link, LinkObservation
from identity.domain.types import Identifier, ProfileId, from_micros, to_micros
from identity.service.settle import read_region
from identity.store.protocol import AuditCursor, AuditEntry, GraphTransaction, NodeRow

MAX_LATER_VERSIONS = 1000  # changes since an action an undo looks through, at most


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The profiles an action's settling may change, as they are before it: what undo gives
    back. The region settling reads (service/settle.py), so a profile a limit held apart
    and the action lets join is in it too."""

    members: Mapping[int, list[NodeRow]]
    profile_ids: Mapping[int, ProfileId]
    merged: Mapping[ProfileId, list[ProfileId]]
    links: Sequence[Link]  # every link touching a member

    @property
    def ids(self) -> frozenset[ProfileId]:
        return frozenset(self.profile_ids.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "profile_of": {row.identifier.key: self.profile_ids[g]
                           for g, rows in sorted(self.members.items()) for row in rows},
            "merged": {p: list(m) for p, m in sorted(self.merged.items())},
        }


async def snapshot(tx: GraphTransaction, seeds: Sequence[Identifier], limits: ProfileLimits,
                    groups: Sequence[int] = ()) -> Snapshot:
    region = await read_region(tx.graph, seeds, None, limits, groups)  # its groups locked
    members: dict[int, list[NodeRow]] = {g: [] for g in region.groups}
    for row in region.members.values():
        if row.group_id is not None and row.group_id in members:
            members[row.group_id].append(row)
    states = region.groups.values()
    merged = {g.profile_id: await tx.graph.merged_ids(g.profile_id) for g in states}
    return Snapshot(members, {g.group_id: g.profile_id for g in states}, merged,
                     list(region.links.values()))


async def after_state(tx: GraphTransaction, profile_ids: Sequence[ProfileId],
                 links: Sequence[LinkObservation]) -> dict[str, Any]:
    """What the action left: the links it wrote, and the version of every profile, which an
    undo finds unchanged or refuses."""
    versions = await tx.versions.latest_versions(sorted(set(profile_ids)))
    return {"profiles": sorted(set(profile_ids)),
            "versions": {p: versions.get(p, 0) for p in sorted(set(profile_ids))},
            "links": [[k.a.key, k.b.key, k.rule.value] for k in links]}


def audit_entry(action_id: str, action: str, actor: str, at: datetime, reason: str,
           before: Snapshot, after: dict[str, Any], *, extra: Mapping[str, Any] | None = None
           ) -> AuditEntry:
    state = {**after, **(extra or {})}
    return AuditEntry(action_id, action, actor, at, reason,
                      tuple(sorted(before.ids | set(after["profiles"]))),
                      json.dumps(before.as_json(), sort_keys=True),
                      json.dumps(state, sort_keys=True))


async def check_unchanged(tx: GraphTransaction, versions: Mapping[str, int]) -> None:
    """Every profile the action left holds the identifiers it left it with, or changed since
    only by actions that were undone again (an action and its undo leave the profiles exactly
    as they found them): undoing the later actions first makes an earlier one undoable."""
    now = await tx.versions.latest_versions(sorted(versions))
    for profile_id, version in sorted(versions.items()):
        if now.get(ProfileId(profile_id), 0) == version:
            continue
        later = await tx.versions.read_versions(profile_id, version, MAX_LATER_VERSIONS)
        # A change to the golden record alone (new traits, an order) moves no identifier.
        moved = [v for v in later if v.kind != "updated" or v.added or v.removed]
        causes = {v.cause for v in moved}
        entries = {e.action_id: e for e in await tx.audit.read_entries(sorted(causes))}
        if len(later) < MAX_LATER_VERSIONS and all(
                (found := entries.get(cause)) is not None and
                (found.undone_by in causes or found.undo_of in causes) for cause in causes):
            continue
        said = "; ".join(f"version {v.version}: {v.kind} by {v.actor or 'event ' + v.cause}"
                         f" at {v.at.isoformat()}" for v in moved[:3])
        raise ActionRefused(f"profile {profile_id} changed after this action ({said}), so "
                            "an exact undo is impossible; undo the later actions first, or "
                            "split or merge by hand")


def encode_audit_cursor(cursor: AuditCursor) -> str:
    return f"{to_micros(cursor[0])}:{cursor[1]}"


def decode_audit_cursor(text: str) -> AuditCursor:
    micros, colon, action_id = text.partition(":")
    if not colon or not micros.isascii() or not micros.isdigit() or len(micros) > 20 \
            or not action_id.startswith("act_") or len(action_id) > 64 \
            or int(micros) > _LATEST_MICROS:
        raise ValidationError.of("after", f"'{printable(text, 32)}' is not a cursor this API "
                                 "returned")
    return from_micros(int(micros)), action_id


_LATEST_MICROS = to_micros(datetime.max.replace(tzinfo=UTC))
