"""Person traits of an event, validated name by name: what is stored, what is refused and the
reason a producer reads back at the trait's path."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from identity.domain.errors import FieldError
from identity.domain.identifiers import MAX_VALUE_LENGTH
from identity.domain.traits import MAX_TRAITS_PER_EVENT, parse_traits, region_of, trait_value

SNAKE_CASE = "trait names are snake_case, at most 64 characters, starting with a letter"
NOT_A_VALUE = "must be a string or a number"
ADDRESS_SHAPE = ", or an object of street, city, postal_code and country"
TOO_LONG = f"is longer than {MAX_VALUE_LENGTH} characters"
TODAY = date.today()
# U+0958 has no composed form of its own: NFC writes it as two characters, so a value can fit
# the length bound as sent and outgrow it once stored.
QA = "\u0958"
QA_NFC = "\u0915\u093c"


def parsed(raw: object) -> tuple[dict[str, str], list[FieldError]]:
    errors: list[FieldError] = []
    traits = parse_traits(raw, errors)
    assert list(traits) == sorted(traits)
    return dict(traits), errors


# --- one value -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "stored"),
    [
        pytest.param("first_name", "Jane", "Jane", id="text"),
        pytest.param(
            "first_name",
            " Jane \t\r\n\u00a0 Doe\u3000",
            "Jane Doe",
            id="whitespace-folded-and-trimmed",
        ),
        pytest.param("age", 42, "42", id="integer"),
        pytest.param("score", 2.5, "2.5", id="float"),
        pytest.param("big", 2**64 - 1, str(2**64 - 1), id="integer-of-64-bits"),
        pytest.param("low", -(2**64 - 1), str(-(2**64 - 1)), id="negative-of-64-bits"),
        pytest.param("note", "a" * MAX_VALUE_LENGTH, "a" * MAX_VALUE_LENGTH, id="longest-text"),
        pytest.param(
            "note",
            "a" * 127 + " \t\r\n " + "b" * 128,
            "a" * 127 + " " + "b" * 128,
            id="longest-once-folded",
        ),
        pytest.param(
            "note",
            QA * (MAX_VALUE_LENGTH // 2),
            QA_NFC * (MAX_VALUE_LENGTH // 2),
            id="longest-once-composed",
        ),
        pytest.param("date_of_birth", "19900105", "1990-01-05", id="date-rewritten-yyyy-mm-dd"),
        pytest.param("date_of_birth", " 1990-01-05 ", "1990-01-05", id="date-trimmed"),
        pytest.param("date_of_birth", "1900-01-01", "1900-01-01", id="earliest-birth"),
        pytest.param("date_of_birth", TODAY.isoformat(), TODAY.isoformat(), id="born-today"),
        pytest.param("nickname", "1990-13-01", "1990-13-01", id="only-dates-are-read-as-dates"),
        pytest.param("nickname", "19900105", "19900105", id="other-traits-kept-as-sent"),
    ],
)
def test_a_trait_value_is_stored_folded_and_a_birth_date_as_yyyy_mm_dd(
    name: str, value: object, stored: str
) -> None:
    assert trait_value(name, value) == stored


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        pytest.param("first_name", True, NOT_A_VALUE, id="boolean"),
        pytest.param("first_name", None, NOT_A_VALUE, id="null"),
        pytest.param("first_name", ["Jane"], NOT_A_VALUE, id="list"),
        pytest.param("first_name", {"given": "Jane"}, NOT_A_VALUE, id="object"),
        pytest.param("score", float("nan"), "must be a finite number", id="nan"),
        pytest.param("score", float("-inf"), "must be a finite number", id="minus-infinity"),
        pytest.param("big", 2**64, "is a number too large to be a trait", id="integer-of-65-bits"),
        pytest.param(
            "low", -(2**64), "is a number too large to be a trait", id="negative-of-65-bits"
        ),
        pytest.param("note", "a" * (MAX_VALUE_LENGTH + 1), TOO_LONG, id="one-too-long"),
        pytest.param("note", "a" * 300 + "\x00", TOO_LONG, id="length-checked-before-content"),
        pytest.param(
            "note", QA * (MAX_VALUE_LENGTH // 2 + 1), TOO_LONG, id="too-long-once-composed"
        ),
        pytest.param("first_name", "", "must not be empty", id="empty"),
        pytest.param("first_name", " \t\r\n\u00a0", "must not be empty", id="only-whitespace"),
        pytest.param("first_name", "Ja\x00ne", "contains control characters", id="control"),
        pytest.param(
            "date_of_birth",
            "1990-13-01",
            "'1990-13-01' is not a date in YYYY-MM-DD form",
            id="not-a-date",
        ),
        pytest.param(
            "date_of_birth",
            "1899-12-31",
            "1899-12-31 is not a plausible date of birth",
            id="before-1900",
        ),
        pytest.param(  # two days: still in the future when a run crosses midnight
            "date_of_birth",
            (TODAY + timedelta(days=2)).isoformat(),
            f"{TODAY + timedelta(days=2)} is not a plausible date of birth",
            id="born-in-two-days",
        ),
    ],
)
def test_an_unusable_trait_value_is_refused_with_the_reason(
    name: str, value: object, reason: str
) -> None:
    with pytest.raises(ValueError) as refused:
        trait_value(name, value)
    assert str(refused.value) == reason


# --- the traits object -----------------------------------------------------------------------


def test_absent_traits_are_no_traits() -> None:
    assert parsed(None) == ({}, [])


@pytest.mark.parametrize("raw", [["first_name", "Jane"], "Jane", 7])
def test_traits_that_are_not_an_object_are_one_error(raw: object) -> None:
    assert parsed(raw) == ({}, [FieldError("traits", "must be an object of trait name to value")])


def test_an_event_carries_at_most_max_traits() -> None:
    most = {f"t{i:03d}": "x" for i in range(MAX_TRAITS_PER_EVENT)}
    assert parsed(most) == (most, [])
    too_many = {**most, "one_more": "x"}
    assert parsed(too_many) == (
        {},
        [FieldError("traits", f"has more than {MAX_TRAITS_PER_EVENT} traits")],
    )


def test_every_trait_is_read_whatever_comes_before_it() -> None:
    """A null, a bad name or a bad value is skipped or reported, and reading goes on; the
    result is sorted by name, whatever order the producer sent."""
    raw = {
        "last_name": None,
        "Bad Name": "x",
        "nickname": "Jo",
        "gender": True,
        "A" * 70: "y",
        "bad\x1bname": "z",
        "first_name": "Jane",
        "date_of_birth": "19900105",
    }
    assert parsed(raw) == (
        {"date_of_birth": "1990-01-05", "first_name": "Jane", "nickname": "Jo"},
        [
            FieldError("traits.Bad Name", SNAKE_CASE),
            FieldError("traits.gender", NOT_A_VALUE),
            FieldError("traits." + "A" * 64 + "...", SNAKE_CASE),  # a name is shown cut at 64
            FieldError("traits.bad\\x1bname", SNAKE_CASE),  # and escaped
        ],
    )


def test_a_trait_name_is_snake_case_of_at_most_64_characters() -> None:
    longest = "a" * 64
    assert parsed({longest: "x", "a1_b2": "y"}) == ({longest: "x", "a1_b2": "y"}, [])
    for bad in ("1st", "_a", "firstName", "first-name", ""):
        assert parsed({bad: "x"})[1] == [FieldError(f"traits.{bad}", SNAKE_CASE)]
    assert parsed({"a" * 65: "x"})[1] == [FieldError(f"traits.{longest}...", SNAKE_CASE)]


def test_an_object_under_any_name_but_address_is_not_a_trait() -> None:
    assert parsed({"preferences": {"colour": "blue"}}) == (
        {},
        [FieldError("traits.preferences", NOT_A_VALUE)],
    )


# --- the nested address ----------------------------------------------------------------------


def test_the_nested_address_is_read_into_flat_names_and_the_traits_after_it_still_count() -> None:
    raw = {
        "address": {
            "Street": "1 A St",
            "line2": "Flat 2",
            " ZIP ": "LS1 4AP",
            "unit": "4B",
            "city": None,
            "state": "West Yorkshire",
        },
        "first_name": "Jane",
    }
    assert parsed(raw) == (
        {
            "address_line1": "1 A St",
            "address_line2": "Flat 2",
            "postcode": "LS1 4AP",
            "address_unit": "4B",
            "region": "West Yorkshire",
            "first_name": "Jane",
        },
        [],
    )


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param({"city": "Leeds", "address": {"city": "York"}}, id="flat-first"),
        pytest.param({"address": {"city": "York"}, "city": "Leeds"}, id="address-first"),
    ],
)
def test_a_flat_trait_wins_over_the_nested_addresses_field_in_either_order(
    raw: dict[str, object],
) -> None:
    assert parsed(raw) == ({"city": "Leeds"}, [])


def test_a_flat_trait_given_as_null_leaves_the_nested_field_in_force() -> None:
    assert parsed({"city": None, "address": {"city": "York"}}) == ({"city": "York"}, [])


def test_a_bad_field_of_the_nested_address_is_reported_at_its_own_path() -> None:
    raw = {"address": {"city": ["York"], "Post Code": "x", "zip": " ", "street": "1 A St"}}
    assert parsed(raw) == (
        {"address_line1": "1 A St"},
        [
            FieldError("traits.address.city", NOT_A_VALUE),
            FieldError("traits.address.Post Code", SNAKE_CASE),
            FieldError("traits.address.zip", "must not be empty"),
        ],
    )


def test_an_address_is_text_or_an_object_and_the_reason_says_so() -> None:
    assert parsed({"address": "1 A St, Leeds"}) == ({"address": "1 A St, Leeds"}, [])
    assert parsed({"address": ["1 A St"]}) == (
        {},
        [FieldError("traits.address", NOT_A_VALUE + ADDRESS_SHAPE)],
    )
    assert parsed({"address": " "}) == (
        {},
        [FieldError("traits.address", "must not be empty" + ADDRESS_SHAPE)],
    )


def test_the_nested_address_has_at_most_20_fields() -> None:
    most = {f"f{i:02d}": "x" for i in range(20)}
    assert parsed({"address": most}) == ({f"address_f{i:02d}": "x" for i in range(20)}, [])
    assert parsed({"address": {**most, "f20": "x"}, "first_name": "Jane"}) == (
        {},
        [FieldError("traits.address", "has more than 20 fields")],
    )


# --- the country a trait names ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "region"),
    [
        pytest.param("GB", "GB", id="alpha-2"),
        pytest.param("gbr", "GB", id="alpha-3-any-case"),
        pytest.param(" United Kingdom ", "GB", id="name-trimmed"),
        pytest.param("france", "FR", id="name-any-case"),
        pytest.param(" UK ", "GB", id="alias"),
        pytest.param("Deutschland", "DE", id="own-name-alias"),
        pytest.param("Atlantis", None, id="no-country"),
    ],
)
def test_a_country_is_read_as_its_iso_code_written_as_a_code_a_name_or_an_alias(
    country: str, region: str | None
) -> None:
    assert region_of(country) == region
