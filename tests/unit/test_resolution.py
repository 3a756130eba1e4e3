"""What one event does to the graph: the merge it plans and the links it adds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.domain.links import LinkObservation, LinkRule, anchor, plan_links
from identity.domain.resolution import (
    GroupMakeup,
    GroupState,
    MergePlan,
    components,
    makeups,
    plan_merge,
)
from identity.domain.types import EventId, Identifier, ProfileId

# --- plan_merge ------------------------------------------------------------------------------


def group(group_id: int, seq: int, size: int) -> GroupState:
    return GroupState(group_id, ProfileId(f"p-{seq:03d}"), seq, size)


def test_the_oldest_profile_id_survives_and_the_largest_group_contains() -> None:
    groups = [group(10, seq=5, size=2), group(11, seq=1, size=3), group(12, seq=9, size=7)]

    plan = plan_merge(groups)

    assert plan == MergePlan(
        container=12,
        absorbed_groups=(10, 11),
        survivor=ProfileId("p-001"),
        absorbed_profiles=(ProfileId("p-005"), ProfileId("p-009")),
    )


def test_the_largest_group_contains_even_when_it_holds_the_newest_id() -> None:
    oldest_small = group(1, seq=1, size=1)
    newest_large = group(2, seq=99, size=500)

    plan = plan_merge([oldest_small, newest_large])

    assert plan.container == 2
    assert plan.absorbed_groups == (1,)
    assert plan.survivor == "p-001"
    assert plan.absorbed_profiles == ("p-099",)


def test_the_oldest_group_contains_when_it_is_also_the_largest() -> None:
    plan = plan_merge([group(7, seq=3, size=1), group(4, seq=2, size=40)])

    assert (plan.container, plan.survivor) == (4, "p-002")
    assert plan.absorbed_groups == (7,)


def test_a_size_tie_goes_to_the_group_with_the_oldest_id() -> None:
    groups = [group(30, seq=8, size=4), group(20, seq=3, size=4), group(10, seq=6, size=4)]

    plan = plan_merge(groups)

    assert plan.container == 20
    assert plan.absorbed_groups == (10, 30)
    assert plan.survivor == "p-003"


def test_a_single_group_merges_into_itself_with_nothing_absorbed() -> None:
    assert plan_merge([group(5, seq=2, size=3)]) == MergePlan(5, (), ProfileId("p-002"), ())


def test_a_merge_without_groups_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^a merge needs at least one group$"):
        plan_merge([])


@st.composite
def distinct_groups(draw: st.DrawFn) -> list[GroupState]:
    count = draw(st.integers(min_value=1, max_value=6))
    ids = draw(st.lists(st.integers(0, 1000), min_size=count, max_size=count, unique=True))
    seqs = draw(st.lists(st.integers(0, 1000), min_size=count, max_size=count, unique=True))
    sizes = draw(st.lists(st.integers(1, 5), min_size=count, max_size=count))
    return [group(g, s, n) for g, s, n in zip(ids, seqs, sizes, strict=True)]


@given(groups=distinct_groups(), data=st.data())
def test_the_merge_plan_does_not_depend_on_group_order(
    groups: list[GroupState], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(groups), label="read order")

    plan = plan_merge(shuffled)

    assert plan == plan_merge(groups)
    container = next(g for g in groups if g.group_id == plan.container)
    assert container.size == max(g.size for g in groups)
    assert plan.survivor == min(groups, key=lambda g: g.profile_seq).profile_id
    assert set(plan.absorbed_groups) | {plan.container} == {g.group_id for g in groups}
    assert plan.container not in plan.absorbed_groups
    assert set(plan.absorbed_profiles) | {plan.survivor} == {g.profile_id for g in groups}
    assert plan.survivor not in plan.absorbed_profiles


# --- makeups ---------------------------------------------------------------------------------


def test_a_groups_makeup_counts_each_kind_and_keeps_the_latest_held_mark() -> None:
    """Rows as a store counts them: (group, kind, members of that kind, latest held mark
    among them); the latest mark over all kinds is the group's, wherever it comes."""
    rows = [
        (1, "email", 2, None),
        (1, "customer_id", 1, "2:b"),
        (1, "phone", 1, "1:a"),
        (1, "device_id", 3, None),
        (2, "email", 1, None),
    ]

    assert makeups(rows) == {
        1: GroupMakeup({"email": 2, "customer_id": 1, "phone": 1, "device_id": 3}, "2:b"),
        2: GroupMakeup({"email": 1}, None),
    }


def test_no_rows_make_no_makeups() -> None:
    assert makeups([]) == {}


# --- components ------------------------------------------------------------------------------


def test_the_ends_of_edges_are_components_even_when_not_listed() -> None:
    """Record ids in batch matching come as edges only."""
    assert components(["r9"], [("r3", "r1"), ("r2", "r4"), ("r4", "r1")]) == [
        ["r1", "r2", "r3", "r4"],
        ["r9"],
    ]


# --- plan_links ------------------------------------------------------------------------------

EVENT = EventId("evt-1")
AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

CUSTOMER = Identifier("customer_id", "C-1001")
EMAIL = Identifier("email", "jane@acme.io")
PHONE = Identifier("phone", "+14155550100")
LOYALTY = Identifier("external:loyalty", "L-9")
DEVICE = Identifier("device_id", "6d92078a-8246-4ba4-ae5b-76104861e7dc")
ORDER = Identifier("order_id", "O-77")
ANONYMOUS = Identifier("anonymous_id", "anon-1")
SESSION = Identifier("session_id", "s-1")

BY_STRENGTH = (CUSTOMER, EMAIL, PHONE, LOYALTY, DEVICE, ORDER, ANONYMOUS, SESSION)


def links_of(*identifiers: Identifier) -> list[LinkObservation]:
    return plan_links(tuple(identifiers), EVENT, "web", AT)


def pairs(links: list[LinkObservation]) -> set[frozenset[Identifier]]:
    return {frozenset((link.a, link.b)) for link in links}


@pytest.mark.parametrize(
    ("stronger", "weaker"),
    [
        pytest.param(BY_STRENGTH[i], BY_STRENGTH[i + 1], id=f"{BY_STRENGTH[i].kind}-anchors")
        for i in range(len(BY_STRENGTH) - 1)
    ],
)
def test_the_stronger_kind_anchors_the_event(stronger: Identifier, weaker: Identifier) -> None:
    assert anchor((weaker, stronger)) == stronger
    assert anchor((stronger, weaker)) == stronger


def test_links_form_a_star_from_the_strongest_identifier() -> None:
    links = links_of(SESSION, PHONE, DEVICE, EMAIL, ANONYMOUS)

    assert pairs(links) == {
        frozenset((EMAIL, PHONE)),
        frozenset((EMAIL, DEVICE)),
        frozenset((EMAIL, ANONYMOUS)),
        frozenset((EMAIL, SESSION)),
    }
    assert len(links) == 4


def test_a_customer_id_anchors_over_every_other_kind() -> None:
    links = links_of(*reversed(BY_STRENGTH))

    assert pairs(links) == {frozenset((CUSTOMER, other)) for other in BY_STRENGTH[1:]}


def test_an_external_id_outranks_a_device() -> None:
    crm = Identifier("external:crm", "X-1")

    assert pairs(links_of(DEVICE, crm, ORDER)) == {
        frozenset((crm, DEVICE)),
        frozenset((crm, ORDER)),
    }


def test_within_one_kind_the_smallest_value_anchors() -> None:
    work = Identifier("email", "jane@work.io")

    assert anchor((work, EMAIL)) == EMAIL
    assert pairs(links_of(work, EMAIL, PHONE)) == {
        frozenset((EMAIL, work)),
        frozenset((EMAIL, PHONE)),
    }


def test_each_link_carries_its_evidence_in_a_canonical_order() -> None:
    (link,) = links_of(SESSION, EMAIL)

    assert link == LinkObservation(EMAIL, SESSION, LinkRule.SAME_EVENT, EVENT, "web", AT)
    assert link.a < link.b


@pytest.mark.parametrize(
    "identifiers",
    [pytest.param((), id="none"), pytest.param((EMAIL,), id="one")],
)
def test_fewer_than_two_identifiers_make_no_links(identifiers: tuple[Identifier, ...]) -> None:
    assert plan_links(identifiers, EVENT, "web", AT) == []


# The documented priority, written out so the test does not trust types.KIND_PRIORITY.
BY_KIND_RANK = {
    "customer_id": 0,
    "email": 1,
    "phone": 2,
    "external:crm": 3,
    "external:loyalty": 3,
    "device_id": 4,
    "order_id": 5,
    "anonymous_id": 6,
    "session_id": 7,
}
KINDS = tuple(BY_KIND_RANK)
IDENTIFIER_SETS = st.sets(
    st.builds(Identifier, st.sampled_from(KINDS), st.sampled_from(("a", "b", "c"))),
    min_size=1,
    max_size=8,
).map(sorted)


def canonical(links: list[LinkObservation]) -> list[tuple[Identifier, Identifier]]:
    return sorted((link.a, link.b) for link in links)


@given(identifiers=IDENTIFIER_SETS, data=st.data())
def test_the_links_do_not_depend_on_identifier_order(
    identifiers: list[Identifier], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(identifiers), label="input order")

    links = links_of(*shuffled)

    assert canonical(links) == canonical(links_of(*identifiers))
    assert len(links) == len(identifiers) - 1
    hub = min(identifiers, key=lambda i: (BY_KIND_RANK[i.kind], i.kind, i.value))
    assert all(hub in (link.a, link.b) for link in links)
    assert all(link.a < link.b for link in links)
