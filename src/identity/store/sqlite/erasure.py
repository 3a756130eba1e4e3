"""SQLite: erasure and the suppression list (docs/architecture.md, "Erasure and access")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from identity.domain.matching.records import MatchRecord
from identity.domain.types import EventId, Identifier, ProfileId, from_micros, to_micros
from identity.store._event_codec import (
    decode_ids,
    decode_keys,
    decode_order,
    decode_traits,
    encode_ids,
    encode_keys,
    encode_traits,
    encoded_needle,
)
from identity.store.protocol import ErasedRows, Holding, LinkDetails, StoredEvent, Tombstone
from identity.store.sqlite.base import SqlitePart, in_chunks, placeholders
from identity.store.sqlite.changes import TOUCHED


class SqliteErasures(SqlitePart):
    """Deletes by identifier and profile id; keeps tombstones by keyed hash. A transaction
    that erased is followed by a WAL checkpoint once committed (store.py)."""

    erased = False

    def _delete_in(self, sql: str, values: Sequence[object]) -> int:
        """`sql` ends in `IN ({})`: run over the values in chunks; returns rows changed."""
        count = 0
        for part in in_chunks(list(values)):
            count += self._conn.execute(sql.format(placeholders(len(part))), part).rowcount
        return count

    async def erase_rows(self, identifiers: Sequence[Identifier],
                         profile_ids: Sequence[ProfileId]) -> ErasedRows:
        self.erased = True
        node_ids = sorted(self._ids_of(identifiers).values())
        link_ids = sorted({row[0] for part in in_chunks(node_ids) for row in self._rows(
            f"SELECT link_id FROM links WHERE a_node IN ({placeholders(len(part))})"
            f" UNION SELECT link_id FROM links WHERE b_node IN ({placeholders(len(part))})",
            [*part, *part])})
        self._delete_in("DELETE FROM link_events WHERE link_id IN ({})", link_ids)
        links = self._delete_in("DELETE FROM links WHERE link_id IN ({})", link_ids)
        # No index covers events without data: one scan, as erasure is rare.
        events = self._delete_in("DELETE FROM events WHERE anchor_node IN ({})", node_ids)
        records = self._drop_records([
            record_id for identifier in identifiers
            for (record_id,) in self._rows("SELECT record_id FROM match_records"
                                           " WHERE anchor_kind = ? AND anchor_value = ?",
                                           (identifier.kind, identifier.value))])
        keys = [identifier.key for identifier in identifiers]
        reviews = self._delete_in("DELETE FROM review_items WHERE a_key IN ({})", keys)
        reviews += self._delete_in("DELETE FROM review_items WHERE b_key IN ({})", keys)
        nodes = self._delete_in("DELETE FROM nodes WHERE node_id IN ({})", node_ids)
        for identifier in identifiers:
            self._node_ids.pop(identifier, None)
        self._delete_in("DELETE FROM groups WHERE profile_id IN ({})", list(profile_ids))
        profiles = self._delete_in("DELETE FROM profiles WHERE profile_id IN ({})",
                                   list(profile_ids))
        versions = self._delete_in("DELETE FROM profile_versions WHERE profile_id IN ({})",
                                   list(profile_ids))
        return ErasedRows(nodes, links, events, records, reviews, profiles, versions,
                          self._empty_changes(set(profile_ids)))

    def _drop_records(self, record_ids: Sequence[str]) -> int:
        """Each record leaves the blocks of its keys (their counts fall; one counted down to
        none is gone), as refile_records has them leave, and is deleted."""
        count = 0
        for record_id in sorted(set(record_ids)):
            found = self._conn.execute("SELECT keys FROM match_records WHERE record_id = ?",
                                       (record_id,)).fetchone()
            if found is None:
                continue
            for key in set(decode_keys(found[0])):
                self._conn.execute("DELETE FROM block_members WHERE key = ? AND record_id = ?",
                                   (key, record_id))
                self._conn.execute("UPDATE blocks SET size = size - 1 WHERE key = ?", (key,))
                self._conn.execute("DELETE FROM blocks WHERE key = ? AND size <= 0", (key,))
            count += self._conn.execute(
                "DELETE FROM match_records WHERE record_id = ?", (record_id,)).rowcount
        return count

    async def holding(self, needles: Sequence[str]) -> Holding:
        wanted = [encoded_needle(needle) for needle in sorted(set(needles)) if needle]
        if not wanted:
            return Holding()
        # One scan of each table (no index holds values inside JSON): erasure is rare.
        records: list[MatchRecord] = []
        events: list[StoredEvent] = []
        details: list[LinkDetails] = []
        for part in in_chunks(wanted):
            test = " OR ".join(["instr(lower({}), ?) > 0"] * len(part))
            for row in self._rows(
                    "SELECT record_id, anchor_kind, anchor_value, fields, keys, event_id, source,"
                    f" seen_at FROM match_records WHERE {test.format(*['fields'] * len(part))}",
                    part):
                records.append(MatchRecord(row[0], Identifier(row[1], row[2]),
                                           decode_traits(row[3]), decode_keys(row[4]),
                                           EventId(row[5]), row[6], from_micros(row[7])))
            found = self._rows(
                "SELECT event_id, type, source, observed_at, anchor_node, traits, amount,"
                " currency, received_at FROM events WHERE traits IS NOT NULL"
                f" AND ({test.format(*['traits'] * len(part))})", part)
            anchors = self._identifiers_of({row[4] for row in found})
            linked = self._rows(
                f"SELECT a_node, b_node, rule, details FROM links WHERE details IS NOT NULL"
                f" AND ({test.format(*['details'] * len(part))})", part)
            ends = self._identifiers_of({n for row in linked for n in (row[0], row[1])})
            details += [(ends[row[0]], ends[row[1]], row[2], row[3]) for row in linked]
            events += [StoredEvent(EventId(row[0]), row[1], row[2], from_micros(row[3]),
                                   anchors[row[4]], decode_traits(row[5]),
                                   decode_order(row[6], row[7]), from_micros(row[8]))
                       for row in found if row[4] in anchors]
        return Holding(sorted({r.record_id: r for r in records}.values(),
                              key=lambda r: r.record_id),
                       sorted({e.event_id: e for e in events}.values(),
                              key=lambda e: e.event_id),
                       sorted(set(details)))

    async def rewrite_holding(self, record_ids: Sequence[str],
                              traits: Sequence[tuple[EventId, tuple[tuple[str, str], ...]]],
                              details: Sequence[LinkDetails] = ()) -> int:
        self._conn.executemany("UPDATE events SET traits = ? WHERE event_id = ?",
                               [(encode_traits(kept), event_id) for event_id, kept in traits])
        nodes = self._ids_of({end for a, b, _, _ in details for end in (a, b)})
        self._conn.executemany(
            "UPDATE links SET details = ? WHERE a_node = ? AND b_node = ? AND rule = ?",
            [(text, nodes[a], nodes[b], rule) for a, b, rule, text in details
             if a in nodes and b in nodes])
        return self._drop_records(record_ids)

    def _empty_changes(self, erased: set[ProfileId]) -> int:
        """Change entries naming an erased id become touch entries with no ids; touch
        entries lose the erased ids. One scan of the log (kept 7 days): erasure is rare."""
        emptied: list[int] = []
        trimmed: list[tuple[str | None, int]] = []
        for position, kind, profile_id, absorbed, split, touched in self._rows(
                "SELECT position, kind, profile_id, absorbed_ids, split_ids, touched_ids"
                " FROM changes"):
            if kind == TOUCHED:
                ids = decode_ids(touched)
                if not erased.isdisjoint(ids):
                    kept = tuple(i for i in ids if i not in erased)
                    trimmed.append((encode_ids(kept) or "[]", position))
            elif not erased.isdisjoint((profile_id, *decode_ids(absorbed), *decode_ids(split))):
                emptied.append(position)
        self._delete_in("UPDATE changes SET kind = '" + TOUCHED + "', profile_id = '',"
                        " cause_event_id = '', absorbed_ids = NULL, split_ids = NULL,"
                        " touched_ids = NULL WHERE position IN ({})", emptied)
        self._conn.executemany("UPDATE changes SET touched_ids = ? WHERE position = ?", trimmed)
        return len(emptied)

    async def strip_versions(self, profile_ids: Sequence[ProfileId],
                             identifiers: Sequence[Identifier],
                             erased_ids: Sequence[ProfileId]) -> int:
        gone_keys = {identifier.key for identifier in identifiers}
        gone_ids = set(erased_ids)
        changed: list[tuple[str, str, str | None, str, int]] = []
        for part in in_chunks(sorted(set(profile_ids))):
            for profile_id, version, added, removed, related in self._rows(
                    "SELECT profile_id, version, added, removed, related FROM profile_versions"
                    f" WHERE profile_id IN ({placeholders(len(part))})", part):
                new_added = tuple(k for k in decode_keys(added) if k not in gone_keys)
                new_removed = tuple(k for k in decode_keys(removed) if k not in gone_keys)
                new_related = tuple(i for i in decode_ids(related) if i not in gone_ids)
                if (encode_keys(new_added), encode_keys(new_removed),
                        encode_ids(new_related)) != (added, removed, related):
                    changed.append((encode_keys(new_added), encode_keys(new_removed),
                                    encode_ids(new_related), profile_id, version))
        self._conn.executemany(
            "UPDATE profile_versions SET added = ?, removed = ?, related = ?"
            " WHERE profile_id = ? AND version = ?", changed)
        return len(changed)

    async def redact_audit(self, entries: Sequence[tuple[str, str, str, str]]) -> None:
        self._conn.executemany(
            "UPDATE audit_entries SET reason = ?, before = ?, after = ? WHERE action_id = ?",
            [(reason, before, after, action_id) for action_id, reason, before, after in entries])

    async def add_tombstones(self, tombstones: Sequence[Tombstone]) -> None:
        self._conn.executemany(
            "INSERT INTO tombstones (hashed, action_id, at, lifted_at) VALUES (?, ?, ?, NULL)"
            " ON CONFLICT (hashed) DO UPDATE SET action_id = excluded.action_id,"
            " at = excluded.at, lifted_at = NULL",
            [(t.hashed, t.action_id, to_micros(t.at)) for t in tombstones])

    async def suppressed(self, hashed: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for part in in_chunks(sorted(set(hashed))):
            found.update(row[0] for row in self._rows(
                f"SELECT hashed FROM tombstones WHERE hashed IN ({placeholders(len(part))})"
                " AND lifted_at IS NULL", part))
        return found

    async def lift(self, hashed: Sequence[str], at: datetime) -> list[str]:
        lifted = sorted(await self.suppressed(hashed))
        self._conn.executemany("UPDATE tombstones SET lifted_at = ? WHERE hashed = ?",
                               [(to_micros(at), h) for h in lifted])
        return lifted

    async def erasure_key(self, candidate: str) -> str:
        self._conn.execute("INSERT INTO meta (key, value) VALUES ('erasure_key', ?)"
                           " ON CONFLICT (key) DO NOTHING", (candidate,))
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'erasure_key'").fetchone()
        return str(row[0])

