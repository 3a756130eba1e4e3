"""Consent's domain rules (domain/consent.py): which decision is the latest, what changes,
how an event's `consent` and Segment's categoryPreferences are read, and every refusal's
field and reason."""

from __future__ import annotations

from datetime import UTC, datetime
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.domain.consent import (
    ConsentDecision,
    Purpose,
    changed_purposes,
    consented,
    latest_decisions,
    parse_consent,
    parse_purpose,
    segment_purpose,
)
from identity.domain.errors import FieldError, ValidationError
from identity.domain.events import parse_event
from identity.domain.identifiers import NormalizationRules

T = datetime(2024, 3, 1, tzinfo=UTC)
LATER = datetime(2024, 3, 2, tzinfo=UTC)


def decision(purpose: Purpose, granted: bool, at: datetime, event_id: str) -> ConsentDecision:
    return ConsentDecision(purpose, granted, "web", at, event_id)


def test_the_latest_decision_per_purpose_wins_by_time_then_event_id() -> None:
    early = decision(Purpose.MARKETING, True, LATER, "e-a")
    late = decision(Purpose.MARKETING, False, LATER, "e-b")
    older = decision(Purpose.MARKETING, True, T, "e-z")
    analytics = decision(Purpose.ANALYTICS, True, T, "e-1")
    assert latest_decisions([late, analytics, older, early]) == (late, analytics)
    assert not consented([late, older, early], Purpose.MARKETING)
    assert consented([analytics], Purpose.ANALYTICS)
    assert not consented([], Purpose.ANALYTICS)  # no decision: not consented


def test_on_a_full_tie_the_withdrawal_wins() -> None:
    granted = decision(Purpose.MARKETING, True, T, "e-1")
    withdrawn = decision(Purpose.MARKETING, False, T, "e-1")
    assert latest_decisions([granted, withdrawn]) == latest_decisions([withdrawn, granted]) \
        == (withdrawn,)


decisions = st.lists(st.builds(
    ConsentDecision, st.sampled_from(Purpose), st.booleans(), st.just("web"),
    st.sampled_from([T, LATER]), st.sampled_from(["e-1", "e-2", "e-3"])), max_size=8)


@given(decisions, st.randoms())
def test_the_latest_decisions_do_not_depend_on_the_order(
        found: list[ConsentDecision], random: Random) -> None:
    shuffled = list(found)
    random.shuffle(shuffled)
    assert latest_decisions(shuffled) == latest_decisions(found)


def test_a_change_is_a_purpose_whose_answer_moved() -> None:
    was = [decision(Purpose.MARKETING, True, T, "e-1")]
    assert changed_purposes(was, [*was, decision(Purpose.MARKETING, True, LATER, "e-2")]) == []
    assert changed_purposes(was, [*was, decision(Purpose.MARKETING, False, LATER, "e-2"),
                                  decision(Purpose.ANALYTICS, False, T, "e-2")]) == [
        Purpose.MARKETING, Purpose.ANALYTICS]


def test_an_events_consent_is_read_by_purpose() -> None:
    errors: list[FieldError] = []
    assert parse_consent({"Marketing": True, "sale_sharing": False}, errors) == (
        (Purpose.MARKETING, True), (Purpose.SALE_SHARING, False))
    assert errors == []
    assert parse_consent(None, errors) == ()


@pytest.mark.parametrize(("value", "expected"), [
    (["marketing"], [("consent", 'must be an object of purpose: true or false, such as '
                                 '{"marketing": true}')]),
    ({"marketing": 1}, [("consent.marketing", "must be true (granted) or false (withdrawn)")]),
    ({"ads\x00": True}, [("consent.ads\\x00", "'ads\\x00' is not a purpose: one of "
                          "personalization, marketing, analytics, sale_sharing")]),
    ({"marketing": True, "MARKETING": False}, [("consent", "names one purpose twice")]),
    # Not read as a purpose by str.strip() and str.lower(): a trailing control character
    # (U+001F, U+2028) or a Kelvin sign for the K.
    ({"marketing\x1f": True}, [("consent.marketing\\x1f", "'marketing\\x1f' is not a "
                                 "purpose: one of personalization, marketing, analytics, "
                                 "sale_sharing")]),
    ({"marketing\u2028": True}, [("consent.marketing\\u2028", "'marketing\\u2028' is not a "
                                   "purpose: one of personalization, marketing, analytics, "
                                   "sale_sharing")]),
    ({"mar\u212aeting": True}, [("consent.mar\u212aeting", "'mar\u212aeting' is not a purpose: "
                                  "one of personalization, marketing, analytics, "
                                  "sale_sharing")]),
    ({f"p{i}": True for i in range(5)}, [("consent", "has more than 4 purposes: one of "
                                          "personalization, marketing, analytics, "
                                          "sale_sharing")]),
])
def test_a_bad_consent_is_a_field_error(value: object, expected: list[tuple[str, str]]
                                        ) -> None:
    errors: list[FieldError] = []
    assert parse_consent(value, errors) == ()
    assert [(e.field, e.reason) for e in errors] == expected


def test_a_purpose_named_by_a_caller() -> None:
    assert parse_purpose(" Analytics ") is Purpose.ANALYTICS
    with pytest.raises(ValueError, match="'ads' is not a purpose: one of personalization"):
        parse_purpose("ads")
    with pytest.raises(ValueError, match="a int is not a purpose"):
        parse_purpose(3)


@pytest.mark.parametrize(("category", "purpose"), [
    ("Marketing", Purpose.MARKETING), ("ADVERTISING", Purpose.MARKETING),
    ("DataSharing", Purpose.SALE_SHARING), ("data sharing", Purpose.SALE_SHARING),
    ("personalisation", Purpose.PERSONALIZATION), ("saleSharing", Purpose.SALE_SHARING),
    ("Functional", None), ("C0004", None), (7, None), ("x" * 65, None),
    (" Data-Sharing\t", Purpose.SALE_SHARING), ("data\x1csharing", None),
    ("advertising\x85", None), ("Mar\u212aeting", None),
])
def test_segment_categories_read_as_purposes(category: object, purpose: Purpose | None
                                             ) -> None:
    assert segment_purpose(category) is purpose


def segment(preferences: object) -> dict[str, object]:
    return {"messageId": "m-1", "type": "track", "event": "Viewed", "userId": "U-1",
            "timestamp": "2024-03-01T00:00:00Z",
            "context": {"consent": {"categoryPreferences": preferences}}}


def test_segment_preferences_two_categories_for_one_purpose_keep_the_withdrawal() -> None:
    event = parse_event(segment({"Advertising": True, "Marketing": False}),
                        NormalizationRules())
    assert event.consent == ((Purpose.MARKETING, False),)


def test_segment_preferences_that_are_not_an_object_are_refused_at_their_field() -> None:
    with pytest.raises(ValidationError) as refused:
        parse_event(segment(["Marketing"]), NormalizationRules())
    assert [(e.field, e.reason) for e in refused.value.errors] == [
        ("context.consent.categoryPreferences", "must be an object, got a list")]


def test_ours_refuses_a_bad_consent_with_the_rest_of_the_event() -> None:
    with pytest.raises(ValidationError) as refused:
        parse_event({"event_id": "e-1", "type": "identify", "source": "web",
                     "timestamp": "2024-03-01T00:00:00Z", "consent": {"marketing": "yes"},
                     "identifiers": [{"kind": "email", "value": "ann@northwind.org"}],
                     "amount": "x", "currency": "EUR"}, NormalizationRules())
    assert [e.field for e in refused.value.errors] == ["amount", "consent.marketing"]
