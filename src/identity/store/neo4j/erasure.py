"""Neo4j: erasure and the suppression list (docs/architecture.md, "Erasure and access")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, LiteralString

from identity.domain.types import EventId, Identifier, ProfileId, to_micros
from identity.store._event_codec import (
    decode_ids,
    decode_keys,
    encode_ids,
    encode_keys,
    encode_traits,
    encoded_needle,
)
from identity.store.neo4j.base import RECORD_FIELDS, Neo4jPart, match_record
from identity.store.neo4j.changes import TOUCHED
from identity.store.neo4j.events import EVENT_FIELDS, stored_event
from identity.store.protocol import ErasedRows, Holding, LinkDetails, Tombstone


class Neo4jErasures(Neo4jPart):
    """Deletes by identifier and profile id; keeps tombstones by keyed hash."""

    async def _count(self, query: LiteralString, **params: Any) -> int:
        records = await self._records(query, **params)
        return int(records[0]["n"]) if records else 0

    async def erase_rows(self, identifiers: Sequence[Identifier],
                         profile_ids: Sequence[ProfileId]) -> ErasedRows:
        keys = sorted({identifier.key for identifier in identifiers})
        ids = sorted(set(profile_ids))
        links = await self._count(
            "UNWIND $keys AS k MATCH (:Identifier {key: k})-[l:LINKED]-()"
            " WITH DISTINCT l DELETE l RETURN count(l) AS n", keys=keys)
        events = await self._count(
            "UNWIND $keys AS k MATCH (e:Event {anchor: k}) DELETE e RETURN count(e) AS n",
            keys=keys)
        anchored = await self._records(
            "UNWIND $keys AS k MATCH (r:MatchRecord {anchor: k}) RETURN r.record_id AS id",
            keys=keys)
        records = await self._drop_records([str(r["id"]) for r in anchored])
        reviews = await self._count(
            "MATCH (r:ReviewItem) WHERE r.a IN $keys OR r.b IN $keys"
            " DETACH DELETE r RETURN count(*) AS n", keys=keys)
        nodes = await self._count(
            "UNWIND $keys AS k MATCH (n:Identifier {key: k}) DETACH DELETE n"
            " RETURN count(*) AS n", keys=keys)
        await self._records(
            "UNWIND $ids AS id MATCH (g:Group {profile_id: id}) DETACH DELETE g", ids=ids)
        profiles = await self._count(
            "UNWIND $ids AS id MATCH (p:Profile {profile_id: id}) DETACH DELETE p"
            " RETURN count(*) AS n", ids=ids)
        versions = await self._count(
            "UNWIND $ids AS id MATCH (v:ProfileVersion {profile_id: id}) DELETE v"
            " RETURN count(*) AS n", ids=ids)
        # One scan of the log (kept 7 days): erasure is rare. Positions stay dense.
        changes = await self._count(
            "MATCH (c:Change) WHERE c.kind <> $touched"
            " AND any(id IN [c.profile_id] + c.absorbed_ids + c.split_ids WHERE id IN $ids)"
            " REMOVE c.profile_id, c.cause_event_id, c.absorbed_ids, c.split_ids"
            " SET c.kind = $touched, c.touched_ids = [] RETURN count(*) AS n",
            ids=ids, touched=TOUCHED)
        await self._records(
            "MATCH (c:Change {kind: $touched}) WHERE any(id IN c.touched_ids WHERE id IN $ids)"
            " SET c.touched_ids = [id IN c.touched_ids WHERE NOT id IN $ids]",
            ids=ids, touched=TOUCHED)
        return ErasedRows(nodes, links, events, records, reviews, profiles, versions, changes)

    async def _drop_records(self, record_ids: Sequence[str]) -> int:
        """Each record leaves the blocks of its keys (their counts fall; one counted down to
        none is gone), as refile_records has them leave, and is deleted."""
        filed = await self._records(
            "UNWIND $ids AS id MATCH (r:MatchRecord {record_id: id})"
            " RETURN r.record_id AS id, r.keys AS keys", ids=sorted(set(record_ids)))
        dropped = sorted({(key, str(r["id"])) for r in filed for key in decode_keys(r["keys"])})
        await self._records(
            "UNWIND $dropped AS f MATCH (b:Block {key: f[0]}) SET b.size = b.size - 1",
            dropped=[list(f) for f in dropped])
        records = await self._count(
            "UNWIND $ids AS id MATCH (r:MatchRecord {record_id: id}) DETACH DELETE r"
            " RETURN count(*) AS n", ids=sorted({str(r["id"]) for r in filed}))
        await self._records(
            "UNWIND $keys AS k MATCH (b:Block {key: k}) WHERE b.size <= 0 DETACH DELETE b",
            keys=sorted({key for key, _ in dropped}))
        return records

    async def holding(self, needles: Sequence[str]) -> Holding:
        wanted = [encoded_needle(needle) for needle in sorted(set(needles)) if needle]
        if not wanted:
            return Holding()
        # One scan of each label (no index holds values inside JSON): erasure is rare.
        records = await self._rows(
            "MATCH (r:MatchRecord) WHERE any(n IN $needles WHERE toLower(r.fields) CONTAINS n)"
            " RETURN collect(r {" + RECORD_FIELDS + "}) AS rows", needles=wanted)
        events = await self._rows(
            "MATCH (e:Event) WHERE e.traits IS NOT NULL"
            " AND any(n IN $needles WHERE toLower(e.traits) CONTAINS n)"
            " RETURN collect(e {" + EVENT_FIELDS + "}) AS rows", needles=wanted)
        linked = await self._rows(
            "MATCH (a:Identifier)-[l:LINKED]->(b:Identifier) WHERE l.details IS NOT NULL"
            " AND any(n IN $needles WHERE toLower(l.details) CONTAINS n)"
            " RETURN collect({a: a.key, b: b.key, rule: l.rule, details: l.details}) AS rows",
            needles=wanted)
        return Holding(
            sorted((match_record(r) for r in records), key=lambda r: r.record_id),
            sorted((stored_event(e, Identifier.of_key(str(e["anchor"]))) for e in events),
                   key=lambda e: e.event_id),
            sorted((Identifier.of_key(str(r["a"])), Identifier.of_key(str(r["b"])),
                    str(r["rule"]), str(r["details"])) for r in linked))

    async def rewrite_holding(self, record_ids: Sequence[str],
                              traits: Sequence[tuple[EventId, tuple[tuple[str, str], ...]]],
                              details: Sequence[LinkDetails] = ()) -> int:
        await self._records(
            "UNWIND $rows AS r MATCH (:Identifier {key: r.a})-[l:LINKED {rule: r.rule}]->"
            "(:Identifier {key: r.b}) SET l.details = r.details",
            rows=[{"a": a.key, "b": b.key, "rule": rule, "details": text}
                  for a, b, rule, text in details])
        await self._records(
            "UNWIND $rows AS r MATCH (e:Event {event_id: r.id})"
            " SET e.traits = r.traits, e.has_data = r.traits IS NOT NULL OR e.amount IS NOT NULL",
            rows=[{"id": event_id, "traits": encode_traits(kept)} for event_id, kept in traits])
        return await self._drop_records(record_ids)

    async def strip_versions(self, profile_ids: Sequence[ProfileId],
                             identifiers: Sequence[Identifier],
                             erased_ids: Sequence[ProfileId]) -> int:
        gone_keys = {identifier.key for identifier in identifiers}
        gone_ids = set(erased_ids)
        rows = await self._records(
            "UNWIND $ids AS id MATCH (v:ProfileVersion {profile_id: id})"
            " RETURN v.profile_id AS profile_id, v.version AS version, v.added AS added,"
            " v.removed AS removed, v.related AS related", ids=sorted(set(profile_ids)))
        changed: list[dict[str, object]] = []
        for r in rows:
            added = encode_keys(tuple(k for k in decode_keys(r["added"]) if k not in gone_keys))
            removed = encode_keys(tuple(k for k in decode_keys(r["removed"])
                                        if k not in gone_keys))
            related = encode_ids(tuple(i for i in decode_ids(r["related"]) if i not in gone_ids))
            if (added, removed, related) != (r["added"], r["removed"], r["related"]):
                changed.append({"profile_id": r["profile_id"], "version": r["version"],
                                "added": added, "removed": removed, "related": related})
        await self._records(
            "UNWIND $rows AS r MATCH (v:ProfileVersion {profile_id: r.profile_id,"
            " version: r.version}) SET v.added = r.added, v.removed = r.removed,"
            " v.related = r.related", rows=changed)
        return len(changed)

    async def redact_audit(self, entries: Sequence[tuple[str, str, str, str]]) -> None:
        await self._records(
            "UNWIND $rows AS r MATCH (e:AuditEntry {action_id: r[0]})"
            " SET e.reason = r[1], e.before = r[2], e.after = r[3]",
            rows=[list(entry) for entry in entries])

    async def add_tombstones(self, tombstones: Sequence[Tombstone]) -> None:
        await self._records(
            "UNWIND $rows AS r MERGE (t:Tombstone {hashed: r.hashed})"
            " SET t.action_id = r.action_id, t.at = r.at REMOVE t.lifted_at",
            rows=[{"hashed": t.hashed, "action_id": t.action_id, "at": to_micros(t.at)}
                  for t in tombstones])

    async def suppressed(self, hashed: Sequence[str]) -> set[str]:
        rows = await self._rows(
            "UNWIND $hashes AS h MATCH (t:Tombstone {hashed: h}) WHERE t.lifted_at IS NULL"
            " RETURN collect({h: t.hashed}) AS rows", hashes=sorted(set(hashed)))
        return {str(r["h"]) for r in rows}

    async def lift(self, hashed: Sequence[str], at: datetime) -> list[str]:
        rows = await self._records(
            "UNWIND $hashes AS h MATCH (t:Tombstone {hashed: h}) WHERE t.lifted_at IS NULL"
            " SET t.lifted_at = $at RETURN t.hashed AS h",
            hashes=sorted(set(hashed)), at=to_micros(at))
        return sorted(str(r["h"]) for r in rows)

    async def erasure_key(self, candidate: str) -> str:
        (record,) = await self._records(
            "MERGE (k:ErasureKey {name: 'erasure'}) ON CREATE SET k.key = $candidate"
            " RETURN k.key AS key", candidate=candidate)
        return str(record["key"])
