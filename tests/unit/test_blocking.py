"""Batch blocking: the pairs `blocked_pairs` finds are those `blocking_keys` puts together."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.domain.matching.blocking import blocked_pairs, blocking_keys
from identity.domain.matching.model import FieldValues

Rules = tuple[tuple[str, ...], ...]


def key_by_key(rows: list[FieldValues], rules: Rules) -> list[tuple[int, int]]:
    """The pairs one record at a time would find: any key in common."""
    keys = [set(blocking_keys(rules, row)) for row in rows]
    return [(a, b) for a, b in itertools.combinations(range(len(rows)), 2) if keys[a] & keys[b]]


def batch(rows: list[FieldValues], rules: Rules) -> list[tuple[int, int]]:
    left, right, _ = blocked_pairs(rows, rules, max_block=100)
    return list(zip(left.tolist(), right.tolist(), strict=True))


@pytest.mark.parametrize(
    ("rules", "rows", "expected"),
    [
        pytest.param(
            (("f",),),
            [{}, {"f": "x"}, {"f": " X"}],
            [(1, 2)],
            id="a-record-without-the-field-first-does-not-hide-those-with-it",
        ),
        pytest.param(
            (("f", "g"),),
            [{"g": "Smith"}, {"g": "Smith"}, {"f": "Ann"}, {"f": "Ann", "g": ""}],
            [],
            id="a-rule-needs-every-one-of-its-fields",
        ),
        pytest.param(
            (("f", "g"),),
            [{"f": "a", "g": "b"}, {"f": "a", "g": "c"}, {"f": "a", "g": "c"}],
            [(1, 2)],
            id="two-terms-combine-without-losing-a-block",
        ),
        pytest.param(
            (("f", "g"),),
            [
                {"f": "a", "g": "x"},
                {"f": "b", "g": "x"},
                {"f": "c", "g": "x"},
                {"f": "a", "g": "y"},
            ],
            [],
            id="two-terms-combine-without-merging-blocks",
        ),
        pytest.param(
            (("f", "g"),),
            [{"f": "a", "g": "x"}, {"f": "a", "g": "x"}, {"f": "b"}],
            [(0, 1)],
            id="records-without-a-key-leave-the-others-blocks-alone",
        ),
        pytest.param(
            ((),),
            [{"f": "a"}, {}, {"g": "b"}],
            [(0, 1), (0, 2), (1, 2)],
            id="an-empty-rule-puts-every-record-in-one-block",
        ),
        pytest.param((("f", "g"), ("f",)), [], [], id="no-records-no-pairs"),
    ],
)
def test_batch_blocking_pairs_records_sharing_a_key(
    rules: Rules,
    rows: list[FieldValues],
    expected: list[tuple[int, int]],
) -> None:
    assert batch(rows, rules) == expected
    assert key_by_key(rows, rules) == expected


VALUES = st.sampled_from([None, "", " ", "a", "A ", "b", "c", "ab", "abc", "abd", "d"])
RULES: Rules = (("f", "g"), ("g", "prefix3:h", "f"), ("h",))


@settings(max_examples=20, deadline=None)
@given(st.lists(st.fixed_dictionaries({"f": VALUES, "g": VALUES, "h": VALUES}), max_size=12))
def test_batch_blocking_agrees_with_keys_on_sparse_many_term_rules(
    rows: list[FieldValues],
) -> None:
    """Few values, many blanks: the integer codes of terms combined must never collide."""
    assert batch(rows, RULES) == key_by_key(rows, RULES)
