"""Batch comparison vectors: the level each pair reaches, as the pair-by-pair path says it."""

from __future__ import annotations

import pytest

from identity.domain.matching.levels import Level
from identity.domain.matching.model import Comparison, MatchModel
from identity.domain.matching.vectorized import vectors

NULL, ELSE = Level("null", "null"), Level("else", "else")


def one_field(*middle: Level) -> MatchModel:
    """A model comparing field "f" on the ladder null, `middle`..., else."""
    return MatchModel((Comparison("f", (NULL, *middle, ELSE)),), prior=0.01)


TRANSPOSED = one_field(Level("swapped", "date_transposed"))


@pytest.mark.parametrize(
    ("model", "pairs", "expected"),
    [
        pytest.param(
            one_field(Level("e", "exact")),
            [(None, "Ann"), ("Ann", None), ("", "Ann"), ("Ann", "ann")],
            [0, 0, 0, 1],
            id="null-when-either-side-is-missing",
        ),
        pytest.param(
            TRANSPOSED,
            [("1980-03-07", "1980-07-03"), ("1980-03-07", "1980-03-07")],
            [1, 2],
            id="date-transposed-keys-left-and-right-differently",
        ),
        pytest.param(
            TRANSPOSED,
            [("1980-01-02", "1981-05-06"), ("1980-01-03", "1982-05-06"), ("1980-01-04", "unknown")],
            [2, 2, 2],
            id="a-right-value-without-a-key-matches-no-left-key",
        ),
        pytest.param(
            one_field(Level("close", "jaro_winkler", threshold=0.84)),
            [("Dwayne", "Duane"), ("Jones", "Johnson")],
            [1, 2],
            id="a-similarity-on-the-threshold-reaches-the-level",
        ),
        pytest.param(
            one_field(
                Level("close", "jaro_winkler", threshold=0.95),
                Level("edits", "levenshtein", threshold=2),
            ),
            [("abc", "xyz"), ("Okafor", "Okafur"), ("Okafor", "okafor")],
            [3, 2, 1],
            id="each-scorer-scores-for-itself",
        ),
        pytest.param(
            one_field(Level("same", "levenshtein", threshold=0)),
            [("ann\x00", "ann"), ("ann\x00", "ann\x00")],
            [2, 1],
            id="values-are-compared-as-they-are-even-a-trailing-nul",
        ),
    ],
)
def test_batch_levels_are_the_pair_by_pair_levels(
    model: MatchModel,
    pairs: list[tuple[str | None, str | None]],
    expected: list[int],
) -> None:
    """Pairs go through in one batch, as `resolve_records` sends them: the keys and scores
    shared by the batch must not leak from one pair into another."""
    lefts, rights = [{"f": a} for a, _ in pairs], [{"f": b} for _, b in pairs]
    assert vectors(model, lefts, rights) == [(level,) for level in expected]
    assert [model.vector(a, b) for a, b in zip(lefts, rights, strict=True)] == [
        (level,) for level in expected
    ]
