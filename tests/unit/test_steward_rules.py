"""The domain's part of steward operations: a steward's merge decides first and may raise
the limits it was allowed, no more; a steward's note survives the store as the link's details;
who and why are required, bounded and printable (docs/architecture.md, "Steward
operations")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity.domain.errors import ValidationError
from identity.domain.guards import (
    STRONG,
    ProfileLimits,
    held_reason,
    never_reason,
    order_mark,
)
from identity.domain.links import Evidence, Link, LinkRule
from identity.domain.partition import Candidate, partition
from identity.domain.split import DETERMINISTIC, strength
from identity.domain.steward import MAX_ACTOR_LENGTH, StewardNote, check_note
from identity.domain.types import Identifier

LIMITS = ProfileLimits()
T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
ANN = Identifier("customer_id", "ann")
BOB = Identifier("customer_id", "bob")
CY = Identifier("customer_id", "cy")
ANN_MAIL = Identifier("email", "ann@home.com")
BOB_MAIL = Identifier("email", "bob@home.com")


def link(x: Identifier, y: Identifier, rule: LinkRule, day: int = 0,
         allowed: tuple[tuple[str, int], ...] = ()) -> Candidate:
    a, b = sorted((x, y))
    return Candidate(a, b, rule.value,
                     LIMITS.order(a, b, rule.value, T0 + timedelta(days=day), None), allowed)


def test_a_stewards_merge_is_decided_before_any_link_the_data_made() -> None:
    manual = link(ANN, BOB, LinkRule.MANUAL, day=30)
    strong = link(ANN, ANN_MAIL, LinkRule.SAME_EVENT, day=0)
    assert manual.order < strong.order and manual.order[0] < STRONG
    assert order_mark(manual.order) < order_mark(strong.order)


def test_without_an_allowance_a_stewards_merge_still_meets_the_limits() -> None:
    decided = partition([ANN, BOB], [link(ANN, BOB, LinkRule.MANUAL)], LIMITS)
    assert decided.parts == [[ANN], [BOB]]
    assert decided.held == {(ANN, BOB, "manual"): held_reason("customer_id", 2, 1, BOB)}


def test_an_allowance_lets_the_merge_hold_what_it_brought_and_no_more() -> None:
    merge = link(ANN, BOB, LinkRule.MANUAL, allowed=(("customer_id", 2),))
    later = link(ANN_MAIL, CY, LinkRule.SAME_EVENT, day=5)
    mails = [link(ANN, ANN_MAIL, LinkRule.SAME_EVENT), link(BOB, BOB_MAIL, LinkRule.SAME_EVENT)]
    decided = partition([ANN, BOB, CY], [merge, *mails, later], LIMITS)
    assert decided.parts == [[ANN, BOB, ANN_MAIL, BOB_MAIL], [CY]]
    assert decided.held == {later.key: held_reason("customer_id", 3, 2, ANN_MAIL)}


def test_an_allowance_passes_to_the_part_a_merged_part_joins() -> None:
    """The part the merge made keeps its allowance when a later link joins it to more."""
    merge = link(ANN, BOB, LinkRule.MANUAL, allowed=(("customer_id", 2),))
    mail = link(BOB_MAIL, ANN, LinkRule.SAME_EVENT)
    decided = partition([ANN, BOB, BOB_MAIL], [mail, merge], LIMITS)
    assert decided.parts == [[ANN, BOB, BOB_MAIL]] and decided.held == {}


def test_a_stewards_never_link_holds_the_link_that_would_join_them() -> None:
    why = "kept apart by sam (two people): email ann@home.com and email bob@home.com"
    joining = link(ANN_MAIL, BOB_MAIL, LinkRule.SAME_EVENT)
    decided = partition([ANN_MAIL, BOB_MAIL], [joining], LIMITS,
                        apart=[(ANN_MAIL, BOB_MAIL, why)])
    assert decided.held == {joining.key: never_reason(why, BOB_MAIL)}


def test_an_allowance_below_the_limit_never_lowers_it() -> None:
    assert LIMITS.broken({"email": 5}, {"email": 2}) is None
    assert LIMITS.broken({"email": 6}, {"email": 2}) == ("email", 6, 5)
    assert LIMITS.broken({"customer_id": 2}, {"customer_id": 2}) is None
    assert LIMITS.broken({"customer_id": 2}, {"email": 9}) == ("customer_id", 2, 1)


def evidence(rule: LinkRule, events: int = 1, score: float | None = None) -> Evidence:
    return Evidence(rule, ("web",), T0, T0, ("e",), events, score)


def test_a_stewards_merge_outweighs_any_number_of_links_seen_in_events() -> None:
    manual = strength(Link(ANN, BOB, evidence(LinkRule.MANUAL)))
    busiest = strength(Link(ANN, BOB, evidence(LinkRule.SAME_EVENT, events=10**9)))
    assert manual > busiest * 1000 and busiest > DETERMINISTIC


def test_a_note_survives_its_round_trip_and_other_details_are_no_note() -> None:
    note = StewardNote("sam", "same person", "act_1", (("customer_id", 2),))
    assert StewardNote.from_json(note.to_json()) == note
    assert StewardNote.from_json(None) is None
    assert StewardNote.from_json("not json") is None
    assert StewardNote.from_json('{"fields": []}') is None  # a scored comparison
    assert StewardNote.from_json("[1, 2]") is None


def test_who_and_why_are_required_bounded_and_printable() -> None:
    assert check_note("  sam ", " a reason ") == ("sam", "a reason")
    with pytest.raises(ValidationError) as caught:
        check_note(" ", "x" * 2001)
    assert [(e.field, e.reason) for e in caught.value.errors] == [
        ("actor", "is required: the audit log says who and why"),
        ("reason", "at most 2000 characters, got 2001")]
    with pytest.raises(ValidationError, match="actor: at most 200 characters"):
        check_note("s" * (MAX_ACTOR_LENGTH + 1), "why")
    with pytest.raises(ValidationError, match=r"reason: 'a\\x1b\[2Jb' contains control"):
        check_note("sam", "a\x1b[2Jb")
    with pytest.raises(ValidationError, match=r"actor: .* invisible formatting"):
        check_note("s\u202eam", "why")


COOKIE = Identifier("anonymous_id", "c-0")


def test_a_link_a_stewards_never_link_holds_makes_no_bridge() -> None:
    """The steward put the cookie with the email: it still vouches for the email's side,
    where a cookie a never-link rule holds apart from an account vouches for no one."""
    held = link(ANN, COOKIE, LinkRule.SAME_EVENT, day=0)
    later = link(ANN_MAIL, COOKIE, LinkRule.SAME_EVENT, day=1)
    why = "kept apart by sam (two people): customer_id ann and anonymous_id c-0"
    steward = partition([ANN, COOKIE, ANN_MAIL], [held, later], LIMITS,
                        kept_apart=[(ANN, COOKIE, why)])
    assert steward.parts == [[COOKIE, ANN_MAIL], [ANN]]
    assert steward.held == {held.key: never_reason(why, COOKIE)}
    rule = partition([ANN, COOKIE, ANN_MAIL], [held, later], LIMITS,
                     apart=[(ANN, COOKIE, why)])
    assert rule.parts == [[COOKIE], [ANN], [ANN_MAIL]]


def test_a_note_is_written_with_its_keys_in_one_order_and_read_back_without_who_or_why() -> None:
    note = StewardNote("sam", "why", "act_1", (("email", 6),))
    assert note.to_json() == ('{"action": "act_1", "actor": "sam", "allowed": {"email": 6}, '
                              '"reason": "why"}')
    assert StewardNote.from_json('{"action": "act_2"}') == StewardNote("", "", "act_2")


def test_who_and_why_may_be_as_long_as_their_bounds_and_a_refusal_shows_32_characters() -> None:
    assert check_note("s" * MAX_ACTOR_LENGTH, "r" * 2000) == ("s" * MAX_ACTOR_LENGTH, "r" * 2000)
    with pytest.raises(ValidationError) as caught:
        check_note("sam", "a" * 40 + "\x1b")
    assert caught.value.errors[0].reason == f"'{'a' * 32}...' contains control characters"


def test_one_pair_kept_apart_for_two_reasons_names_the_least_whatever_their_order() -> None:
    joining = link(ANN_MAIL, BOB_MAIL, LinkRule.SAME_EVENT)
    reasons = [(ANN_MAIL, BOB_MAIL, "b: kept apart later"), (ANN_MAIL, BOB_MAIL, "a: first")]
    for given in (reasons, reasons[::-1]):
        decided = partition([ANN_MAIL, BOB_MAIL], [joining], LIMITS, kept_apart=given)
        assert decided.held == {joining.key: never_reason("a: first", BOB_MAIL)}


def test_the_allowance_of_the_smaller_part_holds_in_the_larger_part_it_joins() -> None:
    """Ann and Bob merged over the limit (two accounts, allowed) join a larger part of three
    emails (a steward's merge too, so it is made before the link that joins them)."""
    merge = link(ANN, BOB, LinkRule.MANUAL, allowed=(("customer_id", 2),))
    mails = [Identifier("email", f"m{i}@home.com") for i in range(3)]
    chain = [link(mails[0], mails[1], LinkRule.MANUAL, day=1),
             link(mails[1], mails[2], LinkRule.MANUAL, day=2)]
    bridge = link(BOB, mails[0], LinkRule.SAME_EVENT, day=3)
    decided = partition([ANN, BOB, *mails], [merge, *chain, bridge], LIMITS)
    assert decided.parts == [[ANN, BOB, *mails]] and decided.held == {}
