"""Hub detection and the split plan (docs/architecture.md, invariants 7 and 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.domain.guards import (
    HubRules,
    ProfileLimits,
    held_kind,
    held_reason,
    hub_reason,
    order_mark,
)
from identity.domain.resolution import components, plan_split
from identity.domain.types import Identifier

DEVICE = Identifier("device_id", "tablet")


def ids(kind: str, count: int) -> list[Identifier]:
    return [Identifier(kind, f"{kind}-{i}") for i in range(count)]


@pytest.mark.parametrize(
    ("neighbors", "expected"),
    [
        pytest.param(ids("customer_id", 1), None, id="one-account"),
        pytest.param(
            ids("customer_id", 2),
            "hub: linked to 2 distinct customer_id identifiers (limit 1)",
            id="two-accounts",
        ),
        pytest.param(ids("email", 3), None, id="three-emails-within-limit"),
        pytest.param(
            ids("email", 4),
            "hub: linked to 4 distinct email identifiers (limit 3)",
            id="four-emails",
        ),
        pytest.param(
            ids("external:loyalty", 2),
            "hub: linked to 2 distinct external:loyalty identifiers (limit 1)",
            id="two-loyalty-cards",
        ),
        pytest.param(
            ids("external:loyalty", 1) + ids("external:crm", 1),
            None,
            id="one-id-per-external-system",
        ),
        pytest.param(
            ids("anonymous_id", 50) + ids("session_id", 200), None, id="weak-neighbors-never-count"
        ),
        pytest.param(ids("customer_id", 1) * 5, None, id="the-same-neighbor-counts-once"),
    ],
)
def test_hub_reason_by_distinct_strong_neighbors(
    neighbors: list[Identifier], expected: str | None
) -> None:
    assert hub_reason(DEVICE, neighbors, HubRules()) == expected


def test_neighbors_of_the_nodes_own_kind_do_not_count() -> None:
    customer = Identifier("customer_id", "c-0")
    assert hub_reason(customer, ids("customer_id", 5), HubRules()) is None


def test_limits_are_configuration() -> None:
    strict = HubRules(limits={"email": 1})
    assert hub_reason(DEVICE, ids("email", 2), strict) == (
        "hub: linked to 2 distinct email identifiers (limit 1)"
    )
    assert hub_reason(DEVICE, ids("customer_id", 9), strict) is None


def test_plan_split_keeps_the_part_with_the_oldest_node_first_among_equals() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    a, b, c, d = ids("anonymous_id", 4)
    members = [
        (a, start + timedelta(days=3)),
        (b, start + timedelta(days=4)),
        (c, start),
        (d, start + timedelta(days=1)),
    ]
    part_of = {a: 0, b: 0, c: 1, d: 1}
    assert plan_split(members, part_of, ProfileLimits().rank) == [[c, d], [a, b]]


def test_plan_split_keeps_the_account_with_the_id_even_when_a_device_is_older() -> None:
    """A family tablet seen before anyone logged in is the profile's oldest node; when it
    stops bridging, the account keeps the profile id it was given for."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    tablet, account = Identifier("device_id", "t"), Identifier("customer_id", "c")
    members = [(tablet, start), (account, start + timedelta(days=9))]
    assert plan_split(members, {tablet: 0, account: 1}, ProfileLimits().rank) == [
        [account],
        [tablet],
    ]


@given(st.permutations(list(range(6))))
def test_components_do_not_depend_on_input_order(order: list[int]) -> None:
    nodes = ids("anonymous_id", 6)
    edges = [(nodes[0], nodes[1]), (nodes[2], nodes[3]), (nodes[3], nodes[4])]
    shuffled = [nodes[i] for i in order]
    assert components(shuffled, reversed(edges)) == [
        [nodes[0], nodes[1]],
        [nodes[2], nodes[3], nodes[4]],
        [nodes[5]],
    ]


@pytest.mark.parametrize(
    ("phones", "expected"),
    [
        (3, None),
        (4, "hub: linked to 4 distinct phone identifiers (limit 3)"),
    ],
)
def test_a_device_seen_with_more_phones_than_the_limit_is_a_hub(
    phones: int, expected: str | None
) -> None:
    """A household's phones: three may share a tablet; the fourth makes it a hub."""
    assert hub_reason(DEVICE, ids("phone", phones), HubRules()) == expected


def test_every_external_system_is_watched_through_one_prefix() -> None:
    assert HubRules().kind_prefixes == ["external:"]
    assert HubRules(limits={"email": 3}).kind_prefixes == []
    assert HubRules().limit("external:anything") == 1


WHEN = datetime(2024, 1, 1, tzinfo=UTC)


def test_a_scored_link_is_decided_by_its_score_alone_the_best_first() -> None:
    limits = ProfileLimits()
    a, b = Identifier("email", "a@shop.com"), Identifier("email", "b@shop.com")
    sure = limits.order(a, b, "probabilistic", WHEN, 0.99)
    likely = limits.order(a, b, "probabilistic", WHEN - timedelta(days=9), 0.70)
    unscored = limits.order(a, b, "probabilistic", WHEN, None)
    assert sure < likely < unscored


def test_a_link_ranks_by_its_weaker_end_first() -> None:
    """An account tied to an external id yields before two phones seen together: the
    external id is weaker than either phone, though the account is the strongest of all."""
    limits = ProfileLimits()
    account_crm = limits.order(
        Identifier("customer_id", "C-1"), Identifier("external:crm", "9"), "same_event", WHEN, None
    )
    two_phones = limits.order(
        Identifier("phone", "+14155550100"),
        Identifier("phone", "+14155550101"),
        "same_event",
        WHEN,
        None,
    )
    assert two_phones < account_crm


def test_ranks_follow_the_priority_with_one_slot_for_every_external_system() -> None:
    limits = ProfileLimits(priority=("customer_id", "external:*", "email"))
    assert [limits.rank(k) for k in ("customer_id", "external:crm", "email", "session_id")] == [
        0,
        1,
        2,
        3,
    ]
    assert ProfileLimits().rank("email") == 1


def test_a_limit_below_one_is_refused_with_its_kind() -> None:
    with pytest.raises(ValueError, match="limit for email must be at least 1, got 0"):
        ProfileLimits(limits={"email": 0})


def test_the_kind_and_limit_a_held_link_names_are_read_back() -> None:
    reason = held_reason("customer_id", 2, 1, Identifier("device_id", "tablet"))
    assert held_kind(reason) == ("customer_id", 1)
    assert held_kind("hub: linked to 2 distinct email identifiers (limit 1)") is None
    assert held_kind(None) is None


def test_an_external_system_listed_by_name_ranks_where_it_is_listed() -> None:
    """Named, a system keeps its own place; unnamed ones share the `external:*` slot, and
    with no slot they rank after every listed kind."""
    named = ProfileLimits(priority=("external:crm", "customer_id", "external:*", "email"))
    assert [named.rank(k) for k in ("external:crm", "customer_id", "external:pos")] == [0, 1, 2]
    no_slot = ProfileLimits(priority=("external:crm", "customer_id"))
    assert [no_slot.rank(k) for k in ("external:crm", "external:pos", "email")] == [0, 2, 2]


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        pytest.param({}, None, id="nothing"),
        pytest.param(
            {"customer_id": 1, "email": 5, "phone": 5, "external:crm": 2},
            None,
            id="every-kind-at-its-limit-is-not-over",
        ),
        pytest.param({"email": 6}, ("email", 6, 5), id="one-email-too-many"),
        pytest.param(
            {"email": 9, "customer_id": 2, "session_id": 2000},
            ("customer_id", 2, 1),
            id="the-strongest-kind-over-is-named",
        ),
        pytest.param(
            {"session_id": 1001, "anonymous_id": 201},
            ("anonymous_id", 201, 200),
            id="weak-kinds-by-priority-too",
        ),
        pytest.param({"external:crm": 3}, ("external:crm", 3, 2), id="each-external-system"),
        pytest.param({"twitter": 10_000}, None, id="a-kind-without-a-limit-is-never-over"),
    ],
)
def test_broken_names_the_strongest_kind_held_beyond_its_limit(
    counts: dict[str, int], expected: tuple[str, int, int] | None
) -> None:
    assert ProfileLimits().broken(counts) == expected


ACCOUNT, EMAIL = Identifier("customer_id", "C-1"), Identifier("email", "a@shop.com")
TABLET, COOKIE = Identifier("device_id", "tablet"), Identifier("anonymous_id", "c-1")


@pytest.mark.parametrize(
    ("a", "b", "expected_class"),
    [
        pytest.param(ACCOUNT, EMAIL, 0, id="two-strong-ends"),
        pytest.param(ACCOUNT, TABLET, 2, id="weak-second-end"),
        pytest.param(TABLET, EMAIL, 2, id="weak-first-end"),
        pytest.param(TABLET, COOKIE, 2, id="two-weak-ends"),
    ],
)
def test_a_link_through_a_weak_identifier_is_decided_after_every_strong_one(
    a: Identifier, b: Identifier, expected_class: int
) -> None:
    """Strong before weak whatever the time: a device seen a year earlier still yields."""
    limits = ProfileLimits()
    order = limits.order(a, b, "same_event", WHEN - timedelta(days=365), None)
    assert order[0] == expected_class
    if expected_class:
        assert order > limits.order(ACCOUNT, EMAIL, "same_event", WHEN, None)


def test_a_seen_links_order_holds_its_ends_ranks_weaker_first_and_its_first_sighting() -> None:
    order = ProfileLimits().order(TABLET, ACCOUNT, "same_event", WHEN, None)
    assert order == (
        2,
        4.0,
        0.0,
        1_704_067_200_000_000,
        "device_id|tablet",
        "customer_id|C-1",
        "same_event",
    )
    assert order_mark(order) == ("2:0004.000000000000:0000.000000000000:00001704067200000000")


@pytest.mark.parametrize(
    ("score", "weakness", "shown"),
    [
        pytest.param(0.75, 0.25, "0000.250000000000", id="scored"),
        pytest.param(1.0, 0.0, "0000.000000000000", id="certain"),
        pytest.param(0.0, 1.0, "0001.000000000000", id="zero"),
        pytest.param(None, 1.0, "0001.000000000000", id="unscored-as-zero"),
    ],
)
def test_a_scored_links_order_is_one_minus_its_score_and_nothing_of_when_or_kinds(
    score: float | None, weakness: float, shown: str
) -> None:
    order = ProfileLimits().order(TABLET, ACCOUNT, "probabilistic", WHEN, score)
    assert order == (1, weakness, 0.0, 0, "device_id|tablet", "customer_id|C-1", "probabilistic")
    assert order_mark(order) == f"1:{shown}:0000.000000000000:00000000000000000000"
