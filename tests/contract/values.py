"""What the contract tests of every role share: identifiers, instants, and small builders."""

from __future__ import annotations

from datetime import UTC, datetime

from identity.domain.links import LinkObservation, LinkRule
from identity.domain.types import EventId, Identifier

ANN = Identifier("email", "ann@shop.com")
ANNA = Identifier("email", "anna@mail.com")
BOB = Identifier("customer_id", "b-1")
ACCOUNT = Identifier("customer_id", "C-1")
COOKIE = Identifier("anonymous_id", "c1")
PHONE = Identifier("phone", "+14155552671")
T0 = datetime(2023, 12, 1, tzinfo=UTC)
T1 = datetime(2024, 1, 1, tzinfo=UTC)
T2 = datetime(2024, 2, 1, 12, 30, 15, 250_000, tzinfo=UTC)


class Boom(Exception):
    pass


def into(identifiers: list[Identifier], group_id: int) -> list[tuple[Identifier, int]]:
    return [(identifier, group_id) for identifier in identifiers]


def seen(identifiers: list[Identifier], at: datetime) -> list[tuple[Identifier, datetime]]:
    return [(identifier, at) for identifier in identifiers]


def sighting(a: Identifier, b: Identifier, event: str, at: datetime,
             rule: LinkRule = LinkRule.SAME_EVENT, score: float | None = None, *,
             source: str = "web", inactive_reason: str | None = None,
             details: str | None = None) -> LinkObservation:
    return LinkObservation(a, b, rule, EventId(event), source, at,
                           inactive_reason=inactive_reason, score=score, details=details)
