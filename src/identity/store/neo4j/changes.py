"""Neo4j: the change log: profile changes in commit order, read by position, pruned by age."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.types import EventId, ProfileId, from_micros, to_micros
from identity.store.neo4j.base import Neo4jPart
from identity.store.protocol import ChangePage, ChangeRow

TOUCHED = "touched"  # the kind of a touch entry (ChangeLog.append_changes)


class Neo4jChangeLog(Neo4jPart):
    """The change log: profile changes in commit order, read by position, pruned by age."""

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
    async def append_changes(self, changes: Sequence[ProfileChange],
                             touched: Sequence[ProfileId] = ()) -> None:
        rows: list[dict[str, object]] = [
            {"kind": c.kind.value, "profile_id": c.profile_id,
             "cause_event_id": c.cause_event_id, "at": to_micros(c.at),
             "absorbed_ids": list(c.absorbed_ids), "split_ids": list(c.split_ids)}
            for c in changes]
        if touched:
            rows.append({"kind": TOUCHED, "at": to_micros(datetime.now(UTC)),
                         "touched_ids": sorted(set(touched))})
        if not rows:
            return
        await self._records(
            "MERGE (log:ChangeLog {name: 'positions'}) ON CREATE SET log.last = 0"
            " SET log.last = log.last + size($rows)"
            " WITH log.last - size($rows) AS base UNWIND range(0, size($rows) - 1) AS i"
            " CREATE (c:Change) SET c = $rows[i], c.position = base + i + 1",
            rows=rows)

    async def read_changes(
        self, after: int, limit: int, profile_ids: Sequence[str]
    ) -> ChangePage:
        records = await self._rows(
            "OPTIONAL MATCH (r:ChangeLog {name: 'retention'})"
            " WITH CASE WHEN r.pruned_through > $after THEN r.pruned_through ELSE $after END"
            " AS start"
            " CALL (start) { MATCH (c:Change) WHERE c.position > start"
            " RETURN c ORDER BY c.position LIMIT $limit }"
            " RETURN collect({start: start, position: c.position, kind: c.kind,"
            " change: CASE WHEN c.kind = $touched THEN null WHEN $every"
            " OR any(id IN [c.profile_id] + c.absorbed_ids + c.split_ids WHERE id IN $ids)"
            " THEN c {.*} END,"
            " touched: CASE WHEN $every AND c.kind = $touched THEN c.touched_ids END}) AS rows",
            touched=TOUCHED,
            after=after, limit=limit, every=not profile_ids, ids=list(profile_ids))
        # Read after the changes: a prune that removed any of them has raised it by now.
        (bounds,) = await self._records(
            "OPTIONAL MATCH (p:ChangeLog {name: 'positions'})"
            " OPTIONAL MATCH (r:ChangeLog {name: 'retention'})"
            " RETURN coalesce(p.last, 0) AS last, coalesce(r.pruned_through, 0) AS pruned")
        found: list[ChangeRow] = []
        touched: list[ProfileId] = []
        through = records[0]["start"] if records else after
        for r in records:
            # Read committed shows a committing transaction's changes one by one, so a hole in
            # the dense positions is a change not visible yet: stop before it, never skip it.
            if r["position"] != through + 1 or r["kind"] is None:
                break
            through += 1
            touched += map(ProfileId, r["touched"] or ())
            if (c := r["change"]) is not None:
                found.append(ChangeRow(through, ProfileChange(
                    ChangeKind(c["kind"]), ProfileId(c["profile_id"]),
                    EventId(c["cause_event_id"]), from_micros(c["at"]),
                    tuple(map(ProfileId, c["absorbed_ids"])),
                    tuple(map(ProfileId, c["split_ids"])))))
        return ChangePage(found, through, bounds["pruned"], bounds["last"], touched)

    async def last_position(self) -> int:
        (found,) = await self._records(
            "OPTIONAL MATCH (p:ChangeLog {name: 'positions'}) RETURN coalesce(p.last, 0) AS last")
        return int(found["last"])

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

