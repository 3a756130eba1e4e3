"""The stream of generated events: stamped, identified, and recorded in the truth as written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from random import Random

from identity.synthetic.people import new_uuid
from identity.synthetic.truth import Mention, TruthLedger

RawEvent = dict[str, object]


@dataclass(frozen=True, slots=True)
class Delivery:
    """An event and when it reaches the service; a redelivered copy arrives later."""

    at: int      # seconds after the start of the run
    seq: int     # tie-break, so equal times keep the order they were written in
    event: RawEvent
    person: str | None = None  # whose journey wrote it


@dataclass(frozen=True, slots=True)
class Purchase:
    amount: str
    currency: str


class EventLog:
    def __init__(self, rng: Random, ledger: TruthLedger, start: datetime) -> None:
        self.rng = rng
        self.ledger = ledger
        self.deliveries: list[Delivery] = []
        self._start = start.astimezone(UTC).replace(tzinfo=None)

    def timestamp(self, at: int) -> str:
        return (self._start + timedelta(seconds=at)).isoformat(timespec="seconds") + "Z"

    def emit(self, type_: str, at: int, source: str, mentions: Sequence[Mention],
             traits: dict[str, object] | None = None, purchase: Purchase | None = None,
             person: str | None = None) -> None:
        for mention in mentions:
            self.ledger.record(mention)
        self.ledger.observe(mentions, carries_traits=bool(traits))
        event: RawEvent = {
            "event_id": new_uuid(self.rng),
            "type": type_,
            "timestamp": self.timestamp(at),
            "source": source,
            "identifiers": [{"kind": m.kind, "value": m.raw} for m in mentions],
        }
        if traits:
            event["traits"] = traits
        if purchase is not None:
            event["amount"] = purchase.amount
            event["currency"] = purchase.currency
        self.add(at, event, person)

    def add(self, at: int, event: RawEvent, person: str | None = None) -> None:
        self.deliveries.append(Delivery(at, len(self.deliveries), event, person))

    def in_delivery_order(self) -> list[RawEvent]:
        return [d.event for d in sorted(self.deliveries, key=lambda d: (d.at, d.seq))]
