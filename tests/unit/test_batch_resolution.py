"""One batch of events resolved in memory (domain.batch_resolution): what each join reports,
what the plan says to write, and when the fast path of the per-profile limits admits a join
(docs/architecture.md, invariants 2 and 7)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import pytest

from identity.domain.batch_resolution import BatchPlan, BatchResolution, Joined
from identity.domain.changes import ChangeKind
from identity.domain.guards import LinkOrder, ProfileLimits, order_mark
from identity.domain.links import LinkRule
from identity.domain.resolution import GroupMakeup, GroupState
from identity.domain.types import Identifier, ProfileId

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
LIMITS = ProfileLimits()

ANN = Identifier("customer_id", "ann")
BOB = Identifier("customer_id", "bob")
ANN_MAIL = Identifier("email", "ann@home.com")
TABLET = Identifier("device_id", "tablet")
COOKIE = Identifier("anonymous_id", "c-1")


def pid(name: str) -> ProfileId:
    return ProfileId(name)


def stored(group_id: int, seq: int, size: int) -> GroupState:
    """A stored group; its public id says how old it is: p-1 is the oldest."""
    return GroupState(group_id, pid(f"p-{seq}"), seq, size)


def new_ids() -> Callable[[], ProfileId]:
    made = iter(range(1, 100))
    return lambda: pid(f"new-{next(made)}")


def node(name: str) -> Identifier:
    return Identifier("anonymous_id", name)


def batch(node_groups: Mapping[Identifier, int | None], *groups: GroupState) -> BatchResolution:
    return BatchResolution(node_groups, groups, new_ids())


def order(day: int, a: Identifier = ANN, b: Identifier = ANN_MAIL) -> LinkOrder:
    return LIMITS.order(a, b, LinkRule.SAME_EVENT.value, T0 + timedelta(days=day), None)


# --- joins and what they report --------------------------------------------------------------


def test_an_event_of_unknown_identifiers_creates_a_profile_per_part() -> None:
    """New groups are named -1, -2... in the order `new_profiles` creates them."""
    a, b, c = node("a"), node("b"), node("c")
    resolution = batch({a: None, b: None, c: None})

    assert resolution.join([a, b], carries_data=False) == Joined(
        pid("new-1"), (), ChangeKind.CREATED, (a, b)
    )
    assert resolution.join([c], carries_data=True) == Joined(pid("new-2"), (), ChangeKind.CREATED,
                                                             (c,))
    assert (resolution.group_of(a), resolution.group_of(c)) == (-1, -2)
    assert resolution.plan() == BatchPlan(
        new_profiles=(pid("new-1"), pid("new-2")),
        moves=(),
        placements=((a, -1), (b, -1), (c, -2)),
        relabels=(),
    )


@pytest.mark.parametrize(
    ("with_newcomer", "carries_data", "change"),
    [
        pytest.param(False, False, None, id="nothing-new"),
        pytest.param(False, True, ChangeKind.UPDATED, id="new-data"),
        pytest.param(True, False, ChangeKind.UPDATED, id="new-identifier"),
        pytest.param(True, True, ChangeKind.UPDATED, id="both"),
    ],
)
def test_an_event_within_one_profile_updates_it_only_when_it_brings_something_new(
    with_newcomer: bool, carries_data: bool, change: ChangeKind | None
) -> None:
    known, fresh = node("known"), node("fresh")
    resolution = batch({known: 7, fresh: None}, stored(7, seq=3, size=1))
    part = [known, fresh] if with_newcomer else [known]

    assert resolution.join(part, carries_data=carries_data) == Joined(
        pid("p-3"), (), change, (fresh,) if with_newcomer else ())
    assert resolution.plan() == BatchPlan(
        new_profiles=(),
        moves=(),
        placements=((fresh, 7),) if with_newcomer else (),
        relabels=(),
    )


def test_a_merge_keeps_the_oldest_id_and_moves_the_members_into_the_largest_group() -> None:
    x, y, z = node("x"), node("y"), node("z")
    resolution = batch(
        {x: 10, y: 11, z: None}, stored(10, seq=5, size=3), stored(11, seq=1, size=1)
    )

    joined = resolution.join([z, y, x], carries_data=False)

    assert joined == Joined(pid("p-1"), (pid("p-5"),), ChangeKind.MERGED, (z,))
    assert resolution.group_of(y) == 10
    assert resolution.plan() == BatchPlan(
        new_profiles=(),
        moves=((11, 10),),
        placements=((z, 10),),
        relabels=((10, pid("p-1"), (pid("p-5"),)),),
    )


def test_merges_in_one_batch_chain_through_their_roots() -> None:
    """a's group folds into b's (a size tie: the older id contains), b's takes c's (sizes
    add up: 2 against 2, still a tie), then d's larger group takes them all: every move
    lands at the final root, only that root is relabelled, with every id folded into it,
    and it keeps the oldest id of all."""
    a, b, c, d = node("a"), node("b"), node("c"), node("d")
    resolution = batch(
        {a: 1, b: 2, c: 3, d: 4},
        stored(1, seq=3, size=1),
        stored(2, seq=1, size=1),
        stored(3, seq=2, size=2),
        stored(4, seq=4, size=9),
    )

    assert resolution.join([a, b], carries_data=False) == Joined(
        pid("p-1"), (pid("p-3"),), ChangeKind.MERGED
    )
    assert resolution.join([b, c], carries_data=False) == Joined(
        pid("p-1"), (pid("p-2"),), ChangeKind.MERGED
    )
    assert resolution.join([c, d], carries_data=False) == Joined(
        pid("p-1"), (pid("p-4"),), ChangeKind.MERGED
    )

    assert [resolution.group_of(n) for n in (a, b, c, d)] == [4, 4, 4, 4]
    assert resolution.plan() == BatchPlan(
        new_profiles=(),
        moves=((1, 4), (3, 4), (2, 4)),
        placements=(),
        relabels=((4, pid("p-1"), (pid("p-2"), pid("p-3"), pid("p-4"))),),
    )


def test_a_profile_created_in_the_batch_is_younger_than_every_stored_one() -> None:
    """Created, then merged with a stored profile of the same size: the stored id survives
    and its group contains; the new group is still created, so the id reported for the
    first event keeps resolving."""
    n, s = node("n"), node("s")
    resolution = batch({n: None, s: 7}, stored(7, seq=7, size=1))

    assert resolution.join([n], carries_data=False).profile_id == pid("new-1")
    assert resolution.join([n, s], carries_data=False) == Joined(
        pid("p-7"), (pid("new-1"),), ChangeKind.MERGED
    )
    assert resolution.plan() == BatchPlan(
        new_profiles=(pid("new-1"),),
        moves=((-1, 7),),
        placements=((n, 7),),
        relabels=((7, pid("p-7"), (pid("new-1"),)),),
    )


def test_profiles_created_in_one_batch_are_ordered_among_themselves() -> None:
    """The first created is the older: it survives their merge; the stored profile, older
    still, survives the next; placements go to the final root."""
    n1, n2, s = node("n1"), node("n2"), node("s")
    resolution = batch({n1: None, n2: None, s: 7}, stored(7, seq=7, size=5))

    resolution.join([n1], carries_data=False)
    resolution.join([n2], carries_data=False)
    assert resolution.join([n2, n1], carries_data=False) == Joined(
        pid("new-1"), (pid("new-2"),), ChangeKind.MERGED
    )
    assert resolution.join([n2, s], carries_data=False) == Joined(
        pid("p-7"), (pid("new-1"),), ChangeKind.MERGED
    )

    assert resolution.plan() == BatchPlan(
        new_profiles=(pid("new-1"), pid("new-2")),
        moves=((-2, 7), (-1, 7)),
        placements=((n1, 7), (n2, 7)),
        relabels=((7, pid("p-7"), (pid("new-1"), pid("new-2"))),),
    )


@pytest.mark.parametrize(
    ("stored_size", "moves"),
    [
        pytest.param(2, ((-1, 7),), id="a-tie-goes-to-the-older-stored-group"),
        pytest.param(1, ((7, -1),), id="the-larger-new-group-contains"),
    ],
)
def test_a_group_created_in_the_batch_counts_its_members(
    stored_size: int, moves: tuple[tuple[int, int], ...]
) -> None:
    """Two new identifiers make a group of two: against a stored group of two it is a tie,
    which the older stored profile wins; against a group of one it contains."""
    n1, n2, s = node("n1"), node("n2"), node("s")
    resolution = batch({n1: None, n2: None, s: 7}, stored(7, seq=7, size=stored_size))

    resolution.join([n1, n2], carries_data=False)
    resolution.join([n1, s], carries_data=False)

    assert resolution.plan().moves == moves


def test_a_node_without_a_group_belongs_to_none() -> None:
    assert batch({node("x"): None}).group_of(node("x")) is None


# --- admits: the fast path of the per-profile limits -----------------------------------------


def limited(
    node_groups: Mapping[Identifier, int | None],
    makeup: Mapping[int, GroupMakeup],
    *groups: GroupState,
    limits: ProfileLimits | None = LIMITS,
    bridges: tuple[Identifier, ...] = (),
) -> BatchResolution:
    return BatchResolution(node_groups, groups, new_ids(), makeup, limits, bridges)


ANN_AND_BOB = {ANN: 1, ANN_MAIL: 1, BOB: 2, TABLET: None, COOKIE: None}
ACCOUNTS = {1: GroupMakeup({"customer_id": 1, "email": 1}), 2: GroupMakeup({"customer_id": 1})}


@pytest.mark.parametrize(
    ("part", "admitted"),
    [
        pytest.param([ANN_MAIL, TABLET], True, id="a-device-joins-ann"),
        pytest.param([ANN, ANN_MAIL, COOKIE], True, id="members-count-once"),
        pytest.param([ANN_MAIL, BOB], False, id="two-accounts"),
        pytest.param(
            [TABLET, BOB, Identifier("customer_id", "cy")], False, id="a-new-account-counts"
        ),
    ],
)
def test_a_join_is_admitted_when_the_joined_profile_keeps_within_every_limit(
    part: list[Identifier], admitted: bool
) -> None:
    resolution = limited(
        {**ANN_AND_BOB, Identifier("customer_id", "cy"): None},
        ACCOUNTS,
        stored(1, seq=1, size=2),
        stored(2, seq=2, size=1),
    )

    assert resolution.admits(part, order(5)) is admitted


def test_without_limits_every_join_is_admitted() -> None:
    resolution = limited(
        ANN_AND_BOB, ACCOUNTS, stored(1, seq=1, size=2), stored(2, seq=2, size=1), limits=None
    )

    assert resolution.admits([ANN, BOB], order(5)) is True


def test_a_group_whose_counts_do_not_add_up_to_its_size_is_left_to_settle() -> None:
    """Bob's group has a member but the store counted none of its kinds: the counts cannot
    be trusted to keep two accounts apart, so the fast path admits nothing (fail closed)."""
    resolution = limited(
        {ANN: 1, BOB: 2, ANN_MAIL: None},
        {1: GroupMakeup({"customer_id": 1})},
        stored(1, seq=1, size=1),
        stored(2, seq=2, size=1),
    )

    assert resolution.admits([ANN, BOB], order(5)) is False
    assert resolution.admits([ANN, ANN_MAIL], order(5)) is True


def test_a_join_through_a_bridge_is_never_admitted_here() -> None:
    """The tablet a limit holds apart from someone vouches for no one: settle decides."""
    resolution = limited(
        ANN_AND_BOB, ACCOUNTS, stored(1, seq=1, size=2), stored(2, seq=2, size=1), bridges=(TABLET,)
    )

    assert resolution.admits([ANN_MAIL, TABLET], order(5)) is False
    assert resolution.admits([ANN_MAIL, COOKIE], order(5)) is True


@pytest.mark.parametrize(
    ("held_day", "admitted"),
    [
        pytest.param(4, True, id="held-before-the-new-links"),
        pytest.param(5, False, id="held-at-the-same-place"),
        pytest.param(6, False, id="held-after-the-new-links"),
    ],
)
def test_a_join_is_not_admitted_when_a_held_link_comes_at_or_after_the_new_ones(
    held_day: int, admitted: bool
) -> None:
    """A held link decided after the new ones might be decided otherwise once they join."""
    makeup = {1: GroupMakeup({"customer_id": 1}, order_mark(order(held_day)))}
    resolution = limited({ANN: 1, COOKIE: None}, makeup, stored(1, seq=1, size=1))

    assert resolution.admits([ANN, COOKIE], order(5)) is admitted


def test_a_merge_in_the_batch_keeps_the_latest_held_mark_and_every_count() -> None:
    """Ann's group folds into the cookie's larger one: the merged profile holds her account
    and the latest held mark of both groups."""
    cookie_group = {2: GroupMakeup({"anonymous_id": 1}, order_mark(order(3)))}
    makeup = {1: GroupMakeup({"customer_id": 1}, order_mark(order(9))), **cookie_group}
    resolution = limited(
        {ANN: 1, COOKIE: 2, BOB: None, TABLET: None},
        makeup,
        stored(1, seq=1, size=1),
        stored(2, seq=2, size=1),
    )

    resolution.join([ANN, COOKIE], carries_data=False)

    assert resolution.admits([COOKIE, TABLET], order(8)) is False
    assert resolution.admits([COOKIE, TABLET], order(10)) is True
    assert resolution.admits([COOKIE, BOB], order(10)) is False


def test_a_merge_of_groups_without_held_links_keeps_none() -> None:
    makeup = {1: GroupMakeup({"customer_id": 1}), 2: GroupMakeup({"anonymous_id": 1})}
    resolution = limited(
        {ANN: 1, COOKIE: 2, TABLET: None},
        makeup,
        stored(1, seq=1, size=1),
        stored(2, seq=2, size=1),
    )

    resolution.join([ANN, COOKIE], carries_data=False)

    assert resolution.admits([COOKIE, TABLET], order(1)) is True


def test_identifiers_placed_in_the_batch_count_toward_the_limits() -> None:
    """Two emails allowed: Ann has one, a second joins her; a third may not, while the
    profile as it now stands is still admitted."""
    limits = ProfileLimits({"email": 2})
    second, third = Identifier("email", "ann@work.com"), Identifier("email", "ann@old.com")
    resolution = limited(
        {ANN: 1, second: None, third: None},
        {1: GroupMakeup({"customer_id": 1, "email": 1})},
        stored(1, seq=1, size=2),
        limits=limits,
    )

    resolution.join([ANN, second], carries_data=False)

    assert resolution.admits([ANN, second], order(5)) is True
    assert resolution.admits([ANN, third], order(5)) is False
