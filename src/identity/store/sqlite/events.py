"""SQLite: the event log: which events were seen, and what each left behind."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from identity.domain.types import EventId, Identifier, from_micros, to_micros
from identity.store._event_codec import decode_order, decode_traits, encode_amount, encode_traits
from identity.store.protocol import StoredEvent
from identity.store.sqlite.base import SqlitePart, in_chunks, placeholders


class SqliteEventLog(SqlitePart):
    """The event log: which events were seen, and what each left behind."""

    async def seen_event_ids(self, event_ids: Sequence[str]) -> set[str]:
        seen: set[str] = set()
        for part in in_chunks(list(event_ids)):
            sql = f"SELECT event_id FROM events WHERE event_id IN ({placeholders(len(part))})"
            seen.update(row[0] for row in self._rows(sql, part))
        return seen

    async def record_events(self, events: Sequence[StoredEvent]) -> None:
        anchors = self._ids_of(e.anchor for e in events)
        received = to_micros(datetime.now(UTC))
        self._conn.executemany(
            "INSERT INTO events (event_id, type, source, observed_at, anchor_node, traits,"
            " amount, currency, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    e.event_id, e.type, e.source, to_micros(e.observed_at), anchors[e.anchor],
                    encode_traits(e.traits),
                    encode_amount(e.order),
                    e.order.currency if e.order else None,
                    received if e.received_at is None else to_micros(e.received_at),
                )
                for e in events
            ],
        )

    async def read_stored_events(self, anchors: Sequence[Identifier]) -> list[StoredEvent]:
        by_node = {node_id: ident for ident, node_id in self._ids_of(anchors).items()}
        records: list[StoredEvent] = []
        for part in in_chunks(sorted(by_node)):
            for row in self._rows(
                "SELECT event_id, type, source, observed_at, anchor_node, traits, amount, currency,"
                f" received_at FROM events WHERE anchor_node IN ({placeholders(len(part))})"
                " AND (traits IS NOT NULL OR amount IS NOT NULL)",
                part,
            ):
                records.append(StoredEvent(EventId(row[0]), row[1], row[2], from_micros(row[3]),
                                           by_node[row[4]], decode_traits(row[5]),
                                           decode_order(row[6], row[7]), from_micros(row[8])))
        return records

