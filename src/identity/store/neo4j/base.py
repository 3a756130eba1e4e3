"""What every part of a Neo4j transaction shares: the open transaction, and the one helper
that runs a query."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, LiteralString

import neo4j
from neo4j import AsyncTransaction

from identity.domain.links import Evidence, Link
from identity.domain.matching.records import MatchRecord
from identity.domain.types import EventId, Identifier, from_micros
from identity.store._event_codec import decode_keys, decode_traits
from identity.store.protocol import NodeRow

UNWIND = re.compile(r"^UNWIND \$(\w+) AS ")

# The entries of a map, for `RETURN collect({...}) AS rows` (Neo4jPart._rows).
NODE_FIELDS: LiteralString = (
    "kind: n.kind, value: n.value, group_id: n.group_id, first_seen: n.first_seen,"
    " last_seen: n.last_seen, hub_reason: n.hub_reason, held: n.held"
)


def node_row(record: Mapping[str, Any]) -> NodeRow:
    return NodeRow(Identifier(record["kind"], record["value"]), record["group_id"],
                   from_micros(record["first_seen"]), from_micros(record["last_seen"]),
                   record["hub_reason"], record["held"])


LINK_FIELDS: LiteralString = (
    "a_kind: a.kind, a_value: a.value, b_kind: b.kind, b_value: b.value,"
    " rule: l.rule, is_active: l.is_active, reason: l.inactive_reason, score: l.score,"
    " details: l.details, first_seen: l.first_seen, last_seen: l.last_seen,"
    " event_ids: shown, event_count: size(l.event_ids), sources: l.sources"
)
# Before RETURN LINK_FIELDS, with `l` in scope and `shown=MAX_EVENT_IDS_SHOWN` among the
# parameters: the first event ids by id, picked in the database, so no read carries a link's
# whole history.
LINK_EVENTS: LiteralString = (
    " CALL { WITH l UNWIND l.event_ids AS e WITH DISTINCT e ORDER BY e LIMIT $shown"
    " RETURN collect(e) AS shown }"
)


def link_row(r: Mapping[str, Any]) -> Link:
    return Link(Identifier(r["a_kind"], r["a_value"]), Identifier(r["b_kind"], r["b_value"]),
                Evidence(r["rule"], tuple(sorted(set(r["sources"]))),
                         from_micros(r["first_seen"]), from_micros(r["last_seen"]),
                         tuple(r["event_ids"]), r["event_count"], r["score"], r["details"]),
                bool(r["is_active"]), r["reason"])


RECORD_FIELDS: LiteralString = (
    "record_id: r.record_id, anchor: r.anchor, fields: r.fields, keys: r.keys,"
    " event_id: r.event_id, source: r.source, seen_at: r.seen_at"
)


def match_record(r: Mapping[str, Any]) -> MatchRecord:
    return MatchRecord(r["record_id"], Identifier.of_key(str(r["anchor"])),
                       decode_traits(r["fields"]), decode_keys(r["keys"]),
                       EventId(r["event_id"]), r["source"], from_micros(r["seen_at"]))


class Neo4jPart:
    """The state and helpers of one open transaction, shared by its role parts."""

    def __init__(self, tx: AsyncTransaction, *, read_only: bool) -> None:
        self._tx = tx
        self._read_only = read_only

    async def _records(self, query: LiteralString, **params: Any) -> list[neo4j.Record]:
        # A query over an empty list finds and writes nothing: no round trip for it.
        unwound = UNWIND.match(query)
        if unwound is not None and not params.get(unwound.group(1), True):
            return []
        result = await self._tx.run(query, params)
        return [record async for record in result]

    async def _rows(self, query: LiteralString, **params: Any) -> list[Mapping[str, Any]]:
        """The rows of a query that ends in `RETURN collect({...}) AS rows`: one record for
        the whole result. The driver spends tens of microseconds of Python on each record it
        receives (a Bolt message each); one list of maps decodes in one go, ten times faster
        for a few hundred rows (docs/architecture.md, "Neo4j: round trips and records")."""
        record = await self._record(query, **params)
        rows: list[Mapping[str, Any]] = record["rows"] if record is not None else []
        return rows

    async def _record(self, query: LiteralString, **params: Any) -> neo4j.Record | None:
        """The one record of a query whose result is collected into one (lists side by
        side); None when there was nothing to unwind, so no query ran."""
        records = await self._records(query, **params)
        return records[0] if records else None

