"""The links one event plans: a star from its strongest identifier (docs/architecture.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.domain.links import LinkObservation, LinkRule, anchor, plan_links
from identity.domain.types import EventId, Identifier

SEEN = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
EVENT = EventId("evt-1")
ACCOUNT = Identifier("customer_id", "C-1")
EMAIL = Identifier("email", "jane@acme.io")
PHONE = Identifier("phone", "+14155550100")
CRM = Identifier("external:crm", "9")
COOKIE = Identifier("anonymous_id", "a-1")
SESSION = Identifier("session_id", "s-1")


@pytest.mark.parametrize(
    ("identifiers", "expected"),
    [
        pytest.param((COOKIE, EMAIL), EMAIL, id="email-over-cookie-though-alphabetically-after"),
        pytest.param((CRM, PHONE), PHONE, id="phone-over-external-though-alphabetically-after"),
        pytest.param((SESSION, COOKIE, CRM, ACCOUNT), ACCOUNT, id="account-over-all"),
        pytest.param(
            (Identifier("email", "b@x.io"), Identifier("email", "a@x.io")),
            Identifier("email", "a@x.io"),
            id="same-kind-least-value",
        ),
    ],
)
def test_the_anchor_is_the_strongest_identifier_by_kind_priority(
    identifiers: tuple[Identifier, ...], expected: Identifier
) -> None:
    assert anchor(identifiers) == expected


def observation(a: Identifier, b: Identifier) -> LinkObservation:
    return LinkObservation(a, b, LinkRule.SAME_EVENT, EVENT, "web", SEEN)


@pytest.mark.parametrize(
    ("identifiers", "expected"),
    [
        pytest.param((), [], id="no-identifier"),
        pytest.param((EMAIL,), [], id="one-identifier-links-nothing"),
        pytest.param((COOKIE, EMAIL), [observation(COOKIE, EMAIL)], id="two-make-one-link"),
        pytest.param(
            (COOKIE, PHONE, EMAIL, SESSION),
            [observation(COOKIE, EMAIL), observation(EMAIL, PHONE), observation(EMAIL, SESSION)],
            id="a-star-from-the-email",
        ),
    ],
)
def test_an_event_links_its_anchor_to_each_other_identifier_ends_in_order(
    identifiers: tuple[Identifier, ...], expected: list[LinkObservation]
) -> None:
    """k identifiers make k-1 same-event links from the anchor, each with its ends sorted
    (a < b), the event, the source and when it was seen."""
    assert plan_links(identifiers, EVENT, "web", SEEN) == expected


@given(st.permutations([ACCOUNT, EMAIL, PHONE, CRM, COOKIE, SESSION]))
def test_the_same_event_plans_the_same_links_whatever_the_order_of_its_identifiers(
    identifiers: list[Identifier],
) -> None:
    planned = plan_links(tuple(identifiers), EVENT, "web", SEEN)
    assert planned == plan_links((ACCOUNT, EMAIL, PHONE, CRM, COOKIE, SESSION), EVENT, "web", SEEN)
    assert all(ACCOUNT in (o.a, o.b) and o.a < o.b for o in planned)
