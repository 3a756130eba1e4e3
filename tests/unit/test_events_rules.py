"""parse_event's rules pinned to the letter: each refusal as the producer reads it, the order
reasons come in, what a dropped identifier reports, and how far ahead a producer's clock may
run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from identity.domain.errors import ValidationError
from identity.domain.events import (
    Event,
    EventType,
    IgnoredIdentifier,
    Order,
    parse_event,
    parse_timestamp,
    raw_event,
)
from identity.domain.identifiers import NormalizationRules
from identity.domain.types import EventId, Identifier
from tests.builders import event, ident

RULES = NormalizationRules()
TYPES = "identify, track, page, screen, order, alias"
DROPPED = "; the event was accepted without it"
PLACEHOLDER = "placeholder value: never used to link"
NOT_AN_OBJECT = "must be an object with string fields kind and value"
RECEIVED = datetime(2026, 12, 5, 8, tzinfo=UTC)


def identify(**overrides: Any) -> dict[str, Any]:
    """One account's identify event, evt-1, with fields overridden by name."""
    return event(ident("customer_id", "C-1001"), **{"event_id": "evt-1", **overrides})


def refusal(
    raw: object,
    *,
    strict: bool = False,
    received_at: datetime | None = None,
    max_clock_skew: timedelta = timedelta(minutes=5),
) -> list[tuple[str, str]]:
    """Every (field, reason) of the refusal, in the order the producer is shown them."""
    with pytest.raises(ValidationError) as caught:
        parse_event(
            raw, RULES, strict=strict, received_at=received_at, max_clock_skew=max_clock_skew
        )
    return [(error.field, error.reason) for error in caught.value.errors]


def customer_ids(count: int) -> list[dict[str, object]]:
    return [{"kind": "customer_id", "value": f"C-{i}"} for i in range(count)]


# --- each refusal, word for word ---------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "strict", "expected"),
    [
        pytest.param(
            {"event_id": None},
            False,
            [("event_id", "is required and must be a non-empty string")],
            id="event-id-missing",
        ),
        pytest.param(
            {"event_id": "e" * 257},
            False,
            [("event_id", "is longer than 256 characters")],
            id="event-id-too-long",
        ),
        pytest.param(
            {"source": "web\udfff"},
            False,
            [("source", "contains a lone UTF-16 surrogate, which is not text")],
            id="source-not-text",
        ),
        pytest.param(
            {"type": None}, False, [("type", f"is required: one of {TYPES}")], id="type-missing"
        ),
        pytest.param(
            {"type": "purchase"},
            False,
            [("type", f"'purchase' is not one of {TYPES}")],
            id="type-unknown",
        ),
        pytest.param(
            {"type": 7}, False, [("type", f"7 is not one of {TYPES}")], id="type-a-number"
        ),
        pytest.param(
            {"type": 10**40},
            False,
            [("type", f"1{'0' * 31} is not one of {TYPES}")],
            id="type-a-huge-number-cut-at-32",
        ),
        pytest.param(
            {"type": "x" * 40},
            False,
            [("type", f"'{'x' * 32}...' is not one of {TYPES}")],
            id="type-long-text-cut-at-32",
        ),
        pytest.param(
            {"timestamp": 1714564800},
            False,
            [("timestamp", "must be an ISO 8601 string such as 2024-05-01T12:00:00Z")],
            id="timestamp-a-number",
        ),
        pytest.param(
            {"timestamp": "yesterday"},
            False,
            [("timestamp", "'yesterday' is not an ISO 8601 timestamp")],
            id="timestamp-words",
        ),
        pytest.param(
            {"timestamp": "1969-12-31T23:59:59Z"},
            False,
            [("timestamp", "'1969-12-31T23:59:59Z' is outside 1970-2099")],
            id="timestamp-before-1970",
        ),
        pytest.param(
            {"timestamp": "0001-01-01T00:00:00+01:00"},
            False,
            [("timestamp", "'0001-01-01T00:00:00+01:00' is outside 1970-2099")],
            id="timestamp-year-1-with-an-offset",
        ),
        pytest.param(
            {"identifiers": []},
            False,
            [("identifiers", "is required: a non-empty list of {kind, value}")],
            id="no-identifiers",
        ),
        pytest.param(
            {"identifiers": customer_ids(51)},
            False,
            [("identifiers", "has more than 50 items")],
            id="51-identifiers",
        ),
        pytest.param(
            {"identifiers": [{"kind": "email", "value": "test@test.com"}]},
            False,
            [
                (
                    "identifiers",
                    "every identifier is a placeholder value; the event has nothing to link",
                )
            ],
            id="only-placeholders",
        ),
        pytest.param(
            {"amount": "5"},
            False,
            [("currency", "is required with amount")],
            id="amount-without-currency",
        ),
        pytest.param(
            {"currency": "EUR"},
            False,
            [("amount", "is required with currency")],
            id="currency-without-amount",
        ),
        pytest.param(
            {"type": "order"},
            True,
            [
                ("amount", "is required on an order event"),
                ("currency", "is required on an order event"),
            ],
            id="strict-order-without-either",
        ),
        pytest.param(
            {"type": "order", "amount": "5"},
            False,
            [("currency", "is required on an order event")],
            id="order-without-currency",
        ),
        pytest.param(
            {"type": "order", "currency": "euro"},
            False,
            [("currency", "'euro' is not an ISO 4217 code such as EUR")],
            id="order-of-unknown-value-with-a-bad-currency",
        ),
        pytest.param(
            {"amount": {"value": 5}, "currency": "EUR"},
            False,
            [("amount", "a dict is not a non-negative decimal amount")],
            id="amount-an-object",
        ),
        pytest.param(
            {"amount": Decimal(5), "currency": "EUR"},
            False,
            [("amount", "a Decimal is not a non-negative decimal amount")],
            id="amount-neither-json-text-nor-number",
        ),
        pytest.param(
            {"amount": True, "currency": "EUR"},
            False,
            [("amount", "True is not a non-negative decimal amount")],
            id="amount-a-boolean",
        ),
        pytest.param(
            {"amount": "-3", "currency": "EUR"},
            False,
            [("amount", "'-3' is not a non-negative decimal amount")],
            id="amount-negative",
        ),
        pytest.param(
            {"amount": "1234567890123", "currency": "EUR"},
            False,
            [("amount", "'1234567890123' has more than 12 digits or 4 decimals")],
            id="amount-13-digits",
        ),
        pytest.param(
            {"amount": 0.00001, "currency": "EUR"},
            False,
            [("amount", "1e-05 has more than 12 digits or 4 decimals")],
            id="amount-5-decimals-in-a-float",
        ),
        pytest.param(
            {"amount": "5", "currency": 978},
            False,
            [("currency", "978 is not an ISO 4217 code such as EUR")],
            id="currency-a-number",
        ),
        pytest.param(
            {"amount": "5", "currency": "EURO-DOLLAR-POUND"},
            False,
            [("currency", "'EURO-DOLLAR-POUN...' is not an ISO 4217 code such as EUR")],
            id="currency-long-text-cut-at-16",
        ),
    ],
)
def test_each_refusal_reads_exactly_as_the_producer_sees_it(
    overrides: dict[str, Any], strict: bool, expected: list[tuple[str, str]]
) -> None:
    assert refusal(identify(**overrides), strict=strict) == expected


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        pytest.param({"event_id": "e" * 256}, "event_id", "e" * 256, id="event-id-of-256"),
        pytest.param({"identifiers": customer_ids(50)}, "identifiers", 50, id="50-identifiers"),
        pytest.param(
            {"timestamp": "1970-01-01T00:00:00Z"},
            "timestamp",
            datetime(1970, 1, 1, tzinfo=UTC),
            id="first-instant-of-1970",
        ),
        pytest.param(
            {"type": " ORDER ", "amount": "5", "currency": "EUR"},
            "type",
            EventType.ORDER,
            id="type-any-case",
        ),
    ],
)
def test_each_bound_is_inclusive_where_its_reason_says_so(
    overrides: dict[str, Any], field: str, expected: object
) -> None:
    event = parse_event(identify(**overrides), RULES)
    kept = getattr(event, field)
    assert (len(kept) if field == "identifiers" else kept) == expected


def test_the_fields_of_an_accepted_event_are_kept_as_sent_less_surrounding_spaces() -> None:
    event = parse_event(identify(event_id=" evt-9 ", type="track", source=" app "), RULES)
    assert event == Event(
        EventId("evt-9"),
        EventType.TRACK,
        datetime(2024, 5, 1, 12, tzinfo=UTC),
        "app",
        (Identifier("customer_id", "C-1001"),),
    )


# --- orders ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "order"),
    [
        pytest.param({}, None, id="no-order-fields-no-order"),
        pytest.param(
            {"type": "track", "amount": "5", "currency": "eur"},
            Order(Decimal(5), "EUR"),
            id="any-event-may-carry-an-order",
        ),
        pytest.param(
            {"type": "order", "amount": 12, "currency": "USD"},
            Order(Decimal(12), "USD"),
            id="order-event",
        ),
    ],
)
def test_an_event_carries_an_order_exactly_when_it_gives_amount_and_currency(
    overrides: dict[str, Any], order: Order | None
) -> None:
    event = parse_event(identify(**overrides), RULES)
    assert (event.order, event.warnings) == (order, ())


# --- the order reasons come in -----------------------------------------------------------


def test_reasons_come_in_the_order_of_the_events_fields_and_identifiers_by_index() -> None:
    """Identifiers before traits, and identifiers[10] after identifiers[2]."""
    items = customer_ids(12)
    items[2] = {"kind": "email", "value": "@@"}
    items[10] = {"kind": "email", "value": "@@"}
    raw = {
        "event_id": "",
        "type": "purchase",
        "timestamp": "soon",
        "source": 7,
        "identifiers": items,
        "traits": {"date_of_birth": "1990-13-01"},
        "amount": "-3",
        "currency": "euro",
    }

    assert [field for field, _ in refusal(raw)] == [
        "event_id",
        "type",
        "timestamp",
        "source",
        "identifiers[2].value",
        "identifiers[10].value",
        "traits.date_of_birth",
        "amount",
        "currency",
    ]


# --- what a dropped identifier reports ---------------------------------------------------

LONG_KIND = "F" * 100


# Written out, not asked of validate_kind: the kind is escaped and cut at 80 characters.
LONG_KIND_REFUSAL = (
    f"unknown identifier kind '{'F' * 80}...'; expected one of customer_id, email, phone, "
    "anonymous_id, device_id, session_id, order_id or external:<system>"
)


def mixed_identifiers() -> list[object]:
    """A bad item of each kind, each followed by more to read, and one to link."""
    return [
        ["email", "x@acme.io"],
        {"kind": 7, "value": "x@acme.io"},
        {"kind": LONG_KIND, "value": " v "},
        {"kind": "phone", "value": "unknown"},
        {"kind": "customer_id", "value": 1001},
        {"kind": "customer_id", "value": "\uff34\uff25\uff33\uff34"},  # full-width TEST
        {"kind": "customer_id", "value": "C-1"},
    ]


def test_each_dropped_identifier_reports_its_path_kind_value_and_reason() -> None:
    """What was dropped is shown back: the kind cut at 64 characters, a value that is not
    text as empty, a placeholder as it reads once normalized; every one after it is read."""
    event = parse_event(identify(identifiers=mixed_identifiers()), RULES)

    assert event.identifiers == (Identifier("customer_id", "C-1"),)
    assert event.ignored == (
        IgnoredIdentifier("identifiers[0]", "", "", NOT_AN_OBJECT + DROPPED),
        IgnoredIdentifier("identifiers[1]", "", "", NOT_AN_OBJECT + DROPPED),
        IgnoredIdentifier("identifiers[2].kind", "F" * 64, "v", LONG_KIND_REFUSAL + DROPPED),
        IgnoredIdentifier("identifiers[3]", "phone", "unknown", PLACEHOLDER),
        IgnoredIdentifier(
            "identifiers[4].value", "customer_id", "", "value must be a string, got int" + DROPPED
        ),
        IgnoredIdentifier("identifiers[5]", "customer_id", "TEST", PLACEHOLDER),
    )
    assert event.warnings == ()


def test_strict_validation_refuses_each_malformed_identifier_with_its_reason() -> None:
    assert refusal(identify(identifiers=mixed_identifiers()), strict=True) == [
        ("identifiers[0]", NOT_AN_OBJECT),
        ("identifiers[1]", NOT_AN_OBJECT),
        ("identifiers[2].kind", LONG_KIND_REFUSAL),
        ("identifiers[4].value", "value must be a string, got int"),
    ]


def test_dropped_and_placeholder_identifiers_are_reported_together_by_index() -> None:
    items: list[object] = list(customer_ids(12))
    items[2] = {"kind": "anonymous_id", "value": "unknown"}
    items[10] = {"kind": "email", "value": "@@"}
    items[11] = ["email", "x@acme.io"]

    event = parse_event(identify(identifiers=items), RULES)

    assert [i.field for i in event.ignored] == [
        "identifiers[2]",
        "identifiers[10].value",
        "identifiers[11]",
    ]
    assert len(event.identifiers) == 9


def test_an_event_of_placeholders_and_malformed_identifiers_is_refused_for_the_malformed() -> None:
    """Its malformed identifier is the reason; it is not called all placeholders."""
    raw = identify(
        identifiers=[{"kind": "email", "value": "test@test.com"}, {"kind": "email", "value": "@@"}]
    )
    assert [field for field, _ in refusal(raw)] == ["identifiers[1].value"]


# --- how far ahead a producer's clock may run --------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "skew", "ahead", "allowed"),
    [
        pytest.param(
            "2026-12-05T09:00:00Z", timedelta(minutes=5), "1.0 hours", "300 s", id="an-hour"
        ),
        pytest.param(
            "2026-12-05T09:03:00Z",
            timedelta(minutes=5),
            "1.1 hours",
            "300 s",
            id="an-hour-and-three-minutes",
        ),
        pytest.param(
            "2026-12-07T07:59:59Z",
            timedelta(minutes=5),
            "48.0 hours",
            "300 s",
            id="just-under-two-days",
        ),
        pytest.param(
            "2026-12-07T08:00:00Z", timedelta(minutes=5), "2 days", "300 s", id="two-days"
        ),
        pytest.param(
            "2026-12-08T20:00:00Z",
            timedelta(minutes=5),
            "4 days",
            "300 s",
            id="three-and-a-half-days-rounds-to-even",
        ),
        pytest.param(
            "2031-01-13T08:00:00Z", timedelta(minutes=5), "1,500 days", "300 s", id="years"
        ),
        pytest.param(
            "2026-12-05T11:00:00Z",
            timedelta(hours=2),
            "3.0 hours",
            "2.0 hours",
            id="configured-skew",
        ),
    ],
)
def test_a_timestamp_beyond_the_skew_is_refused_saying_how_far_ahead_it_is(
    timestamp: str, skew: timedelta, ahead: str, allowed: str
) -> None:
    assert refusal(identify(timestamp=timestamp), received_at=RECEIVED, max_clock_skew=skew) == [
        (
            "timestamp",
            f"'{timestamp}' is {ahead} ahead of the clock of the server that "
            f"received it (2026-12-05T08:00:00Z); at most {allowed} is allowed "
            "(max_clock_skew)",
        )
    ]


@pytest.mark.parametrize(
    ("timestamp", "recorded", "warning"),
    [
        pytest.param("2026-12-05T08:00:00Z", RECEIVED, None, id="at-the-servers-time"),
        pytest.param(
            "2026-12-05T08:04:00Z",
            RECEIVED - timedelta(milliseconds=60),
            "240 s ahead of the server's clock: recorded at the time the server received "
            "the event, 2026-12-05T07:59:59.940000Z",
            id="four-minutes-ahead",
        ),
        pytest.param(
            "2026-12-05T08:05:00Z",
            RECEIVED,
            "300 s ahead of the server's clock: recorded at the time the server received "
            "the event, 2026-12-05T08:00:00.000000Z",
            id="the-whole-skew-ahead",
        ),
    ],
)
def test_a_timestamp_within_the_skew_is_recorded_when_received_less_a_thousandth_unused(
    timestamp: str, recorded: datetime, warning: str | None
) -> None:
    event = parse_event(identify(timestamp=timestamp), RULES, received_at=RECEIVED)
    assert event.timestamp == recorded
    assert [(w.field, w.reason) for w in event.warnings] == (
        [] if warning is None else [("timestamp", warning)]
    )


@pytest.fixture
def server_in_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("server_in_new_york")
def test_a_timestamp_without_an_offset_is_utc_whatever_the_servers_zone() -> None:
    assert parse_timestamp("2024-05-01T12:00:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert parse_timestamp("2024-05-01T14:00:00+02:00") == datetime(2024, 5, 1, 12, tzinfo=UTC)


# --- the shape entry points build --------------------------------------------------------


def test_raw_event_builds_what_a_producer_sends_leaving_out_absent_optional_fields() -> None:
    assert raw_event(
        "e-1",
        "order",
        "2024-05-01T12:00:00Z",
        "pos",
        [("email", "j@acme.io"), ("customer_id", "C-1")],
        traits={"first_name": "Jane"},
        amount="5",
        currency="EUR",
    ) == {
        "event_id": "e-1",
        "type": "order",
        "timestamp": "2024-05-01T12:00:00Z",
        "source": "pos",
        "identifiers": [
            {"kind": "email", "value": "j@acme.io"},
            {"kind": "customer_id", "value": "C-1"},
        ],
        "traits": {"first_name": "Jane"},
        "amount": "5",
        "currency": "EUR",
    }
    assert raw_event(
        "e-2", "track", "2024-05-01T12:00:00Z", "web", [("customer_id", "C")], amount="0"
    ) == {
        "event_id": "e-2",
        "type": "track",
        "timestamp": "2024-05-01T12:00:00Z",
        "source": "web",
        "identifiers": [{"kind": "customer_id", "value": "C"}],
        "amount": "0",
    }
