"""SQLite: the audit log: every action on the graph, paged newest first by (at, action id),
by actor, action or profile (docs/architecture.md, "Steward operations")."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from identity.domain.types import from_micros, to_micros
from identity.store._event_codec import decode_ids, encode_ids
from identity.store._paging import audit_index
from identity.store.errors import StoreConflict
from identity.store.protocol import AuditCursor, AuditEntry, AuditFilter
from identity.store.sqlite.base import SqlitePart, in_chunks, placeholders

_COLUMNS = ("e.action_id, e.action, e.actor, e.at, e.reason, e.profile_ids, e.before, e.after,"
            " e.undo_of, e.undone_by")

# Above every stored time: a first page is the same query as the next ones.
_NEWEST = 2**63 - 1

# One fixed text per leading filter, each walking the index of that filter (audit_by_time,
# audit_by_actor, audit_by_action, audit_mentions' key) backwards from the cursor and stopping
# after `limit` rows. The row-value test is the index's own range; a filter that does not lead
# is checked on the rows read (`:x IS NULL OR ...`), as are the actions left out (a JSON array).
# Every value is a parameter.
_EXCLUDED = " AND e.action NOT IN (SELECT value FROM json_each(:exclude))"
_PAGE = (
    f"SELECT {_COLUMNS} FROM audit_entries e WHERE (e.at, e.action_id) < (:at, :id)" + _EXCLUDED
    + " ORDER BY e.at DESC, e.action_id DESC LIMIT :limit"
)
_PAGE_BY_ACTION = (
    f"SELECT {_COLUMNS} FROM audit_entries e WHERE e.action = :action"
    " AND (e.at, e.action_id) < (:at, :id)" + _EXCLUDED
    + " ORDER BY e.at DESC, e.action_id DESC LIMIT :limit"
)
_PAGE_BY_ACTOR = (
    f"SELECT {_COLUMNS} FROM audit_entries e WHERE e.actor = :actor"
    " AND (e.at, e.action_id) < (:at, :id) AND (:action IS NULL OR e.action = :action)"
    + _EXCLUDED + " ORDER BY e.at DESC, e.action_id DESC LIMIT :limit"
)
# CROSS JOIN: the mentions lead, so their key gives the order and the entries are looked up
# by action id, one per row of the page.
_PAGE_BY_PROFILE = (
    f"SELECT {_COLUMNS} FROM audit_mentions m CROSS JOIN audit_entries e"
    " ON e.action_id = m.action_id"
    " WHERE m.profile_id = :profile AND (m.at, m.action_id) < (:at, :id)"
    " AND (:actor IS NULL OR e.actor = :actor) AND (:action IS NULL OR e.action = :action)"
    + _EXCLUDED + " ORDER BY m.at DESC, m.action_id DESC LIMIT :limit"
)


def _entry(row: sqlite3.Row) -> AuditEntry:
    return AuditEntry(row[0], row[1], row[2], from_micros(row[3]), row[4], decode_ids(row[5]),
                      row[6], row[7], row[8], row[9])


class SqliteAuditLog(SqlitePart):
    """The audit log: every action on the graph, newest first."""

    async def append_entries(self, entries: Sequence[AuditEntry]) -> None:
        try:
            self._conn.executemany(
                "INSERT INTO audit_entries (action_id, action, actor, at, reason, profile_ids,"
                " before, after, undo_of, undone_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(e.action_id, e.action, e.actor, to_micros(e.at), e.reason,
                  encode_ids(e.profile_ids), e.before, e.after, e.undo_of, e.undone_by)
                 for e in entries])
        except sqlite3.IntegrityError as exc:
            # As on Neo4j, where the uniqueness constraint refuses it: an action id is random,
            # so a second one is a retried action, and the caller's retry sorts it out.
            raise StoreConflict(f"audit entry stored twice: {exc}") from exc
        # A profile named twice by one action is one mention.
        self._conn.executemany(
            "INSERT OR IGNORE INTO audit_mentions (profile_id, at, action_id) VALUES (?, ?, ?)",
            [(profile_id, to_micros(e.at), e.action_id)
             for e in entries for profile_id in e.profile_ids])

    async def read_entries(self, action_ids: Sequence[str]) -> list[AuditEntry]:
        found: dict[str, AuditEntry] = {}
        for part in in_chunks(sorted(set(action_ids))):
            for row in self._rows(
                f"SELECT {_COLUMNS} FROM audit_entries e"
                f" WHERE e.action_id IN ({placeholders(len(part))})",
                part,
            ):
                found[row[0]] = _entry(row)
        return [found[action_id] for action_id in action_ids if action_id in found]

    async def page_entries(self, where: AuditFilter, before: AuditCursor | None, limit: int
                           ) -> list[AuditEntry]:
        at, action_id = (to_micros(before[0]), before[1]) if before else (_NEWEST, "")
        params = {"at": at, "id": action_id, "limit": limit, "actor": where.actor,
                  "action": where.action, "profile": where.profile_id,
                  "exclude": json.dumps(list(where.exclude_actions))}
        query = {"profile": _PAGE_BY_PROFILE, "actor": _PAGE_BY_ACTOR,
                 "action": _PAGE_BY_ACTION, "time": _PAGE}[audit_index(where)]
        return [_entry(row) for row in self._conn.execute(query, params).fetchall()]

    async def mark_undone(self, undone: Sequence[tuple[str, str]]) -> None:
        self._conn.executemany(
            "UPDATE audit_entries SET undone_by = ? WHERE action_id = ?",
            [(undo_id, action_id) for action_id, undo_id in undone])
