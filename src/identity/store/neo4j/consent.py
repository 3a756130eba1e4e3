"""Neo4j: consent decisions, the latest per (identifier, purpose) (docs/architecture.md,
"Consent"). One (:Consent {anchor, purpose}) each, keyed by the identifier's key as review
items are, unique on the pair (graph_schema/0009_consent.cypher): a decision needs no node,
and erasing one is a delete by key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from identity.domain.consent import ConsentDecision, Purpose
from identity.domain.types import Identifier, from_micros, to_micros
from identity.store.neo4j.base import Neo4jPart
from identity.store.protocol import ConsentRow


def _row(r: Mapping[str, Any]) -> ConsentRow:
    return ConsentRow(Identifier.of_key(str(r["anchor"])), ConsentDecision(
        Purpose(r["purpose"]), bool(r["granted"]), r["source"], from_micros(r["at"]),
        r["event_id"]))


def _latest_per_pair(rows: Sequence[ConsentRow]) -> Iterable[ConsentRow]:
    """Per (anchor, purpose), the row a row-by-row recording would keep."""
    latest: dict[tuple[Identifier, str], ConsentRow] = {}
    for row in rows:
        key = (row.anchor, row.decision.purpose.value)
        kept = latest.get(key)
        if kept is None or _rank(row) > _rank(kept):
            latest[key] = row
    return latest.values()


def _rank(row: ConsentRow) -> tuple[datetime, str, bool]:
    return (row.decision.at, row.decision.event_id, not row.decision.granted)


class Neo4jConsentLog(Neo4jPart):
    """Consent decisions, the latest per (identifier, purpose)."""

    async def record_consents(self, rows: Sequence[ConsentRow]) -> None:
        # MERGE on the unique pair, sorted: concurrent writers lock in one order. A later
        # decision replaces the kept one (on a full tie a withdrawal wins, as
        # domain/consent.py decides); an earlier one, or the same read again, does not.
        # Cypher applies each clause to every row before the next, so every row's WHERE
        # reads the node as it was before the query: one row per pair, the latest of the
        # call, or two rows for one pair would both pass and the last one set would stay.
        rows = list(_latest_per_pair(rows))
        await self._records(
            "UNWIND $rows AS r MERGE (c:Consent {anchor: r.anchor, purpose: r.purpose})"
            " ON CREATE SET c += r.decision"
            " WITH c, r.decision AS d"
            " WHERE d.at > c.at OR (d.at = c.at AND (d.event_id > c.event_id"
            " OR (d.event_id = c.event_id AND c.granted AND NOT d.granted)))"
            " SET c += d",
            rows=[{"anchor": r.anchor.key, "purpose": r.decision.purpose.value,
                   "decision": {"granted": r.decision.granted, "source": r.decision.source,
                                "at": to_micros(r.decision.at),
                                "event_id": r.decision.event_id}}
                  for r in sorted(rows, key=lambda r: (r.anchor, r.decision.purpose))])

    async def read_consents(self, anchors: Sequence[Identifier]) -> list[ConsentRow]:
        rows = await self._rows(
            "UNWIND $keys AS key MATCH (c:Consent {anchor: key})"
            " WITH c ORDER BY c.anchor, c.purpose"
            " RETURN collect({anchor: c.anchor, purpose: c.purpose, granted: c.granted,"
            " source: c.source, at: c.at, event_id: c.event_id}) AS rows",
            keys=sorted({a.key for a in anchors}))
        return sorted((_row(r) for r in rows), key=lambda r: (r.anchor, r.decision.purpose))

    async def erase_consents(self, anchors: Sequence[Identifier]) -> int:
        record = await self._record(
            "UNWIND $keys AS key MATCH (c:Consent {anchor: key})"
            " DETACH DELETE c RETURN count(*) AS gone",
            keys=sorted({a.key for a in anchors}))
        return int(record["gone"]) if record is not None else 0
