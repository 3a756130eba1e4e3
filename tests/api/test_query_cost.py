"""A GraphQL document's cost (api/graphql/query_limits.py: measure), counted before
validation: pages multiply their selection, fragments are counted once per spread, and
anything the schema does not know counts plainly."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse

from identity.api.graphql.query_limits import (
    MAX_FRAGMENT_DEPTH,
    MAX_QUERY_COST,
    FragmentsTooDeep,
    Measure,
    measure,
)
from identity.api.graphql.schema import schema as strawberry_schema

GRAPHQL_SCHEMA = strawberry_schema._schema
ITEMS = "items { profileA profileB link { isActive } }"  # 6 with items itself


def cost(query: str, **variables: Any) -> Measure:
    return measure(parse(query), GRAPHQL_SCHEMA, variables)


def test_a_page_counts_its_selection_first_times() -> None:
    assert cost(f"{{ reviewQueue(first: 10) {{ endCursor {ITEMS} }} }}") == Measure(7, 61, None)
    # Without `first`: its default (20).
    assert cost(f"{{ reviewQueue {{ {ITEMS} }} }}").cost == 1 + 20 * 5
    assert cost(f"query($n: Int!) {{ reviewQueue(first: $n) {{ {ITEMS} }} }}", n=50).cost \
        == 1 + 50 * 5


def test_fields_without_a_page_cost_one_each() -> None:
    assert cost('{ profile(id: "p") { id identifiers { kind } } }') == Measure(4, 4, None)


def test_fragments_and_inline_fragments_are_counted_with_their_types() -> None:
    spread = cost(f"""query {{ a: reviewQueue(first: 3) {{ ...Q }} b: reviewQueue(first: 3)
                            {{ ...Q }} }}
                     fragment Q on ReviewQueue {{ ... on ReviewQueue {{ {ITEMS} }} }}""")
    assert spread == Measure(12, 2 * (1 + 3 * 5), None)


def test_the_largest_operation_is_what_a_request_may_cost() -> None:
    assert cost(f"""query Small {{ __typename }}
                   query Big {{ reviewQueue(first: 100) {{ {ITEMS} }} }}""").cost == 501


@pytest.mark.parametrize(("first", "multiplier"), [
    ('"ten"', 1), ("$missing", 20), ("-5", 1), ("0", 1), ("500", 100),
    ("99999999999999999999", 100)])
def test_a_page_size_that_is_not_one_counts_safely(first: str, multiplier: int) -> None:
    """Validation or the field refuses these later; until then the count neither fails nor
    undercounts: no page holds more than 100, so a larger `first` counts 100."""
    query = f"{{ reviewQueue(first: {first}) {{ endCursor }} }}"
    assert cost(query).cost == 1 + multiplier


def test_unknown_fields_and_fragment_cycles_count_plainly() -> None:
    assert cost("{ nope { deeper(first: 1000) { x } } }") == Measure(3, 3, None)
    assert cost("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
                ).fields == 0


def _chain(depth: int) -> str:
    """`depth` fragments, each spreading the next: 8 tokens apiece, so 600 fit in 5,000."""
    return "{ ...F0 } " + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}"
                                    for i in range(depth)) + \
        f" fragment F{depth} on Query {{ __typename }}"


def test_fragments_nested_past_the_bound_are_refused_not_a_recursion_error() -> None:
    assert cost(_chain(MAX_FRAGMENT_DEPTH - 1)) == Measure(1, 1, None)
    with pytest.raises(FragmentsTooDeep):
        cost(_chain(MAX_FRAGMENT_DEPTH))


async def test_a_deep_fragment_chain_is_answered_query_too_large() -> None:
    result = await strawberry_schema.execute(_chain(600))
    assert result.errors is not None and result.data is None
    assert [e.extensions for e in result.errors] == [{"code": "QUERY_TOO_LARGE"}]
    assert f"more than {MAX_FRAGMENT_DEPTH} deep" in result.errors[0].message


def test_introspection_fields_are_found_wherever_they_are() -> None:
    assert cost("{ __schema { types { name } } }").introspection == "__schema"
    assert cost("{ ...F } fragment F on Query { __type(name: \"X\") { name } }"
                ).introspection == "__type"
    assert cost("{ __typename }").introspection is None


def test_the_default_limit_serves_a_page_of_one_hundred_wide_items() -> None:
    wide = " ".join(f"f{n}: endCursor" for n in range(48))
    assert cost(f"{{ reviewQueue(first: 100) {{ {wide} }} }}").cost == 1 + 100 * 48
    assert 1 + 100 * 48 <= MAX_QUERY_COST < 2 * (1 + 100 * 48)


def test_a_page_size_from_a_variable_is_marked_so_the_measure_is_not_reused() -> None:
    assert cost(f"query($n: Int!) {{ reviewQueue(first: $n) {{ {ITEMS} }} }}", n=1
                ).by_variables
    assert not cost(f"{{ reviewQueue(first: 5) {{ {ITEMS} }} }}").by_variables
    assert not cost('query($id: ID!) { profile(id: $id) { id } }', id="p").by_variables


def test_a_variable_not_sent_costs_its_operation_s_default_not_the_argument_s() -> None:
    # Execution gives $n its default (100), not reviewQueue's own (20): measured the same.
    query = f"query($n: Int = 100) {{ reviewQueue(first: $n) {{ {ITEMS} }} }}"
    assert cost(query).cost == 1 + 100 * 5
    assert cost(query, n=3).cost == 1 + 3 * 5  # a value sent wins
    # Two operations sharing a variable name: the dearer default is measured.
    both = (f"query A($n: Int = 2) {{ reviewQueue(first: $n) {{ {ITEMS} }} }} "
            f"query B($n: Int = 90) {{ reviewQueue(first: $n) {{ {ITEMS} }} }}")
    assert cost(both).cost == 1 + 90 * 5
