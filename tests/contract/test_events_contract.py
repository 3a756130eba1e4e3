"""The event log role (tx.events) of the store contract, on every adapter."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from identity.domain.events import Order
from identity.domain.types import EventId
from identity.store import GraphStore
from identity.store.protocol import StoredEvent
from tests.contract.values import ANN, T1, T2, seen


async def test_event_records_round_trip_and_mark_ids_as_seen(store: GraphStore) -> None:
    record = StoredEvent(EventId("e1"), "order", "checkout", T2, ANN,
                         (("first_name", "Ann"),), Order(Decimal("12.30"), "EUR"), T2)
    bare = StoredEvent(EventId("e2"), "page", "web", T1, ANN)
    unknown_value = StoredEvent(EventId("e3"), "order", "checkout", T1, ANN,
                                order=Order(None, None), received_at=T1)
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN], T1))
        await tx.events.record_events([record, bare, unknown_value])
    async with store.transaction(read_only=True) as tx:
        assert await tx.events.seen_event_ids(["e1", "e2", "e4"]) == {"e1", "e2"}
        # bare events add nothing; an order of unknown value is still an order
        found = sorted(await tx.events.read_stored_events([ANN]), key=lambda r: r.event_id)
        assert found == [record, unknown_value]


async def test_received_at_is_kept_as_given_or_is_the_time_of_recording(
    store: GraphStore
) -> None:
    given = StoredEvent(EventId("e1"), "identify", "web", T1, ANN, (("first_name", "Ann"),),
                        received_at=T2)
    unset = StoredEvent(EventId("e2"), "identify", "web", T1, ANN, (("last_name", "Lee"),))
    start = datetime.now(UTC)
    async with store.transaction() as tx:
        await tx.graph.upsert_identifiers(seen([ANN], T1))
        await tx.events.record_events([given, unset])
    end = datetime.now(UTC)
    async with store.transaction(read_only=True) as tx:
        found = {r.event_id: r for r in await tx.events.read_stored_events([ANN])}
    assert found[given.event_id] == given
    now = found[unset.event_id].received_at
    assert now is not None and start <= now <= end
    assert replace(found[unset.event_id], received_at=None) == unset
