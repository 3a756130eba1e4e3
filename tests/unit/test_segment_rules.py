"""The quality benchmark's peer: Segment's documented identity rules, simulated."""

from __future__ import annotations

from identity.domain.types import Identifier
from load_tests.segment_rules import segment_profiles
from tests.builders import event, ident


def test_an_event_that_would_break_a_limit_drops_its_lowest_priority_identifier() -> None:
    placed = segment_profiles([
        event(ident("customer_id", "ann"), ident("anonymous_id", "tablet-cookie")),
        event(ident("customer_id", "bob"), ident("anonymous_id", "tablet-cookie")),
        event(ident("customer_id", "bob"), ident("email", "bob@x.com")),
        event(ident("email", "bad"), ident("customer_id", "ann")),  # its broken email dropped
    ], {"customer_id": 1, "email": 5})

    ann, bob = Identifier("customer_id", "ann"), Identifier("customer_id", "bob")
    assert placed[Identifier("anonymous_id", "tablet-cookie")] == placed[ann]
    assert placed[bob] != placed[ann]  # the cookie was dropped from Bob's event, not merged
    assert placed[Identifier("email", "bob@x.com")] == placed[bob]


def test_merging_profiles_folds_them_into_one_that_keeps_every_identifier() -> None:
    placed = segment_profiles([
        event(ident("email", "a@x.com"), ident("anonymous_id", "c1")),
        event(ident("email", "b@x.com"), ident("anonymous_id", "c2")),
        event(ident("anonymous_id", "c1"), ident("anonymous_id", "c2")),
    ], {"customer_id": 1, "email": 5})
    assert len(set(placed.values())) == 1 and len(placed) == 4
