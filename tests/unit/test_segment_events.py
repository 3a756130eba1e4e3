"""parse_event on messages in Segment's spec shape: mapped to ours, validated as ours are,
errors named by the Segment field a producer sent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identity.domain.errors import FieldError, ValidationError
from identity.domain.events import Event, EventType, IgnoredIdentifier, Order, parse_event
from identity.domain.identifiers import NormalizationRules
from identity.domain.segment import from_segment, is_segment
from identity.domain.types import Identifier

RULES = NormalizationRules()
WHEN = "2024-05-01T12:00:00Z"


def segment(**overrides: Any) -> dict[str, Any]:
    """An identify as Segment's analytics.js sends it."""
    message: dict[str, Any] = {
        "messageId": "ajs-msg-1",
        "type": "identify",
        "userId": "C-1001",
        "anonymousId": "anon-7",
        "timestamp": WHEN,
        "context": {"library": {"name": "analytics.js", "version": "4.1.0"}},
        "traits": {"email": "Jane.Doe@Acme.io", "firstName": "Jane", "lastName": "Doe"},
    }
    message.update(overrides)
    return message


def order_completed(**properties: Any) -> dict[str, Any]:
    return segment(type="track", event="Order Completed", traits=None,
                   properties={"order_id": "O-50314", "total": 27.5, "currency": "EUR",
                               **properties})


def parsed(raw: object, strict: bool = False) -> Event:
    return parse_event(raw, RULES, strict=strict)


def errors_of(raw: object, strict: bool = False) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        parse_event(raw, RULES, strict=strict)
    return {error.field: error.reason for error in caught.value.errors}


def identifiers(event: Event) -> set[tuple[str, str]]:
    return {(identifier.kind, identifier.value) for identifier in event.identifiers}


# --- recognising the shape ----------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    {"messageId": "m"}, {"userId": "u"}, {"anonymousId": "a"}, {"anonymousId": None},
])
def test_a_message_with_a_segment_id_field_and_none_of_ours_is_segment(
        raw: dict[str, object]) -> None:
    assert is_segment(raw)


@pytest.mark.parametrize("ours", ["event_id", "eventId", "identifiers"])
def test_a_message_with_any_field_of_our_shape_stays_ours(ours: str) -> None:
    assert not is_segment({"messageId": "m", "userId": "u", ours: "x"})


def test_our_event_that_also_carries_a_user_id_is_read_as_ours() -> None:
    event = parsed({"event_id": "e-1", "type": "identify", "timestamp": WHEN, "source": "web",
                    "identifiers": [{"kind": "email", "value": "a@acme.io"}], "userId": "u"})
    assert identifiers(event) == {("email", "a@acme.io")}


# --- one person, two shapes: the same Event -------------------------------------------------

def test_a_segment_identify_and_the_same_event_in_our_shape_are_equal() -> None:
    message = segment(
        context={"library": {"name": "analytics.js"}, "device": {"id": "DEV-9"}},
        traits={"email": "Jane.Doe@Acme.io", "phone": "+44 7911 123456", "firstName": "Jane",
                "lastName": "Doe", "birthday": "1990-05-01T00:00:00.000Z", "gender": "female",
                "plan": "pro", "address": {"street": "1 High St", "city": "London",
                                           "postal_code": "N1 9GU", "country": "GB"}})
    ours = {
        "event_id": "ajs-msg-1", "type": "identify", "timestamp": WHEN, "source": "analytics.js",
        "identifiers": [{"kind": "customer_id", "value": "C-1001"},
                        {"kind": "anonymous_id", "value": "anon-7"},
                        {"kind": "email", "value": "Jane.Doe@Acme.io"},
                        {"kind": "phone", "value": "+44 7911 123456"},
                        {"kind": "device_id", "value": "DEV-9"}],
        "traits": {"first_name": "Jane", "last_name": "Doe", "date_of_birth": "1990-05-01",
                   "gender": "female", "plan": "pro", "address_line1": "1 High St",
                   "city": "London", "postcode": "N1 9GU", "country": "GB"},
    }
    assert parsed(message) == parsed(ours)


def test_a_segment_order_completed_equals_our_order_event() -> None:
    ours = {"event_id": "ajs-msg-1", "type": "order", "timestamp": WHEN,
            "source": "analytics.js", "amount": 27.5, "currency": "EUR",
            "identifiers": [{"kind": "customer_id", "value": "C-1001"},
                            {"kind": "anonymous_id", "value": "anon-7"},
                            {"kind": "order_id", "value": "O-50314"}]}
    assert parsed(order_completed()) == parsed(ours)


# --- event_id, type, timestamp, source --------------------------------------------------------

def test_the_message_id_is_the_event_id_and_its_errors_name_message_id() -> None:
    assert parsed(segment()).event_id == "ajs-msg-1"
    assert errors_of(segment(messageId=None)) == {
        "messageId": "is required and must be a non-empty string"}
    assert "messageId" in errors_of(segment(messageId="x" * 300))


@pytest.mark.parametrize(("call", "expected"), [
    ("identify", EventType.IDENTIFY), ("track", EventType.TRACK), ("page", EventType.PAGE),
    ("screen", EventType.SCREEN), ("alias", EventType.ALIAS), (" Track ", EventType.TRACK),
])
def test_segment_call_types_map_to_ours(call: str, expected: EventType) -> None:
    assert parsed(segment(type=call)).type is expected


@pytest.mark.parametrize("call", ["group", " Group "])
def test_a_group_call_is_refused_saying_why_and_only_once(call: str) -> None:
    errors = errors_of(segment(type=call, groupId="acme-inc"))
    assert list(errors) == ["type"]
    assert errors["type"].startswith("'group' is not accepted: a group call ties a user to "
                                     "an account")


def test_an_unknown_type_is_refused_at_type() -> None:
    assert errors_of(segment(type="purchase"))["type"].startswith("'purchase' is not one of")


def test_the_timestamp_falls_back_to_the_original_timestamp() -> None:
    event = parsed(segment(timestamp=None, originalTimestamp="2024-04-30T08:00:00+02:00"))
    assert event.timestamp.isoformat() == "2024-04-30T06:00:00+00:00"
    both = parsed(segment(originalTimestamp="2020-01-01T00:00:00Z"))
    assert both.timestamp.isoformat() == "2024-05-01T12:00:00+00:00"


def test_a_bad_timestamp_is_reported_at_the_field_it_came_from() -> None:
    assert set(errors_of(segment(timestamp="yesterday"))) == {"timestamp"}
    assert set(errors_of(segment(timestamp=None, originalTimestamp="yesterday"))) == {
        "originalTimestamp"}
    assert set(errors_of(segment(timestamp=None))) == {"originalTimestamp"}


def test_the_source_is_a_top_level_string_else_the_library_else_segment() -> None:
    assert parsed(segment(source="checkout")).source == "checkout"
    assert parsed(segment()).source == "analytics.js"
    assert parsed(segment(context={"library": {"version": "1"}})).source == "segment"
    assert parsed(segment(context=None)).source == "segment"
    assert parsed(segment(source={"name": "web"})).source == "analytics.js"


def test_a_bad_library_name_is_reported_at_context_library_name() -> None:
    bad = segment(context={"library": {"name": "web\u202e"}})
    assert set(errors_of(bad)) == {"context.library.name"}
    assert set(errors_of(segment(source="  "))) == {"source"}


# --- identifiers ------------------------------------------------------------------------------

def test_user_and_anonymous_ids_email_phone_and_device_become_identifiers() -> None:
    event = parsed(segment(context={"device": {"id": "AEBE52E7-03EE-455A-B3C4-E57283966239"}},
                           traits={"email": "Jane.Doe@Acme.io", "phone": "+1 415 555 0100"}))
    assert identifiers(event) == {
        ("customer_id", "C-1001"), ("anonymous_id", "anon-7"), ("email", "jane.doe@acme.io"),
        ("phone", "+14155550100"), ("device_id", "aebe52e7-03ee-455a-b3c4-e57283966239")}


def test_an_anonymous_track_reads_email_and_phone_from_context_traits() -> None:
    event = parsed(segment(type="track", event="Viewed", userId=None, traits=None,
                           context={"traits": {"email": "a@acme.io", "phone": "+14155550100"}}))
    assert identifiers(event) == {("anonymous_id", "anon-7"), ("email", "a@acme.io"),
                                  ("phone", "+14155550100")}


def test_an_identify_prefers_its_traits_email_to_the_context_one() -> None:
    event = parsed(segment(context={"traits": {"email": "old@acme.io"}},
                           traits={"email": "new@acme.io"}))
    assert ("email", "new@acme.io") in identifiers(event)
    assert ("email", "old@acme.io") not in identifiers(event)
    fallback = parsed(segment(context={"traits": {"email": "ctx@acme.io"}}, traits={}))
    assert ("email", "ctx@acme.io") in identifiers(fallback)


def test_an_alias_links_the_previous_id_as_an_anonymous_id() -> None:
    event = parsed(segment(type="alias", anonymousId=None, previousId="anon-old", traits=None))
    assert identifiers(event) == {("customer_id", "C-1001"), ("anonymous_id", "anon-old")}


def test_a_previous_id_outside_an_alias_is_not_read() -> None:
    event = parsed(segment(previousId="anon-old"))
    assert ("anonymous_id", "anon-old") not in identifiers(event)


def test_a_malformed_identifier_is_dropped_and_named_by_its_segment_field() -> None:
    event = parsed(segment(traits={"email": "not-an-email"}))
    assert [(i.field, i.kind) for i in event.ignored] == [("traits.email", "email")]
    assert identifiers(event) == {("customer_id", "C-1001"), ("anonymous_id", "anon-7")}


def test_strict_validation_rejects_a_malformed_identifier_at_its_segment_field() -> None:
    assert set(errors_of(segment(traits={"email": "not-an-email"}), strict=True)) == {
        "traits.email"}
    assert set(errors_of(segment(userId=["C-1"]), strict=True)) == {"userId"}
    track = segment(type="track", traits=None, context={"traits": {"phone": "12"}})
    assert set(errors_of(track, strict=True)) == {"context.traits.phone"}
    device = segment(context={"device": {"id": "\u0000"}})
    assert set(errors_of(device, strict=True)) == {"context.device.id"}


def test_a_wrongly_typed_user_id_alone_is_reported_at_user_id() -> None:
    errors = errors_of(segment(userId=1234, anonymousId=None, traits=None))
    assert errors == {"userId": "value must be a string, got int"}


def test_a_placeholder_is_ignored_at_its_segment_field() -> None:
    event = parsed(segment(anonymousId="undefined"))
    assert event.ignored == (IgnoredIdentifier("anonymousId", "anonymous_id", "undefined",
                                               "placeholder value: never used to link"),)


def test_a_message_of_placeholders_only_names_its_identifying_field() -> None:
    errors = errors_of(segment(userId=None, anonymousId="null", traits=None))
    assert errors == {"anonymousId": "every identifier is a placeholder value; the event has "
                                     "nothing to link"}


def test_a_message_identifying_no_one_is_refused_at_user_id_once() -> None:
    errors = errors_of(segment(userId=None, anonymousId=None, traits={"firstName": "Jane"}))
    assert list(errors) == ["userId"]
    assert errors["userId"].startswith("is required unless anonymousId is given")


# --- traits -----------------------------------------------------------------------------------

def test_camel_case_traits_are_renamed_and_identifying_ones_left_out() -> None:
    event = parsed(segment(traits={"email": "a@acme.io", "phone": "+14155550100",
                                   "firstName": "Jane", "lastName": "Doe", "gender": "f",
                                   "birthday": "1990-05-01", "loyalty_tier": "gold"}))
    assert dict(event.traits) == {"first_name": "Jane", "last_name": "Doe", "gender": "f",
                                  "date_of_birth": "1990-05-01", "loyalty_tier": "gold"}


@pytest.mark.parametrize(("birthday", "stored"), [
    ("1990-05-01", "1990-05-01"),
    ("1990-05-01T00:00:00.000Z", "1990-05-01"),
    ("1990-05-01T23:30:00-05:00", "1990-05-01"),  # the day written, not moved to UTC
    ("1990-05-01 08:00", "1990-05-01"),
])
def test_a_birthday_keeps_its_date(birthday: str, stored: str) -> None:
    assert dict(parsed(segment(traits={"birthday": birthday})).traits)["date_of_birth"] == stored


@pytest.mark.parametrize("birthday", ["1990-13-01T00:00:00Z", "May 1st 1990", 1.5,
                                      "1990-05-01T" + "0" * 100, "2999-01-01T00:00:00Z"])
def test_a_bad_birthday_is_reported_at_traits_birthday(birthday: object) -> None:
    assert set(errors_of(segment(traits={"birthday": birthday}))) == {"traits.birthday"}


def test_the_spec_name_wins_over_our_spelling_sent_alongside() -> None:
    event = parsed(segment(traits={"first_name": "J", "firstName": "Jane", "lastName": None,
                                   "last_name": "Doe"}))
    assert dict(event.traits) == {"first_name": "Jane", "last_name": "Doe"}


def test_trait_errors_name_the_segment_trait() -> None:
    errors = errors_of(segment(traits={"firstName": {"a": 1}, "lastName": "x" * 300,
                                       "address": {"city": ["London"]}, "createdAt": "2024"}))
    assert set(errors) == {"traits.firstName", "traits.lastName", "traits.address.city",
                           "traits.createdAt"}


def test_other_calls_take_their_traits_from_context_traits() -> None:
    page = segment(type="page", traits={"firstName": "Ignored"},
                   context={"traits": {"firstName": "Jane", "address": {"country": "France"}}})
    assert dict(parsed(page).traits) == {"first_name": "Jane", "country": "France"}
    bad = segment(type="page", traits=None, context={"traits": {"firstName": 1.5e400}})
    assert set(errors_of(bad)) == {"context.traits.firstName"}


def test_too_many_traits_are_refused_at_the_segment_object() -> None:
    many = {f"t{i}": "x" for i in range(101)}
    assert set(errors_of(segment(traits=many))) == {"traits"}
    track = segment(type="screen", traits=None, context={"traits": many})
    assert set(errors_of(track)) == {"context.traits"}


def test_the_address_country_decides_the_region_of_a_national_phone() -> None:
    event = parsed(segment(traits={"phone": "07911 123456", "address": {"country": "UK"}}))
    assert ("phone", "+447911123456") in identifiers(event)


# --- orders -----------------------------------------------------------------------------------

def test_order_completed_is_an_order_with_its_order_id() -> None:
    event = parsed(order_completed())
    assert event.type is EventType.ORDER
    assert event.order == Order(Decimal("27.5"), "EUR")
    assert ("order_id", "O-50314") in identifiers(event)


@pytest.mark.parametrize("name", ["order completed", "ORDER COMPLETED", " Order Completed "])
def test_the_order_completed_name_is_matched_in_any_case(name: str) -> None:
    assert parsed(order_completed() | {"event": name}).order is not None


def test_revenue_is_the_amount_when_total_is_absent() -> None:
    event = parsed(order_completed(total=None, revenue="19.99"))
    assert event.order == Order(Decimal("19.99"), "EUR")
    both = parsed(order_completed(total="30", revenue="25"))
    assert both.order == Order(Decimal("30"), "EUR")


def test_order_errors_name_the_properties_they_came_from() -> None:
    assert set(errors_of(order_completed(total="-3"))) == {"properties.total"}
    assert set(errors_of(order_completed(total=None, revenue="lots"))) == {"properties.revenue"}
    assert set(errors_of(order_completed(currency="XTS"))) == {"properties.currency"}
    assert set(errors_of(order_completed(currency=None))) == {"properties.currency"}
    assert set(errors_of(order_completed(total=10**5000))) == {"properties.total"}


def test_an_order_completed_without_a_total_is_an_order_of_unknown_value() -> None:
    event = parsed(order_completed(total=None, currency=None))
    assert event.order == Order(None, None)
    assert [warning.field for warning in event.warnings] == ["properties.total"]
    assert set(errors_of(order_completed(total=None), strict=True)) == {"properties.total"}


def test_other_track_events_carry_no_order() -> None:
    event = parsed(segment(type="track", event="Product Added", traits=None,
                           properties={"order_id": "O-1", "total": 5, "currency": "EUR"}))
    assert (event.type, event.order) == (EventType.TRACK, None)
    assert identifiers(event) == {("customer_id", "C-1001"), ("anonymous_id", "anon-7")}
    identify = parsed(segment(event="Order Completed", properties={"total": 5}))
    assert (identify.type, identify.order) == (EventType.IDENTIFY, None)


# --- hostile input ----------------------------------------------------------------------------

def _deep(levels: int) -> object:
    value: object = "x"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(("field", "value"), [
    ("context", "web"), ("context", [1]), ("traits", "Jane"), ("properties", 12),
])
def test_a_segment_object_that_is_not_one_is_a_field_error(field: str, value: object) -> None:
    raw = order_completed() | {"type": "identify", field: value}
    assert errors_of(raw)[field].startswith("must be an object, got a ")


@pytest.mark.parametrize("path", ["context.device", "context.traits", "context.library"])
def test_a_context_part_that_is_not_an_object_is_a_field_error(path: str) -> None:
    part = path.split(".")[1]
    assert path in errors_of(segment(type="track", traits=None, context={part: "x"}))


def test_a_track_whose_event_name_is_not_a_string_is_refused() -> None:
    assert set(errors_of(segment(type="track", event={"name": "Order Completed"}))) == {"event"}


@pytest.mark.parametrize("field", ["messageId", "type", "userId", "timestamp", "traits",
                                   "properties", "event"])
def test_a_value_nested_100000_deep_is_a_field_error(field: str) -> None:
    base = segment() if field == "traits" else order_completed()  # an identify's own traits
    assert field in errors_of(base | {field: _deep(100_000)}, strict=True)


def test_a_huge_number_anywhere_is_a_field_error() -> None:
    huge = 10**5000
    errors = errors_of(order_completed(total=huge, currency=huge) | {
        "type": "track", "userId": huge, "timestamp": huge}, strict=True)
    assert set(errors) >= {"properties.total", "properties.currency", "userId", "timestamp"}


def test_a_megabyte_string_is_a_field_error_not_echoed() -> None:
    with pytest.raises(ValidationError) as caught:
        parsed(segment(messageId="m" * 1_000_000, traits={"firstName": "J" * 1_000_000}))
    assert {e.field for e in caught.value.errors} == {"messageId", "traits.firstName"}
    assert len(str(caught.value)) < 1_000


# --- the native path keeps the same bounds (a deep type, a huge amount) -----------------------

def test_our_shape_refuses_a_deep_type_and_a_huge_amount_at_their_fields() -> None:
    raw = {"event_id": "e", "type": _deep(100_000), "timestamp": WHEN, "source": "web",
           "identifiers": [{"kind": "email", "value": "a@acme.io"}], "amount": 10**5000,
           "currency": "EUR"}
    assert set(errors_of(raw)) == {"type", "amount"}


# --- any JSON value in any Segment field --------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    | st.sampled_from(["", " ", "group", "identify", "Order Completed", "1990-05-01T00:00:00Z",
                       "a@acme.io", "undefined", "x" * 300, 10**400])
    | st.integers(4300, 5000).map(lambda digits: 10**digits),  # past str()'s limit
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8)
_PATHS = ["messageId", "type", "userId", "anonymousId", "previousId", "timestamp",
          "originalTimestamp", "source", "event", "traits", "traits.email", "traits.phone",
          "traits.firstName", "traits.birthday", "traits.address", "traits.address.city",
          "context", "context.traits", "context.traits.email", "context.device",
          "context.device.id", "context.library", "context.library.name", "properties",
          "properties.order_id", "properties.total", "properties.revenue",
          "properties.currency"]


def _put(message: dict[str, Any], path: str, value: object) -> None:
    """Sets a dotted path, replacing whatever stands in its way with an object."""
    *parents, last = path.split(".")
    here = message
    for part in parents:
        if not isinstance(here.get(part), dict):
            here[part] = {}
        here = here[part]
    here[last] = value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["identify", "track", "alias"]),
       st.dictionaries(st.sampled_from(_PATHS), _JSON, min_size=1, max_size=4),
       st.booleans())
def test_any_json_in_any_segment_field_is_an_event_or_field_errors(
        call: str, values: dict[str, object], strict: bool) -> None:
    message = order_completed() | {"type": call, "traits": {"email": "a@acme.io"}}
    for path, value in values.items():
        _put(message, path, value)
    try:
        event = parse_event(message, RULES, strict=strict)
    except ValidationError as exc:
        assert exc.errors and all(isinstance(e, FieldError) and e.field for e in exc.errors)
        assert not any(e.field.startswith(("identifiers", "event_id", "amount", "currency"))
                       for e in exc.errors)
    else:
        assert isinstance(event, Event) and event.identifiers
        assert all(isinstance(i, Identifier) for i in event.identifiers)


def test_the_mapping_names_our_fields_by_their_segment_paths() -> None:
    mapped = from_segment(order_completed())
    assert mapped.field("event_id") == "messageId"
    assert mapped.field("amount") == "properties.total"
    assert mapped.field("identifiers[0].value") == "userId"
    assert mapped.field("identifiers[2]") == "properties.order_id"
    assert mapped.field("somewhere.else") == "somewhere.else"
