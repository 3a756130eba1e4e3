"""Hub detection and the split plan (docs/architecture.md, invariants 7 and 2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.domain.guards import HubRules, ProfileLimits, held_kind, held_reason, hub_reason
from identity.domain.resolution import components, plan_split
from identity.domain.types import Identifier

DEVICE = Identifier("device_id", "tablet")


def ids(kind: str, count: int) -> list[Identifier]:
    return [Identifier(kind, f"{kind}-{i}") for i in range(count)]


@pytest.mark.parametrize(
    ("neighbors", "expected"),
    [
        pytest.param(ids("customer_id", 1), None, id="one-account"),
        pytest.param(ids("customer_id", 2),
                     "hub: linked to 2 distinct customer_id identifiers (limit 1)",
                     id="two-accounts"),
        pytest.param(ids("email", 3), None, id="three-emails-within-limit"),
        pytest.param(ids("email", 4), "hub: linked to 4 distinct email identifiers (limit 3)",
                     id="four-emails"),
        pytest.param(ids("external:loyalty", 2),
                     "hub: linked to 2 distinct external:loyalty identifiers (limit 1)",
                     id="two-loyalty-cards"),
        pytest.param(ids("external:loyalty", 1) + ids("external:crm", 1), None,
                     id="one-id-per-external-system"),
        pytest.param(ids("anonymous_id", 50) + ids("session_id", 200), None,
                     id="weak-neighbors-never-count"),
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
        "hub: linked to 2 distinct email identifiers (limit 1)")
    assert hub_reason(DEVICE, ids("customer_id", 9), strict) is None


def test_plan_split_keeps_the_part_with_the_oldest_node_first_among_equals() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    a, b, c, d = ids("anonymous_id", 4)
    members = [(a, start + timedelta(days=3)), (b, start + timedelta(days=4)),
               (c, start), (d, start + timedelta(days=1))]
    part_of = {a: 0, b: 0, c: 1, d: 1}
    assert plan_split(members, part_of, ProfileLimits().rank) == [[c, d], [a, b]]


def test_plan_split_keeps_the_account_with_the_id_even_when_a_device_is_older() -> None:
    """A family tablet seen before anyone logged in is the profile's oldest node; when it
    stops bridging, the account keeps the profile id it was given for."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    tablet, account = Identifier("device_id", "t"), Identifier("customer_id", "c")
    members = [(tablet, start), (account, start + timedelta(days=9))]
    assert plan_split(members, {tablet: 0, account: 1}, ProfileLimits().rank) == [
        [account], [tablet]]


@given(st.permutations(list(range(6))))
def test_components_do_not_depend_on_input_order(order: list[int]) -> None:
    nodes = ids("anonymous_id", 6)
    edges = [(nodes[0], nodes[1]), (nodes[2], nodes[3]), (nodes[3], nodes[4])]
    shuffled = [nodes[i] for i in order]
    assert components(shuffled, reversed(edges)) == [[nodes[0], nodes[1]],
                                                     [nodes[2], nodes[3], nodes[4]], [nodes[5]]]


@pytest.mark.parametrize(("phones", "expected"), [
    (3, None),
    (4, "hub: linked to 4 distinct phone identifiers (limit 3)"),
])
def test_a_device_seen_with_more_phones_than_the_limit_is_a_hub(phones: int,
                                                                 expected: str | None) -> None:
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
    account_crm = limits.order(Identifier("customer_id", "C-1"), Identifier("external:crm", "9"),
                               "same_event", WHEN, None)
    two_phones = limits.order(Identifier("phone", "+14155550100"),
                              Identifier("phone", "+14155550101"), "same_event", WHEN, None)
    assert two_phones < account_crm


def test_ranks_follow_the_priority_with_one_slot_for_every_external_system() -> None:
    limits = ProfileLimits(priority=("customer_id", "external:*", "email"))
    assert [limits.rank(k) for k in ("customer_id", "external:crm", "email", "session_id")] \
        == [0, 1, 2, 3]
    assert ProfileLimits().rank("email") == 1


def test_a_limit_below_one_is_refused_with_its_kind() -> None:
    with pytest.raises(ValueError, match="limit for email must be at least 1, got 0"):
        ProfileLimits(limits={"email": 0})


def test_the_kind_and_limit_a_held_link_names_are_read_back() -> None:
    reason = held_reason("customer_id", 2, 1, Identifier("device_id", "tablet"))
    assert held_kind(reason) == ("customer_id", 1)
    assert held_kind("hub: linked to 2 distinct email identifiers (limit 1)") is None
    assert held_kind(None) is None
