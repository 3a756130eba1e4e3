"""Names every layer shares. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import NewType

ProfileId = NewType("ProfileId", str)
EventId = NewType("EventId", str)

EXTERNAL_PREFIX = "external:"


class IdentifierKind(StrEnum):
    """The built-in kinds; `external:<system>` kinds come on top of these."""

    CUSTOMER_ID = "customer_id"
    EMAIL = "email"
    PHONE = "phone"
    ANONYMOUS_ID = "anonymous_id"
    DEVICE_ID = "device_id"
    SESSION_ID = "session_id"
    ORDER_ID = "order_id"


# Strong identifiers first (docs/architecture.md, invariant 7): it decides which identifier
# anchors an event's links, and (as the rules file's default priority) which bridging
# identifier yields when a limit is hit.
KIND_PRIORITY: tuple[str, ...] = (
    IdentifierKind.CUSTOMER_ID,
    IdentifierKind.EMAIL,
    IdentifierKind.PHONE,
    EXTERNAL_PREFIX,
    IdentifierKind.DEVICE_ID,
    IdentifierKind.ORDER_ID,
    IdentifierKind.ANONYMOUS_ID,
    IdentifierKind.SESSION_ID,
)


def kind_rank(kind: str) -> int:
    """Lower is stronger; every external system ranks with the external slot."""
    slot = EXTERNAL_PREFIX if kind.startswith(EXTERNAL_PREFIX) else kind
    return KIND_PRIORITY.index(slot)


@dataclass(frozen=True, order=True, slots=True)
class Identifier:
    """A normalized identifier: the unit the graph links (a node)."""

    kind: str
    value: str

    @property
    def key(self) -> str:
        return f"{self.kind}|{self.value}"

    @classmethod
    def of_key(cls, key: str) -> Identifier:
        """The identifier a `key` names: a kind never holds '|' (domain/identifiers.py)."""
        kind, _, value = key.partition("|")
        return cls(kind, value)


def priority_key(identifier: Identifier) -> tuple[int, str, str]:
    return (kind_rank(identifier.kind), identifier.kind, identifier.value)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (no float on the way): how stores keep times,
    and how link orders compare them."""
    return (moment - EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    return EPOCH + micros * _MICROSECOND
