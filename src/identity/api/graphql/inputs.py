"""GraphQL input types.

`type`, `timestamp` and `amount` are plain strings here on purpose: a typed scalar that fails
to parse would fail the whole request, while the domain rejects just that event, by field.
"""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON


@strawberry.input
class IdentifierInput:
    kind: str = strawberry.field(
        description="email, phone, customer_id, anonymous_id, device_id, session_id, order_id "
        "or external:<system>")
    value: str


@strawberry.input
class EventInput:
    event_id: str = strawberry.field(description="Unique per event: a resend is a duplicate.")
    type: str = strawberry.field(description="identify, track, page, screen, order or alias")
    timestamp: str = strawberry.field(description="ISO 8601; without an offset, UTC")
    source: str
    identifiers: list[IdentifierInput]
    traits: JSON | None = strawberry.field(
        default=None, description="first_name, last_name, date_of_birth, address_line1, …")
    amount: str | None = None
    currency: str | None = None

    def to_raw(self) -> dict[str, object]:
        """The same shape as a line of an `identity ingest` file: one parser for both."""
        raw: dict[str, object] = {
            "event_id": self.event_id,
            "type": self.type,
            "timestamp": self.timestamp,
            "source": self.source,
            "identifiers": [{"kind": i.kind, "value": i.value} for i in self.identifiers],
        }
        for name in ("traits", "amount", "currency"):
            if (value := getattr(self, name)) is not None:
                raw[name] = value
        return raw
