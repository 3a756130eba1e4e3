"""What real pipelines carry besides customers: bots, placeholders, redeliveries, bad payloads."""

from __future__ import annotations

import copy
from collections.abc import Callable
from random import Random

from identity.domain.types import IdentifierKind
from identity.synthetic.eventlog import EventLog, RawEvent
from identity.synthetic.people import new_uuid
from identity.synthetic.scenarios import Scenario
from identity.synthetic.truth import Mention

# Values that forms, SDKs and testers send when the real one is missing; never linked.
PLACEHOLDERS: tuple[tuple[str, str], ...] = (
    (IdentifierKind.EMAIL, "test@test.com"),
    (IdentifierKind.EMAIL, "noreply@example.com"),
    (IdentifierKind.ANONYMOUS_ID, "unknown"),
    (IdentifierKind.ANONYMOUS_ID, "undefined"),
    (IdentifierKind.DEVICE_ID, "00000000-0000-0000-0000-000000000000"),
    (IdentifierKind.DEVICE_ID, "0000000000"),
    (IdentifierKind.PHONE, "0000000000"),
    (IdentifierKind.CUSTOMER_ID, "null"),
)


def placeholder(rng: Random) -> Mention:
    kind, value = rng.choice(PLACEHOLDERS)
    return Mention(kind, value, owner=None)


def bot_sessions(log: EventLog, events: int, horizon: int) -> None:
    """Crawlers: one cookie, one session, many fast page views, never a login."""
    rng, written, number = log.rng, 0, 0
    while written < events:
        number += 1
        bot = f"BOT{number:05d}"
        log.ledger.tag(bot, Scenario.BOT)
        cookie = Mention(IdentifierKind.ANONYMOUS_ID, new_uuid(rng), bot)
        session = Mention(IdentifierKind.SESSION_ID, f"s_{rng.getrandbits(64):016x}", bot)
        at = rng.randrange(horizon - 3600)
        for _ in range(min(rng.randint(8, 40), events - written)):
            log.emit("page", at, "web", (cookie, session), person=bot)
            at += rng.randint(0, 3)
            written += 1


def redeliver(log: EventLog, share: float) -> None:
    """At-least-once delivery: some events arrive again, identical, seconds to hours later."""
    rng = log.rng
    count = round(len(log.deliveries) * share)
    for original in rng.sample(log.deliveries, count):
        log.add(original.at + rng.randint(1, 6 * 3600), copy.deepcopy(original.event))


def _bad_timestamp(event: RawEvent) -> None:
    event["timestamp"] = "31/12/2024 10:00"


def _bad_type(event: RawEvent) -> None:
    event["type"] = "purchase"


def _no_identifiers(event: RawEvent) -> None:
    event["identifiers"] = []


def _bad_amount(event: RawEvent) -> None:
    event["amount"], event["currency"] = "12,50", "EUR"


def _bad_birth_date(event: RawEvent) -> None:
    traits = event.get("traits")
    event["traits"] = {**(traits if isinstance(traits, dict) else {}),
                       "date_of_birth": "31/12/1980"}


def _identifiers(event: RawEvent) -> list[object]:
    items = event.get("identifiers")
    return list(items) if isinstance(items, list) else []


CORRUPTIONS: tuple[Callable[[RawEvent], None], ...] = (
    _bad_timestamp, _bad_type, _no_identifiers, _bad_amount, _bad_birth_date,
)

# Unusable identifiers that ride along good ones: the event keeps its good part.
MALFORMED_IDENTIFIERS: tuple[dict[str, str], ...] = (
    {"kind": "email", "value": "jane.doe@@gmail"},
    {"kind": "email", "value": "mailto:someone"},
    {"kind": "fax", "value": "+14155550100"},
    {"kind": "phone", "value": "call me"},
)


def messy_identifiers(log: EventLog, share: float) -> None:
    """A producer bug in a field or two: some people's events carry one broken identifier
    beside their good ones, in place (not a copy)."""
    rng = log.rng
    people = [d for d in log.deliveries if d.person is not None and not d.person.startswith(
        "BOT")]
    for delivery in rng.sample(people, round(len(log.deliveries) * share)):
        event = delivery.event
        event["identifiers"] = [*_identifiers(event), dict(rng.choice(MALFORMED_IDENTIFIERS))]
        assert delivery.person is not None
        log.ledger.tag(delivery.person, Scenario.MALFORMED_IDENTIFIER)


def corrupt(log: EventLog, share: float) -> frozenset[str]:
    """Copies of real events with one producer mistake each; the parser must reject them all."""
    rng = log.rng
    count = round(len(log.deliveries) * share)
    rejected: list[str] = []
    for original in rng.sample(log.deliveries, count):
        event = copy.deepcopy(original.event)
        event["event_id"] = new_uuid(rng)
        rng.choice(CORRUPTIONS)(event)
        log.add(original.at, event)
        rejected.append(str(event["event_id"]))
    return frozenset(rejected)
