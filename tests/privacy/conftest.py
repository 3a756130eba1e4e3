"""People with known personal data, ingested into a service over each store, for the tests
of what a caller without `profile:read_pii` sees (docs/architecture.md, "Security and
privacy", "PII by scope")."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest

from identity.domain.access import Principal, Scope
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.types import Identifier, ProfileId
from identity.service import IdentityService
from identity.service.matching import Matcher
from identity.store.protocol import GraphStore

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

ANNA_EMAIL, ANNA_WORK = "anna.quistorp@northwind.org", "a.quistorp@larkspur-legal.co.uk"
ANNA_PHONE = "+447911123456"
BERTIL_EMAIL, BERTIL_PHONE = "bertil.okonkwo@fastmail.com", "+14155550133"
ANNA = {"first_name": "Annelise", "last_name": "Quistorp", "date_of_birth": "1984-03-12",
        "address_line1": "12 Larkspur Lane", "city": "Edinburgh", "postcode": "EH1 2AB",
        "region": "Midlothian", "country": "GB", "mobile_phone": "07911 123456",
        "plan": "gold"}
BERTIL = {"first_name": "Bertil", "last_name": "Okonkwo-Vance", "date_of_birth": "1979-11-02",
          "address_line1": "7 Quayside Row", "address_line2": "Flat 3", "city": "Portobello",
          "postcode": "EH15 1QQ", "country": "GB"}

# Every value above that is personal data, as sent and as the service normalizes or shows
# it: none may appear in what a caller without profile:read_pii is given.
PII = [ANNA_EMAIL, ANNA_WORK, ANNA_PHONE, "7911123456", "07911 123456", "7911 123456",
       BERTIL_EMAIL, BERTIL_PHONE, "4155550133", "415 555 0133", "quistorp", "annelise",
       "1984-03-12", "larkspur lane", "edinburgh", "eh1 2ab", "eh12ab", "midlothian",
       "bertil", "okonkwo", "1979-11-02", "quayside", "flat 3", "portobello", "eh15 1qq",
       "eh151qq", "anna.q", "bertil.o", "northwind.org", "fastmail.com",
       "anna.private", "gmail.com", "anna.berg", "19840312"]
# Custom traits whose names say nothing of the personal data they hold (masked by value or
# hidden), and one that is harmless (shown to every caller).
ANNA_CUSTOM = {"contact": "anna.private@gmail.com", "favourite": "anna.berg@northwind.org",
               "secret_note": "SSN 19840312-1234", "loyalty_tier": "platinum"}

# The caller without profile:read_pii (a steward, so that every read is open to it), and the
# one with it.
MASKED = Principal("key:masked", frozenset({Scope.PROFILE_READ, Scope.STEWARD}), "api_key")
CLEAR = Principal("key:clear", frozenset({Scope.PROFILE_READ, Scope.PROFILE_READ_PII,
                                           Scope.STEWARD}), "api_key")


def leaked(text: str) -> list[str]:
    """The personal data values `text` holds (case-folded)."""
    folded = text.casefold()
    return [value for value in PII if value.casefold() in folded]


def ticking_clock() -> Callable[[], datetime]:
    seconds = count()
    return lambda: START + timedelta(seconds=next(seconds))


def _event(n: int, identifiers: list[tuple[str, str]], traits: dict[str, str] | None = None,
           source: str = "web") -> dict[str, Any]:
    return {"event_id": f"pii-{n}", "type": "identify",
            "timestamp": f"2025-02-{n:02d}T10:00:00Z", "source": source,
            "identifiers": [{"kind": k, "value": v} for k, v in identifiers],
            **({"traits": traits} if traits else {})}


EVENTS = [
    _event(1, [("email", ANNA_EMAIL), ("phone", ANNA_PHONE), ("customer_id", "cust-a1")], ANNA),
    _event(2, [("anonymous_id", "cookie-a"), ("email", ANNA_EMAIL)]),
    _event(3, [("email", ANNA_WORK), ("anonymous_id", "cookie-a2")], ANNA, source="crm"),
    _event(4, [("email", BERTIL_EMAIL), ("phone", BERTIL_PHONE), ("customer_id", "cust-b1")],
           BERTIL),
    _event(5, [("anonymous_id", "rv-1")], {"first_name": "Bertil",
                                            "last_name": "Okonkwo-Vance"}),
    _event(6, [("anonymous_id", "rv-2")], {"first_name": "Bertil",
                                            "last_name": "Okonkwo-Vance"}),
    _event(7, [("device_id", "tablet-7"), ("email", BERTIL_EMAIL)]),
    _event(8, [("customer_id", "cust-a1")], ANNA_CUSTOM),
]


@dataclass(frozen=True)
class People:
    service: IdentityService
    store: GraphStore
    anna: ProfileId
    bertil: ProfileId

    @staticmethod
    def email(value: str) -> Identifier:
        return Identifier("email", value)


@pytest.fixture
async def people(store: GraphStore) -> AsyncIterator[People]:
    service = IdentityService(store, clock=ticking_clock(), matcher=Matcher(DEFAULT_MODEL))
    results = await service.ingest(EVENTS)
    assert all(r.status.value == "accepted" for r in results), results
    yield People(service, store, results[0].profile_id, results[3].profile_id)  # type: ignore[arg-type]
    await service.pii_reads.close()
