"""SQLite: the match index: match records and the blocking keys that find them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from identity.domain.matching.records import MatchRecord
from identity.domain.types import EventId, Identifier, from_micros, to_micros
from identity.store._event_codec import decode_keys, decode_traits, encode_keys, encode_traits
from identity.store.protocol import BlockLookup
from identity.store.sqlite.base import SqlitePart, in_chunks, placeholders


class SqliteMatchIndex(SqlitePart):
    """The match index: match records and the blocking keys that find them."""

    async def index_records(self, records: Sequence[MatchRecord], max_block: int) -> list[str]:
        fresh: list[MatchRecord] = []
        for record in records:
            inserted = self._conn.execute(
                "INSERT INTO match_records (record_id, anchor_kind, anchor_value, fields, keys,"
                " event_id, source, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (record.record_id, record.anchor.kind, record.anchor.value,
                 encode_traits(record.fields),
                 encode_keys(record.keys), record.event_id, record.source,
                 to_micros(record.seen_at)),
            ).rowcount
            if inserted:
                fresh.append(record)
        self._file([(key, record.record_id) for record in fresh for key in record.keys],
                   max_block)
        return [record.record_id for record in fresh]

    async def refile_records(self, records: Sequence[MatchRecord], max_block: int
                             ) -> list[str]:
        wanted = {record.record_id: record for record in records}
        stored: dict[str, tuple[str, ...]] = {}
        for part in in_chunks(sorted(wanted)):
            for record_id, keys in self._rows(
                "SELECT record_id, keys FROM match_records"
                f" WHERE record_id IN ({placeholders(len(part))})", part
            ):
                stored[record_id] = decode_keys(keys)
        moved = sorted(record_id for record_id, keys in stored.items()
                       if wanted[record_id].keys != keys)
        dropped: list[tuple[str, str]] = []
        gained: list[tuple[str, str]] = []
        for record_id in moved:
            old, new = set(stored[record_id]), set(wanted[record_id].keys)
            dropped += [(key, record_id) for key in sorted(old - new)]
            gained += [(key, record_id) for key in sorted(new - old)]
        self._conn.executemany("UPDATE match_records SET keys = ? WHERE record_id = ?",
                               [(encode_keys(wanted[r].keys), r) for r in moved])
        # Out of the old blocks before into the new: a block one record leaves and another
        # joins in this call is counted without the leaver when the joiner is filed.
        self._conn.executemany("DELETE FROM block_members WHERE key = ? AND record_id = ?",
                               dropped)
        self._conn.executemany("UPDATE blocks SET size = size - 1 WHERE key = ?",
                               [(key,) for key, _ in dropped])
        self._file(gained, max_block)
        self._conn.executemany("DELETE FROM blocks WHERE key = ? AND size <= 0",
                               sorted({(key,) for key, _ in dropped}))
        return moved

    def _file(self, filings: Sequence[tuple[str, str]], max_block: int) -> None:
        """Counts each (key, record id) in its block, and makes the record a member while
        the block holds at most `max_block`."""
        self._conn.executemany(
            "INSERT INTO blocks (key, size) VALUES (?, 1)"
            " ON CONFLICT (key) DO UPDATE SET size = size + 1", [(key,) for key, _ in filings])
        self._conn.executemany(
            "INSERT INTO block_members (key, record_id) SELECT ?, ?"
            " WHERE (SELECT size FROM blocks WHERE key = ?) <= ?",
            [(key, record_id, key, max_block) for key, record_id in filings])

    async def find_records(self, keys: Sequence[str], max_block: int) -> BlockLookup:
        wanted: list[str] = []
        oversized: list[tuple[str, int]] = []
        for part in in_chunks(sorted(set(keys))):
            for key, size in self._rows(
                f"SELECT key, size FROM blocks WHERE key IN ({placeholders(len(part))})", part
            ):
                if size > max_block:
                    oversized.append((key, size))
                else:
                    wanted.append(key)
        rows: dict[str, sqlite3.Row] = {}
        for part in in_chunks(wanted):
            for row in self._rows(
                f"SELECT {self._RECORD_COLUMNS} FROM block_members m"
                " JOIN match_records r ON r.record_id = m.record_id"
                f" WHERE m.key IN ({placeholders(len(part))})",
                part,
            ):
                rows[row[0]] = row
        return BlockLookup(self._records(rows.values()), sorted(oversized))

    _RECORD_COLUMNS = ("r.record_id, r.anchor_kind, r.anchor_value, r.fields, r.keys,"
                       " r.event_id, r.source, r.seen_at")

    async def read_records(self, anchors: Sequence[Identifier]) -> list[MatchRecord]:
        rows: list[sqlite3.Row] = []
        for part in in_chunks(sorted(set(anchors))):
            pairs = ",".join(["(?, ?)"] * len(part))
            # A join, not `(kind, value) IN (VALUES ...)`, which SQLite answers by a scan.
            rows.extend(self._rows(
                f"WITH wanted (kind, value) AS (VALUES {pairs})"
                f" SELECT {self._RECORD_COLUMNS} FROM wanted w JOIN match_records r"
                " ON r.anchor_kind = w.kind AND r.anchor_value = w.value",
                [v for anchor in part for v in (anchor.kind, anchor.value)]))
        return self._records(rows)

    async def count_records(self) -> int:
        (count,) = self._conn.execute("SELECT count(*) FROM match_records").fetchone()
        return int(count)

    async def scan_records(self, after: str, limit: int) -> list[MatchRecord]:
        return self._records(self._rows(
            f"SELECT {self._RECORD_COLUMNS} FROM match_records r WHERE r.record_id > ?"
            " ORDER BY r.record_id LIMIT ?", (after, limit)))

    def _records(self, rows: Iterable[sqlite3.Row]) -> list[MatchRecord]:
        return [MatchRecord(row[0], Identifier(row[1], row[2]), decode_traits(row[3]),
                            decode_keys(row[4]), EventId(row[5]), row[6], from_micros(row[7]))
                for row in sorted(rows, key=lambda r: str(r[0]))]

