"""Which links join and which a per-profile limit or a never-link rule holds apart
(docs/architecture.md, invariants 3 and 7): domain.partition on its own, no store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from identity.domain.guards import ProfileLimits, held_reason, never_reason, shared_reason
from identity.domain.links import LinkRule
from identity.domain.partition import Candidate, LinkKey, Partition, partition
from identity.domain.types import Identifier

LIMITS = ProfileLimits()
T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)

ANN = Identifier("customer_id", "ann")
BOB = Identifier("customer_id", "bob")
ANN_MAIL = Identifier("email", "ann@home.com")
BOB_MAIL = Identifier("email", "bob@home.com")
TABLET = Identifier("device_id", "tablet")
COOKIE = Identifier("anonymous_id", "c-1")
SESSION = Identifier("session_id", "s-1")


def email(n: int) -> Identifier:
    return Identifier("email", f"e{n}@x.com")


def seen(x: Identifier, y: Identifier, day: int, limits: ProfileLimits = LIMITS) -> Candidate:
    """A link seen in an event on day `day`, stored as links are: its smaller end first."""
    a, b = sorted((x, y))
    rule = LinkRule.SAME_EVENT.value
    return Candidate(a, b, rule, limits.order(a, b, rule, T0 + timedelta(days=day), None))


def key(x: Identifier, y: Identifier) -> LinkKey:
    return seen(x, y, 0).key


# --- parts and the links that built them -----------------------------------------------------


def test_parts_are_sorted_and_ordered_by_their_smallest_member() -> None:
    """Deterministic output: the same set of links gives the same list, whatever order the
    nodes came in."""
    result = partition([TABLET, BOB_MAIL, ANN, SESSION], [seen(BOB_MAIL, SESSION, 1)], LIMITS)

    assert result == Partition(
        parts=[[ANN], [TABLET], [BOB_MAIL, SESSION]],
        held={},
        joined=[key(BOB_MAIL, SESSION)],
    )


def test_the_ends_of_links_and_never_link_pairs_are_parts_even_when_not_listed() -> None:
    result = partition(
        [], [seen(email(1), email(2), 1)], LIMITS, apart=[(email(3), email(4), "a rule")]
    )

    assert result.parts == [[email(1), email(2)], [email(3)], [email(4)]]


def test_links_join_in_their_order_and_a_link_inside_one_part_joins_nothing() -> None:
    """`joined` says how the profile was built, in the links' order, not the input's; a
    link closing a cycle is skipped, and the links after it still join."""
    e1, e2, e3, e4 = email(1), email(2), email(3), email(4)
    links = [seen(e3, e4, 4), seen(e1, e3, 3), seen(e2, e3, 2), seen(e1, e2, 1)]

    result = partition([e1, e2, e3, e4], links, LIMITS)

    assert result == Partition([[e1, e2, e3, e4]], {}, [key(e1, e2), key(e2, e3), key(e3, e4)])


# --- per-profile limits ----------------------------------------------------------------------


def test_a_link_that_would_give_a_profile_two_accounts_is_held_with_the_reason() -> None:
    """The reason names the kind, how many the profile would hold, the limit, and the
    link's weaker end (by kind priority, not by name: a device yields before an email); the
    links after it are still decided."""
    links = [
        seen(ANN, ANN_MAIL, 1),
        seen(BOB, TABLET, 2),
        seen(TABLET, ANN_MAIL, 3),
        seen(COOKIE, BOB, 4),
    ]

    result = partition([ANN, ANN_MAIL, BOB, COOKIE, TABLET], links, LIMITS)

    assert result == Partition(
        parts=[[COOKIE, BOB, TABLET], [ANN, ANN_MAIL]],
        held={key(TABLET, ANN_MAIL): held_reason("customer_id", 2, 1, TABLET)},
        joined=[key(ANN, ANN_MAIL), key(BOB, TABLET), key(COOKIE, BOB)],
    )
    assert result.held[key(TABLET, ANN_MAIL)] == (
        "per-profile limit: joining would make one profile hold 2 customer_id identifiers "
        "(limit 1); the link through device_id tablet stays inactive"
    )


def test_the_held_reason_names_the_weaker_end_whichever_side_of_the_link_it_is() -> None:
    """An account seen with another account's email: the email (the link's second end)
    is the weaker one."""
    links = [seen(BOB, BOB_MAIL, 1), seen(ANN, BOB_MAIL, 2)]

    result = partition([ANN, BOB, BOB_MAIL], links, LIMITS)

    assert result.parts == [[ANN], [BOB, BOB_MAIL]]
    assert result.held == {key(ANN, BOB_MAIL): held_reason("customer_id", 2, 1, BOB_MAIL)}


def test_a_limit_counts_every_identifier_of_both_parts() -> None:
    """Three emails may join, the fourth may not: the count is the sum over both parts."""
    limits = ProfileLimits({"email": 3})
    e1, e2, e3, e4, e5 = (email(n) for n in range(1, 6))
    links = [
        seen(e1, e2, 1, limits),
        seen(e3, e4, 2, limits),
        seen(e2, e5, 3, limits),
        seen(e2, e3, 4, limits),
    ]

    result = partition([e1, e2, e3, e4, e5], links, limits)

    assert result.parts == [[e1, e2, e5], [e3, e4]]
    assert result.held == {key(e2, e3): held_reason("email", 5, 3, e3)}
    assert result.joined == [key(e1, e2), key(e3, e4), key(e2, e5)]


# --- bridges: a weak identifier held apart from a strong one vouches for no one --------------


def test_a_tablet_two_accounts_share_vouches_for_no_later_weak_link() -> None:
    """The tablet joins Ann's account first; held from Bob's, it is a bridge, so a cookie
    and a session seen on it later belong to no one. The reason names the other end, on
    whichever side of the link the tablet is."""
    links = [
        seen(TABLET, ANN, 1),
        seen(TABLET, BOB, 2),
        seen(TABLET, SESSION, 3),
        seen(COOKIE, TABLET, 4),
    ]

    result = partition([ANN, BOB, TABLET, SESSION, COOKIE], links, LIMITS)

    assert result == Partition(
        parts=[[COOKIE], [ANN, TABLET], [BOB], [SESSION]],
        held={
            key(TABLET, BOB): held_reason("customer_id", 2, 1, TABLET),
            key(TABLET, SESSION): shared_reason(TABLET, SESSION),
            key(COOKIE, TABLET): shared_reason(TABLET, COOKIE),
        },
        joined=[key(TABLET, ANN)],
    )
    assert result.held[key(TABLET, SESSION)] == (
        "shared: device_id tablet is seen with identifiers a per-profile limit keeps apart, "
        "so it does not say whose session_id s-1 is"
    )


def test_a_held_link_between_two_strong_identifiers_makes_no_bridge() -> None:
    """Bob's email held from Ann's account is still Bob's: a cookie seen with it joins."""
    links = [
        seen(BOB, BOB_MAIL, 1),
        seen(ANN, ANN_MAIL, 2),
        seen(ANN_MAIL, BOB_MAIL, 3),
        seen(COOKIE, BOB_MAIL, 4),
        seen(COOKIE, ANN_MAIL, 5),
    ]

    result = partition([ANN, ANN_MAIL, BOB, BOB_MAIL, COOKIE], links, LIMITS)

    assert result.parts == [[COOKIE, BOB, BOB_MAIL], [ANN, ANN_MAIL]]
    assert result.held == {
        key(ANN_MAIL, BOB_MAIL): held_reason("customer_id", 2, 1, BOB_MAIL),
        key(COOKIE, ANN_MAIL): held_reason("customer_id", 2, 1, COOKIE),
    }


def test_a_held_link_between_two_weak_identifiers_makes_no_bridge() -> None:
    """A second cookie held from a session by the cookie limit is no bridge between
    people: a later session seen with it still joins it."""
    limits = ProfileLimits({"anonymous_id": 1})
    cookie2, session2 = Identifier("anonymous_id", "c-2"), Identifier("session_id", "s-2")
    links = [
        seen(COOKIE, SESSION, 1, limits),
        seen(cookie2, SESSION, 2, limits),
        seen(cookie2, session2, 3, limits),
    ]

    result = partition([COOKIE, cookie2, SESSION, session2], links, limits)

    assert result.parts == [[COOKIE, SESSION], [cookie2, session2]]
    assert result.held == {key(cookie2, SESSION): held_reason("anonymous_id", 2, 1, SESSION)}


def test_a_link_held_before_joins_nothing_but_makes_a_bridge_from_its_place_on() -> None:
    """A link leaving the region (the tablet to Bob's account, held already) is not
    decided again, not reported, and joins nothing; Ann's account, seen on the tablet
    before it, still joins, a session seen after it does not."""
    links = [seen(TABLET, ANN, 1), seen(TABLET, SESSION, 3)]

    result = partition([ANN, TABLET, SESSION], links, LIMITS, held_before=[seen(TABLET, BOB, 2)])

    assert result == Partition(
        parts=[[ANN, TABLET], [SESSION]],
        held={key(TABLET, SESSION): shared_reason(TABLET, SESSION)},
        joined=[key(TABLET, ANN)],
    )


# --- never-link rules ------------------------------------------------------------------------


def test_a_never_link_pair_is_held_apart_by_the_link_that_would_join_them() -> None:
    """Twins' emails, vetoed, seen on one tablet: the second link is held with the rule's
    words, and the tablet, held from a strong identifier, vouches for no later session."""
    why = "vetoed: twins"
    links = [seen(TABLET, ANN_MAIL, 1), seen(TABLET, BOB_MAIL, 2), seen(TABLET, SESSION, 3)]

    result = partition(
        [ANN_MAIL, BOB_MAIL, TABLET, SESSION], links, LIMITS, apart=[(ANN_MAIL, BOB_MAIL, why)]
    )

    assert result == Partition(
        parts=[[TABLET, ANN_MAIL], [BOB_MAIL], [SESSION]],
        held={
            key(TABLET, BOB_MAIL): never_reason(why, TABLET),
            key(TABLET, SESSION): shared_reason(TABLET, SESSION),
        },
        joined=[key(TABLET, ANN_MAIL)],
    )
    assert result.held[key(TABLET, BOB_MAIL)] == (
        "never link: vetoed: twins, so the link through device_id tablet stays inactive"
    )


def test_a_never_link_pair_stays_apart_whatever_path_closes_between_them() -> None:
    """e1 and e9 are two people; e1 joins e2, e9 joins a larger part; the link between
    the two parts is held, though neither of its ends is in the pair. Links that bring
    no pair together join as usual."""
    e1, e2, e7, e8, e9 = email(1), email(2), email(7), email(8), email(9)
    links = [seen(e1, e2, 1), seen(e7, e9, 2), seen(e7, e8, 3), seen(e2, e7, 4)]

    result = partition([e1, e2, e7, e8, e9], links, LIMITS, apart=[(e1, e9, "w")])

    assert result == Partition(
        parts=[[e1, e2], [e7, e8, e9]],
        held={key(e2, e7): never_reason("w", e7)},
        joined=[key(e1, e2), key(e7, e9), key(e7, e8)],
    )


# --- the invariants, for any set of links ----------------------------------------------------

POOL = [
    ANN,
    BOB,
    ANN_MAIL,
    BOB_MAIL,
    email(3),
    TABLET,
    COOKIE,
    SESSION,
    Identifier("device_id", "phone"),
    Identifier("session_id", "s-2"),
]
SMALL_LIMITS = ProfileLimits({"customer_id": 1, "email": 2, "device_id": 1, "session_id": 1})
LINKS = st.lists(
    st.tuples(st.sampled_from(POOL), st.sampled_from(POOL), st.integers(1, 30)).filter(
        lambda t: t[0] != t[1]
    ),
    max_size=12,
).map(
    lambda found: list(
        {
            seen(x, y, d, SMALL_LIMITS).key[:2]: seen(x, y, d, SMALL_LIMITS) for x, y, d in found
        }.values()
    )
)


@settings(max_examples=25)
@given(links=LINKS, data=st.data())
def test_the_partition_depends_on_the_links_not_their_input_order(
    links: list[Candidate], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(links), label="input order")

    result = partition(POOL, shuffled, SMALL_LIMITS)

    assert result == partition(list(reversed(POOL)), links, SMALL_LIMITS)
    assert sorted(node for part in result.parts for node in part) == sorted(POOL)
    for part in result.parts:
        kinds = [node.kind for node in part]
        assert SMALL_LIMITS.broken({kind: kinds.count(kind) for kind in kinds}) is None
    by_key = {link.key: link for link in links}
    assert sorted(result.joined, key=lambda k: by_key[k].order) == result.joined
    assert len(result.joined) == len(POOL) - len(result.parts)
    assert not set(result.joined) & set(result.held)


APART = st.lists(
    st.tuples(st.sampled_from(POOL), st.sampled_from(POOL), st.sampled_from("abc")).filter(
        lambda t: t[0] != t[1]
    ),
    max_size=4,
)


@settings(max_examples=60)
@given(links=LINKS, apart=APART, data=st.data())
def test_what_is_held_and_why_depends_on_the_never_link_pairs_not_their_order(
    links: list[Candidate], apart: list[tuple[Identifier, Identifier, str]], data: st.DataObject
) -> None:
    """Two never-link pairs may forbid one join; the reason the held link names is the same
    whatever order the store hands the pairs over in (the reason is stored and shown)."""
    shuffled = data.draw(st.permutations(apart), label="never-link order")
    flipped = [(b, a, why) for a, b, why in shuffled]

    result = partition(POOL, links, SMALL_LIMITS, apart=apart)

    assert result == partition(POOL, links, SMALL_LIMITS, apart=flipped)


def test_of_two_never_link_rules_forbidding_one_join_the_held_link_names_the_same_one() -> None:
    """e1 is vetoed from both e3 and e4, which are one part: whichever pair the store lists
    first, the link that would join them is held with one and the same rule's words."""
    e1, e3, e4 = email(1), email(3), email(4)
    links = [seen(e3, e4, 1), seen(e1, e3, 2)]
    one_order = [(e1, e3, "rule b"), (e1, e4, "rule a")]

    first = partition([e1, e3, e4], links, LIMITS, apart=one_order)
    second = partition([e1, e3, e4], links, LIMITS, apart=list(reversed(one_order)))

    assert first == second
    assert first.held == {key(e1, e3): never_reason("rule a", e3)}
