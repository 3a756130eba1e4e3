"""The golden record: one value per field, chosen by rules, with provenance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from identity.domain.survivorship import (
    Criterion,
    GoldenField,
    Observation,
    OrderLine,
    OrderSummary,
    SurvivorshipRules,
    golden_record,
    summarize_orders,
)
from identity.domain.traits import MAX_CUSTOM_TRAITS

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def seen(value: str, source: str, hours: int, event_id: str, field: str = "city") -> Observation:
    return Observation(field, value, source, T0 + timedelta(hours=hours), event_id)


def winner(observations: list[Observation], rules: SurvivorshipRules, field: str = "city") -> str:
    return golden_record(observations, rules)[field].value


def test_source_priority_beats_recency() -> None:
    rules = SurvivorshipRules(source_priority=("crm", "web"))
    observations = [
        seen("Paris", "crm", hours=0, event_id="e1"),
        seen("London", "web", hours=5, event_id="e2"),
        seen("Berlin", "app", hours=9, event_id="e3"),
    ]

    assert winner(observations, rules) == "Paris"


def test_an_unlisted_source_ranks_below_every_listed_one() -> None:
    rules = SurvivorshipRules(source_priority=("web",))
    observations = [
        seen("Paris", "web", hours=0, event_id="e1"),
        seen("Berlin", "app", hours=9, event_id="e2"),
    ]

    assert winner(observations, rules) == "Paris"


def test_recency_beats_frequency_when_sources_tie() -> None:
    rules = SurvivorshipRules(source_priority=("crm",))
    observations = [
        seen("Paris", "web", hours=0, event_id="e1"),
        seen("Paris", "web", hours=1, event_id="e2"),
        seen("Paris", "app", hours=2, event_id="e3"),
        seen("London", "app", hours=3, event_id="e4"),
    ]

    assert winner(observations, rules) == "London"


def test_frequency_decides_when_a_field_puts_it_first() -> None:
    rules = SurvivorshipRules(
        source_priority=("crm",),
        per_field={"city": (Criterion.MOST_FREQUENT, Criterion.MOST_RECENT)},
    )
    observations = [
        seen("Paris", "web", hours=0, event_id="e1"),
        seen("Paris", "web", hours=1, event_id="e2"),
        seen("London", "crm", hours=9, event_id="e3"),
        seen("Doe", "web", hours=0, event_id="e1", field="last_name"),
        seen("Smith", "crm", hours=0, event_id="e4", field="last_name"),
        seen("Doe", "web", hours=1, event_id="e2", field="last_name"),
    ]

    record = golden_record(observations, rules)

    assert record["city"].value == "Paris"
    assert record["last_name"].value == "Smith"  # other fields keep the default criteria


def test_values_differing_only_by_case_and_whitespace_are_one_candidate() -> None:
    rules = SurvivorshipRules(criteria=(Criterion.MOST_FREQUENT, Criterion.MOST_RECENT))
    observations = [
        seen("New York", "web", hours=0, event_id="e1"),
        seen("  new   YORK ", "app", hours=1, event_id="e2"),
        seen("NEW YORK", "pos", hours=2, event_id="e3"),
        seen("Boston", "web", hours=3, event_id="e4"),
        seen("Boston", "web", hours=4, event_id="e5"),
    ]

    chosen = golden_record(observations, rules)["city"]

    assert chosen.value == "NEW YORK"  # the latest spelling of the winning candidate
    assert chosen.support == 3


def test_the_golden_field_carries_its_provenance() -> None:
    rules = SurvivorshipRules(source_priority=("crm", "web"))
    observations = [
        seen("paris", "web", hours=8, event_id="e-web-late"),
        seen("Paris", "crm", hours=1, event_id="e-crm-early"),
        seen("PARIS", "crm", hours=3, event_id="e-crm-late"),
        seen("London", "app", hours=9, event_id="e-app"),
    ]

    assert golden_record(observations, rules)["city"] == GoldenField(
        field="city",
        value="PARIS",
        source="crm",
        observed_at=T0 + timedelta(hours=3),
        event_id="e-crm-late",
        support=3,
    )


def test_every_observed_field_gets_one_golden_value() -> None:
    observations = [
        seen("Paris", "web", hours=0, event_id="e1"),
        seen("Jane", "web", hours=0, event_id="e1", field="first_name"),
    ]

    assert set(golden_record(observations, SurvivorshipRules())) == {"city", "first_name"}
    assert golden_record([], SurvivorshipRules()) == {}


def test_a_complete_tie_is_broken_by_value_not_by_order() -> None:
    a = seen("Paris", "web", hours=0, event_id="e1")
    b = seen("London", "web", hours=0, event_id="e2")

    assert winner([a, b], SurvivorshipRules()) == winner([b, a], SurvivorshipRules())


SOURCES = ("crm", "web", "app", "pos")
VALUES = ("Paris", "paris", " PARIS ", "London", "london", "Berlin")
FIELDS = ("city", "first_name", "country")
CRITERIA_ORDERS = st.permutations(list(Criterion)).map(tuple)


@st.composite
def observation_sets(draw: st.DrawFn) -> list[Observation]:
    """Events with distinct ids, each from one source at one time, with a few traits."""
    count = draw(st.integers(min_value=1, max_value=8))
    observations: list[Observation] = []
    for index in range(count):
        source = draw(st.sampled_from(SOURCES))
        at = T0 + timedelta(hours=draw(st.integers(min_value=0, max_value=3)))
        fields = draw(st.sets(st.sampled_from(FIELDS), min_size=1))
        for name in sorted(fields):
            value = draw(st.sampled_from(VALUES))
            observations.append(Observation(name, value, source, at, f"e{index}"))
    return observations


@given(
    observations=observation_sets(),
    data=st.data(),
    priority=st.permutations(list(SOURCES)).map(lambda p: tuple(p[:2])),
    criteria=CRITERIA_ORDERS,
)
def test_the_golden_record_does_not_depend_on_observation_order(
    observations: list[Observation],
    data: st.DataObject,
    priority: tuple[str, ...],
    criteria: tuple[Criterion, ...],
) -> None:
    rules = SurvivorshipRules(source_priority=priority, criteria=criteria)
    shuffled = data.draw(st.permutations(observations), label="arrival order")

    assert golden_record(shuffled, rules) == golden_record(observations, rules)
    assert golden_record(observations[::-1], rules) == golden_record(observations, rules)


# --- orders ----------------------------------------------------------------------------------


def order(event_id: str, amount: str, currency: str, hours: int = 0) -> OrderLine:
    return OrderLine(event_id, Decimal(amount), currency, T0 + timedelta(hours=hours))


def test_orders_are_totalled_per_currency() -> None:
    summary = summarize_orders(
        [
            order("o1", "19.99", "USD"),
            order("o2", "10.01", "USD"),
            order("o3", "5.50", "EUR"),
            order("o4", "0.10", "GBP"),
            order("o5", "0.20", "GBP"),
        ]
    )

    assert summary == OrderSummary(
        count=5,
        total_spend=(("EUR", Decimal("5.50")), ("GBP", Decimal("0.30")), ("USD", Decimal("30.00"))),
    )


def test_each_order_event_is_counted_once() -> None:
    line = order("o1", "19.99", "USD")

    summary = summarize_orders([line, order("o2", "5", "USD"), line, line])

    assert summary == OrderSummary(count=2, total_spend=(("USD", Decimal("24.99")),))


def test_no_orders_summarize_to_nothing() -> None:
    assert summarize_orders([]) == OrderSummary(count=0, total_spend=())


def test_a_profile_shows_its_person_fields_and_the_first_custom_traits_only() -> None:
    """6 requests of 1,000 events made one profile 18,000 golden fields: too big for gRPC to
    send, and 177 MB for one aliased GraphQL query."""
    own = [seen("Ann", "crm", 0, "e0", "first_name"), seen("gold", "crm", 1, "e1", "tier")]
    flood = [seen("x", "web", 10 + i, f"f{i}", f"junk_{i:05d}") for i in range(5_000)]
    record = golden_record([*flood, *own], SurvivorshipRules())
    assert len(record) == 1 + MAX_CUSTOM_TRAITS
    assert record["first_name"].value == "Ann" and record["tier"].value == "gold"
    assert "junk_00000" in record and f"junk_{MAX_CUSTOM_TRAITS - 2:05d}" in record
    assert f"junk_{MAX_CUSTOM_TRAITS - 1:05d}" not in record
    late_city = seen("Leeds", "web", 99_999, "e9", "city")
    assert golden_record([*flood, *own, late_city], SurvivorshipRules())["city"].value == "Leeds"
    # A flood dated before it does not push out a trait seen in more events.
    backdated = [seen("x", "web", -100 - i, f"b{i}", f"old_{i:05d}") for i in range(500)]
    twice = [*own, seen("gold", "crm", 2, "e2", "tier")]
    assert "tier" in golden_record([*backdated, *twice], SurvivorshipRules())


@given(st.permutations([seen("x", "web", i % 7, f"f{i}", f"t_{i % 60:02d}") for i in range(90)]))
def test_which_custom_traits_show_depends_on_the_set_not_the_order(
        observations: list[Observation]) -> None:
    assert golden_record(observations, SurvivorshipRules()) == golden_record(
        sorted(observations, key=lambda o: o.event_id), SurvivorshipRules())


def test_a_value_ranks_by_its_best_source_not_its_worst() -> None:
    rules = SurvivorshipRules(source_priority=("crm", "checkout"))
    observations = [
        seen("Paris", "crm", hours=0, event_id="e1"),
        seen("Paris", "app", hours=1, event_id="e2"),  # unlisted: below every listed source
        seen("Lyon", "checkout", hours=9, event_id="e3"),
    ]
    assert winner(observations, rules) == "Paris"


def test_a_value_is_as_recent_as_its_latest_sighting_not_its_first() -> None:
    rules = SurvivorshipRules()
    observations = [
        seen("Paris", "web", hours=1, event_id="e1"),
        seen("Lyon", "web", hours=5, event_id="e2"),
        seen("Paris", "web", hours=10, event_id="e3"),
    ]
    assert winner(observations, rules) == "Paris"


@given(observations=observation_sets(),
       priority=st.permutations(list(SOURCES)).map(lambda p: tuple(p[:2])))
def test_the_winner_has_the_best_source_then_the_latest_sighting(
        observations: list[Observation], priority: tuple[str, ...]) -> None:
    """Which value wins, not only that the order does not matter: under the default criteria
    the winner's best source ranks first, and among values that share it, it was seen last."""
    rules = SurvivorshipRules(source_priority=priority)
    record = golden_record(observations, rules)
    for name, field in record.items():
        mine = [o for o in observations if o.field == name]
        by_value: dict[str, list[Observation]] = {}
        for o in mine:
            by_value.setdefault(" ".join(o.value.casefold().split()), []).append(o)
        best_rank = min(rules.source_rank(o.source) for o in mine)
        chosen = by_value[" ".join(field.value.casefold().split())]
        assert min(rules.source_rank(o.source) for o in chosen) == best_rank
        contenders = [obs for obs in by_value.values()
                      if min(rules.source_rank(o.source) for o in obs) == best_rank]
        assert max(o.observed_at for o in chosen) == max(
            max(o.observed_at for o in obs) for obs in contenders)


def test_a_distinct_order_after_a_repeated_one_still_counts() -> None:
    repeated = order("o1", "19.99", "USD")
    summary = summarize_orders([repeated, repeated, order("o2", "5", "USD")])
    assert summary == OrderSummary(count=2, total_spend=(("USD", Decimal("24.99")),))


def test_orders_of_unknown_value_are_counted_each_and_kept_out_of_spend() -> None:
    lost = OrderLine("o1", None, "EUR", T0)  # the producer lost the amount, kept the currency
    also_lost = OrderLine("o2", None, None, T0)
    summary = summarize_orders([lost, also_lost, order("o3", "5", "EUR")])
    assert summary == OrderSummary(count=3, total_spend=(("EUR", Decimal("5")),),
                                   unknown_value=2)
