"""Neo4j: the match index: match records and the blocking keys that find them."""

from __future__ import annotations

from collections.abc import Sequence

from identity.domain.matching.records import MatchRecord
from identity.domain.types import Identifier, to_micros
from identity.store._event_codec import decode_keys, encode_keys, encode_traits
from identity.store.neo4j.base import RECORD_FIELDS, Neo4jPart, match_record
from identity.store.protocol import BlockLookup


class Neo4jMatchIndex(Neo4jPart):
    """The match index: match records and the blocking keys that find them."""

    async def index_records(self, records: Sequence[MatchRecord], max_block: int) -> list[str]:
        rows = [{"record_id": r.record_id, "anchor": r.anchor.key,
                 "fields": encode_traits(r.fields), "keys": encode_keys(r.keys),
                 "event_id": r.event_id, "source": r.source, "seen_at": to_micros(r.seen_at)}
                for r in sorted({r.record_id: r for r in records}.values(),
                                key=lambda r: r.record_id)]
        stored = {r["id"] for r in await self._rows(
            "UNWIND $ids AS id MATCH (r:MatchRecord {record_id: id})"
            " RETURN collect({id: r.record_id}) AS rows",
            ids=[row["record_id"] for row in rows])}
        fresh = [row for row in rows if row["record_id"] not in stored]
        fresh_ids = {str(row["record_id"]) for row in fresh}
        # CREATE, not MERGE: a concurrent batch filing the same record fails on the
        # uniqueness constraint and is retried.
        await self._records(
            "UNWIND $rows AS row CREATE (r:MatchRecord) SET r = row", rows=fresh)
        await self._file([(key, r.record_id) for r in records if r.record_id in fresh_ids
                          for key in set(r.keys)], max_block)
        return sorted(fresh_ids)

    async def refile_records(self, records: Sequence[MatchRecord], max_block: int
                             ) -> list[str]:
        wanted = {r.record_id: r for r in records}
        stored = {r["id"]: decode_keys(r["keys"]) for r in await self._rows(
            "UNWIND $ids AS id MATCH (r:MatchRecord {record_id: id})"
            " RETURN collect({id: r.record_id, keys: r.keys}) AS rows", ids=sorted(wanted))}
        moved = sorted(record_id for record_id, keys in stored.items()
                       if wanted[record_id].keys != keys)
        dropped: list[tuple[str, str]] = []
        gained: list[tuple[str, str]] = []
        for record_id in moved:
            old, new = set(stored[record_id]), set(wanted[record_id].keys)
            dropped += [(key, record_id) for key in old - new]
            gained += [(key, record_id) for key in new - old]
        await self._records(
            "UNWIND $rows AS row MATCH (r:MatchRecord {record_id: row[0]}) SET r.keys = row[1]",
            rows=[[r, encode_keys(wanted[r].keys)] for r in moved])
        # Out of the old blocks before into the new (a block one record leaves and another
        # joins here counts the joiner without the leaver), each pass in key order.
        await self._records(
            "UNWIND $dropped AS f MATCH (b:Block {key: f[0]})"
            " MATCH (r:MatchRecord {record_id: f[1]})"
            " SET b.size = b.size - 1"
            " WITH b, r OPTIONAL MATCH (b)-[m:FILES]->(r) DELETE m",
            dropped=[list(f) for f in sorted(dropped)])
        await self._file(gained, max_block)
        await self._records(
            "UNWIND $keys AS k MATCH (b:Block {key: k}) WHERE b.size <= 0 DETACH DELETE b",
            keys=sorted({key for key, _ in dropped}))
        return moved

    async def _file(self, filings: Sequence[tuple[str, str]], max_block: int) -> None:
        """Counts each (key, record id) in its block, and makes the record a member while
        the block holds at most `max_block`. Blocks in key order, so concurrent batches
        lock them in one order."""
        await self._records(
            "UNWIND $filings AS f MATCH (r:MatchRecord {record_id: f[1]})"
            " MERGE (b:Block {key: f[0]}) ON CREATE SET b.size = 0"
            " SET b.size = b.size + 1"
            " WITH r, b WHERE b.size <= $max_block CREATE (b)-[:FILES]->(r)",
            filings=[list(f) for f in sorted(filings)], max_block=max_block)

    async def find_records(self, keys: Sequence[str], max_block: int) -> BlockLookup:
        # One round trip: the blocks' sizes, and the members of those within the limit.
        found = await self._record(
            "UNWIND $keys AS k MATCH (b:Block {key: k})"
            " WITH collect({k: k, size: b.size}) AS sizes"
            " CALL (sizes) { UNWIND sizes AS s WITH s WHERE s.size <= $max_block"
            " MATCH (:Block {key: s.k})-[:FILES]->(r:MatchRecord)"
            " WITH DISTINCT r ORDER BY r.record_id"
            " RETURN collect({" + RECORD_FIELDS + "}) AS records }"
            " RETURN sizes, records",
            keys=sorted(set(keys)), max_block=max_block)
        if found is None:
            return BlockLookup([], [])
        oversized = sorted((r["k"], r["size"]) for r in found["sizes"] if r["size"] > max_block)
        return BlockLookup([match_record(r) for r in found["records"]], oversized)

    async def read_records(self, anchors: Sequence[Identifier]) -> list[MatchRecord]:
        records = await self._rows(
            "UNWIND $keys AS k MATCH (r:MatchRecord {anchor: k})"
            " WITH r ORDER BY r.record_id RETURN collect({" + RECORD_FIELDS + "}) AS rows",
            keys=sorted({a.key for a in anchors}))
        return [match_record(r) for r in records]

    async def count_records(self) -> int:
        (found,) = await self._records("MATCH (r:MatchRecord) RETURN count(r) AS records")
        return int(found["records"])

    async def scan_records(self, after: str, limit: int) -> list[MatchRecord]:
        records = await self._rows(
            "MATCH (r:MatchRecord) WHERE r.record_id > $after"
            " WITH r ORDER BY r.record_id LIMIT $limit"
            " RETURN collect({" + RECORD_FIELDS + "}) AS rows",
            after=after, limit=limit)
        return [match_record(r) for r in records]

