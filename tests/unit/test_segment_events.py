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


def test_trait_errors_name_the_segment_trait() -> None:
    errors = errors_of(segment(traits={"firstName": "J\u0000", "lastName": "x" * 300,
                                       "address": {"city": "\ud800"}, "createdAt": "\u202e",
                                       "birthday": "soon"}))
    assert set(errors) == {"traits.firstName", "traits.lastName", "traits.address.city",
                           "traits.createdAt", "traits.birthday"}


def analytics_js_identify() -> dict[str, Any]:
    """An identify as analytics.js 5 sends it for `analytics.identify("C-1001", {...})`."""
    return {
        "messageId": "ajs-next-1714564800000-4f1c9b2e", "type": "identify",
        "userId": "C-1001", "anonymousId": "507f191e810c19729de860ea",
        "timestamp": WHEN, "originalTimestamp": "2024-05-01T11:59:59.512Z",
        "sentAt": "2024-05-01T11:59:59.530Z", "receivedAt": "2024-05-01T12:00:00.101Z",
        "channel": "client", "integrations": {}, "version": 2,
        "context": {
            "library": {"name": "analytics.js", "version": "npm:next-1.66.0"},
            "ip": "203.0.113.42", "locale": "en-GB", "timezone": "Europe/London",
            "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36",
            "page": {"path": "/account", "url": "https://shop.acme.io/account",
                     "referrer": "", "title": "Your account"},
        },
        "traits": {
            "email": "Jane.Doe@Acme.io", "firstName": "Jane", "lastName": "Doe",
            "createdAt": "2023-11-02T09:14:00.000Z", "plan": "pro", "planName": "Pro yearly",
            "company": {"name": "Acme Inc", "id": "acme-1", "industry": "Retail",
                        "employee_count": 120, "plan": "enterprise"},
            "avatar": "https://cdn.acme.io/u/C-1001.png", "logins": 12, "newsletter": True,
            "tags": ["vip", "beta"], "id": "C-1001",
        },
    }


def test_a_real_analytics_js_identify_lands_with_its_traits_and_what_was_set_aside() -> None:
    event = parsed(analytics_js_identify())
    assert identifiers(event) == {("customer_id", "C-1001"),
                                  ("anonymous_id", "507f191e810c19729de860ea"),
                                  ("email", "jane.doe@acme.io")}
    assert event.source == "analytics.js"
    assert dict(event.traits) == {
        "first_name": "Jane", "last_name": "Doe", "created_at": "2023-11-02T09:14:00.000Z",
        "plan": "pro", "plan_name": "Pro yearly", "avatar": "https://cdn.acme.io/u/C-1001.png",
        "logins": "12", "newsletter": "true"}
    warnings = {warning.field: warning.reason for warning in event.warnings}
    assert list(warnings) == ["traits.company", "traits.tags"]  # `id` is the userId: silent
    assert warnings["traits.company"].startswith("is Segment's company object (the account "
                                                 "the user belongs to, not the person)")
    assert warnings["traits.tags"] == ("is a list: not stored, a trait is a string or a "
                                       "number; the event was accepted without it")
    assert event.ignored == ()
    assert parsed(analytics_js_identify(), strict=True) == event  # set aside, never refused


@pytest.mark.parametrize(("sent", "stored"), [
    ("createdAt", "created_at"), ("planName", "plan_name"), ("PlanName", "plan_name"),
    ("userID", "user_id"), ("HTTPStatus", "http_status"), ("lastSeen2fa", "last_seen2fa"),
    ("loyalty_tier", "loyalty_tier"), ("avatar", "avatar"), ("website", "website"),
    ("title", "title"), ("username", "username"), ("description", "description"),
    ("age", "age"), ("company", "company"), ("dateOfBirth", "date_of_birth"),
    ("addressLine1", "address_line1"), ("postalCode", "postal_code"),
])
def test_camel_case_names_are_stored_in_snake_case(sent: str, stored: str) -> None:
    value = "1990-05-01" if stored == "date_of_birth" else "x"
    event = parsed(segment(traits={sent: value}))
    assert dict(event.traits) == {stored: value}
    assert event.warnings == ()


@pytest.mark.parametrize("name", ["Plan Name", "plan-name", "$plan", "2fa", "_plan",
                                  "plan.name", "stufe_größe", "a" * 65])
def test_a_name_that_cannot_be_a_trait_name_is_set_aside_with_a_warning(name: str) -> None:
    event = parsed(segment(traits={name: "x", "planName": "pro"}))
    assert dict(event.traits) == {"plan_name": "pro"}
    assert [warning.field for warning in event.warnings] == [f"traits.{name[:64]}"
                                                             + ("..." if len(name) > 64 else "")]
    assert event.warnings[0].reason.startswith("is not stored: a trait name is snake_case or "
                                               "camelCase")


@pytest.mark.parametrize(("name", "field"), [
    ("plan\u202ename", "traits.plan\\u202ename"), ("plan\u0000", "traits.plan\\x00"),
    ("\ud800", "traits.\\ud800"),
])
def test_a_name_with_a_hostile_character_is_still_refused(name: str, field: str) -> None:
    assert set(errors_of(segment(traits={name: "x"}))) == {field}


def test_a_name_sent_in_snake_case_wins_over_one_renamed_to_it() -> None:
    event = parsed(segment(traits={"createdAt": "2024-02-02", "created_at": "2024-01-01",
                                   "firstName": "Jane", "first_name": "J",
                                   "lastName": "Doe", "last_name": "Doe"}))
    assert dict(event.traits) == {"created_at": "2024-01-01", "first_name": "J",
                                  "last_name": "Doe"}
    assert [(w.field, w.reason) for w in event.warnings] == [
        ("traits.createdAt", "is not stored: traits.created_at was sent too and is kept; "
                             "the event was accepted without it"),
        ("traits.firstName", "is not stored: traits.first_name was sent too and is kept; "
                             "the event was accepted without it")]  # same lastName: silent


def test_of_two_names_renamed_to_one_the_first_sent_wins() -> None:
    event = parsed(segment(traits={"planName": "pro", "PlanName": "basic", "plan_Name": "pro"}))
    assert dict(event.traits) == {"plan_name": "pro"}
    assert [(w.field, w.reason) for w in event.warnings] == [
        ("traits.PlanName", "is not stored: traits.planName was sent too and is kept; "
                            "the event was accepted without it")]


def test_a_null_trait_says_nothing_and_does_not_shadow_a_rename() -> None:
    event = parsed(segment(traits={"created_at": None, "createdAt": "2024-01-01"}))
    assert dict(event.traits) == {"created_at": "2024-01-01"}


@pytest.mark.parametrize("value", [{"a": 1}, [], ["x"], [{"deep": [[]]}]])
def test_an_object_or_a_list_is_set_aside_at_its_segment_field(value: object) -> None:
    event = parsed(segment(traits={"firstName": value, "lastName": "Doe",
                                   "address": {"city": "London", "geo": value}}))
    assert dict(event.traits) == {"last_name": "Doe", "city": "London"}
    assert [w.field for w in event.warnings] == ["traits.firstName", "traits.address.geo"]
    kind = "an object" if isinstance(value, dict) else "a list"
    assert event.warnings[0].reason.startswith(f"is {kind}: not stored")


def test_a_value_nested_deep_in_a_trait_is_set_aside_unread() -> None:
    event = parsed(segment(traits={"planName": _deep(100_000)}))
    assert [w.field for w in event.warnings] == ["traits.planName"]


def test_a_boolean_trait_is_stored_as_its_json_spelling() -> None:
    event = parsed(segment(traits={"newsletter": True, "isTrial": False}))
    assert dict(event.traits) == {"newsletter": "true", "is_trial": "false"}


def test_the_id_trait_is_set_aside_and_reported_when_it_is_not_the_user_id() -> None:
    assert parsed(segment(traits={"id": "C-1001"})).warnings == ()
    event = parsed(segment(traits={"id": "crm-77", "plan": "pro"}))
    assert dict(event.traits) == {"plan": "pro"}
    assert ("customer_id", "crm-77") not in identifiers(event)
    assert [w.field for w in event.warnings] == ["traits.id"]
    assert event.warnings[0].reason.startswith("is not stored: userId is the id that links")


@pytest.mark.parametrize(("name", "first", "last"), [
    ("Jane Doe", "Jane", "Doe"), ("  Anne-Marie   O'Neil ", "Anne-Marie", "O'Neil"),
    ("Zoë Ørsted", "Zoë", "Ørsted"),
])
def test_a_two_word_full_name_is_the_first_and_last_name(name: str, first: str,
                                                         last: str) -> None:
    event = parsed(segment(traits={"name": name}))
    assert dict(event.traits) == {"first_name": first, "last_name": last}


@pytest.mark.parametrize("name", ["Madonna", "J. R. R. Tolkien", "Doe, Jane", "Dr. Who",
                                  "Jean Claude Van Damme", "R2 D2", "山田太郎"])
def test_any_other_full_name_is_kept_as_the_name_trait(name: str) -> None:
    assert dict(parsed(segment(traits={"name": name})).traits) == {"name": name}


def test_a_full_name_beside_a_first_or_last_name_is_not_split() -> None:
    event = parsed(segment(traits={"name": "Jane Doe", "firstName": "Janet"}))
    assert dict(event.traits) == {"first_name": "Janet", "name": "Jane Doe"}
    event = parsed(segment(traits={"name": "Jane Doe", "last_name": "Doe-Smith"}))
    assert dict(event.traits) == {"last_name": "Doe-Smith", "name": "Jane Doe"}


def test_the_names_split_from_a_full_name_are_named_traits_name() -> None:
    mapped = from_segment(segment(traits={"name": "Jane Doe"}))
    assert mapped.field("traits.first_name") == mapped.field("traits.last_name") == "traits.name"
    assert mapped.warnings == ()


@pytest.mark.parametrize(("traits", "field"), [
    ({"name": "Jane\u0000 Doe"}, "traits.name"),
    ({"name": "Jane \u200bDoe"}, "traits.name"),
    ({"createdAt": "2024\u0000"}, "traits.createdAt"),
    ({"planName": "pro\ud800"}, "traits.planName"),
    ({"website": "https://" + "x" * 300}, "traits.website"),
    ({"avatar": "a\u202eb"}, "traits.avatar"),
    ({"age": 10**5000}, "traits.age"),
    ({"age": float("nan")}, "traits.age"),
    ({"address": {"postalCode": "N1\u0000"}}, "traits.address.postalCode"),
])
def test_hostile_values_are_still_refused_at_their_segment_field(
        traits: dict[str, object], field: str) -> None:
    assert set(errors_of(segment(traits=traits))) == {field}


def test_context_traits_are_renamed_and_set_aside_the_same_way() -> None:
    page = segment(type="page", traits=None, context={"traits": {
        "planName": "pro", "company": {"name": "Acme"}, "name": "Jane Doe"}})
    event = parsed(page)
    assert dict(event.traits) == {"plan_name": "pro", "first_name": "Jane", "last_name": "Doe"}
    assert [w.field for w in event.warnings] == ["context.traits.company"]
    bad = segment(type="track", traits=None, context={"traits": {"planName": "\u0000"}})
    assert set(errors_of(bad)) == {"context.traits.planName"}


def test_a_rejected_message_is_rejected_with_its_errors_only() -> None:
    errors = errors_of(segment(messageId=None, traits={"company": {"name": "Acme"}}))
    assert errors == {"messageId": "is required and must be a non-empty string"}


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
          "traits.firstName", "traits.first_name", "traits.birthday", "traits.address",
          "traits.address.city", "traits.createdAt", "traits.created_at", "traits.company",
          "traits.name", "traits.id", "context.traits.planName",
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


_SEGMENT_HEADS = {"messageId", "type", "userId", "anonymousId", "previousId", "timestamp",
                  "originalTimestamp", "source", "event", "traits", "context", "properties"}


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
        assert all(w.field and w.field.split(".")[0].split("[")[0] in _SEGMENT_HEADS
                   for w in event.warnings)  # named by a field the message has



def test_the_mapping_names_our_fields_by_their_segment_paths() -> None:
    mapped = from_segment(order_completed())
    assert mapped.field("event_id") == "messageId"
    assert mapped.field("amount") == "properties.total"
    assert mapped.field("identifiers[0].value") == "userId"
    assert mapped.field("identifiers[2]") == "properties.order_id"
    assert mapped.field("somewhere.else") == "somewhere.else"


def test_a_deep_id_trait_beside_a_deep_user_id_is_compared_without_reading_them() -> None:
    event = parsed(segment(userId=_deep(100_000), traits={"id": _deep(100_000)}))
    assert [w.field for w in event.warnings] == ["traits.id"]
    assert [i.field for i in event.ignored] == ["userId"]


def test_a_renamed_birthday_of_the_same_day_as_date_of_birth_is_not_reported() -> None:
    event = parsed(segment(traits={"date_of_birth": "1990-05-01",
                                   "birthday": "1990-05-01T00:00:00.000Z"}))
    assert (dict(event.traits), event.warnings) == ({"date_of_birth": "1990-05-01"}, ())


def test_a_full_name_is_not_split_past_the_trait_limit() -> None:
    full = {f"t{i}": "x" for i in range(99)} | {"name": "Jane Doe"}
    assert dict(parsed(segment(traits=full)).traits)["name"] == "Jane Doe"
