"""Neo4j: the identity graph: nodes, links, groups and their members, and the profiles they
carry."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, LiteralString

from identity.domain.links import MAX_EVENT_IDS_SHOWN, Link, LinkObservation
from identity.domain.resolution import GroupMakeup, GroupState, makeups
from identity.domain.types import Identifier, ProfileId, from_micros, to_micros
from identity.store.neo4j.base import (
    LINK_EVENTS,
    LINK_FIELDS,
    NODE_FIELDS,
    Neo4jPart,
    link_row,
    node_row,
)
from identity.store.protocol import GroupsAround, NodeRow, PriorLink, ProfileRow


class Neo4jGraph(Neo4jPart):
    """The identity graph: nodes, links, groups and their members, and the profiles they carry."""

    async def upsert_identifiers(
        self, sightings: Sequence[tuple[Identifier, datetime]]
    ) -> list[NodeRow]:
        # Sorted, so concurrent batches lock nodes in one order and cannot deadlock on them.
        by_key = sorted((ident.key, i, ident, seen_at)
                        for i, (ident, seen_at) in enumerate(sightings))
        rows = [{"i": i, "key": key, "kind": ident.kind, "value": ident.value,
                 "t": to_micros(seen_at)} for key, i, ident, seen_at in by_key]
        records = await self._rows(
            "UNWIND $rows AS r MERGE (n:Identifier {key: r.key})"
            " ON CREATE SET n.kind = r.kind, n.value = r.value, n.first_seen = r.t,"
            " n.last_seen = r.t"
            " ON MATCH SET n.first_seen = CASE WHEN r.t < n.first_seen THEN r.t"
            " ELSE n.first_seen END, n.last_seen = CASE WHEN r.t > n.last_seen THEN r.t"
            " ELSE n.last_seen END"
            " RETURN collect({i: r.i, " + NODE_FIELDS + "}) AS rows",
            rows=rows)
        ordered = sorted(records, key=lambda r: int(r["i"]))
        return [node_row(r) for r in ordered]

    async def find_identifiers(self, identifiers: Sequence[Identifier]) -> list[NodeRow]:
        records = await self._rows(
            "UNWIND range(0, size($keys) - 1) AS i MATCH (n:Identifier {key: $keys[i]})"
            " WITH i, n ORDER BY i RETURN collect({" + NODE_FIELDS + "}) AS rows",
            keys=[i.key for i in identifiers])
        return [node_row(r) for r in records]

    async def add_links(self, observations: Sequence[LinkObservation]
                        ) -> list[PriorLink | None]:
        rows = [{"i": i, "a": o.a.key, "b": o.b.key, "rule": o.rule.value,
                 "event_id": o.event_id, "source": o.source, "t": to_micros(o.seen_at),
                 "reason": o.inactive_reason, "score": o.score, "details": o.details}
                for i, o in enumerate(observations)]
        # The link as it was is read in the statement that folds the sighting in; the planner
        # reads every row before any write (the write changes what the read matches), so a
        # link's later rows see it as it was before the call, as its first row does.
        # SET items apply in order: inactive_reason reads is_active before it changes.
        priors = await self._rows(
            "UNWIND $rows AS r MATCH (a:Identifier {key: r.a}), (b:Identifier {key: r.b})"
            " OPTIONAL MATCH (a)-[old:LINKED {rule: r.rule}]->(b)"
            " WITH r, a, b, old.first_seen AS prior_first, old.score AS prior_score"
            " MERGE (a)-[l:LINKED {rule: r.rule}]->(b)"
            " ON CREATE SET l.first_seen = r.t, l.last_seen = r.t, l.event_ids = [r.event_id],"
            " l.sources = [r.source], l.is_active = r.reason IS NULL,"
            " l.inactive_reason = r.reason, l.score = r.score, l.details = r.details"
            " ON MATCH SET l.details = CASE WHEN r.score > coalesce(l.score, -1) THEN r.details"
            " ELSE l.details END,"
            " l.score = CASE WHEN r.score > coalesce(l.score, -1) THEN r.score ELSE l.score END,"
            " l.first_seen = CASE WHEN r.t < l.first_seen THEN r.t"
            " ELSE l.first_seen END,"
            " l.last_seen = CASE WHEN r.t > l.last_seen THEN r.t ELSE l.last_seen END,"
            " l.event_ids = CASE WHEN r.event_id IN l.event_ids THEN l.event_ids"
            " ELSE l.event_ids + r.event_id END,"
            " l.sources = CASE WHEN r.source IN l.sources THEN l.sources"
            " ELSE l.sources + r.source END,"
            " l.inactive_reason = CASE WHEN l.is_active AND r.reason IS NOT NULL THEN r.reason"
            " ELSE l.inactive_reason END,"
            " l.is_active = l.is_active AND r.reason IS NULL"
            " RETURN collect({i: r.i, prior_first: prior_first, prior_score: prior_score})"
            " AS rows",
            rows=rows)
        found = {r["i"]: r for r in priors}
        return [None if found[i]["prior_first"] is None else PriorLink(
            from_micros(found[i]["prior_first"]), found[i]["prior_score"])
            for i in range(len(observations))]

    async def set_link_states(
        self, states: Sequence[tuple[Identifier, Identifier, str, str | None]]
    ) -> None:
        await self._records(
            "UNWIND $rows AS r MATCH (:Identifier {key: r.a})-[l:LINKED {rule: r.rule}]->"
            "(:Identifier {key: r.b}) SET l.is_active = r.reason IS NULL,"
            " l.inactive_reason = r.reason",
            rows=[{"a": a.key, "b": b.key, "rule": rule, "reason": reason}
                  for a, b, rule, reason in states])

    async def mark_held(self, marks: Sequence[tuple[Identifier, str | None]]) -> None:
        await self._records(
            "UNWIND $rows AS r MATCH (n:Identifier {key: r.key}) SET n.held = r.held",
            rows=[{"key": i.key, "held": held} for i, held in marks])

    async def read_makeup(self, group_ids: Sequence[int]) -> dict[int, GroupMakeup]:
        records = await self._rows(
            "UNWIND $ids AS id MATCH (n:Identifier {group_id: id})"
            " WITH id, n.kind AS kind, count(*) AS members, max(n.held) AS held"
            " RETURN collect({id: id, kind: kind, members: members, held: held}) AS rows",
            ids=sorted(set(group_ids)))
        return makeups((r["id"], r["kind"], r["members"], r["held"]) for r in records)

    async def read_links(self, identifiers: Sequence[Identifier]) -> list[Link]:
        records = await self._rows(
            "UNWIND $keys AS k MATCH (:Identifier {key: k})-[l:LINKED]-()"
            " WITH DISTINCT l MATCH (a)-[l]->(b)" + LINK_EVENTS +
            " WITH a, b, l, shown ORDER BY a.key, b.key, l.rule"
            " RETURN collect({" + LINK_FIELDS + "}) AS rows",
            keys=[i.key for i in identifiers], shown=MAX_EVENT_IDS_SHOWN)
        return [link_row(r) for r in records]

    async def read_links_by_rule(
        self, rule: str, after: tuple[str, str] | None, limit: int
    ) -> list[Link]:
        first, second = after or ("", "")
        records = await self._rows(
            "MATCH (a)-[l:LINKED {rule: $rule}]->(b)"
            " WHERE a.key > $first OR (a.key = $first AND b.key > $second)"
            " WITH a, l, b ORDER BY a.key, b.key LIMIT $limit" + LINK_EVENTS +
            " WITH a, b, l, shown ORDER BY a.key, b.key"
            " RETURN collect({" + LINK_FIELDS + "}) AS rows",
            rule=rule, first=first, second=second, limit=limit, shown=MAX_EVENT_IDS_SHOWN)
        return [link_row(r) for r in records]

    async def read_neighbors(
        self, identifiers: Sequence[Identifier], rule: str, kinds: Sequence[str],
        kind_prefixes: Sequence[str] = (),
    ) -> list[tuple[Identifier, Identifier]]:
        by_key = {i.key: i for i in identifiers}
        records = await self._rows(
            "UNWIND $keys AS k MATCH (:Identifier {key: k})-[:LINKED {rule: $rule}]-(m:Identifier)"
            " WHERE m.kind IN $kinds OR any(p IN $prefixes WHERE m.kind STARTS WITH p)"
            " WITH DISTINCT k, m.kind AS kind, m.value AS value"
            " RETURN collect({k: k, kind: kind, value: value}) AS rows",
            keys=list(by_key), rule=rule, kinds=list(kinds), prefixes=list(kind_prefixes))
        return [(by_key[r["k"]], Identifier(r["kind"], r["value"])) for r in records]

    async def mark_hubs(self, hubs: Sequence[tuple[Identifier, str]]) -> None:
        await self._records(
            "UNWIND $rows AS r MATCH (n:Identifier {key: r.key}) SET n.hub_reason = r.reason",
            rows=[{"key": i.key, "reason": reason} for i, reason in hubs])

    async def create_groups(
        self, profile_ids: Sequence[ProfileId], created_at: datetime
    ) -> list[GroupState]:
        # No global counter: it would serialize every transaction that creates a profile.
        # Random ids name the groups; a nanosecond clock orders the profiles by age.
        base = time.time_ns()
        created = [GroupState(secrets.randbits(62), p, base + i, 0)
                   for i, p in enumerate(profile_ids)]
        await self._records(
            "UNWIND $rows AS r"
            " CREATE (:Group {group_id: r.group_id, profile_id: r.profile_id, size: 0})"
            " CREATE (:Profile {profile_id: r.profile_id, seq: r.seq, created_at: $created_at})",
            rows=[{"group_id": g.group_id, "profile_id": g.profile_id, "seq": g.profile_seq}
                  for g in created],
            created_at=to_micros(created_at))
        return created

    async def read_groups(self, group_ids: Sequence[int]) -> list[GroupState]:
        records = await self._rows(self._groups_read() + " AS rows", ids=sorted(set(group_ids)))
        return _group_states(records)

    def _groups_read(self) -> LiteralString:
        """The groups of $ids (write-locked until commit in a write transaction), collected.
        Each property is read once: a group that a concurrent merge deletes mid-statement
        reads as nulls, and is then left out as if it had not been found (read committed)."""
        lock: LiteralString = "" if self._read_only else " SET g._lock = true REMOVE g._lock"
        return ("UNWIND $ids AS id MATCH (g:Group {group_id: id})" + lock +
                " WITH g.group_id AS group_id, g.profile_id AS profile_id, g.size AS size"
                " WHERE group_id IS NOT NULL AND profile_id IS NOT NULL AND size IS NOT NULL"
                " MATCH (p:Profile {profile_id: profile_id})"
                " WITH group_id, profile_id, p.seq AS seq, size ORDER BY group_id"
                " RETURN collect({group_id: group_id, profile_id: profile_id, seq: seq,"
                " size: size})")

    async def assign_members(self, assignments: Sequence[tuple[Identifier, int]]) -> None:
        # The nodes, then each group's size by what it lost and gained, in group order (so
        # concurrent writers lock groups in one order): one round trip.
        await self._records(
            "UNWIND $rows AS r MATCH (n:Identifier {key: r.key})"
            " WHERE n.group_id IS NULL OR n.group_id <> r.group_id"
            " WITH r, n, n.group_id AS previous SET n.group_id = r.group_id"
            " WITH previous, r.group_id AS target, count(*) AS moved"
            " UNWIND [[previous, -moved], [target, moved]] AS delta"
            " WITH delta[0] AS id, sum(delta[1]) AS delta WHERE id IS NOT NULL"
            " WITH id, delta ORDER BY id"
            " MATCH (g:Group {group_id: id}) SET g.size = g.size + delta",
            rows=sorted(({"key": i.key, "group_id": g} for i, g in assignments),
                        key=lambda r: str(r["key"])))

    async def move_members(self, moves: Sequence[tuple[int, int]]) -> None:
        # One move at a time: a later move may start from where an earlier one landed. The
        # emptied group's profile id is removed before the group is deleted: Neo4j 5.26 keeps
        # a unique value set earlier in the transaction on a node deleted later, and refuses
        # to give that profile id to another group in the same transaction.
        wanted = [(source, target) for source, target in moves if source != target]
        if not {source for source, _ in wanted} & {target for _, target in wanted}:
            # No move starts where another lands: they can all go in one statement.
            await self._records(
                "UNWIND $moves AS m OPTIONAL MATCH (n:Identifier {group_id: m[0]})"
                " SET n.group_id = m[1] WITH m, count(n) AS moved"
                " MATCH (g:Group {group_id: m[1]}) SET g.size = g.size + moved"
                " WITH m MATCH (old:Group {group_id: m[0]}) REMOVE old.profile_id DELETE old",
                moves=[list(move) for move in wanted])
            return
        for source, target in wanted:
            (record,) = await self._records(
                "OPTIONAL MATCH (n:Identifier {group_id: $source}) SET n.group_id = $target"
                " RETURN count(n) AS moved",
                source=source, target=target)
            await self._records(
                "MATCH (g:Group {group_id: $target}) SET g.size = g.size + $moved"
                " WITH g MATCH (old:Group {group_id: $source}) REMOVE old.profile_id DELETE old",
                source=source, target=target, moved=record["moved"])

    async def relabel_groups(
        self, relabels: Sequence[tuple[int, ProfileId, Sequence[ProfileId]]]
    ) -> None:
        rows = [{"id": g, "profile_id": p, "absorbed": list(a)} for g, p, a in relabels]
        if not rows:
            return
        # Three steps in one round trip: each subquery runs whole, for the one row before it,
        # before the next starts. Ids merged earlier into an absorbed id are repointed too:
        # lookups stay one hop.
        await self._records(
            "CALL () { UNWIND $rows AS r MATCH (g:Group {group_id: r.id})"
            " SET g.profile_id = r.profile_id }"
            " CALL () { UNWIND $rows AS r UNWIND r.absorbed AS old"
            " MATCH (p:Profile {profile_id: old}) SET p.merged_into = r.profile_id }"
            " CALL () { UNWIND $rows AS r UNWIND r.absorbed AS old"
            " MATCH (p:Profile {merged_into: old}) SET p.merged_into = r.profile_id }",
            rows=rows)

    async def lookup_profiles(self, profile_ids: Sequence[str]) -> list[ProfileRow]:
        records = await self._rows(
            "UNWIND range(0, size($ids) - 1) AS i MATCH (p:Profile {profile_id: $ids[i]})"
            " WITH i, p.profile_id AS requested, coalesce(p.merged_into, p.profile_id) AS current"
            " MATCH (g:Group {profile_id: current}) MATCH (c:Profile {profile_id: current})"
            " WITH i, requested, current, g.group_id AS group_id, c.created_at AS created_at"
            " WHERE group_id IS NOT NULL AND created_at IS NOT NULL"
            " WITH i, requested, current, group_id, created_at ORDER BY i"
            " RETURN collect({requested: requested, current: current, group_id: group_id,"
            " created_at: created_at}) AS rows",
            ids=list(profile_ids))
        return [ProfileRow(ProfileId(r["requested"]), ProfileId(r["current"]), r["group_id"],
                           from_micros(r["created_at"])) for r in records]

    async def merged_ids(self, profile_id: ProfileId) -> list[ProfileId]:
        records = await self._rows(
            "MATCH (p:Profile {merged_into: $id}) WITH p ORDER BY p.seq"
            " RETURN collect({id: p.profile_id}) AS rows",
            id=profile_id)
        return [ProfileId(r["id"]) for r in records]

    async def read_members(self, group_ids: Sequence[int]) -> list[NodeRow]:
        records = await self._rows(
            "UNWIND $ids AS id MATCH (n:Identifier {group_id: id})"
            " WITH n ORDER BY n.kind, n.value RETURN collect({" + NODE_FIELDS + "}) AS rows",
            ids=sorted(set(group_ids)))
        return [node_row(r) for r in records]

    async def read_groups_around(self, group_ids: Sequence[int]) -> GroupsAround:
        # As read_groups, read_members, read_links and find_identifiers read them, each in a
        # subquery of its own, in that order (the groups locked first).
        r = await self._record(
            "CALL () { " + self._groups_read() + " AS groups }"
            " CALL () { UNWIND $ids AS id MATCH (n:Identifier {group_id: id})"
            "   WITH n ORDER BY n.kind, n.value"
            "   RETURN collect({" + NODE_FIELDS + "}) AS members, collect(n) AS nodes }"
            " CALL (nodes) { UNWIND nodes AS m MATCH (m)-[l:LINKED]-()"
            "   WITH DISTINCT l MATCH (a)-[l]->(b)" + LINK_EVENTS +
            "   WITH a, b, l, shown ORDER BY a.key, b.key, l.rule"
            "   RETURN collect({" + LINK_FIELDS + "}) AS links }"
            " CALL (nodes) { UNWIND nodes AS m MATCH (m)-[:LINKED]-(n:Identifier)"
            "   WHERE n.group_id IS NULL OR NOT n.group_id IN $ids"
            "   WITH DISTINCT n ORDER BY n.kind, n.value"
            "   RETURN collect({" + NODE_FIELDS + "}) AS ends }"
            " RETURN groups, members, links, ends",
            ids=sorted(set(group_ids)), shown=MAX_EVENT_IDS_SHOWN)
        if r is None:
            return GroupsAround([], [], [], [])
        return GroupsAround(
            _group_states(r["groups"]),
            [node_row(m) for m in r["members"]], [link_row(k) for k in r["links"]],
            [node_row(n) for n in r["ends"]])

    async def withdraw_sightings(
        self, sightings: Sequence[tuple[Identifier, Identifier, str, str]]
    ) -> None:
        # A link's evidence (events, sources) lives on its relationship: the last sighting
        # taken out takes the relationship with it.
        await self._records(
            "UNWIND $rows AS r MATCH (:Identifier {key: r.a})-[l:LINKED {rule: r.rule}]->"
            "(:Identifier {key: r.b})"
            " SET l.event_ids = [e IN l.event_ids WHERE e <> r.event_id]"
            " WITH l WHERE size(l.event_ids) = 0 DELETE l",
            rows=[{"a": a.key, "b": b.key, "rule": rule, "event_id": event_id}
                  for a, b, rule, event_id in sorted(set(sightings))])

    async def restore_groups(
        self, restores: Sequence[tuple[ProfileId, Sequence[ProfileId]]]
    ) -> list[GroupState]:
        # The (:Profile) node is the one its id was created with (seq, created_at): only its
        # pointer is cleared. An id with no profile node is left out, as lookups leave it out.
        planned = [(secrets.randbits(62), ProfileId(p), list(merged)) for p, merged in restores]
        records = await self._records(
            "UNWIND $rows AS r MATCH (p:Profile {profile_id: r.profile_id})"
            " SET p.merged_into = null"
            " CREATE (:Group {group_id: r.group_id, profile_id: r.profile_id, size: 0})"
            " WITH r, p CALL (r) { UNWIND r.merged AS id MATCH (m:Profile {profile_id: id})"
            " SET m.merged_into = r.profile_id }"
            " RETURN r.group_id AS group_id, p.seq AS seq",
            rows=[{"group_id": g, "profile_id": p, "merged": m} for g, p, m in planned])
        seqs = {r["group_id"]: r["seq"] for r in records}
        return [GroupState(g, p, seqs[g], 0) for g, p, _ in planned if g in seqs]


def _group_states(rows: Sequence[Mapping[str, Any]]) -> list[GroupState]:
    return [GroupState(r["group_id"], ProfileId(r["profile_id"]), r["seq"], r["size"])
            for r in rows if r["seq"] is not None]
