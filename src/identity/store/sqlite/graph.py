"""SQLite: the identity graph: nodes, links, groups and their members, and the profiles they
carry."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from identity.domain.links import MAX_EVENT_IDS_SHOWN, Evidence, Link, LinkObservation
from identity.domain.resolution import GroupMakeup, GroupState, makeups
from identity.domain.types import Identifier, ProfileId, from_micros, to_micros
from identity.store.protocol import GroupsAround, NodeRow, PriorLink, ProfileRow
from identity.store.sqlite.base import SqlitePart, in_chunks, placeholders


class SqliteGraph(SqlitePart):
    """The identity graph: nodes, links, groups and their members, and the profiles they carry."""

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
                       for part in in_chunks(sorted(set(group_ids)))
                       for group_id, kind, count, held in self._rows(
                           "SELECT group_id, kind, count(*), max(held) FROM nodes"
                           f" WHERE group_id IN ({placeholders(len(part))})"
                           " GROUP BY group_id, kind",
                           part))

    _LINK_COLUMNS = ("l.link_id, l.a_node, l.b_node, l.rule, l.is_active, l.inactive_reason,"
                     " l.score, l.first_seen, l.last_seen, l.details")

    async def read_links(self, identifiers: Sequence[Identifier]) -> list[Link]:
        node_ids = sorted(self._ids_of(identifiers).values())
        rows: dict[int, sqlite3.Row] = {}
        for part in in_chunks(node_ids):
            marks = placeholders(len(part))
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
        shown: dict[int, list[str]] = {row[0]: [] for row in rows}
        sources: dict[int, set[str]] = {row[0]: set() for row in rows}
        counts: dict[int, int] = dict.fromkeys(shown, 0)
        for part in in_chunks(sorted(shown)):
            marks = placeholders(len(part))
            for link_id, event_id in self._rows(
                "SELECT link_id, event_id FROM (SELECT link_id, event_id, row_number() OVER"
                " (PARTITION BY link_id ORDER BY event_id) AS n FROM link_events"
                f" WHERE link_id IN ({marks})) WHERE n <= ? ORDER BY link_id, event_id",
                (*part, MAX_EVENT_IDS_SHOWN),
            ):
                shown[link_id].append(event_id)
            for link_id, source, count in self._rows(
                "SELECT link_id, source, count(*) FROM link_events"
                f" WHERE link_id IN ({marks}) GROUP BY link_id, source",
                part,
            ):
                sources[link_id].add(source)
                counts[link_id] += count
        return [
            Link(
                names[row[1]], names[row[2]],
                Evidence(row[3], tuple(sorted(sources[row[0]])),
                         from_micros(row[7]), from_micros(row[8]),
                         tuple(shown[row[0]]), counts[row[0]], row[6], row[9]),
                bool(row[4]), row[5],
            )
            for row in rows
        ]

    async def read_neighbors(
        self, identifiers: Sequence[Identifier], rule: str, kinds: Sequence[str],
        kind_prefixes: Sequence[str] = (),
    ) -> list[tuple[Identifier, Identifier]]:
        by_node = {node_id: ident for ident, node_id in self._ids_of(identifiers).items()}
        pairs: list[tuple[Identifier, Identifier]] = []
        # substr() rather than LIKE: a prefix holding '%' or '_' must match literally.
        wanted = " OR ".join([f"n.kind IN ({placeholders(len(kinds))})"] * bool(kinds)
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
        for part in in_chunks(sorted(set(group_ids))):
            for row in self._rows(
                "SELECT g.group_id, g.profile_id, p.seq, g.size FROM groups g"
                " JOIN profiles p ON p.profile_id = g.profile_id"
                f" WHERE g.group_id IN ({placeholders(len(part))})",
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
            for part in in_chunks(list(absorbed)):
                marks = placeholders(len(part))
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

    async def read_groups_around(self, group_ids: Sequence[int]) -> GroupsAround:
        # In process, a read costs no round trip: the four reads, composed.
        groups = await self.read_groups(group_ids)
        members = await self.read_members(group_ids)
        links = await self.read_links([m.identifier for m in members])
        inside = {m.identifier for m in members}
        ends = await self.find_identifiers(sorted(
            {end for link in links for end in (link.a, link.b)} - inside,
            key=lambda i: (i.kind, i.value)))
        return GroupsAround(groups, members, links, ends)

    async def read_members(self, group_ids: Sequence[int]) -> list[NodeRow]:
        members: list[NodeRow] = []
        for part in in_chunks(sorted(set(group_ids))):
            for row in self._rows(
                "SELECT node_id, kind, value, group_id, first_seen, last_seen, hub_reason, held"
                f" FROM nodes WHERE group_id IN ({placeholders(len(part))}) ORDER BY kind, value",
                part,
            ):
                identifier = Identifier(row[1], row[2])
                self._node_ids[identifier] = row[0]
                members.append(NodeRow(identifier, row[3], from_micros(row[4]),
                                       from_micros(row[5]), row[6], row[7]))
        return members

    async def withdraw_sightings(
        self, sightings: Sequence[tuple[Identifier, Identifier, str, str]]
    ) -> None:
        ids = self._ids_of({end for a, b, _, _ in sightings for end in (a, b)})
        for a, b, rule, event_id in sightings:
            if a not in ids or b not in ids:
                continue  # an end the graph never saw: no link to withdraw from
            found = self._conn.execute(
                "SELECT link_id FROM links WHERE a_node = ? AND b_node = ? AND rule = ?",
                (ids[a], ids[b], rule)).fetchone()
            if found is None:
                continue
            self._conn.execute("DELETE FROM link_events WHERE link_id = ? AND event_id = ?",
                               (found[0], event_id))
            if self._conn.execute("SELECT 1 FROM link_events WHERE link_id = ? LIMIT 1",
                                  (found[0],)).fetchone() is None:
                self._conn.execute("DELETE FROM links WHERE link_id = ?", (found[0],))

    async def restore_groups(
        self, restores: Sequence[tuple[ProfileId, Sequence[ProfileId]]]
    ) -> list[GroupState]:
        # The profile row is the one its id was created with (seq, created_at): only its
        # pointer is cleared. An id with no profile row is left out, as lookups leave it out.
        restored: list[GroupState] = []
        for profile_id, merged in restores:
            row = self._conn.execute(
                "UPDATE profiles SET merged_into = NULL WHERE profile_id = ? RETURNING seq",
                (profile_id,)).fetchone()
            if row is None:
                continue
            cursor = self._conn.execute("INSERT INTO groups (profile_id) VALUES (?)",
                                        (profile_id,))
            assert cursor.lastrowid is not None
            for part in in_chunks(list(merged)):
                self._conn.execute(
                    "UPDATE profiles SET merged_into = ?"
                    f" WHERE profile_id IN ({placeholders(len(part))})",
                    (profile_id, *part))
            restored.append(GroupState(cursor.lastrowid, profile_id, row[0], 0))
        return restored
