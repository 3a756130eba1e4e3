"""SQLite: consent decisions, the latest per (identifier, purpose) (docs/architecture.md,
"Consent"). An identifier is kept as its kind and value, as match records keep their anchor:
a decision needs no node id, and erasing one is a delete by key."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from identity.domain.consent import ConsentDecision, Purpose
from identity.domain.types import Identifier, from_micros, to_micros
from identity.store.protocol import ConsentRow
from identity.store.sqlite.base import SqlitePart, in_chunks

# One statement, so an upgrade runs it as it is.
CONSENT_TABLE = """CREATE TABLE IF NOT EXISTS consents (
    anchor_kind TEXT NOT NULL,
    anchor_value TEXT NOT NULL,
    purpose TEXT NOT NULL,
    granted INTEGER NOT NULL,
    source TEXT NOT NULL,
    at INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    PRIMARY KEY (anchor_kind, anchor_value, purpose)
) WITHOUT ROWID"""

# A later decision replaces the kept one; an earlier one (or the same, read again) does not.
# On a full tie a withdrawal wins, as domain/consent.py's latest_decisions decides.
_RECORD = (
    "INSERT INTO consents (anchor_kind, anchor_value, purpose, granted, source, at, event_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (anchor_kind, anchor_value, purpose) DO UPDATE SET"
    " granted = excluded.granted, source = excluded.source, at = excluded.at,"
    " event_id = excluded.event_id"
    " WHERE (excluded.at, excluded.event_id, 1 - excluded.granted)"
    " > (consents.at, consents.event_id, 1 - consents.granted)"
)


def _row(row: sqlite3.Row) -> ConsentRow:
    return ConsentRow(Identifier(row[0], row[1]), ConsentDecision(
        Purpose(row[2]), bool(row[3]), row[4], from_micros(row[5]), row[6]))


class SqliteConsentLog(SqlitePart):
    """Consent decisions, the latest per (identifier, purpose)."""

    async def record_consents(self, rows: Sequence[ConsentRow]) -> None:
        self._conn.executemany(_RECORD, [
            (r.anchor.kind, r.anchor.value, r.decision.purpose.value, int(r.decision.granted),
             r.decision.source, to_micros(r.decision.at), r.decision.event_id)
            for r in sorted(rows, key=lambda r: (r.anchor, r.decision.purpose))])

    async def read_consents(self, anchors: Sequence[Identifier]) -> list[ConsentRow]:
        # One statement per chunk, not one per anchor: every uncached profile read asks for
        # the consent of each of its members. The anchors drive the join (CROSS JOIN keeps
        # that order), a primary-key seek each.
        wanted = [part for a in sorted(set(anchors)) for part in (a.kind, a.value)]
        found: list[ConsentRow] = []
        for part in in_chunks(wanted):  # CHUNK is even: an anchor's pair stays together
            found += [_row(row) for row in self._rows(
                "SELECT c.anchor_kind, c.anchor_value, c.purpose, c.granted, c.source, c.at,"
                f" c.event_id FROM (VALUES {','.join(['(?, ?)'] * (len(part) // 2))}) AS w"
                " CROSS JOIN consents AS c"
                " ON c.anchor_kind = w.column1 AND c.anchor_value = w.column2", part)]
        return sorted(found, key=lambda r: (r.anchor, r.decision.purpose))

    async def erase_consents(self, anchors: Sequence[Identifier]) -> int:
        gone = 0
        for anchor in sorted(set(anchors)):
            gone += self._conn.execute(
                "DELETE FROM consents WHERE anchor_kind = ? AND anchor_value = ?",
                (anchor.kind, anchor.value)).rowcount
        return gone
