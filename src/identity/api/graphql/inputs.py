"""GraphQL input types.

`type`, `timestamp` and `amount` are plain strings here on purpose: a typed scalar that fails
to parse would fail the whole request, while the domain rejects just that event, by field.
"""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from identity.domain.events import raw_event


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
    consent: JSON | None = strawberry.field(
        default=None, description='Consent decisions by purpose, such as {"marketing": '
        'true, "analytics": false}: personalization, marketing, analytics, sale_sharing.')

    def to_raw(self) -> dict[str, object]:
        return raw_event(self.event_id, self.type, self.timestamp, self.source,
                         [(i.kind, i.value) for i in self.identifiers], traits=self.traits,
                         amount=self.amount, currency=self.currency, consent=self.consent)
