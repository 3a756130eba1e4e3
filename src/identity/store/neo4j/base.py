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

NODE_FIELDS: LiteralString = (
    "n.kind AS kind, n.value AS value, n.group_id AS group_id, n.first_seen AS first_seen,"
    " n.last_seen AS last_seen, n.hub_reason AS hub_reason, n.held AS held"
)


def node_row(record: Mapping[str, Any]) -> NodeRow:
    return NodeRow(Identifier(record["kind"], record["value"]), record["group_id"],
                   from_micros(record["first_seen"]), from_micros(record["last_seen"]),
                   record["hub_reason"], record["held"])


LINK_FIELDS: LiteralString = (
    "a.kind AS a_kind, a.value AS a_value, b.kind AS b_kind, b.value AS b_value,"
    " l.rule AS rule, l.is_active AS is_active, l.inactive_reason AS reason, l.score AS score,"
    " l.details AS details, l.first_seen AS first_seen, l.last_seen AS last_seen,"
    " shown AS event_ids, size(l.event_ids) AS event_count, l.sources AS sources"
)
# Before RETURN LINK_FIELDS, with `l` in scope and `shown=MAX_EVENT_IDS_SHOWN` among the
# parameters: the first event ids by id, picked in the database, so no read carries a link's
# whole history.
LINK_EVENTS: LiteralString = (
    " CALL { WITH l UNWIND l.event_ids AS e WITH DISTINCT e ORDER BY e LIMIT $shown"
    " RETURN collect(e) AS shown }"
)


def link_row(r: neo4j.Record) -> Link:
    return Link(Identifier(r["a_kind"], r["a_value"]), Identifier(r["b_kind"], r["b_value"]),
                Evidence(r["rule"], tuple(sorted(set(r["sources"]))),
                         from_micros(r["first_seen"]), from_micros(r["last_seen"]),
                         tuple(r["event_ids"]), r["event_count"], r["score"], r["details"]),
                bool(r["is_active"]), r["reason"])


RECORD_FIELDS: LiteralString = (
    "r.record_id AS record_id, r.anchor AS anchor, r.fields AS fields, r.keys AS keys,"
    " r.event_id AS event_id, r.source AS source, r.seen_at AS seen_at"
)


def match_record(r: neo4j.Record) -> MatchRecord:
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

