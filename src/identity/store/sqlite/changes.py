"""SQLite: the change log: profile changes in commit order, read by position, pruned by age."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import takewhile

from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.types import EventId, ProfileId, from_micros, to_micros
from identity.store._event_codec import decode_ids, encode_ids
from identity.store.protocol import ChangePage, ChangeRow
from identity.store.sqlite.base import SqlitePart

TOUCHED = "touched"  # the kind of a touch entry (ChangeLog.append_changes)


class SqliteChangeLog(SqlitePart):
    """The change log: profile changes in commit order, read by position, pruned by age."""

    async def append_changes(self, changes: Sequence[ProfileChange],
                             touched: Sequence[ProfileId] = ()) -> None:
        self._conn.executemany(
            "INSERT INTO changes (kind, profile_id, cause_event_id, at, absorbed_ids,"
            " split_ids) VALUES (?, ?, ?, ?, ?, ?)",
            [(c.kind.value, c.profile_id, c.cause_event_id, to_micros(c.at),
              encode_ids(c.absorbed_ids), encode_ids(c.split_ids)) for c in changes])
        if touched:
            self._conn.execute(
                "INSERT INTO changes (kind, profile_id, cause_event_id, at, touched_ids)"
                " VALUES (?, '', '', ?, ?)",
                (TOUCHED, to_micros(datetime.now(UTC)), encode_ids(tuple(sorted(set(touched))))))

    async def read_changes(
        self, after: int, limit: int, profile_ids: Sequence[str]
    ) -> ChangePage:
        # One writer at a time hands out positions and commits before the next begins, and a
        # read sees one snapshot: no change with a smaller position can appear later.
        rows = self._rows(
            "SELECT position, kind, profile_id, cause_event_id, at, absorbed_ids, split_ids,"
            " touched_ids FROM changes WHERE position > ? ORDER BY position LIMIT ?",
            (after, limit))
        wanted = set(profile_ids)
        found = [ChangeRow(row[0], ProfileChange(
            ChangeKind(row[1]), ProfileId(row[2]), EventId(row[3]), from_micros(row[4]),
            decode_ids(row[5]), decode_ids(row[6]))) for row in rows if row[1] != TOUCHED]
        touched = [] if wanted else [ProfileId(p) for row in rows if row[1] == TOUCHED
                                     for p in decode_ids(row[7])]
        pruned = self._conn.execute(
            "SELECT value FROM meta WHERE key = 'changes_pruned_through'").fetchone()
        return ChangePage(
            [r for r in found if not wanted or not wanted.isdisjoint(r.change.mentioned_ids)],
            rows[-1][0] if rows else after, int(pruned[0]) if pruned else 0,
            await self.last_position(), touched)

    async def last_position(self) -> int:
        last = self._conn.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
        return int(last[0]) if last else 0

    async def prune_changes(self, before: datetime, limit: int) -> int:
        cutoff = to_micros(before)
        rows = self._rows("SELECT position, at FROM changes ORDER BY position LIMIT ?", (limit,))
        old = list(takewhile(lambda row: row[1] < cutoff, rows))
        if not old:
            return 0
        self._conn.execute("DELETE FROM changes WHERE position <= ?", (old[-1][0],))
        self._conn.execute(
            "INSERT INTO meta (key, value) VALUES ('changes_pruned_through', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(old[-1][0]),))
        return len(old)

