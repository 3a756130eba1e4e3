"""SqliteGraphStore: the embedded default store, one local file that survives restarts.

One writer at a time (an asyncio lock around BEGIN IMMEDIATE … COMMIT) and a pool of reader
connections that see the last committed state through WAL, so lookups never wait for a long
ingest batch. Each statement takes microseconds, so it runs on the event loop's thread.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from datetime import UTC, datetime
from itertools import takewhile
from pathlib import Path
from typing import Any

from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.links import Evidence, Link, LinkObservation
from identity.domain.matching.records import MatchRecord
from identity.domain.resolution import GroupMakeup, GroupState, makeups
from identity.domain.types import EventId, Identifier, ProfileId, from_micros, to_micros
from identity.store._event_codec import (
    decode_ids,
    decode_keys,
    decode_order,
    decode_traits,
    encode_amount,
    encode_ids,
    encode_keys,
    encode_traits,
)
from identity.store.errors import StoreUnavailable
from identity.store.protocol import (
    BlockLookup,
    ChangePage,
    ChangeRow,
    EventRecord,
    NodeRow,
    PriorLink,
    ProfileRow,
)
from identity.store.sqlite_schema import SCHEMA, SCHEMA_VERSION, UPGRADES

_CHUNK = 500  # stays far below SQLite's limit on bound parameters per statement


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _marks(count: int) -> str:
    return ",".join("?" * count)


class SqliteTransaction:
    """Protocol primitives over one connection inside one open transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._node_ids: dict[Identifier, int] = {}

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    def _ids_of(self, identifiers: Iterable[Identifier]) -> dict[Identifier, int]:
        found: dict[Identifier, int] = {}
        for identifier in identifiers:
            node_id = self._node_ids.get(identifier)
            if node_id is None:
                row = self._conn.execute(
                    "SELECT node_id FROM nodes WHERE kind = ? AND value = ?",
                    (identifier.kind, identifier.value),
                ).fetchone()
                if row is None:
                    continue
                node_id = self._node_ids[identifier] = row[0]
            found[identifier] = node_id
        return found

    def _identifiers_of(self, node_ids: Iterable[int]) -> dict[int, Identifier]:
        wanted = sorted(set(node_ids))
        found: dict[int, Identifier] = {}
        for part in _chunks(wanted):
            for row in self._rows(
                f"SELECT node_id, kind, value FROM nodes WHERE node_id IN ({_marks(len(part))})",
                part,
            ):
                found[row[0]] = Identifier(row[1], row[2])
        return found

    async def seen_event_ids(self, event_ids: Sequence[str]) -> set[str]:
        seen: set[str] = set()
        for part in _chunks(list(event_ids)):
            sql = f"SELECT event_id FROM events WHERE event_id IN ({_marks(len(part))})"
            seen.update(row[0] for row in self._rows(sql, part))
        return seen

    async def record_events(self, events: Sequence[EventRecord]) -> None:
        anchors = self._ids_of(e.anchor for e in events)
        received = to_micros(datetime.now(UTC))
        self._conn.executemany(
            "INSERT INTO events (event_id, type, source, observed_at, anchor_node, traits,"
            " amount, currency, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    e.event_id, e.type, e.source, to_micros(e.observed_at), anchors[e.anchor],
                    encode_traits(e.traits),
                    encode_amount(e.order),
                    e.order.currency if e.order else None,
                    received,
                )
                for e in events
            ],
        )

    async def read_event_records(self, anchors: Sequence[Identifier]) -> list[EventRecord]:
        by_node = {node_id: ident for ident, node_id in self._ids_of(anchors).items()}
        records: list[EventRecord] = []
        for part in _chunks(sorted(by_node)):
            for row in self._rows(
                "SELECT event_id, type, source, observed_at, anchor_node, traits, amount, currency"
                f" FROM events WHERE anchor_node IN ({_marks(len(part))})"
                " AND (traits IS NOT NULL OR amount IS NOT NULL)",
                part,
            ):
                records.append(EventRecord(EventId(row[0]), row[1], row[2], from_micros(row[3]),
                                           by_node[row[4]], decode_traits(row[5]),
                                           decode_order(row[6], row[7])))
        return records

    async def upsert_identifiers(
        self, sightings: Sequence[tuple[Identifier, datetime]]
    ) -> list[NodeRow]:
        rows: list[NodeRow] = []
        for identifier, seen_at in sightings:
            moment = to_micros(seen_at)
            node_id, group_id, first, last, hub, held = self._conn.execute(
                "INSERT INTO nodes (kind, value, first_seen, last_seen) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (kind, value) DO UPDATE SET"
                " first_seen = min(first_seen, excluded.first_seen),"
                " last_seen = max(last_seen, excluded.last_seen)"
                " RETURNING node_id, group_id, first_seen, last_seen, hub_reason, held",
                (identifier.kind, identifier.value, moment, moment),
            ).fetchone()
            self._node_ids[identifier] = node_id
            rows.append(NodeRow(identifier, group_id, from_micros(first), from_micros(last), hub,
                                held))
        final = {row.identifier: row for row in rows}  # a later sighting's row is the latest
        return [final[row.identifier] for row in rows]

    async def find_identifiers(self, identifiers: Sequence[Identifier]) -> list[NodeRow]:
        rows: list[NodeRow] = []
        for identifier in identifiers:
            found = self._conn.execute(
                "SELECT node_id, group_id, first_seen, last_seen, hub_reason, held FROM nodes"
                " WHERE kind = ? AND value = ?",
                (identifier.kind, identifier.value),
            ).fetchone()
            if found is not None:
                self._node_ids[identifier] = found[0]
                rows.append(NodeRow(identifier, found[1], from_micros(found[2]),
                                    from_micros(found[3]), found[4], found[5]))
        return rows

    async def add_links(self, observations: Sequence[LinkObservation]
                        ) -> list[PriorLink | None]:
        ids = self._ids_of({ident for o in observations for ident in (o.a, o.b)})
        priors: dict[tuple[int, int, str], PriorLink | None] = {}
        for obs in observations:
            key = (ids[obs.a], ids[obs.b], obs.rule.value)
            if key not in priors:
                row = self._conn.execute(
                    "SELECT first_seen, score FROM links"
                    " WHERE a_node = ? AND b_node = ? AND rule = ?", key).fetchone()
                priors[key] = None if row is None else PriorLink(from_micros(row[0]), row[1])
        for obs in observations:
            moment = to_micros(obs.seen_at)
            # Every SET expression reads the row as it was, so the order of SETs is irrelevant.
            (link_id,) = self._conn.execute(
                "INSERT INTO links (a_node, b_node, rule, first_seen, last_seen, is_active,"
                " inactive_reason, score, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (a_node, b_node, rule) DO UPDATE SET"
                " details = CASE WHEN excluded.score > coalesce(score, -1)"
                " THEN excluded.details ELSE details END,"
                " score = max(coalesce(score, excluded.score), coalesce(excluded.score, score)),"
                " first_seen = min(first_seen, excluded.first_seen),"
                " last_seen = max(last_seen, excluded.last_seen),"
                " is_active = min(is_active, excluded.is_active),"
                " inactive_reason = CASE WHEN is_active = 1 AND excluded.is_active = 0"
                " THEN excluded.inactive_reason ELSE inactive_reason END"
                " RETURNING link_id",
                (ids[obs.a], ids[obs.b], obs.rule.value, moment, moment,
                 int(obs.inactive_reason is None), obs.inactive_reason, obs.score, obs.details),
            ).fetchone()
            self._conn.execute(
                "INSERT OR IGNORE INTO link_events (link_id, event_id, source) VALUES (?, ?, ?)",
                (link_id, obs.event_id, obs.source),
            )
        return [priors[(ids[o.a], ids[o.b], o.rule.value)] for o in observations]

    async def set_link_states(
        self, states: Sequence[tuple[Identifier, Identifier, str, str | None]]
    ) -> None:
        ids = self._ids_of({end for a, b, _, _ in states for end in (a, b)})
        self._conn.executemany(
            "UPDATE links SET is_active = ?, inactive_reason = ?"
            " WHERE a_node = ? AND b_node = ? AND rule = ?",
            [(int(reason is None), reason, ids[a], ids[b], rule)
             for a, b, rule, reason in states])

    async def mark_held(self, marks: Sequence[tuple[Identifier, str | None]]) -> None:
        ids = self._ids_of(identifier for identifier, _ in marks)
        self._conn.executemany("UPDATE nodes SET held = ? WHERE node_id = ?",
                               [(held, ids[identifier]) for identifier, held in marks])

    async def read_makeup(self, group_ids: Sequence[int]) -> dict[int, GroupMakeup]:
        return makeups((group_id, kind, count, held)
                       for part in _chunks(sorted(set(group_ids)))
                       for group_id, kind, count, held in self._rows(
                           "SELECT group_id, kind, count(*), max(held) FROM nodes"
                           f" WHERE group_id IN ({_marks(len(part))}) GROUP BY group_id, kind",
                           part))

    _LINK_COLUMNS = ("l.link_id, l.a_node, l.b_node, l.rule, l.is_active, l.inactive_reason,"
                     " l.score, l.first_seen, l.last_seen, l.details")

    async def read_links(self, identifiers: Sequence[Identifier]) -> list[Link]:
        node_ids = sorted(self._ids_of(identifiers).values())
        rows: dict[int, sqlite3.Row] = {}
        for part in _chunks(node_ids):
            marks = _marks(len(part))
            for row in self._rows(
                f"SELECT {self._LINK_COLUMNS} FROM links l WHERE l.a_node IN ({marks})"
                f" OR l.b_node IN ({marks})",
                [*part, *part],
            ):
                rows[row[0]] = row
        return self._links(sorted(rows.values(), key=lambda r: r[0]))

    async def read_links_by_rule(
        self, rule: str, after: tuple[str, str] | None, limit: int
    ) -> list[Link]:
        first, second = after or ("", "")
        rows = self._rows(
            f"SELECT {self._LINK_COLUMNS} FROM links l"
            " JOIN nodes a ON a.node_id = l.a_node JOIN nodes b ON b.node_id = l.b_node"
            " WHERE l.rule = ? AND (a.kind || '|' || a.value, b.kind || '|' || b.value) > (?, ?)"
            " ORDER BY a.kind || '|' || a.value, b.kind || '|' || b.value LIMIT ?",
            (rule, first, second, limit),
        )
        return self._links(rows)

    def _links(self, rows: Sequence[sqlite3.Row]) -> list[Link]:
        """Link rows with their ends' names and every event that sighted them."""
        names = self._identifiers_of(n for row in rows for n in (row[1], row[2]))
        evidence: dict[int, list[tuple[str, str]]] = {row[0]: [] for row in rows}
        for part in _chunks(sorted(evidence)):
            for link_id, event_id, source in self._rows(
                "SELECT link_id, event_id, source FROM link_events"
                f" WHERE link_id IN ({_marks(len(part))}) ORDER BY event_id",
                part,
            ):
                evidence[link_id].append((event_id, source))
        return [
            Link(
                names[row[1]], names[row[2]],
                Evidence(row[3], tuple(sorted({s for _, s in evidence[row[0]]})),
                         from_micros(row[7]), from_micros(row[8]),
                         tuple(e for e, _ in evidence[row[0]]), row[6], row[9]),
                bool(row[4]), row[5],
            )
            for row in rows
        ]

    async def create_groups(
        self, profile_ids: Sequence[ProfileId], created_at: datetime
    ) -> list[GroupState]:
        if not profile_ids:
            return []
        (last,) = self._conn.execute("SELECT coalesce(max(seq), 0) FROM profiles").fetchone()
        created: list[GroupState] = []
        for offset, profile_id in enumerate(profile_ids, start=1):
            self._conn.execute(
                "INSERT INTO profiles (profile_id, seq, created_at) VALUES (?, ?, ?)",
                (profile_id, last + offset, to_micros(created_at)),
            )
            cursor = self._conn.execute("INSERT INTO groups (profile_id) VALUES (?)",
                                        (profile_id,))
            assert cursor.lastrowid is not None
            created.append(GroupState(cursor.lastrowid, profile_id, last + offset, 0))
        return created

    async def read_groups(self, group_ids: Sequence[int]) -> list[GroupState]:
        groups: list[GroupState] = []
        for part in _chunks(sorted(set(group_ids))):
            for row in self._rows(
                "SELECT g.group_id, g.profile_id, p.seq, g.size FROM groups g"
                " JOIN profiles p ON p.profile_id = g.profile_id"
                f" WHERE g.group_id IN ({_marks(len(part))})",
                part,
            ):
                groups.append(GroupState(row[0], ProfileId(row[1]), row[2], row[3]))
        return groups

    async def assign_members(self, assignments: Sequence[tuple[Identifier, int]]) -> None:
        ids = self._ids_of(identifier for identifier, _ in assignments)
        sizes: Counter[int] = Counter()
        for identifier, group_id in assignments:
            node_id = ids[identifier]
            (previous,) = self._conn.execute(
                "SELECT group_id FROM nodes WHERE node_id = ?", (node_id,)
            ).fetchone()
            if previous == group_id:
                continue
            self._conn.execute(
                "UPDATE nodes SET group_id = ? WHERE node_id = ?", (group_id, node_id)
            )
            sizes[group_id] += 1
            if previous is not None:
                sizes[previous] -= 1
        # One size update per group, not one per node placed.
        self._conn.executemany(
            "UPDATE groups SET size = size + ? WHERE group_id = ?",
            [(delta, group_id) for group_id, delta in sizes.items() if delta],
        )

    async def read_neighbors(
        self, identifiers: Sequence[Identifier], rule: str, kinds: Sequence[str],
        kind_prefixes: Sequence[str] = (),
    ) -> list[tuple[Identifier, Identifier]]:
        by_node = {node_id: ident for ident, node_id in self._ids_of(identifiers).items()}
        pairs: list[tuple[Identifier, Identifier]] = []
        # substr() rather than LIKE: a prefix holding '%' or '_' must match literally.
        wanted = " OR ".join([f"n.kind IN ({_marks(len(kinds))})"] * bool(kinds)
                             + ["substr(n.kind, 1, ?) = ?"] * len(kind_prefixes)) or "0"
        params = [*kinds, *(p for prefix in kind_prefixes for p in (len(prefix), prefix))]
        for node_id, identifier in by_node.items():
            for kind, value in self._rows(
                "SELECT n.kind, n.value FROM links l JOIN nodes n ON n.node_id = l.b_node"
                f" WHERE l.a_node = ? AND l.rule = ? AND ({wanted})"
                " UNION SELECT n.kind, n.value FROM links l JOIN nodes n ON n.node_id = l.a_node"
                f" WHERE l.b_node = ? AND l.rule = ? AND ({wanted})",
                (node_id, rule, *params, node_id, rule, *params),
            ):
                pairs.append((identifier, Identifier(kind, value)))
        return pairs

    async def mark_hubs(self, hubs: Sequence[tuple[Identifier, str]]) -> None:
        ids = self._ids_of(identifier for identifier, _ in hubs)
        self._conn.executemany(
            "UPDATE nodes SET hub_reason = ? WHERE node_id = ?",
            [(reason, ids[identifier]) for identifier, reason in hubs],
        )

    async def move_members(self, moves: Sequence[tuple[int, int]]) -> None:
        for source, target in moves:
            if source == target:
                continue
            moved = self._conn.execute(
                "UPDATE nodes SET group_id = ? WHERE group_id = ?", (target, source)
            ).rowcount
            self._conn.execute(
                "UPDATE groups SET size = size + ? WHERE group_id = ?", (moved, target)
            )
            self._conn.execute("DELETE FROM groups WHERE group_id = ?", (source,))

    async def relabel_groups(
        self, relabels: Sequence[tuple[int, ProfileId, Sequence[ProfileId]]]
    ) -> None:
        for group_id, profile_id, absorbed in relabels:
            self._conn.execute(
                "UPDATE groups SET profile_id = ? WHERE group_id = ?", (profile_id, group_id)
            )
            for part in _chunks(list(absorbed)):
                marks = _marks(len(part))
                # Repoint ids merged earlier into an absorbed id too: lookups stay one hop.
                self._conn.execute(
                    f"UPDATE profiles SET merged_into = ? WHERE profile_id IN ({marks})"
                    f" OR merged_into IN ({marks})",
                    (profile_id, *part, *part),
                )

    async def lookup_profiles(self, profile_ids: Sequence[str]) -> list[ProfileRow]:
        found: list[ProfileRow] = []
        for requested in profile_ids:
            row = self._conn.execute(
                "SELECT coalesce(p.merged_into, p.profile_id) FROM profiles p"
                " WHERE p.profile_id = ?",
                (requested,),
            ).fetchone()
            if row is None:
                continue
            current = self._conn.execute(
                "SELECT g.group_id, p.created_at FROM groups g"
                " JOIN profiles p ON p.profile_id = g.profile_id WHERE g.profile_id = ?",
                (row[0],),
            ).fetchone()
            if current is not None:
                found.append(ProfileRow(ProfileId(requested), ProfileId(row[0]), current[0],
                                        from_micros(current[1])))
        return found

    async def merged_ids(self, profile_id: ProfileId) -> list[ProfileId]:
        rows = self._rows(
            "SELECT profile_id FROM profiles WHERE merged_into = ? ORDER BY seq", (profile_id,)
        )
        return [ProfileId(row[0]) for row in rows]

    async def read_members(self, group_ids: Sequence[int]) -> list[NodeRow]:
        members: list[NodeRow] = []
        for part in _chunks(sorted(set(group_ids))):
            for row in self._rows(
                "SELECT node_id, kind, value, group_id, first_seen, last_seen, hub_reason, held"
                f" FROM nodes WHERE group_id IN ({_marks(len(part))}) ORDER BY kind, value",
                part,
            ):
                identifier = Identifier(row[1], row[2])
                self._node_ids[identifier] = row[0]
                members.append(NodeRow(identifier, row[3], from_micros(row[4]),
                                       from_micros(row[5]), row[6], row[7]))
        return members


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
        filings = [(key, record.record_id) for record in fresh for key in record.keys]
        self._conn.executemany(
            "INSERT INTO blocks (key, size) VALUES (?, 1)"
            " ON CONFLICT (key) DO UPDATE SET size = size + 1", [(key,) for key, _ in filings])
        self._conn.executemany(
            "INSERT INTO block_members (key, record_id) SELECT ?, ?"
            " WHERE (SELECT size FROM blocks WHERE key = ?) <= ?",
            [(key, record_id, key, max_block) for key, record_id in filings])
        return [record.record_id for record in fresh]

    async def find_records(self, keys: Sequence[str], max_block: int) -> BlockLookup:
        wanted: list[str] = []
        oversized: list[tuple[str, int]] = []
        for part in _chunks(sorted(set(keys))):
            for key, size in self._rows(
                f"SELECT key, size FROM blocks WHERE key IN ({_marks(len(part))})", part
            ):
                if size > max_block:
                    oversized.append((key, size))
                else:
                    wanted.append(key)
        rows: dict[str, sqlite3.Row] = {}
        for part in _chunks(wanted):
            for row in self._rows(
                f"SELECT {self._RECORD_COLUMNS} FROM block_members m"
                " JOIN match_records r ON r.record_id = m.record_id"
                f" WHERE m.key IN ({_marks(len(part))})",
                part,
            ):
                rows[row[0]] = row
        return BlockLookup(self._records(rows.values()), sorted(oversized))

    _RECORD_COLUMNS = ("r.record_id, r.anchor_kind, r.anchor_value, r.fields, r.keys,"
                       " r.event_id, r.source, r.seen_at")

    def _records(self, rows: Iterable[sqlite3.Row]) -> list[MatchRecord]:
        return [MatchRecord(row[0], Identifier(row[1], row[2]), decode_traits(row[3]),
                            decode_keys(row[4]), EventId(row[5]), row[6], from_micros(row[7]))
                for row in sorted(rows, key=lambda r: str(r[0]))]

    async def read_records(self, anchors: Sequence[Identifier]) -> list[MatchRecord]:
        rows: list[sqlite3.Row] = []
        for part in _chunks(sorted(set(anchors))):
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

    async def append_changes(self, changes: Sequence[ProfileChange]) -> None:
        self._conn.executemany(
            "INSERT INTO changes (kind, profile_id, cause_event_id, at, absorbed_ids,"
            " split_ids) VALUES (?, ?, ?, ?, ?, ?)",
            [(c.kind.value, c.profile_id, c.cause_event_id, to_micros(c.at),
              encode_ids(c.absorbed_ids), encode_ids(c.split_ids)) for c in changes])

    async def read_changes(
        self, after: int, limit: int, profile_ids: Sequence[str]
    ) -> ChangePage:
        # One writer at a time hands out positions and commits before the next begins, and a
        # read sees one snapshot: no change with a smaller position can appear later.
        rows = self._rows(
            "SELECT position, kind, profile_id, cause_event_id, at, absorbed_ids, split_ids"
            " FROM changes WHERE position > ? ORDER BY position LIMIT ?", (after, limit))
        wanted = set(profile_ids)
        found = [ChangeRow(row[0], ProfileChange(
            ChangeKind(row[1]), ProfileId(row[2]), EventId(row[3]), from_micros(row[4]),
            decode_ids(row[5]), decode_ids(row[6]))) for row in rows]
        pruned = self._conn.execute(
            "SELECT value FROM meta WHERE key = 'changes_pruned_through'").fetchone()
        last = self._conn.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'changes'").fetchone()
        return ChangePage(
            [r for r in found if not wanted or not wanted.isdisjoint(r.change.mentioned_ids)],
            rows[-1][0] if rows else after, int(pruned[0]) if pruned else 0,
            last[0] if last else 0)

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


def _create_private(path: Path) -> None:
    """A new database (and a new folder for it) only its owner may read: the graph holds
    every customer's emails and phones. SQLite gives the WAL and shared-memory files the
    database file's mode. An existing file keeps the mode its operator gave it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


class SqliteGraphStore:
    """The GraphStore protocol over one SQLite file (or `:memory:` for tests)."""

    def __init__(self, path: str, *, synchronous: str = "FULL") -> None:
        self._path = path
        self._synchronous = synchronous
        self._is_memory = path == ":memory:"
        self._write_lock = asyncio.Lock()
        self._commits = 0
        self._readers: list[sqlite3.Connection] = []
        try:
            if not self._is_memory:
                _create_private(Path(path))
            self._writer = self._connect()
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"cannot open SQLite store at {path}: {exc}") from exc

    def _connect(self) -> sqlite3.Connection:
        # The loop's thread is the only user; the locks below order access, so sharing a
        # connection with a server thread started by tests is safe.
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")
        # 64 MiB of page cache per connection instead of SQLite's 2 MiB: the indexes of a
        # graph of millions of identifiers stay in memory and lookups stay flat as it grows.
        conn.execute("PRAGMA cache_size = -65536")
        # Checkpoint every ~40 MiB of WAL rather than 4 MiB: a page rewritten by many batches
        # is copied back once, which keeps commit cost from climbing as the graph grows.
        conn.execute("PRAGMA wal_autocheckpoint = 10000")
        conn.execute("PRAGMA mmap_size = 268435456")
        if not self._is_memory:
            conn.execute("PRAGMA journal_mode = WAL")
            # FULL: an acknowledged event survives a power cut, not only a crash
            # (docs/architecture.md, invariant 5).
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        return conn

    def _migrate(self) -> None:
        self._writer.executescript(SCHEMA)
        row = self._writer.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            raise StoreUnavailable(
                f"{self._path} has schema version {row[0]}, newer than this release "
                f"({SCHEMA_VERSION}); upgrade the service"
            )
        # Upgrades and the new version land together, or not at all.
        self._writer.execute("BEGIN IMMEDIATE")
        try:
            if row is not None:
                for version in range(int(row[0]) + 1, SCHEMA_VERSION + 1):
                    for statement in UPGRADES.get(version, ()):
                        self._writer.execute(statement)
            self._writer.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        except BaseException:
            self._writer.execute("ROLLBACK")
            raise
        self._writer.execute("COMMIT")

    @contextmanager
    def _begun(self, conn: sqlite3.Connection, begin: str) -> Iterator[SqliteTransaction]:
        try:
            conn.execute(begin)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"SQLite store at {self._path}: {exc}") from exc
        try:
            yield SqliteTransaction(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            conn.execute("ROLLBACK")
            raise StoreUnavailable(f"SQLite store at {self._path}: {exc}") from exc

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[SqliteTransaction]:
        if read_only and not self._is_memory:
            conn = self._readers.pop() if self._readers else self._connect()
            try:
                with self._begun(conn, "BEGIN") as tx:
                    yield tx
            finally:
                self._readers.append(conn)
            return
        async with self._write_lock:
            with self._begun(self._writer, "BEGIN IMMEDIATE") as tx:
                yield tx
            if not read_only:
                self._commits += 1

    def commits(self) -> int:
        return self._commits

    def commits_elsewhere(self) -> int | None:
        """SQLite's data_version of the writer connection: it moves with every commit made
        through any other connection (another process's), never with the writer's own."""
        try:
            row = self._writer.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:  # closed
            return None
        return int(row[0])

    async def ping(self) -> None:
        async with self.transaction(read_only=True) as tx:
            await tx.seen_event_ids(["-"])

    async def close(self) -> None:
        async with self._write_lock:
            for conn in [*self._readers, self._writer]:
                conn.close()
            self._readers.clear()
