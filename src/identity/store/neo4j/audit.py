"""Neo4j: the audit log: every action on the graph, paged newest first by (at, action id), by
actor, action or profile (docs/architecture.md, "Steward operations").

One (:AuditEntry) per action (unique action_id), and one (:AuditMention {profile_id, at,
action_id}) per profile it concerns, so a profile's page seeks an index of its own
(graph_schema/0004_audit_versions.cypher)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import LiteralString

import neo4j

from identity.domain.types import ProfileId, from_micros, to_micros
from identity.store._paging import audit_index
from identity.store.neo4j.base import Neo4jPart
from identity.store.protocol import AuditCursor, AuditEntry, AuditFilter

_FIELDS: LiteralString = (
    "e.action_id AS action_id, e.action AS action, e.actor AS actor, e.at AS at,"
    " e.reason AS reason, e.profile_ids AS profile_ids, e.before AS before, e.after AS after,"
    " e.undo_of AS undo_of, e.undone_by AS undone_by"
)

# Above every stored time: a first page is the same query as the next ones.
_NEWEST = 2**63 - 1

# One fixed text per leading filter, each seeking its index (named in a hint, so the plan
# does not hang on statistics) with `at <= $at` and reading it backwards: ORDER BY names the
# index's properties, the filter's fixed value first, so the index gives the order and only
# ties in time are sorted by action id (a partial top) before the read stops after `limit`
# rows. The cursor test is a NOT, not an OR the planner would split into two unordered seeks;
# a filter that does not lead is checked on the rows read (coalesce: no OR either).
_BEFORE_CURSOR: LiteralString = " AND NOT (e.at = $at AND e.action_id >= $id)"
_EXCLUDED: LiteralString = " AND NOT e.action IN $exclude"  # checked on the rows read
_PAGE: LiteralString = (
    "MATCH (e:AuditEntry) USING INDEX e:AuditEntry(at) WHERE e.at <= $at"
    + _BEFORE_CURSOR + _EXCLUDED
    + " RETURN " + _FIELDS + " ORDER BY e.at DESC, e.action_id DESC LIMIT $limit"
)
_PAGE_BY_ACTION: LiteralString = (
    "MATCH (e:AuditEntry) USING INDEX e:AuditEntry(action, at)"
    " WHERE e.action = $action AND e.at <= $at" + _BEFORE_CURSOR + _EXCLUDED
    + " RETURN " + _FIELDS + " ORDER BY e.action DESC, e.at DESC, e.action_id DESC LIMIT $limit"
)
_PAGE_BY_ACTOR: LiteralString = (
    "MATCH (e:AuditEntry) USING INDEX e:AuditEntry(actor, at)"
    " WHERE e.actor = $actor AND e.at <= $at" + _BEFORE_CURSOR
    + " AND coalesce($action, e.action) = e.action" + _EXCLUDED
    + " RETURN " + _FIELDS + " ORDER BY e.actor DESC, e.at DESC, e.action_id DESC LIMIT $limit"
)
_PAGE_BY_PROFILE: LiteralString = (
    "MATCH (m:AuditMention) USING INDEX m:AuditMention(profile_id, at)"
    " WHERE m.profile_id = $profile AND m.at <= $at"
    " AND NOT (m.at = $at AND m.action_id >= $id)"
    " MATCH (e:AuditEntry {action_id: m.action_id})"
    " WHERE coalesce($actor, e.actor) = e.actor AND coalesce($action, e.action) = e.action"
    + _EXCLUDED + " RETURN " + _FIELDS
    + " ORDER BY m.profile_id DESC, m.at DESC, m.action_id DESC LIMIT $limit"
)


def _entry(r: neo4j.Record) -> AuditEntry:
    return AuditEntry(r["action_id"], r["action"], r["actor"], from_micros(r["at"]),
                      r["reason"], tuple(map(ProfileId, r["profile_ids"])), r["before"],
                      r["after"], r["undo_of"], r["undone_by"])


class Neo4jAuditLog(Neo4jPart):
    """The audit log: every action on the graph, newest first."""

    async def append_entries(self, entries: Sequence[AuditEntry]) -> None:
        # CREATE: an action id stored twice fails the uniqueness constraint (a conflict).
        await self._records(
            "UNWIND $rows AS r CREATE (e:AuditEntry) SET e = r.entry"
            " WITH r UNWIND r.mentions AS profile_id"
            " CREATE (:AuditMention {profile_id: profile_id, at: r.entry.at,"
            " action_id: r.entry.action_id})",
            rows=[{"entry": {"action_id": e.action_id, "action": e.action, "actor": e.actor,
                             "at": to_micros(e.at), "reason": e.reason,
                             "profile_ids": list(e.profile_ids), "before": e.before,
                             "after": e.after, "undo_of": e.undo_of,
                             "undone_by": e.undone_by},
                   "mentions": sorted(set(e.profile_ids))}
                  for e in entries])

    async def read_entries(self, action_ids: Sequence[str]) -> list[AuditEntry]:
        records = await self._records(
            "UNWIND $ids AS id MATCH (e:AuditEntry {action_id: id}) RETURN " + _FIELDS,
            ids=sorted(set(action_ids)))
        found = {r["action_id"]: _entry(r) for r in records}
        return [found[action_id] for action_id in action_ids if action_id in found]

    async def page_entries(self, where: AuditFilter, before: AuditCursor | None, limit: int
                           ) -> list[AuditEntry]:
        at, action_id = (to_micros(before[0]), before[1]) if before else (_NEWEST, "")
        query = {"profile": _PAGE_BY_PROFILE, "actor": _PAGE_BY_ACTOR,
                 "action": _PAGE_BY_ACTION, "time": _PAGE}[audit_index(where)]
        records = await self._records(
            query, at=at, id=action_id, limit=limit, actor=where.actor, action=where.action,
            profile=where.profile_id, exclude=list(where.exclude_actions))
        return [_entry(r) for r in records]

    async def mark_undone(self, undone: Sequence[tuple[str, str]]) -> None:
        await self._records(
            "UNWIND $rows AS r MATCH (e:AuditEntry {action_id: r.id}) SET e.undone_by = r.undo",
            rows=[{"id": action_id, "undo": undo_id} for action_id, undo_id in undone])
