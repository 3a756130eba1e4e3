"""Match records: which traits and identifiers an event's record keeps, what it hangs on,
and an id that the same facts always give again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from identity.domain.events import Event, EventType
from identity.domain.identifiers import Blocklist
from identity.domain.matching.blocking import blocking_keys
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.records import MatchRecord, record_of
from identity.domain.types import EventId, Identifier

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
COOKIE = Identifier("anonymous_id", "c1")


def sent(
    *identifiers: Identifier, traits: dict[str, str], event_id: str = "e1", source: str = "web"
) -> Event:
    return Event(
        EventId(event_id), EventType.IDENTIFY, AT, source, identifiers, tuple(traits.items())
    )


def kept(event: Event, placeholders: Blocklist | None = None) -> MatchRecord:
    record = (
        record_of(event, DEFAULT_MODEL)
        if placeholders is None
        else record_of(event, DEFAULT_MODEL, placeholders)
    )
    assert record is not None
    return record


def test_a_record_keeps_the_compared_traits_sorted_and_where_they_came_from() -> None:
    record = kept(
        sent(
            COOKIE,
            traits={
                "last_name": "Okafor",
                "first_name": "Ann",
                "favourite_colour": "blue",
                "city": "",
            },
            event_id="e7",
            source="shop",
        )
    )
    assert record.fields == (("first_name", "Ann"), ("last_name", "Okafor"))
    assert record.values == {"first_name": "Ann", "last_name": "Okafor"}
    assert record.anchor == COOKIE
    assert record.keys == ("0:ann\x1fokafor",)
    assert (record.event_id, record.source, record.seen_at) == ("e7", "shop", AT)


@pytest.mark.parametrize(
    "traits",
    [
        pytest.param({}, id="no-traits"),
        pytest.param({"favourite_colour": "blue"}, id="only-uncompared-traits"),
        pytest.param({"first_name": "unknown", "last_name": "xxx"}, id="only-placeholders"),
        pytest.param({"first_name": ""}, id="only-blanks"),
    ],
)
def test_an_event_without_a_compared_trait_makes_no_record(traits: dict[str, str]) -> None:
    assert (
        record_of(sent(Identifier("email", "ann@shop.com"), traits=traits), DEFAULT_MODEL) is None
    )


def test_placeholder_values_are_left_out() -> None:
    record = kept(
        sent(
            COOKIE,
            traits={
                "first_name": "Ann",
                "last_name": "Unknown",
                "postcode": "00000",
                "date_of_birth": "1970-01-01",
            },
        )
    )
    assert record.fields == (("first_name", "Ann"),)


def test_the_placeholders_can_be_chosen() -> None:
    only_ann = Blocklist(values=frozenset({"ann"}), patterns=())
    record = kept(sent(COOKIE, traits={"first_name": "Ann", "last_name": "Unknown"}), only_ann)
    assert record.fields == (("last_name", "Unknown"),)


def test_identifiers_fill_the_fields_named_like_their_kind_the_strongest_kept() -> None:
    record = kept(
        sent(
            Identifier("email", "zoe@shop.com"),
            Identifier("email", "ann@shop.com"),
            Identifier("phone", "+14155552671;ext=12"),
            Identifier("customer_id", "C-1;2"),
            COOKIE,
            traits={"first_name": "Ann", "email": "typed@example.com", "customer_id": "other"},
        )
    )
    assert record.values == {
        "first_name": "Ann",
        "email": "ann@shop.com",  # the strongest of two, over the typed trait
        "phone": "+14155552671",  # a phone without its extension
        "customer_id": "C-1;2",  # any other kind as it is
    }
    assert record.anchor == Identifier("customer_id", "C-1;2")
    assert record.keys == tuple(blocking_keys(DEFAULT_MODEL.blocking, record.values))
    assert record.keys == ("4:5552671", "5:ann@shop.com")


def test_the_same_facts_make_the_same_record_id() -> None:
    traits = {"first_name": "Ann", "last_name": "Okafor"}
    first = kept(sent(COOKIE, traits=traits, event_id="e1"))
    again = kept(sent(COOKIE, traits=dict(reversed(traits.items())), event_id="e2", source="app"))
    assert first.record_id == again.record_id
    # Stable across versions: records stored by an earlier one are recognised when sent
    # again (the first 32 hex digits of a SHA-256 of the anchor's key and the values).
    assert first.record_id == "rec_d292475e32198db8cc46e4da8838c00a"


@pytest.mark.parametrize(
    ("identifier", "traits"),
    [
        pytest.param(
            Identifier("anonymous_id", "c2"),
            {"first_name": "Ann", "last_name": "Okafor"},
            id="another-anchor",
        ),
        pytest.param(COOKIE, {"first_name": "Ann", "last_name": "Okafur"}, id="another-value"),
        pytest.param(COOKIE, {"first_name": "Ann"}, id="fewer-values"),
    ],
)
def test_other_facts_make_another_record_id(identifier: Identifier, traits: dict[str, str]) -> None:
    ann = kept(sent(COOKIE, traits={"first_name": "Ann", "last_name": "Okafor"}))
    assert kept(sent(identifier, traits=traits)).record_id != ann.record_id
