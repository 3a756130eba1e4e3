"""Neo4j: the event log: which events were seen, and what each left behind."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, LiteralString

from identity.domain.types import EventId, Identifier, from_micros, to_micros
from identity.store._event_codec import decode_order, decode_traits, encode_amount, encode_traits
from identity.store.neo4j.base import Neo4jPart
from identity.store.protocol import StoredEvent


class Neo4jEventLog(Neo4jPart):
    """The event log: which events were seen, and what each left behind."""

    async def seen_event_ids(self, event_ids: Sequence[str]) -> set[str]:
        records = await self._rows(
            "UNWIND $ids AS id MATCH (e:Event {event_id: id})"
            " RETURN collect({id: e.event_id}) AS rows",
            ids=list(event_ids))
        return {r["id"] for r in records}

    async def record_events(self, events: Sequence[StoredEvent]) -> None:
        received = to_micros(datetime.now().astimezone())
        rows = [{
            "event_id": e.event_id, "type": e.type, "source": e.source,
            "observed_at": to_micros(e.observed_at), "anchor": e.anchor.key,
            "traits": encode_traits(e.traits),
            "amount": encode_amount(e.order),
            "currency": e.order.currency if e.order else None,
            "has_data": bool(e.traits or e.order),
            "received_at": received if e.received_at is None else to_micros(e.received_at),
        } for e in events]
        # CREATE, not MERGE: a concurrent batch holding the same event fails on the
        # uniqueness constraint, is retried, and then sees the event as a duplicate.
        await self._records("UNWIND $rows AS r CREATE (e:Event) SET e = r", rows=rows)

    async def read_stored_events(self, anchors: Sequence[Identifier]) -> list[StoredEvent]:
        by_key = {a.key: a for a in anchors}
        records = await self._rows(
            "UNWIND $keys AS k MATCH (e:Event {anchor: k}) WHERE e.has_data"
            " RETURN collect(e {" + EVENT_FIELDS + "}) AS rows",
            keys=list(by_key))
        return [stored_event(r, by_key[r["anchor"]]) for r in records]


EVENT_FIELDS: LiteralString = (
    "event_id: e.event_id, type: e.type, source: e.source, observed_at: e.observed_at,"
    " anchor: e.anchor, traits: e.traits, amount: e.amount, currency: e.currency,"
    " received_at: e.received_at"
)  # a map projection of (e:Event), as stored_event reads it


def stored_event(r: Mapping[str, Any], anchor: Identifier) -> StoredEvent:
    return StoredEvent(EventId(r["event_id"]), r["type"], r["source"],
                       from_micros(r["observed_at"]), anchor, decode_traits(r["traits"]),
                       decode_order(r["amount"], r["currency"]), from_micros(r["received_at"]))

