"""Fitting u and m: which random pairs u is counted on, how level vectors are tallied, and EM
checked step by step against the textbook update written out pair by pair."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from itertools import product

import numpy as np
import pytest

from identity.domain.matching.fitting import distinct_rows, estimate_m, estimate_u, sample_pairs
from identity.domain.matching.levels import Level
from identity.domain.matching.model import Comparison, MatchModel
from identity.domain.matching.vectorized import IntArray

# --- random pairs for u ------------------------------------------------------------------------


def pairs_of(left: IntArray, right: IntArray) -> list[tuple[int, int]]:
    return list(zip(left.tolist(), right.tolist(), strict=True))


@pytest.mark.parametrize(
    ("count", "wanted", "listed"),
    [
        (4, 6, True),  # exactly as many pairs as wanted: each once
        (4, 5, False),  # one pair too many: drawn, no more than wanted
        (5, 7, False),
        (100, 50, False),
    ],
)
def test_every_pair_once_when_no_more_than_wanted_else_at_most_wanted_draws(
    count: int, wanted: int, listed: bool
) -> None:
    left, right = sample_pairs(count, wanted, seed=1, origin=None)
    drawn = pairs_of(left, right)
    if listed:
        assert sorted(drawn) == [(a, b) for a in range(count) for b in range(a + 1, count)]
    else:
        assert 0 < len(drawn) <= wanted and all(a != b for a, b in drawn)


def close_to(seen: list[int], expected: list[float]) -> bool:
    """Every count within five standard deviations (and a little) of what is expected."""
    return all(abs(n - e) <= 5 * e**0.5 + 5 for n, e in zip(seen, expected, strict=True))


def test_random_pairs_draw_every_record_alike_on_either_side() -> None:
    left, right = sample_pairs(200, 19_000, seed=2, origin=None)  # of 19,900 pairs
    assert (left != right).all()
    each = len(left) / 200
    assert close_to(np.bincount(left, minlength=200).tolist(), [each] * 200)
    assert close_to(np.bincount(right, minlength=200).tolist(), [each] * 200)


def test_the_same_seed_draws_the_same_pairs_and_another_seed_others() -> None:
    origin = np.array([0, 1, 2, 1, 0, 2, 2, 1] * 5, dtype=np.int64)
    for by in (None, origin):
        first = pairs_of(*sample_pairs(40, 30, seed=5, origin=by))
        assert pairs_of(*sample_pairs(40, 30, seed=5, origin=by)) == first
        assert pairs_of(*sample_pairs(40, 30, seed=6, origin=by)) != first


# sources of 2, 3 and 4 records, interleaved: 2*3 + 2*4 + 3*4 = 26 pairs across them
ORIGIN = np.array([2, 1, 0, 2, 1, 2, 0, 1, 2], dtype=np.int64)
ACROSS = sorted((a, b) for a in range(9) for b in range(a + 1, 9) if ORIGIN[a] != ORIGIN[b])


@pytest.mark.parametrize(("wanted", "listed"), [(26, True), (100, True), (25, False), (20, False)])
def test_every_pair_across_sources_once_when_no_more_than_wanted(wanted: int, listed: bool) -> None:
    left, right = sample_pairs(9, wanted, seed=0, origin=ORIGIN)
    drawn = pairs_of(left, right)
    assert all(ORIGIN[a] != ORIGIN[b] for a, b in drawn)
    if listed:
        assert sorted(tuple(sorted(pair)) for pair in drawn) == ACROSS
    else:
        assert len(drawn) == wanted


def test_pairs_across_sources_are_listed_in_a_fixed_order() -> None:
    """By source, then by record: the order a sort happens to leave ties in (it differs from
    one processor to the next) must not change which pairs a seed trains u on."""
    left, right = sample_pairs(9, 100, seed=0, origin=ORIGIN)
    drawn = pairs_of(left, right)
    assert drawn == sorted(drawn, key=lambda p: (ORIGIN[p[0]], ORIGIN[p[1]], p[0], p[1]))


def test_positions_are_integers_even_when_no_pair_crosses_sources() -> None:
    for origin in (ORIGIN, np.zeros(4, dtype=np.int64)):
        left, right = sample_pairs(len(origin), 100, seed=0, origin=origin)
        assert left.dtype == right.dtype == np.dtype(np.int64)
    left, right = sample_pairs(4, 100, seed=0, origin=np.zeros(4, dtype=np.int64))
    assert (len(left), len(right)) == (0, 0)


def test_random_pairs_across_sources_draw_every_pair_alike() -> None:
    """Uniform over the pairs, not over the records: a record of a small source has more
    partners than one of a large source, so it is in more of the pairs drawn."""
    sizes = [5, 20, 300]  # 5*20 + 5*300 + 20*300 = 7,600 pairs across, 7,000 drawn
    origin = np.repeat(np.arange(3), sizes)[np.random.default_rng(9).permutation(325)]
    left, right = sample_pairs(325, 7_000, seed=4, origin=origin)
    assert len(left) == 7_000 and (origin[left] != origin[right]).all()
    by_sources = Counter(zip(origin[left].tolist(), origin[right].tolist(), strict=True))
    assert close_to(
        [by_sources[g, h] for g in range(3) for h in range(3)],
        [7_000 * sizes[g] * sizes[h] / 15_200 if g != h else 0 for g in range(3) for h in range(3)],
    )
    partners = [325 - sizes[g] for g in origin.tolist()]  # each side: half a record's pairs
    assert close_to(
        np.bincount(left, minlength=325).tolist(), [7_000 * n / 15_200 for n in partners]
    )
    assert close_to(
        np.bincount(right, minlength=325).tolist(), [7_000 * n / 15_200 for n in partners]
    )


# --- tallying level vectors --------------------------------------------------------------------


@pytest.mark.parametrize(
    "sizes",
    [
        [3, 4, 2],
        [4] * 32,
        [2**40, 2**40],
        [7, 263_524_915_338_707_881, 5],  # 2**63 + 27, which a float product rounds below 2**63
    ],
)
def test_distinct_rows_are_counted_exactly_however_many_combinations_levels_make(
    sizes: list[int],
) -> None:
    """Rows are numbered in a mixed radix when the numbers fit in 64 bits; 32 comparisons of
    four levels, or two huge ones, do not fit and must still be told apart."""
    rng = np.random.default_rng(0)
    base = np.array(
        [
            [min(size - 1, int(rng.integers(0, 4))) * (size // 4 or 1) for size in sizes]
            for _ in range(3)
        ],
        dtype=np.int64,
    )
    base[0] = np.asarray(sizes) - 1  # the highest levels everywhere
    rows = base[[0, 1, 2, 1, 0, 0]]
    found, counts = distinct_rows(rows, sizes)
    expected = Counter(tuple(row) for row in rows.tolist())
    assert [tuple(row) for row in found.tolist()] == sorted(expected)
    assert counts.tolist() == [expected[row] for row in sorted(expected)]


def test_no_rows_tally_to_nothing() -> None:
    found, counts = distinct_rows(np.empty((0, 3), dtype=np.int64), [3, 4, 2])
    assert (found.shape, counts.shape) == ((0, 3), (0,))


# --- u -----------------------------------------------------------------------------------------


def test_without_random_pairs_u_is_spread_evenly_over_the_informative_levels() -> None:
    model = MatchModel(
        (
            Comparison(
                "a",
                (
                    Level("null", "null"),
                    Level("agree", "exact"),
                    Level("close", "exact"),
                    Level("else", "else"),
                ),
            ),
        ),
        prior=0.01,
    )
    levels = estimate_u(model, []).comparisons[0].levels
    assert [level.u for level in levels] == [None, 1 / 3, 1 / 3, 1 / 3]


# --- m by EM -----------------------------------------------------------------------------------


def comparison(field: str, *rungs: tuple[float | None, float | None]) -> Comparison:
    """A null level, then one exact rung per (m, u) given, then else at (m, u) of the last."""
    *middle, last = rungs
    return Comparison(
        field,
        (
            Level("null", "null"),
            *(Level(f"r{i}", "exact", m=m, u=u) for i, (m, u) in enumerate(middle, 1)),
            Level("else", "else", m=last[0], u=last[1]),
        ),
    )


def reference_em(
    model: MatchModel, vectors: Sequence[tuple[int, ...]], iterations: int, start_share: float
) -> list[list[float]]:
    """The textbook update, pair by pair: each pair's chance of being a match weighs its
    levels into the next m (a thousandth of a pair added to each level). A level without m
    or u weighs 1 on both sides; an unset m starts at a 1/i share of the rungs."""
    said: list[list[bool]] = []
    on_m: list[list[float]] = []
    on_u: list[list[float]] = []
    fitted: list[list[float]] = []
    for c in model.comparisons:
        harmonic = sum(1 / j for j in range(1, len(c.levels)))
        start = [None] + [
            lv.m if lv.m is not None else (1 / i) / harmonic for i, lv in enumerate(c.levels) if i
        ]
        said.append(
            [m is not None and lv.u is not None for m, lv in zip(start, c.levels, strict=True)]
        )
        on_m.append(
            [m if s and m is not None else 1.0 for m, s in zip(start, said[-1], strict=True)]
        )
        on_u.append(
            [
                lv.u if s and lv.u is not None else 1.0
                for lv, s in zip(c.levels, said[-1], strict=True)
            ]
        )
        fitted.append([m or 0.0 for m in start])
    share = start_share
    for _ in range(iterations):
        weights = []
        for vector in vectors:
            m_product = u_product = 1.0
            for k, level in enumerate(vector):
                m_product *= on_m[k][level]
                u_product *= on_u[k][level]
            match = share * m_product
            weights.append(match / (match + (1 - share) * u_product) if match > 0 else 0.0)
        share = min(max((sum(weights) or 1.0) / max(len(vectors), 1), 1e-6), 1 - 1e-6)
        for k, levels in enumerate(fitted):
            tally = [
                1e-3 + sum(w for w, v in zip(weights, vectors, strict=True) if v[k] == i)
                for i in range(len(levels))
            ]
            fitted[k] = [t / sum(tally[1:]) for t in tally]
            on_m[k] = [m if s else 1.0 for m, s in zip(fitted[k], said[k], strict=True)]
    return [levels[1:] for levels in fitted]


def fitted_m(model: MatchModel) -> list[list[float | None]]:
    return [[level.m for level in c.levels[1:]] for c in model.comparisons]


MIXED = MatchModel(
    (
        comparison("a", (None, 0.1), (None, 0.9)),
        comparison("b", (0.6, 0.05), (0.3, 0.15), (0.1, 0.8)),
        comparison("c", (None, 0.2), (None, 0.3), (None, 0.5)),
    ),
    prior=0.01,
)
MIXED_PAIRS = [v for n, v in enumerate(product(range(3), range(4), range(4))) for _ in range(n % 5)]
SCENARIOS: dict[str, tuple[MatchModel, Sequence[tuple[int, ...]]]] = {
    # unset and preset m, null levels, pairs of every kind
    "mixed": (MIXED, MIXED_PAIRS),
    # a level with no u says nothing: it weighs 1 on both sides, whatever its m
    "silent-level": (
        MatchModel(
            (
                comparison("a", (0.7, None), (0.2, 0.3), (0.1, 0.7)),
                comparison("b", (None, 0.1), (None, 0.9)),
            ),
            prior=0.01,
        ),
        [(1, 1)] * 5 + [(1, 2)] * 7 + [(2, 1)] * 3 + [(3, 2)] * 20 + [(0, 1)] * 2,
    ),
    # m 0 on one side of a pair, u 0 on the other: it cannot be weighed and counts for nothing
    "zero-over-zero": (
        MatchModel(
            (comparison("a", (0.0, 0.2), (0.5, 0.8)), comparison("b", (0.5, 0.0), (0.5, 1.0))),
            prior=0.01,
        ),
        [(1, 1)] * 4 + [(2, 2)] * 6 + [(2, 1)] * 3 + [(1, 2)],
    ),
    # no pair could be a match in the first round
    "none-could-match": (
        MatchModel((comparison("a", (0.0, 0.2), (0.0, 0.8)),), prior=0.01),
        [(1,)] * 3 + [(2,)] * 9,
    ),
    # a single pair that cannot match in the first round: the share then stops short of 1,
    # so the next round still weighs its u
    "one-pair": (
        MatchModel(
            (
                comparison("a", (0.0, 1.0), (0.5, 0.5), (0.5, 1.0)),
                comparison("b", (None, 0.5), (None, 0.5), (None, 1.0)),
                comparison("c", (None, 0.5), (None, 0.5), (None, 1.0)),
            ),
            prior=0.01,
        ),
        [(1, 3, 3)],
    ),
    "no-pairs": (MIXED, []),
}


@pytest.mark.parametrize("iterations", [0, 1, 2, 25])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_em_takes_the_textbook_steps(scenario: str, iterations: int) -> None:
    model, vectors = SCENARIOS[scenario]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 0/0 on a pair that cannot be weighed stays quiet
        trained = estimate_m(model, vectors, iterations=iterations, start_share=0.3)
    expected = reference_em(model, vectors, iterations, start_share=0.3)
    assert fitted_m(trained) == [pytest.approx(row, rel=1e-11, abs=1e-15) for row in expected]
    assert [c.levels[0] for c in trained.comparisons] == [Level("null", "null")] * len(
        model.comparisons
    )


def test_em_starts_unset_m_high_on_the_first_rungs_and_low_on_else() -> None:
    trained = estimate_m(MIXED, [], iterations=0)
    assert fitted_m(trained) == [
        [pytest.approx(2 / 3), pytest.approx(1 / 3)],
        [0.6, 0.3, 0.1],  # set: kept
        [pytest.approx(6 / 11), pytest.approx(3 / 11), pytest.approx(2 / 11)],
    ]


def test_em_runs_twenty_five_rounds_from_a_tenth_unless_told() -> None:
    assert estimate_m(MIXED, MIXED_PAIRS) == estimate_m(
        MIXED, MIXED_PAIRS, iterations=25, start_share=0.1
    )
    assert estimate_m(MIXED, MIXED_PAIRS) != estimate_m(MIXED, MIXED_PAIRS, iterations=26)
