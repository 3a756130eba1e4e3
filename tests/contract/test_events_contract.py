"""The event log role (tx.events) of the store contract, on every adapter."""

from __future__ import annotations

from decimal import Decimal

from identity.domain.events import Order
from identity.domain.types import EventId
from identity.store import GraphStore
from identity.store.protocol import StoredEvent
from tests.contract.values import ANN, T1, T2, seen


async def test_event_records_round_trip_and_mark_ids_as_seen(store: GraphStore) -> None:
    record = StoredEvent(EventId("e1"), "order", "checkout", T2, ANN,
                         (("first_name", "Ann"),), Order(Decimal("12.30"), "EUR"))
    bare = StoredEvent(EventId("e2"), "page", "web", T1, ANN)
    unknown_value = StoredEvent(EventId("e3"), "order", "checkout", T1, ANN,
                                order=Order(None, None))
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN], T1))
        await tx.events.record_events([record, bare, unknown_value])
    async with store.transaction(read_only=True) as tx:
        assert await tx.events.seen_event_ids(["e1", "e2", "e4"]) == {"e1", "e2"}
        # bare events add nothing; an order of unknown value is still an order
        found = sorted(await tx.events.read_stored_events([ANN]), key=lambda r: r.event_id)
        assert found == [record, unknown_value]
