"""Names every layer shares: kind priority, identifier keys, exact microsecond times, and the
errors that name the field and the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.domain.errors import FieldError, InvalidInput, ValidationError
from identity.domain.types import (
    EPOCH,
    Identifier,
    from_micros,
    kind_rank,
    priority_key,
    to_micros,
)

# --- kind priority ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "rank"),
    [
        pytest.param("customer_id", 0, id="account-strongest"),
        pytest.param("email", 1, id="email"),
        pytest.param("phone", 2, id="phone"),
        pytest.param("external:loyalty", 3, id="external-system"),
        pytest.param("external:crm", 3, id="every-external-system-in-one-slot"),
        pytest.param("device_id", 4, id="device"),
        pytest.param("order_id", 5, id="order"),
        pytest.param("anonymous_id", 6, id="cookie"),
        pytest.param("session_id", 7, id="session-weakest"),
    ],
)
def test_kinds_rank_strongest_first_with_one_slot_for_every_external_system(
    kind: str, rank: int
) -> None:
    assert kind_rank(kind) == rank


def test_identifiers_order_by_kind_priority_before_kind_name_and_value() -> None:
    """Alphabetically `anonymous_id` < `email` < `external:crm` < `phone`; by priority the
    email comes first and the cookie last."""
    cookie = Identifier("anonymous_id", "a-1")
    email = Identifier("email", "z@shop.com")
    crm = Identifier("external:crm", "9")
    phone = Identifier("phone", "+14155550100")
    assert sorted([cookie, crm, phone, email], key=priority_key) == [email, phone, crm, cookie]
    assert priority_key(crm) == (3, "external:crm", "9")


def test_an_identifiers_key_is_its_kind_and_value() -> None:
    assert Identifier("email", "jane@acme.io").key == "email|jane@acme.io"


# --- exact times -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "micros"),
    [
        pytest.param(EPOCH, 0, id="epoch"),
        pytest.param(
            datetime(2024, 3, 1, 10, 0, 0, 1, tzinfo=UTC),
            1_709_287_200_000_001,
            id="one-microsecond-past-the-hour",
        ),
        pytest.param(
            datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), -1, id="before-the-epoch"
        ),
        pytest.param(
            datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
            253_402_300_799_999_999,
            id="last-moment-beyond-float-precision",
        ),
    ],
)
def test_a_moment_is_an_exact_whole_number_of_microseconds(moment: datetime, micros: int) -> None:
    """No float on the way: the last moment of year 9999 is past 2**57 µs, where a float would
    round away the last microsecond and two link orders would tie."""
    found = to_micros(moment)
    assert type(found) is int
    assert found == micros
    assert from_micros(micros) == moment


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
    )
)
def test_microseconds_convert_back_to_the_same_moment(moment: datetime) -> None:
    assert from_micros(to_micros(moment)) == moment
    assert to_micros(moment + timedelta(microseconds=1)) == to_micros(moment) + 1


# --- errors ----------------------------------------------------------------------------------


def test_a_validation_error_shows_every_problem_with_its_field_path() -> None:
    errors = [
        FieldError("event_id", "must not be empty"),
        FieldError("identifiers[1].value", "value must not be empty"),
    ]
    refused = ValidationError(errors)
    assert str(refused) == (
        "event_id: must not be empty; identifiers[1].value: value must not be empty"
    )
    assert refused.errors == errors
    assert isinstance(refused, InvalidInput)


def test_a_validation_error_of_one_field_names_that_field_and_reason() -> None:
    refused = ValidationError.of("timestamp", "is in the future")
    assert refused.errors == [FieldError("timestamp", "is in the future")]
    assert str(refused) == "timestamp: is in the future"


def test_an_identifier_comes_back_from_its_key_whatever_its_value_holds() -> None:
    for identifier in (Identifier("email", "a@b.c"), Identifier("external:crm", "x|y|z"),
                       Identifier("device_id", "")):
        assert Identifier.of_key(identifier.key) == identifier
