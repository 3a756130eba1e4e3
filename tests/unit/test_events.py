"""parse_event: one inbound event, validated field by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.domain.errors import ValidationError
from identity.domain.events import (
    Event,
    EventType,
    IgnoredIdentifier,
    Order,
    parse_event,
    parse_timestamp,
)
from identity.domain.identifiers import NormalizationRules
from identity.domain.types import EventId, Identifier

RULES = NormalizationRules()


def identify(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": "evt-1",
        "type": "identify",
        "timestamp": "2024-05-01T12:00:00Z",
        "source": "web",
        "identifiers": [
            {"kind": "email", "value": "Jane.Doe@Acme.io"},
            {"kind": "customer_id", "value": "C-1001"},
        ],
    }
    event.update(overrides)
    return event


def errors_of(raw: object, strict: bool = False) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        parse_event(raw, RULES, strict=strict)
    return {error.field: error.reason for error in caught.value.errors}


def test_a_full_identify_event_parses_with_normalized_identifiers_and_traits() -> None:
    raw = identify(
        type=" Identify ",
        source="  web ",
        identifiers=[
            {"kind": "email", "value": "Jane.Doe@Acme.io"},
            {"kind": "customer_id", "value": "C-1001"},
            {"kind": "phone", "value": "(415) 555-0100"},
        ],
        traits={
            "first_name": "  Jane   Ann ",
            "last_name": "Doe",
            "date_of_birth": "1990-02-03",
            "loyalty_points": 42,
        },
    )

    event = parse_event(raw, RULES)

    assert event == Event(
        event_id=EventId("evt-1"),
        type=EventType.IDENTIFY,
        timestamp=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        source="web",
        identifiers=(
            Identifier("customer_id", "C-1001"),
            Identifier("email", "jane.doe@acme.io"),
            Identifier("phone", "+14155550100"),
        ),
        traits=(
            ("date_of_birth", "1990-02-03"),
            ("first_name", "Jane Ann"),
            ("last_name", "Doe"),
            ("loyalty_points", "42"),
        ),
        order=None,
        ignored=(),
    )


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        pytest.param("19.99", "EUR", Order(Decimal("19.99"), "EUR"), id="string-amount"),
        pytest.param(20, "usd", Order(Decimal("20"), "USD"), id="integer-lower-case-currency"),
        pytest.param(0.1, " gbp ", Order(Decimal("0.1"), "GBP"), id="float-is-exact-decimal"),
        pytest.param("0", "EUR", Order(Decimal("0"), "EUR"), id="free-order"),
    ],
)
def test_an_order_event_carries_its_amount_and_currency(
    amount: object, currency: str, expected: Order
) -> None:
    raw = identify(
        type="order",
        identifiers=[
            {"kind": "order_id", "value": "O-77"},
            {"kind": "email", "value": "j@acme.io"},
        ],
        amount=amount,
        currency=currency,
    )

    event = parse_event(raw, RULES)

    assert event.type is EventType.ORDER
    assert event.order == expected


def test_every_field_error_is_reported_at_once_with_its_path() -> None:
    raw = {
        "event_id": "",
        "type": "purchase",
        "timestamp": "yesterday",
        "source": 7,
        "identifiers": [
            {"kind": "External:Bad Name", "value": "x"},
            {"kind": "email", "value": "not-an-email"},
            {"kind": "customer_id", "value": "C-1001"},
        ],
        "traits": {"date_of_birth": "1990-13-01", "first_name": "Jane"},
        "amount": "-3",
        "currency": "euro",
    }

    errors = errors_of(raw)

    assert set(errors) == {
        "event_id",
        "type",
        "timestamp",
        "source",
        "identifiers[0].kind",
        "identifiers[1].value",
        "traits.date_of_birth",
        "amount",
        "currency",
    }
    assert "non-empty string" in errors["event_id"]
    assert "'purchase'" in errors["type"] and "identify" in errors["type"]
    assert "'yesterday'" in errors["timestamp"]
    assert "non-empty string" in errors["source"]
    assert "system name" in errors["identifiers[0].kind"]
    assert "not a valid email address" in errors["identifiers[1].value"]
    assert "YYYY-MM-DD" in errors["traits.date_of_birth"]
    assert "non-negative" in errors["amount"]
    assert "ISO 4217" in errors["currency"]


def test_a_validation_error_message_names_each_field() -> None:
    with pytest.raises(ValidationError, match=r"event_id: .*; type: "):
        parse_event(identify(event_id=None, type="nope"), RULES)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        pytest.param("event_id", "   ", "non-empty string", id="blank-event-id"),
        pytest.param("event_id", "e" * 257, "longer than 256", id="long-event-id"),
        pytest.param("source", None, "non-empty string", id="missing-source"),
        pytest.param("identifiers", [], "non-empty list", id="no-identifiers"),
        pytest.param("identifiers", "jane@acme.io", "non-empty list", id="identifiers-not-list"),
        pytest.param("identifiers", [{"kind": "email", "value": f"u{i}@acme.io"}
                                     for i in range(51)], "more than 50", id="too-many"),
        pytest.param("traits", ["first_name"], "must be an object", id="traits-not-object"),
        pytest.param("traits.FirstName", "Jane", "snake_case", id="trait-name-not-snake"),
        pytest.param("traits.first_name", "   ", "must not be empty", id="trait-blank"),
        pytest.param("traits.first_name", True, "string or a number", id="trait-boolean"),
        pytest.param("traits.preferences", {"colour": "blue"}, "string or a number",
                     id="trait-nested-object"),
        pytest.param("traits.address", ["1 Main St"], "an object of street, city",
                     id="address-neither-text-nor-object"),
        pytest.param("traits.date_of_birth", "2999-01-01", "plausible", id="dob-in-future"),
        pytest.param("traits.date_of_birth", "1850-01-01", "plausible", id="dob-too-old"),
        pytest.param("amount", "NaN", "non-negative decimal", id="amount-nan"),
        pytest.param("amount", "ten", "non-negative decimal", id="amount-words"),
        pytest.param("amount", True, "non-negative decimal", id="amount-boolean"),
        pytest.param("amount", -0.01, "non-negative decimal", id="amount-negative"),
    ],
)
def test_a_bad_field_is_reported_at_its_path(field: str, value: object, reason: str) -> None:
    raw = identify(amount="10", currency="EUR")
    if field == "identifiers[0]":
        raw["identifiers"] = [value, *raw["identifiers"]]
    elif field.startswith("traits."):
        raw["traits"] = {field.removeprefix("traits."): value}
    else:
        raw[field] = value

    errors = errors_of(raw)

    assert list(errors) == [field]
    assert reason in errors[field]


# --- timestamps ------------------------------------------------------------------------------

NOON_UTC = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("2024-05-01T12:00:00", id="no-offset-is-utc"),
        pytest.param("2024-05-01 12:00:00", id="space-separator-no-offset"),
        pytest.param("2024-05-01T12:00:00Z", id="zulu"),
        pytest.param("2024-05-01T12:00:00+00:00", id="zero-offset"),
        pytest.param("2024-05-01T14:00:00+02:00", id="east-offset"),
        pytest.param("2024-05-01T07:00:00-05:00", id="west-offset"),
        pytest.param("2024-05-02T01:30:00+13:30", id="offset-crossing-the-date"),
        pytest.param(" 2024-05-01T12:00:00Z ", id="surrounding-whitespace"),
    ],
)
def test_timestamps_are_read_as_utc_instants(raw: str) -> None:
    parsed = parse_event(identify(timestamp=raw), RULES).timestamp

    assert parsed == NOON_UTC
    assert parsed.utcoffset() == timedelta(0)
    assert parsed.hour == 12


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("yesterday", id="words"),
        pytest.param("2024-13-01T00:00:00Z", id="month-13"),
        pytest.param("", id="empty"),
        pytest.param(1714564800, id="epoch-number"),
        pytest.param(None, id="missing"),
    ],
)
def test_unreadable_timestamps_are_rejected(raw: object) -> None:
    errors = errors_of(identify(timestamp=raw))

    assert list(errors) == ["timestamp"]
    assert "ISO 8601" in errors["timestamp"]


def test_parse_timestamp_converts_an_offset_to_utc() -> None:
    parsed = parse_timestamp("2024-05-01T14:00:00+02:00")
    assert parsed.tzinfo is UTC
    assert parsed == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


# --- identifiers -----------------------------------------------------------------------------


def test_placeholder_identifiers_are_ignored_with_their_path_and_reason() -> None:
    raw = identify(
        identifiers=[
            {"kind": "email", "value": " test@test.com "},
            {"kind": "customer_id", "value": "C-1001"},
            {"kind": "anonymous_id", "value": "unknown"},
        ]
    )

    event = parse_event(raw, RULES)

    assert event.identifiers == (Identifier("customer_id", "C-1001"),)
    assert event.ignored == (
        IgnoredIdentifier("identifiers[0]", "email", "test@test.com",
                          "placeholder value: never used to link"),
        IgnoredIdentifier("identifiers[2]", "anonymous_id", "unknown",
                          "placeholder value: never used to link"),
    )


def test_an_event_with_only_placeholder_identifiers_is_rejected() -> None:
    raw = identify(
        identifiers=[
            {"kind": "email", "value": "test@test.com"},
            {"kind": "customer_id", "value": "NULL"},
            {"kind": "device_id", "value": "00000000-0000-0000-0000-000000000000"},
        ]
    )

    errors = errors_of(raw)

    assert list(errors) == ["identifiers"]
    assert "placeholder" in errors["identifiers"]


def test_an_all_placeholder_event_is_reported_alongside_other_field_errors() -> None:
    raw = identify(event_id="", identifiers=[{"kind": "email", "value": "test@test.com"}])

    assert set(errors_of(raw)) == {"event_id", "identifiers"}


@pytest.mark.parametrize(
    "phone",
    [
        pytest.param("0000000000", id="ten-zeros"),
        pytest.param("000-000-0000", id="zeros-and-dashes"),
        pytest.param("unknown", id="unknown"),
        pytest.param(
            "(000) 000-0000",
            id="zeros-with-parentheses",
        ),
    ],
)
def test_a_placeholder_phone_is_ignored_rather_than_rejecting_the_event(phone: str) -> None:
    raw = identify(
        identifiers=[
            {"kind": "email", "value": "jane.doe@acme.io"},
            {"kind": "phone", "value": phone},
        ]
    )

    event = parse_event(raw, RULES)

    assert event.identifiers == (Identifier("email", "jane.doe@acme.io"),)
    assert [(i.field, i.kind) for i in event.ignored] == [("identifiers[1]", "phone")]


def test_an_ignored_identifier_reports_its_canonical_kind() -> None:
    raw = identify(
        identifiers=[
            {"kind": " Email ", "value": "test@test.com"},
            {"kind": "customer_id", "value": "C-1001"},
        ]
    )

    (ignored,) = parse_event(raw, RULES).ignored

    assert ignored.kind == "email"


def test_duplicate_identifiers_collapse_to_one() -> None:
    raw = identify(
        identifiers=[
            {"kind": "email", "value": "Jane.Doe@gmail.com"},
            {"kind": "email", "value": " janedoe+shop@googlemail.com "},
            {"kind": "EMAIL", "value": "jane.doe@gmail.com"},
            {"kind": "phone", "value": "(415) 555-0100"},
            {"kind": "phone", "value": "+1 415 555 0100"},
        ]
    )

    event = parse_event(raw, RULES)

    assert event.identifiers == (
        Identifier("email", "janedoe@gmail.com"),
        Identifier("phone", "+14155550100"),
    )


def test_the_same_value_under_two_kinds_stays_two_identifiers() -> None:
    raw = identify(
        identifiers=[
            {"kind": "customer_id", "value": "1001"},
            {"kind": "external:crm", "value": "1001"},
        ]
    )

    assert parse_event(raw, RULES).identifiers == (Identifier("customer_id", "1001"),
                                                   Identifier("external:crm", "1001"))


def test_identifiers_come_out_sorted_whatever_the_input_order() -> None:
    items = identify()["identifiers"]

    forward = parse_event(identify(identifiers=items), RULES)
    backward = parse_event(identify(identifiers=items[::-1]), RULES)

    assert forward.identifiers == backward.identifiers
    assert list(forward.identifiers) == sorted(forward.identifiers)


# --- traits and shape ------------------------------------------------------------------------


def test_null_traits_are_dropped() -> None:
    raw = identify(traits={"first_name": "Jane", "last_name": None, "Bad Name": None})

    assert parse_event(raw, RULES).traits == (("first_name", "Jane"),)


def test_null_traits_object_means_no_traits() -> None:
    assert parse_event(identify(traits=None), RULES).traits == ()


def test_strict_validation_requires_the_amount_of_an_order() -> None:
    errors = errors_of(identify(type="order"), strict=True)

    assert "amount" in errors
    assert "required" in errors["amount"]


def test_strict_validation_reports_both_missing_amount_and_currency() -> None:
    assert set(errors_of(identify(type="order"), strict=True)) == {"amount", "currency"}


def test_an_order_without_an_amount_lands_as_an_order_of_unknown_value() -> None:
    event = parse_event(identify(type="order"), RULES)

    assert event.order == Order(None, None)
    assert [(w.field, w.reason) for w in event.warnings] == [
        ("amount", "missing on an order: recorded as an order of unknown value")]


def test_an_order_with_a_currency_but_no_amount_keeps_its_currency() -> None:
    event = parse_event(identify(type="order", currency="gbp"), RULES)
    assert event.order == Order(None, "GBP")
    assert [w.field for w in event.warnings] == ["amount"]


def test_a_currency_without_an_amount_is_an_amount_error() -> None:
    assert list(errors_of(identify(currency="EUR"))) == ["amount"]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param([identify()], id="list"),
        pytest.param("{}", id="json-text"),
        pytest.param(None, id="null"),
        pytest.param(42, id="number"),
    ],
)
def test_non_object_events_are_rejected(raw: object) -> None:
    assert errors_of(raw) == {"event": "must be a JSON object"}


@pytest.mark.parametrize(
    "timestamp",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1960-05-01T00:00:00Z",
     "2150-01-01T00:00:00Z"],
)
def test_timestamps_at_the_edges_of_time_are_field_errors_not_crashes(timestamp: str) -> None:
    errors = errors_of(identify(timestamp=timestamp))
    assert list(errors) == ["timestamp"]


@pytest.mark.parametrize("amount", ["1e999999999", "1234567890123", "1.23456"])
def test_amounts_too_large_or_too_precise_are_rejected(amount: str) -> None:
    errors = errors_of(identify(type="order", amount=amount, currency="USD"))
    assert list(errors) == ["amount"]


def test_the_largest_allowed_amount_is_accepted() -> None:
    event = parse_event(identify(type="order", amount="999999999999.9999", currency="USD"),
                        NormalizationRules())
    assert event.order is not None and str(event.order.amount) == "999999999999.9999"


# --- a malformed identifier costs only itself (docs/architecture.md, invariant 11) ------------


def test_a_malformed_identifier_is_dropped_and_the_event_keeps_the_others() -> None:
    raw = identify(identifiers=[
        {"kind": "email", "value": "jane@acme.io"},
        {"kind": "phone", "value": "07416 71319"},  # a digit short, in no region a number
        ["email", "x@acme.io"],
        {"kind": "fax", "value": "+14155550100"},
        {"kind": "customer_id", "value": "C-1"},
    ])

    event = parse_event(raw, RULES)

    assert event.identifiers == (Identifier("customer_id", "C-1"),
                                 Identifier("email", "jane@acme.io"))
    reports = {i.field: i for i in event.ignored}
    assert list(reports) == ["identifiers[1].value", "identifiers[2]", "identifiers[3].kind"]
    assert reports["identifiers[1].value"].kind == "phone"
    assert reports["identifiers[1].value"].value == "07416 71319"
    assert "not a valid phone number" in reports["identifiers[1].value"].reason
    assert "must be an object" in reports["identifiers[2]"].reason
    assert reports["identifiers[3].kind"].kind == "fax"
    assert all(r.reason.endswith("the event was accepted without it") for r in reports.values())


def test_strict_validation_rejects_the_event_for_a_malformed_identifier() -> None:
    raw = identify(identifiers=[{"kind": "email", "value": "jane@acme.io"},
                                {"kind": "phone", "value": "call me"}])
    assert list(errors_of(raw, strict=True)) == ["identifiers[1].value"]


def test_an_event_whose_every_identifier_is_malformed_is_rejected_with_each_reason() -> None:
    raw = identify(identifiers=[{"kind": "email", "value": "grace(at)navy"},
                                {"kind": "phone", "value": "12"}])
    assert list(errors_of(raw)) == ["identifiers[0].value", "identifiers[1].value"]


def test_a_malformed_identifier_is_an_error_when_the_event_is_rejected_anyway() -> None:
    raw = identify(timestamp="soon", identifiers=[{"kind": "email", "value": "jane@acme.io"},
                                                  {"kind": "email", "value": "@@"}])
    assert list(errors_of(raw)) == ["timestamp", "identifiers[1].value"]


def test_a_dropped_value_is_shown_back_bounded_and_encodable() -> None:
    raw = identify(identifiers=[{"kind": "email", "value": "jane@acme.io"},
                                {"kind": "phone", "value": "\ud800" + "9" * 400}])
    (report,) = parse_event(raw, RULES).ignored
    assert len(report.value) <= 256 + 5
    report.value.encode("utf-8")  # a lone surrogate comes back escaped, never raw


# --- phones are read in the country the event shows ------------------------------------------


UK_MOBILE = "+447416713197"


@pytest.mark.parametrize("country", ["GB", "gb", "GBR", "United Kingdom", "UK", " england "])
def test_a_national_phone_is_read_with_the_country_of_the_events_address(country: str) -> None:
    raw = identify(identifiers=[{"kind": "phone", "value": "07416 713197"}],
                   traits={"country": country})
    assert parse_event(raw, RULES).identifiers == (Identifier("phone", UK_MOBILE),)


def test_a_national_phone_is_read_with_the_region_configured_for_its_source() -> None:
    rules = NormalizationRules(source_regions=(("pos-gb", "GB"),))
    raw = identify(source="pos-gb", identifiers=[{"kind": "phone", "value": "07416 713197"}])
    assert parse_event(raw, rules).identifiers == (Identifier("phone", UK_MOBILE),)


def test_the_events_country_wins_over_its_sources_region() -> None:
    rules = NormalizationRules(source_regions=(("pos-gb", "GB"),))
    raw = identify(source="pos-gb", identifiers=[{"kind": "phone", "value": "06 12 34 56 78"}],
                   traits={"country": "FR"})
    assert parse_event(raw, rules).identifiers == (Identifier("phone", "+33612345678"),)


def test_without_a_country_a_national_phone_uses_the_default_region_and_is_dropped() -> None:
    raw = identify(identifiers=[{"kind": "email", "value": "jane@acme.io"},
                                {"kind": "phone", "value": "07416 713197"}],
                   traits={"country": "Atlantis"})
    event = parse_event(raw, RULES)
    assert event.identifiers == (Identifier("email", "jane@acme.io"),)
    assert "read as US" in event.ignored[0].reason


# --- the address as flat traits or as Segment's nested object --------------------------------


def test_a_nested_address_is_read_into_the_flat_trait_names() -> None:
    raw = identify(traits={"first_name": "Jane", "address": {
        "street": "12 High Street", "city": "Leeds", "postal_code": "LS1 4AP",
        "country": "GB", "state": "West Yorkshire", "apartment": "Flat 2"}})

    traits = dict(parse_event(raw, RULES).traits)

    assert traits == {"first_name": "Jane", "address_line1": "12 High Street", "city": "Leeds",
                      "postcode": "LS1 4AP", "country": "GB", "region": "West Yorkshire",
                      "address_apartment": "Flat 2"}


@pytest.mark.parametrize("postcode_name", ["postcode", "postalCode", "zip"])
def test_every_spelling_of_the_postcode_is_read(postcode_name: str) -> None:
    raw = identify(traits={"address": {postcode_name: "LS1 4AP"}})
    assert dict(parse_event(raw, RULES).traits) == {"postcode": "LS1 4AP"}


def test_a_flat_trait_wins_over_the_same_field_of_the_nested_address() -> None:
    raw = identify(traits={"city": "Leeds", "address": {"city": "York", "street": "1 A St"}})
    traits = dict(parse_event(raw, RULES).traits)
    assert traits["city"] == "Leeds" and traits["address_line1"] == "1 A St"


def test_a_bad_field_of_the_nested_address_is_reported_at_its_path() -> None:
    raw = identify(traits={"address": {"city": ["York"], "Post Code": "x"}})
    errors = errors_of(raw)
    assert set(errors) == {"traits.address.city", "traits.address.Post Code"}
    assert "string or a number" in errors["traits.address.city"]


def test_the_nested_address_country_decides_the_phone_region() -> None:
    raw = identify(identifiers=[{"kind": "phone", "value": "0151 12345678"}],
                   traits={"address": {"country": "Germany"}})
    assert parse_event(raw, RULES).identifiers == (Identifier("phone", "+4915112345678"),)


# --- hostile text: nothing unstorable gets in, nothing unbounded comes back ------------------


@pytest.mark.parametrize(("text", "reason"), [
    ("C-\ud800", "lone UTF-16 surrogate"),
    ("C-\x1b[31m", "control characters"),
    ("C-\x85-1", "control characters"),
    ("C-\u202eevil", "invisible formatting characters"),
    ("\ufeffC-1", "invisible formatting characters"),
])
def test_an_identifier_holding_what_is_not_text_is_dropped_with_the_reason(
    text: str, reason: str,
) -> None:
    raw = identify(identifiers=[{"kind": "email", "value": "jane@acme.io"},
                                {"kind": "customer_id", "value": text}])
    event = parse_event(raw, RULES)
    assert event.identifiers == (Identifier("email", "jane@acme.io"),)
    (dropped,) = event.ignored
    assert dropped.field == "identifiers[1].value" and reason in dropped.reason
    dropped.value.encode("utf-8")


@pytest.mark.parametrize("field", ["event_id", "source"])
def test_an_event_id_or_source_holding_a_surrogate_is_an_error_at_its_field(field: str) -> None:
    assert "surrogate" in errors_of(identify(**{field: "web\udfff"}))[field]


@pytest.mark.parametrize(("value", "reason"), [
    ("\ud800", "surrogate"),
    ("a\x00b", "control characters"),
    ("\u202eevil\u200b", "invisible formatting"),
    (float("nan"), "finite number"),
    (float("inf"), "finite number"),
    (10 ** 30, "too large"),
])
def test_a_trait_that_would_poison_the_profile_is_an_error_at_its_path(
    value: object, reason: str,
) -> None:
    assert reason in errors_of(identify(traits={"first_name": value}))["traits.first_name"]


def test_names_and_values_sent_back_in_reasons_are_bounded() -> None:
    huge = "x" * 1_000_000
    errors = errors_of(identify(type=huge, timestamp=huge, traits={huge: "a"},
                                identifiers=[{"kind": huge, "value": "v"}]))
    assert all(len(field) < 200 and len(reason) < 400 for field, reason in errors.items())


def test_a_flat_country_given_as_null_leaves_the_nested_country_in_force() -> None:
    raw = identify(identifiers=[{"kind": "phone", "value": "07416 713197"}],
                   traits={"country": None, "address": {"country": "GB"}})
    assert parse_event(raw, RULES).identifiers == (Identifier("phone", UK_MOBILE),)


def test_strict_validation_says_an_orders_amount_is_required_when_only_a_currency_came() -> None:
    errors = errors_of(identify(type="order", currency="USD"), strict=True)
    assert errors == {"amount": "is required on an order event"}


def test_a_currency_that_is_not_text_is_quoted_once() -> None:
    assert errors_of(identify(type="order", amount="1", currency="US\ud800"))["currency"] \
        .startswith("'US\\ud800' is not an ISO 4217 code")


@pytest.mark.parametrize(("timestamp", "reason"), [
    ("2100-01-01T00:00:00Z", "is outside 1970-2099"),
    ("2099-12-31T23:59:59Z", None),
    ("9999-12-31T23:59:59-23:59", "is outside 1970-2099"),
    ("0001-01-01T00:00:00+23:59", "is outside 1970-2099"),
])
def test_the_range_of_time_ends_where_its_message_says(timestamp: str, reason: str | None
                                                        ) -> None:
    if reason is None:
        parse_event(identify(timestamp=timestamp), RULES)
    else:
        assert reason in errors_of(identify(timestamp=timestamp))["timestamp"]


def test_an_event_dated_beyond_the_clock_skew_is_rejected_with_the_bound() -> None:
    """A producer whose clock says 2099 would own every "latest" golden value until then."""
    received = datetime(2026, 12, 5, 8, tzinfo=UTC)
    with pytest.raises(ValidationError) as caught:
        parse_event(identify(timestamp="2026-12-05T08:05:01Z"), RULES, received_at=received)
    (error,) = caught.value.errors
    assert error.field == "timestamp"
    assert error.reason == ("'2026-12-05T08:05:01Z' is 301 s ahead of the clock of the "
                            "server that received it (2026-12-05T08:00:00Z); at most 300 s is "
                            "allowed (max_clock_skew)")


def test_an_event_ahead_of_the_server_within_the_skew_is_recorded_when_received() -> None:
    """Recency never trusts a time the server has not reached: within the skew the event
    lands, at the time it was received, and says so."""
    received = datetime(2026, 12, 5, 8, tzinfo=UTC)
    event = parse_event(identify(timestamp="2026-12-05T08:04:00Z"), RULES, received_at=received)
    assert received - timedelta(seconds=0.3) < event.timestamp <= received
    (warning,) = event.warnings
    assert warning.field == "timestamp"
    assert warning.reason.startswith("240 s ahead of the server's clock: recorded at the time")
    on_time = parse_event(identify(timestamp="2026-12-05T07:59:00Z"), RULES, received_at=received)
    assert on_time.timestamp == datetime(2026, 12, 5, 7, 59, tzinfo=UTC)
    assert on_time.warnings == ()


@given(st.lists(st.integers(1, 300_000_000), min_size=2, max_size=5, unique=True))
def test_events_of_a_fast_clock_keep_their_order_and_stay_before_the_server(
        ahead_micros: list[int]) -> None:
    """Two updates from a producer 1 s and 2 s fast must not tie, or the older could win."""
    received = datetime(2026, 12, 5, 8, tzinfo=UTC)
    aheads = sorted(ahead_micros)
    recorded = [parse_event(identify(timestamp=(received + timedelta(microseconds=a)
                                                ).isoformat()), RULES,
                            received_at=received).timestamp for a in aheads]
    assert recorded == sorted(recorded)
    assert all(received - timedelta(seconds=0.3) <= r <= received for r in recorded)
    for (a, b), (early, late) in zip(pairwise(aheads), pairwise(recorded), strict=True):
        assert b - a < 1000 or early < late  # a millisecond apart: never tied


def test_the_clock_skew_is_configurable() -> None:
    received = datetime(2026, 12, 5, 8, tzinfo=UTC)
    late = identify(timestamp="2026-12-05T09:00:00Z")
    with pytest.raises(ValidationError):
        parse_event(late, RULES, received_at=received)
    assert parse_event(late, RULES, received_at=received,
                       max_clock_skew=timedelta(hours=2)).timestamp <= received


@pytest.mark.parametrize("amount", ["١٢٣", "1_000", "1E+2", "-0", "+10", "0x10", "10.", ".5"])
def test_an_amount_is_plain_decimal_digits(amount: str) -> None:
    assert "is not a non-negative decimal amount" in errors_of(
        identify(type="order", amount=amount, currency="USD"))["amount"]


@pytest.mark.parametrize(("currency", "reason"), [
    ("XTS", "XTS is the ISO 4217 code for testing, not money an order is paid in"),
    ("xxx", "XXX is the ISO 4217 code for no currency, not money an order is paid in"),
    ("XAU", "XAU is the ISO 4217 code for a precious metal, not money an order is paid in"),
    ("XDR", "XDR is the ISO 4217 code for a unit of account, not money an order is paid in"),
    ("USN", "USN is the ISO 4217 code for a fund or settlement unit, not money an order is "
            "paid in"),
])
def test_the_iso_codes_that_are_not_money_are_refused(currency: str, reason: str) -> None:
    assert errors_of(identify(type="order", amount="1", currency=currency))["currency"] == reason


def test_a_currency_is_read_in_upper_case() -> None:
    event = parse_event(identify(type="order", amount="1", currency=" usd "), RULES)
    assert event.order is not None and event.order.currency == "USD"


@pytest.mark.parametrize("currency", ["ZZZ", "ABC", "BTC", "\uff35\uff33\uff24"])
def test_a_currency_is_an_iso_4217_code_not_any_three_letters(currency: str) -> None:
    assert "is not an ISO 4217 code" in errors_of(
        identify(type="order", amount="1", currency=currency))["currency"]


@pytest.mark.parametrize(("sent", "stored"), [
    ("\uff21\uff22\uff23\uff11", "ABC1"),  # full-width letters and digit
    ("\ufb01le-7", "file-7"),  # a ligature
    ("A\u0301", "\u00c1"),  # a combining accent, composed
])
def test_identifiers_that_look_the_same_are_the_same(sent: str, stored: str) -> None:
    event = parse_event(identify(identifiers=[{"kind": "customer_id", "value": sent}]), RULES)
    assert [i.value for i in event.identifiers] == [stored]


@pytest.mark.parametrize("invisible", ["\u00ad", "\u2060", "\u061c", "\u180e", "\U000e0041",
                                       "\u200b", "\u202e", "\ufeff"])
def test_an_identifier_holding_an_invisible_format_character_is_refused(invisible: str
                                                                         ) -> None:
    raw = identify(identifiers=[{"kind": "customer_id", "value": f"C{invisible}42"}])
    assert "invisible formatting characters" in errors_of(raw)["identifiers[0].value"]


def test_joiners_that_scripts_and_emoji_need_are_kept() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    event = parse_event(identify(traits={"first_name": "\u0930\u094d\u200d\u092f",
                                         "last_name": family}), RULES)
    assert dict(event.traits)["last_name"] == family


def test_line_breaks_in_a_trait_fold_into_one_space_and_other_controls_are_refused() -> None:
    wide_london = "\uff2c\uff4f\uff4e\uff44\uff4f\uff4e"
    event = parse_event(identify(traits={"address_line1": "1 High St\r\n\tFlat 2",
                                         "city": f"{wide_london}\u00a0 Town"}), RULES)
    assert dict(event.traits)["address_line1"] == "1 High St Flat 2"
    assert dict(event.traits)["city"] == f"{wide_london} Town"  # as sent, spaces folded
    for control in ("\x1c", "\x85", "\u2028", "\x00"):
        assert "traits.city" in errors_of(identify(traits={"city": f"Lon{control}don"}))


@pytest.mark.parametrize(("sent", "stored"), [
    ("Flat 2\u00bd", "Flat 2\u00bd"),  # NFKC would make it "Flat 21/2"
    ("Jose\u0301", "Jos\u00e9"),  # composed the one way
    ("\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",  # England
     "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"),
])
def test_a_trait_is_stored_as_sent_in_nfc(sent: str, stored: str) -> None:
    event = parse_event(identify(traits={"nickname": sent}), RULES)
    assert dict(event.traits)["nickname"] == stored

