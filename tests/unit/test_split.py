"""Where a steward's split cuts a profile: the links the graph believed least, each group of
identifiers kept apart in a part of its own, the same cut whatever order links are read in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.domain.links import Evidence, Link, LinkRule
from identity.domain.split import DETERMINISTIC, SplitPlan, plan_split, strength
from identity.domain.types import Identifier

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def email(name: str) -> Identifier:
    return Identifier("email", f"{name}@x.com")


ANN, ANN2, BOB, BOB2, CAT = email("ann"), email("ann2"), email("bob"), email("bob2"), email("cat")
TABLET = Identifier("device_id", "tablet")


def event_link(a: Identifier, b: Identifier, events: int = 1) -> Link:
    ids = tuple(f"e{n}" for n in range(events))
    return Link(min(a, b), max(a, b), Evidence("same_event", ("web",), T0, T0, ids, events))


def scored_link(a: Identifier, b: Identifier, score: float) -> Link:
    return Link(min(a, b), max(a, b),
                Evidence(LinkRule.PROBABILISTIC, ("crm",), T0, T0, ("e",), 1, score=score))


def pair(a: Identifier, b: Identifier) -> tuple[Identifier, Identifier]:
    return (min(a, b), max(a, b))


def test_a_look_alike_link_goes_before_a_link_seen_in_an_event() -> None:
    """Ann's two emails were seen together; Bob's joined Ann's by a 0.97 look-alike score
    and by a tablet both used: the cheapest cut takes the look-alike link and the tablet's
    one link to Bob, never the event link between Ann's emails."""
    links = [event_link(ANN, ANN2), scored_link(ANN2, BOB, 0.97), event_link(TABLET, ANN, 3),
             event_link(TABLET, BOB), event_link(BOB, BOB2)]

    plan = plan_split([ANN, ANN2, BOB, BOB2, TABLET], links, [[ANN], [BOB]])

    # Parts and pairs come sorted (a device_id before an email, "ann2@" before "ann@").
    assert plan == SplitPlan(cut=[pair(TABLET, BOB), pair(ANN2, BOB)],
                             parts=[[TABLET, ANN2, ANN], [BOB2, BOB]])


def test_no_number_of_look_alike_links_outweighs_one_link_seen_in_an_event() -> None:
    """Three certain look-alikes (3 x 1.0) against one event link: the look-alikes go."""
    cat2, cat3 = email("cat2"), email("cat3")
    links = [event_link(ANN, CAT)] + [scored_link(CAT, x, 1.0) for x in (BOB, cat2, cat3)] + [
        event_link(BOB, cat2), event_link(BOB, cat3)]

    plan = plan_split([ANN, BOB, CAT, cat2, cat3], links, [[ANN], [BOB]])

    assert plan.cut == sorted([pair(CAT, BOB), pair(CAT, cat2), pair(CAT, cat3)])
    assert plan.parts == [[ANN, CAT], [BOB, cat2, cat3]]


def test_of_two_event_links_the_one_seen_in_fewer_events_goes() -> None:
    links = [event_link(ANN, TABLET, 5), event_link(TABLET, BOB, 2)]

    plan = plan_split([ANN, BOB, TABLET], links, [[ANN], [BOB]])

    assert plan.cut == [pair(TABLET, BOB)]


def test_three_groups_each_end_in_a_part_of_their_own() -> None:
    links = [event_link(TABLET, x) for x in (ANN, BOB, CAT)] + [event_link(ANN, ANN2)]

    plan = plan_split([ANN, ANN2, BOB, CAT, TABLET], links, [[ANN, ANN2], [BOB], [CAT]])

    parts_of = {node: i for i, part in enumerate(plan.parts) for node in part}
    assert len({parts_of[ANN], parts_of[BOB], parts_of[CAT]}) == 3
    assert parts_of[ANN] == parts_of[ANN2]
    assert pair(ANN, ANN2) not in plan.cut


def test_groups_already_apart_need_no_cut() -> None:
    plan = plan_split([ANN, BOB, TABLET], [event_link(ANN, TABLET)], [[ANN], [BOB]])

    assert plan == SplitPlan(cut=[], parts=[[TABLET, ANN], [BOB]])


def test_links_leaving_the_profile_are_not_cut_and_not_counted() -> None:
    outsider = email("out")
    links = [event_link(ANN, BOB), event_link(BOB, outsider)]

    plan = plan_split([ANN, BOB], links, [[ANN], [BOB]])

    assert plan == SplitPlan(cut=[pair(ANN, BOB)], parts=[[ANN], [BOB]])


@pytest.mark.parametrize(
    ("sides", "message"),
    [
        ([[ANN]], "a split needs at least two groups of identifiers to keep apart"),
        ([[ANN], []], "group 2 of the split is empty"),
        ([[ANN], [CAT]], "email 'cat@x.com' (group 2) is not a member of the profile"),
        ([[ANN, BOB], [BOB]], "email 'bob@x.com' is in more than one group"),
    ],
)
def test_a_split_that_cannot_be_made_is_refused_saying_why(
    sides: list[list[Identifier]], message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        plan_split([ANN, BOB], [event_link(ANN, BOB)], sides)
    assert str(refused.value) == message


POOL = [ANN, ANN2, BOB, BOB2, CAT, TABLET]
LINKS = st.lists(
    st.tuples(st.sampled_from(POOL), st.sampled_from(POOL), st.integers(1, 3)).filter(
        lambda t: t[0] != t[1]),
    max_size=10,
).map(lambda found: list({pair(a, b): event_link(a, b, n) for a, b, n in found}.values()))


@settings(max_examples=40, deadline=None)
@given(links=LINKS, data=st.data())
def test_the_cut_depends_on_the_links_not_the_order_they_are_read_in(
    links: list[Link], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(links), label="read order")
    sides = [[ANN], [BOB], [CAT]]

    plan = plan_split(POOL, links, sides)

    assert plan == plan_split(list(reversed(POOL)), shuffled, sides)
    parts_of = {node: i for i, part in enumerate(plan.parts) for node in part}
    assert len({parts_of[ANN], parts_of[BOB], parts_of[CAT]}) == 3
    cut = set(plan.cut)
    for link in links:  # a link is cut exactly when its ends end up apart
        assert (pair(link.a, link.b) in cut) == (parts_of[link.a] != parts_of[link.b])


def test_a_links_strength_is_its_tier_then_its_events_or_its_score() -> None:
    """Events count within the tier and never reach the next one, however many."""
    possible = Link(ANN, BOB, Evidence(LinkRule.POSSIBLE_MATCH, ("crm",), T0, T0, ("e",), 1))
    many = Link(ANN, BOB, Evidence("same_event", ("web",), T0, T0, ("e",), 5_000_000))

    assert strength(event_link(ANN, BOB, 3)) == DETERMINISTIC + 3 / DETERMINISTIC
    assert strength(many) == DETERMINISTIC + (DETERMINISTIC - 1) / DETERMINISTIC
    assert strength(scored_link(ANN, BOB, 0.97)) == 0.97
    assert strength(possible) == 0.0


def test_two_links_seen_once_outweigh_one_seen_many_times() -> None:
    """Ann reaches Bob through one link seen in five events, or through two seen once each
    (in parallel): cutting the one link is cheaper than cutting both."""
    links = [event_link(ANN, TABLET, 5), event_link(TABLET, BOB, 1), event_link(TABLET, CAT, 1),
             event_link(CAT, BOB, 1)]

    plan = plan_split([ANN, BOB, CAT, TABLET], links, [[ANN], [BOB]])

    assert plan.cut == [pair(TABLET, ANN)]


@pytest.mark.parametrize("scored_first", [True, False])
def test_two_rules_over_one_pair_add_their_strengths(scored_first: bool) -> None:
    """Ann and Cat were seen together and look alike: that pair outweighs Cat's one event
    link to Bob, whichever of its two links is read first."""
    both = [scored_link(ANN, CAT, 0.9), event_link(ANN, CAT)]
    links = (both if scored_first else both[::-1]) + [event_link(CAT, BOB)]

    plan = plan_split([ANN, BOB, CAT], links, [[ANN], [BOB]])

    assert plan == SplitPlan(cut=[pair(BOB, CAT)], parts=[[ANN, CAT], [BOB]])


def test_two_groups_are_cut_once_not_once_from_each_side() -> None:
    """A chain of equal links: one link goes, and the profile becomes two parts, not three."""
    links = [event_link(ANN, TABLET), event_link(TABLET, BOB)]

    plan = plan_split([ANN, BOB, TABLET], links, [[ANN], [BOB]])

    assert len(plan.cut) == 1
    assert len(plan.parts) == 2
