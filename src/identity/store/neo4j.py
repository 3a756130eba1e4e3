"""Neo4jGraphStore: the production store, over the official async driver.

Parameters only, never Cypher built from input; every list primitive is one UNWIND query.
Concurrency: upserting an identifier write-locks its node until commit, and a write
transaction locks the groups it reads, so two batches that touch one profile serialize; a
deadlock between them surfaces as StoreConflict and the service retries the whole batch.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from typing import Any, LiteralString

import neo4j
from neo4j import AsyncDriver, AsyncGraphDatabase, AsyncTransaction
from neo4j.exceptions import (
    AuthError,
    ConstraintError,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)

from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.links import Evidence, Link, LinkObservation
from identity.domain.matching.records import MatchRecord
from identity.domain.resolution import GroupMakeup, GroupState, makeups
from identity.domain.types import EventId, Identifier, ProfileId, from_micros, to_micros
from identity.store._event_codec import (
    decode_keys,
    decode_order,
    decode_traits,
    encode_amount,
    encode_keys,
    encode_traits,
)
from identity.store.errors import StoreConflict, StoreUnavailable
from identity.store.neo4j_schema import migrate
from identity.store.protocol import (
    BlockLookup,
    ChangePage,
    ChangeRow,
    EventRecord,
    NodeRow,
    PriorLink,
    ProfileRow,
)

_UNWIND = re.compile(r"^UNWIND \$(\w+) AS ")

_NODE_FIELDS: LiteralString = (
    "n.kind AS kind, n.value AS value, n.group_id AS group_id, n.first_seen AS first_seen,"
    " n.last_seen AS last_seen, n.hub_reason AS hub_reason, n.held AS held"
)


def _node(record: neo4j.Record) -> NodeRow:
    return NodeRow(Identifier(record["kind"], record["value"]), record["group_id"],
                   from_micros(record["first_seen"]), from_micros(record["last_seen"]),
                   record["hub_reason"], record["held"])


_LINK_FIELDS: LiteralString = (
    "a.kind AS a_kind, a.value AS a_value, b.kind AS b_kind, b.value AS b_value,"
    " l.rule AS rule, l.is_active AS is_active, l.inactive_reason AS reason, l.score AS score,"
    " l.details AS details, l.first_seen AS first_seen, l.last_seen AS last_seen,"
    " l.event_ids AS event_ids, l.sources AS sources"
)


def _link(r: neo4j.Record) -> Link:
    return Link(Identifier(r["a_kind"], r["a_value"]), Identifier(r["b_kind"], r["b_value"]),
                Evidence(r["rule"], tuple(sorted(set(r["sources"]))),
                         from_micros(r["first_seen"]), from_micros(r["last_seen"]),
                         tuple(sorted(set(r["event_ids"]))), r["score"], r["details"]),
                bool(r["is_active"]), r["reason"])


_RECORD_FIELDS: LiteralString = (
    "r.record_id AS record_id, r.anchor AS anchor, r.fields AS fields, r.keys AS keys,"
    " r.event_id AS event_id, r.source AS source, r.seen_at AS seen_at"
)


def _record(r: neo4j.Record) -> MatchRecord:
    kind, _, value = str(r["anchor"]).partition("|")
    return MatchRecord(r["record_id"], Identifier(kind, value), decode_traits(r["fields"]),
                       decode_keys(r["keys"]), EventId(r["event_id"]), r["source"],
                       from_micros(r["seen_at"]))


class Neo4jTransaction:
    """Protocol primitives inside one explicit Neo4j transaction."""

    def __init__(self, tx: AsyncTransaction, *, read_only: bool) -> None:
        self._tx = tx
        self._read_only = read_only

    async def _records(self, query: LiteralString, **params: Any) -> list[neo4j.Record]:
        # A query over an empty list finds and writes nothing: no round trip for it.
        unwound = _UNWIND.match(query)
        if unwound is not None and not params.get(unwound.group(1), True):
            return []
        result = await self._tx.run(query, params)
        return [record async for record in result]

    async def seen_event_ids(self, event_ids: Sequence[str]) -> set[str]:
        records = await self._records(
            "UNWIND $ids AS id MATCH (e:Event {event_id: id}) RETURN e.event_id AS id",
            ids=list(event_ids))
        return {r["id"] for r in records}

    async def record_events(self, events: Sequence[EventRecord]) -> None:
        received = to_micros(datetime.now().astimezone())
        rows = [{
            "event_id": e.event_id, "type": e.type, "source": e.source,
            "observed_at": to_micros(e.observed_at), "anchor": e.anchor.key,
            "traits": encode_traits(e.traits),
            "amount": encode_amount(e.order),
            "currency": e.order.currency if e.order else None,
            "has_data": bool(e.traits or e.order), "received_at": received,
        } for e in events]
        # CREATE, not MERGE: a concurrent batch holding the same event fails on the
        # uniqueness constraint, is retried, and then sees the event as a duplicate.
        await self._records("UNWIND $rows AS r CREATE (e:Event) SET e = r", rows=rows)

    async def read_event_records(self, anchors: Sequence[Identifier]) -> list[EventRecord]:
        by_key = {a.key: a for a in anchors}
        records = await self._records(
            "UNWIND $keys AS k MATCH (e:Event {anchor: k}) WHERE e.has_data"
            " RETURN e.event_id AS event_id, e.type AS type, e.source AS source,"
            " e.observed_at AS observed_at, e.anchor AS anchor, e.traits AS traits,"
            " e.amount AS amount, e.currency AS currency",
            keys=list(by_key))
        return [
            EventRecord(
                EventId(r["event_id"]), r["type"], r["source"], from_micros(r["observed_at"]),
                by_key[r["anchor"]],
                decode_traits(r["traits"]),
                decode_order(r["amount"], r["currency"]),
            )
            for r in records
        ]

    async def upsert_identifiers(
        self, sightings: Sequence[tuple[Identifier, datetime]]
    ) -> list[NodeRow]:
        # Sorted, so concurrent batches lock nodes in one order and cannot deadlock on them.
        by_key = sorted((ident.key, i, ident, seen_at)
                        for i, (ident, seen_at) in enumerate(sightings))
        rows = [{"i": i, "key": key, "kind": ident.kind, "value": ident.value,
                 "t": to_micros(seen_at)} for key, i, ident, seen_at in by_key]
        records = await self._records(
            "UNWIND $rows AS r MERGE (n:Identifier {key: r.key})"
            " ON CREATE SET n.kind = r.kind, n.value = r.value, n.first_seen = r.t,"
            " n.last_seen = r.t"
            " ON MATCH SET n.first_seen = CASE WHEN r.t < n.first_seen THEN r.t"
            " ELSE n.first_seen END, n.last_seen = CASE WHEN r.t > n.last_seen THEN r.t"
            " ELSE n.last_seen END"
            " RETURN r.i AS i, " + _NODE_FIELDS,
            rows=rows)
        ordered = sorted(records, key=lambda r: int(r["i"]))
        return [_node(r) for r in ordered]

    async def find_identifiers(self, identifiers: Sequence[Identifier]) -> list[NodeRow]:
        records = await self._records(
            "UNWIND range(0, size($keys) - 1) AS i MATCH (n:Identifier {key: $keys[i]})"
            " RETURN i, " + _NODE_FIELDS + " ORDER BY i",
            keys=[i.key for i in identifiers])
        return [_node(r) for r in records]

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
        priors = await self._records(
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
            " RETURN r.i AS i, prior_first, prior_score",
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
        records = await self._records(
            "UNWIND $ids AS id MATCH (n:Identifier {group_id: id})"
            " RETURN id, n.kind AS kind, count(*) AS members, max(n.held) AS held",
            ids=sorted(set(group_ids)))
        return makeups((r["id"], r["kind"], r["members"], r["held"]) for r in records)

    async def read_links(self, identifiers: Sequence[Identifier]) -> list[Link]:
        records = await self._records(
            "UNWIND $keys AS k MATCH (:Identifier {key: k})-[l:LINKED]-()"
            " WITH DISTINCT l MATCH (a)-[l]->(b)"
            " RETURN " + _LINK_FIELDS + " ORDER BY a.key, b.key, l.rule",
            keys=[i.key for i in identifiers])
        return [_link(r) for r in records]

    async def read_links_by_rule(
        self, rule: str, after: tuple[str, str] | None, limit: int
    ) -> list[Link]:
        first, second = after or ("", "")
        records = await self._records(
            "MATCH (a)-[l:LINKED {rule: $rule}]->(b)"
            " WHERE a.key > $first OR (a.key = $first AND b.key > $second)"
            " RETURN " + _LINK_FIELDS + " ORDER BY a.key, b.key LIMIT $limit",
            rule=rule, first=first, second=second, limit=limit)
        return [_link(r) for r in records]

    async def read_neighbors(
        self, identifiers: Sequence[Identifier], rule: str, kinds: Sequence[str],
        kind_prefixes: Sequence[str] = (),
    ) -> list[tuple[Identifier, Identifier]]:
        by_key = {i.key: i for i in identifiers}
        records = await self._records(
            "UNWIND $keys AS k MATCH (:Identifier {key: k})-[:LINKED {rule: $rule}]-(m:Identifier)"
            " WHERE m.kind IN $kinds OR any(p IN $prefixes WHERE m.kind STARTS WITH p)"
            " RETURN DISTINCT k, m.kind AS kind, m.value AS value",
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
        lock: LiteralString = "" if self._read_only else " SET g._lock = true REMOVE g._lock"
        # Each property is read once: a group that a concurrent merge deletes mid-statement
        # reads as nulls, and is then left out as if it had not been found (read committed).
        records = await self._records(
            "UNWIND $ids AS id MATCH (g:Group {group_id: id})" + lock +
            " WITH g.group_id AS group_id, g.profile_id AS profile_id, g.size AS size"
            " WHERE group_id IS NOT NULL AND profile_id IS NOT NULL AND size IS NOT NULL"
            " MATCH (p:Profile {profile_id: profile_id})"
            " RETURN group_id, profile_id, p.seq AS seq, size ORDER BY group_id",
            ids=sorted(set(group_ids)))
        return [GroupState(r["group_id"], ProfileId(r["profile_id"]), r["seq"], r["size"])
                for r in records if r["seq"] is not None]

    async def assign_members(self, assignments: Sequence[tuple[Identifier, int]]) -> None:
        moved = await self._records(
            "UNWIND $rows AS r MATCH (n:Identifier {key: r.key})"
            " WHERE n.group_id IS NULL OR n.group_id <> r.group_id"
            " WITH r, n, n.group_id AS previous SET n.group_id = r.group_id"
            " RETURN previous, r.group_id AS target, count(*) AS moved",
            rows=sorted(({"key": i.key, "group_id": g} for i, g in assignments),
                        key=lambda r: str(r["key"])))
        deltas: dict[int, int] = {}
        for r in moved:
            if r["previous"] is not None:
                deltas[r["previous"]] = deltas.get(r["previous"], 0) - r["moved"]
            deltas[r["target"]] = deltas.get(r["target"], 0) + r["moved"]
        await self._adjust_sizes([{"id": g, "delta": d} for g, d in sorted(deltas.items())])

    async def _adjust_sizes(self, deltas: list[dict[str, int]]) -> None:
        await self._records(
            "UNWIND $rows AS r MATCH (g:Group {group_id: r.id}) SET g.size = g.size + r.delta",
            rows=deltas)

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
        await self._records(
            "UNWIND $rows AS r MATCH (g:Group {group_id: r.id}) SET g.profile_id = r.profile_id",
            rows=rows)
        # Ids merged earlier into an absorbed id are repointed too: lookups stay one hop.
        await self._records(
            "UNWIND $rows AS r UNWIND r.absorbed AS old MATCH (p:Profile {profile_id: old})"
            " SET p.merged_into = r.profile_id", rows=rows)
        await self._records(
            "UNWIND $rows AS r UNWIND r.absorbed AS old MATCH (p:Profile {merged_into: old})"
            " SET p.merged_into = r.profile_id", rows=rows)

    async def lookup_profiles(self, profile_ids: Sequence[str]) -> list[ProfileRow]:
        records = await self._records(
            "UNWIND range(0, size($ids) - 1) AS i MATCH (p:Profile {profile_id: $ids[i]})"
            " WITH i, p.profile_id AS requested, coalesce(p.merged_into, p.profile_id) AS current"
            " MATCH (g:Group {profile_id: current}) MATCH (c:Profile {profile_id: current})"
            " WITH i, requested, current, g.group_id AS group_id, c.created_at AS created_at"
            " WHERE group_id IS NOT NULL AND created_at IS NOT NULL"
            " RETURN requested, current, group_id, created_at ORDER BY i",
            ids=list(profile_ids))
        return [ProfileRow(ProfileId(r["requested"]), ProfileId(r["current"]), r["group_id"],
                           from_micros(r["created_at"])) for r in records]

    async def merged_ids(self, profile_id: ProfileId) -> list[ProfileId]:
        records = await self._records(
            "MATCH (p:Profile {merged_into: $id}) RETURN p.profile_id AS id ORDER BY p.seq",
            id=profile_id)
        return [ProfileId(r["id"]) for r in records]

    async def read_members(self, group_ids: Sequence[int]) -> list[NodeRow]:
        records = await self._records(
            "UNWIND $ids AS id MATCH (n:Identifier {group_id: id})"
            " RETURN " + _NODE_FIELDS + " ORDER BY n.kind, n.value",
            ids=sorted(set(group_ids)))
        return [_node(r) for r in records]



    async def index_records(self, records: Sequence[MatchRecord], max_block: int) -> list[str]:
        rows = [{"record_id": r.record_id, "anchor": r.anchor.key,
                 "fields": encode_traits(r.fields), "keys": encode_keys(r.keys),
                 "event_id": r.event_id, "source": r.source, "seen_at": to_micros(r.seen_at)}
                for r in sorted({r.record_id: r for r in records}.values(),
                                key=lambda r: r.record_id)]
        stored = {r["id"] for r in await self._records(
            "UNWIND $ids AS id MATCH (r:MatchRecord {record_id: id}) RETURN r.record_id AS id",
            ids=[row["record_id"] for row in rows])}
        fresh = [row for row in rows if row["record_id"] not in stored]
        fresh_ids = {str(row["record_id"]) for row in fresh}
        # CREATE, not MERGE: a concurrent batch filing the same record fails on the
        # uniqueness constraint and is retried.
        await self._records(
            "UNWIND $rows AS row CREATE (r:MatchRecord) SET r = row", rows=fresh)
        # Blocks in key order, so concurrent batches lock them in one order.
        filings = sorted((key, r.record_id) for r in records if r.record_id in fresh_ids
                         for key in set(r.keys))
        await self._records(
            "UNWIND $filings AS f MATCH (r:MatchRecord {record_id: f[1]})"
            " MERGE (b:Block {key: f[0]}) ON CREATE SET b.size = 0"
            " SET b.size = b.size + 1"
            " WITH r, b WHERE b.size <= $max_block CREATE (b)-[:FILES]->(r)",
            filings=[list(f) for f in filings], max_block=max_block)
        return sorted(fresh_ids)

    async def find_records(self, keys: Sequence[str], max_block: int) -> BlockLookup:
        sizes = await self._records(
            "UNWIND $keys AS k MATCH (b:Block {key: k}) RETURN k, b.size AS size",
            keys=sorted(set(keys)))
        oversized = sorted((r["k"], r["size"]) for r in sizes if r["size"] > max_block)
        records = await self._records(
            "UNWIND $keys AS k MATCH (:Block {key: k})-[:FILES]->(r:MatchRecord)"
            " WITH DISTINCT r RETURN " + _RECORD_FIELDS + " ORDER BY record_id",
            keys=[r["k"] for r in sizes if r["size"] <= max_block])
        return BlockLookup([_record(r) for r in records], oversized)

    async def read_records(self, anchors: Sequence[Identifier]) -> list[MatchRecord]:
        records = await self._records(
            "UNWIND $keys AS k MATCH (r:MatchRecord {anchor: k})"
            " RETURN " + _RECORD_FIELDS + " ORDER BY record_id",
            keys=sorted({a.key for a in anchors}))
        return [_record(r) for r in records]

    async def count_records(self) -> int:
        (found,) = await self._records("MATCH (r:MatchRecord) RETURN count(r) AS records")
        return int(found["records"])

    async def scan_records(self, after: str, limit: int) -> list[MatchRecord]:
        records = await self._records(
            "MATCH (r:MatchRecord) WHERE r.record_id > $after"
            " RETURN " + _RECORD_FIELDS + " ORDER BY record_id LIMIT $limit",
            after=after, limit=limit)
        return [_record(r) for r in records]

    # Positions come from one counter node, (:ChangeLog {name: 'positions'}), raised by the
    # appending transaction itself. `SET log.last = log.last + n` write-locks the node before
    # reading it (Cypher locks first when SET reads the property it writes), and the lock is
    # held until commit: the next appender reads the counter only once this transaction has
    # committed. So positions follow commit order and are dense (a rolled-back increment goes
    # with its changes), and no change can commit below a position a reader has passed. This
    # serializes appenders only from the append to their commit: the service appends last in
    # the ingest transaction, so the lock is held for the commit alone. Rejected: a clock or a
    # random id taken before commit (a slower transaction commits a smaller one after a reader
    # has moved on: the outbox skip); Neo4j's own CDC (Enterprise only).
    async def append_changes(self, changes: Sequence[ProfileChange]) -> None:
        if not changes:
            return
        await self._records(
            "MERGE (log:ChangeLog {name: 'positions'}) ON CREATE SET log.last = 0"
            " SET log.last = log.last + size($rows)"
            " WITH log.last - size($rows) AS base UNWIND range(0, size($rows) - 1) AS i"
            " CREATE (c:Change) SET c = $rows[i], c.position = base + i + 1",
            rows=[{"kind": c.kind.value, "profile_id": c.profile_id,
                   "cause_event_id": c.cause_event_id, "at": to_micros(c.at),
                   "absorbed_ids": list(c.absorbed_ids), "split_ids": list(c.split_ids)}
                  for c in changes])

    async def read_changes(
        self, after: int, limit: int, profile_ids: Sequence[str]
    ) -> ChangePage:
        records = await self._records(
            "OPTIONAL MATCH (r:ChangeLog {name: 'retention'})"
            " WITH CASE WHEN r.pruned_through > $after THEN r.pruned_through ELSE $after END"
            " AS start"
            " CALL (start) { MATCH (c:Change) WHERE c.position > start"
            " RETURN c ORDER BY c.position LIMIT $limit }"
            " RETURN start, c.position AS position, c.kind AS kind, CASE WHEN $every"
            " OR any(id IN [c.profile_id] + c.absorbed_ids + c.split_ids WHERE id IN $ids)"
            " THEN c {.*} END AS change",
            after=after, limit=limit, every=not profile_ids, ids=list(profile_ids))
        # Read after the changes: a prune that removed any of them has raised it by now.
        (bounds,) = await self._records(
            "OPTIONAL MATCH (p:ChangeLog {name: 'positions'})"
            " OPTIONAL MATCH (r:ChangeLog {name: 'retention'})"
            " RETURN coalesce(p.last, 0) AS last, coalesce(r.pruned_through, 0) AS pruned")
        found: list[ChangeRow] = []
        through = records[0]["start"] if records else after
        for r in records:
            # Read committed shows a committing transaction's changes one by one, so a hole in
            # the dense positions is a change not visible yet: stop before it, never skip it.
            if r["position"] != through + 1 or r["kind"] is None:
                break
            through += 1
            if (c := r["change"]) is not None:
                found.append(ChangeRow(through, ProfileChange(
                    ChangeKind(c["kind"]), ProfileId(c["profile_id"]),
                    EventId(c["cause_event_id"]), from_micros(c["at"]),
                    tuple(map(ProfileId, c["absorbed_ids"])),
                    tuple(map(ProfileId, c["split_ids"])))))
        return ChangePage(found, through, bounds["pruned"], bounds["last"])

    async def prune_changes(self, before: datetime, limit: int) -> int:
        # Prunes take turns on the retention node; appenders never touch it, nor the old
        # changes a prune deletes, so pruning does not hold up ingest.
        (floor,) = await self._records(
            "MERGE (r:ChangeLog {name: 'retention'}) ON CREATE SET r.pruned_through = 0"
            " SET r._lock = true REMOVE r._lock RETURN r.pruned_through AS pruned")
        oldest = await self._records(
            "MATCH (c:Change) WHERE c.position > $floor WITH c ORDER BY c.position LIMIT $limit"
            " RETURN c.position AS position, c.at AS at",
            floor=floor["pruned"], limit=limit)
        cutoff = to_micros(before)
        through = floor["pruned"]
        for r in oldest:
            if r["position"] != through + 1 or r["at"] >= cutoff:
                break
            through += 1
        if through == floor["pruned"]:
            return 0
        await self._records(
            "MATCH (c:Change) WHERE $floor < c.position <= $through DELETE c"
            " WITH count(*) AS deleted MATCH (r:ChangeLog {name: 'retention'})"
            " SET r.pruned_through = $through",
            floor=floor["pruned"], through=through)
        return int(through - floor["pruned"])


_CONFLICTS = (TransientError, ConstraintError)
_UNAVAILABLE = (ServiceUnavailable, SessionExpired, AuthError, OSError)


class Neo4jGraphStore:
    """The GraphStore protocol over one Neo4j database; open it with `connect()`."""

    def __init__(self, driver: AsyncDriver, database: str, uri: str) -> None:
        self._driver = driver
        self._commits = 0
        self._database = database
        self._uri = uri

    @classmethod
    async def connect(cls, uri: str, user: str, password: str,
                      database: str = "neo4j") -> Neo4jGraphStore:
        """Verifies the connection and the credentials, then applies migrations: a
        misconfigured service fails at start-up with the reason, not on its first request."""
        # Notifications off: Neo4j's hints (an unused property, say) are not errors and would
        # flood the log on every query.
        driver = AsyncGraphDatabase.driver(uri, auth=(user, password),
                                           connection_acquisition_timeout=10,
                                           notifications_min_severity="OFF")
        try:
            await driver.verify_connectivity()
            await migrate(driver, database)
        except AuthError as exc:
            await driver.close()
            raise StoreUnavailable(
                f"Neo4j at {uri} refused the credentials of user {user!r}: {exc.message}"
            ) from exc
        except (ServiceUnavailable, OSError, ValueError) as exc:
            await driver.close()
            raise StoreUnavailable(f"Neo4j at {uri} is unreachable: {exc}") from exc
        except Neo4jError as exc:
            await driver.close()
            raise StoreUnavailable(f"Neo4j at {uri} ({database}): {exc.message}") from exc
        return cls(driver, database, uri)

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[Neo4jTransaction]:
        mode = neo4j.READ_ACCESS if read_only else neo4j.WRITE_ACCESS
        try:
            async with self._driver.session(database=self._database,
                                            default_access_mode=mode) as session:
                tx = await session.begin_transaction()
                try:
                    yield Neo4jTransaction(tx, read_only=read_only)
                except BaseException:
                    if not tx.closed():
                        with suppress(Neo4jError, DriverError):
                            await tx.rollback()
                    raise
                await tx.commit()
                if not read_only:
                    self._commits += 1
        except _CONFLICTS as exc:
            raise StoreConflict(f"Neo4j transaction conflict, safe to retry: {exc}") from exc
        except _UNAVAILABLE as exc:
            raise StoreUnavailable(f"Neo4j at {self._uri}: {exc}") from exc

    def commits(self) -> int:
        return self._commits

    def commits_elsewhere(self) -> int | None:
        """Replicas share the database and nothing says cheaply that one of them wrote:
        None, so nothing is cached across calls."""
        return None

    async def ping(self) -> None:
        try:
            async with self._driver.session(database=self._database) as session:
                await (await session.run("RETURN 1")).consume()
        except (*_UNAVAILABLE, Neo4jError, DriverError) as exc:
            raise StoreUnavailable(f"Neo4j at {self._uri}: {exc}") from exc

    async def wipe(self) -> None:
        """Deletes every node and relationship, schema kept: for tests and benchmarks."""
        async with self._driver.session(database=self._database) as session:
            await (await session.run(
                "MATCH (n) WHERE NOT n:SchemaMigration"
                " CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")).consume()

    async def close(self) -> None:
        await self._driver.close()
