"""Batch matching: candidates by blocking, fitting, clustering on a small known population."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.domain.matching.blocking import blocking_keys
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.engine import (
    MIN_RECORDS_TO_FIT,
    Candidates,
    LinkedPair,
    candidate_pairs,
    resolve_records,
    scored_pairs,
    term_frequencies,
)
from identity.domain.matching.fitting import estimate_m, estimate_u
from identity.domain.matching.levels import KEYED, SCORED, Level
from identity.domain.matching.model import Comparison, FieldValues, MatchModel, NonMatchRule
from identity.domain.matching.prior import estimate_prior
from identity.domain.matching.scoring import Decision, score
from identity.domain.matching.vectorized import vectors

FIRST = ["Ann", "Bob", "Carla", "Dev", "Ema", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kofi", "Lea"]
LAST = ["Okafor", "Smith", "Nguyen", "Muller", "Rossi", "Haddad", "Kowalski", "Silva", "Tanaka"]


def population(people: int, seed: int) -> tuple[dict[str, FieldValues], dict[str, str]]:
    """Each person once, and a third of them again with a typo, a nickname-free variant."""
    rng = random.Random(seed)
    records: dict[str, FieldValues] = {}
    truth: dict[str, str] = {}
    for p in range(people):
        person = {
            "first_name": rng.choice(FIRST),
            "last_name": rng.choice(LAST),
            "date_of_birth": f"19{rng.randint(50, 99)}-{rng.randint(1, 12):02d}-"
            f"{rng.randint(1, 28):02d}",
            "postcode": f"LS{rng.randint(1, 30)} {rng.randint(1, 9)}AB",
            "city": rng.choice(["Leeds", "York", "Hull"]),
        }
        records[f"{p}a"], truth[f"{p}a"] = person, str(p)
        if p % 3 == 0:
            twin = dict(person)
            twin["last_name"] = str(person["last_name"])[:-1] + "x"
            records[f"{p}b"], truth[f"{p}b"] = twin, str(p)
    return records, truth


def test_candidates_come_from_blocks_and_oversized_blocks_are_reported() -> None:
    records: dict[str, FieldValues] = {
        str(i): {"first_name": "Ann", "last_name": "Smith"} for i in range(6)
    }
    found = candidate_pairs(records, DEFAULT_MODEL, max_block=10)
    assert len(found.pairs) == 15 and found.oversized_blocks == []
    capped = candidate_pairs(records, DEFAULT_MODEL, max_block=5)
    assert capped.pairs == [] and capped.oversized_blocks == [("0:ann\x1fsmith", 6)]


def test_term_frequencies_count_shares_of_records() -> None:
    tf = term_frequencies(
        [
            {"last_name": "Smith"},
            {"last_name": " smith"},
            {"last_name": "Okafor"},
            {"last_name": None},
        ],
        DEFAULT_MODEL,
    )
    assert tf["last_name"] == {"smith": 0.5, "okafor": 0.25}


def test_fitted_model_clusters_duplicates_and_keeps_people_apart() -> None:
    records, truth = population(300, seed=4)
    found = resolve_records(records, DEFAULT_MODEL, seed=1, random_pairs=20_000).clusters
    duplicates = [(f"{p}a", f"{p}b") for p in range(0, 300, 3)]
    together = sum(found[a] == found[b] for a, b in duplicates)
    assert together >= 0.9 * len(duplicates)
    wrongly_joined = sum(
        1
        for a in records
        for b in records
        if a < b and found[a] == found[b] and truth[a] != truth[b]
    )
    assert wrongly_joined <= 2


FIELDS = [c.field for c in DEFAULT_MODEL.comparisons]
NAMES = [
    "Ann",
    "Anne",
    "Anna",
    "Bob",
    "Robert",
    " bob ",
    "Mary  Ann",
    "mary ann",
    "Smith",
    "Smyth",
    "Okafor",
    "Knight",
    "Night",
    "",
    " ",
    None,
    "1980-03-07",
    "1980-07-03",
    " 1980-07-03",
    "1981-03-07",
    "1980",
    "19",
    "12 Main St",
    "12 Main Street",
    "12 main st apt 4",
    "LS1 4AP",
    "LS1 9ZZ",
    "+44 7400 123456",
    "07400 123456",
    "(415) 555-2671",
    "ann@shop.com",
    "ann@mail.com",
    "ann@",
    "@shop.com",
]


def every_kind_model() -> MatchModel:
    """One comparison per level kind, each on its own field: what the default model lacks."""

    def ladder(field: str, level: Level) -> Comparison:
        return Comparison(field, (Level("null", "null"), level, Level("else", "else")))

    levels = [
        Level("x", kind, threshold=0.85 if kind in ("jaro_winkler", "token_set") else 1, length=3)
        for kind in sorted(KEYED | SCORED)
    ]
    return MatchModel(tuple(ladder(f"f{i}", level) for i, level in enumerate(levels)), prior=0.01)


def pairs_of(fields: list[str]) -> st.SearchStrategy[list[tuple[FieldValues, FieldValues]]]:
    record = st.fixed_dictionaries({f: st.sampled_from(NAMES) for f in fields})
    return st.lists(st.tuples(record, record), min_size=1, max_size=30)


@pytest.mark.parametrize(
    "model", [DEFAULT_MODEL, every_kind_model()], ids=["default-model", "every-level-kind"]
)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_vectorized_comparison_equals_the_pair_by_pair_path(
    model: MatchModel,
    data: st.DataObject,
) -> None:
    pairs = data.draw(pairs_of([c.field for c in model.comparisons]), label="pairs")
    lefts, rights = [a for a, _ in pairs], [b for _, b in pairs]
    assert vectors(model, lefts, rights) == [model.vector(a, b) for a, b in pairs]


def naive_candidates(records: dict[str, FieldValues], max_block: int) -> Candidates:
    blocks: dict[str, list[str]] = {}
    for record_id, record in records.items():
        for key in blocking_keys(DEFAULT_MODEL.blocking, record):
            blocks.setdefault(key, []).append(record_id)
    pairs = {
        tuple(sorted((a, b)))
        for members in blocks.values()
        if len(members) <= max_block
        for a, b in itertools.combinations(members, 2)
    }
    return Candidates(
        sorted((a, b) for a, b in pairs),
        sorted((key, len(m)) for key, m in blocks.items() if len(m) > max_block),
    )


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.text("abcdef", min_size=1, max_size=3),
        st.fixed_dictionaries({f: st.sampled_from(NAMES[:12]) for f in FIELDS}),
        max_size=25,
    ),
    st.integers(1, 6),
)
def test_batch_blocking_finds_what_key_by_key_blocking_finds(
    records: dict[str, FieldValues],
    max_block: int,
) -> None:
    assert candidate_pairs(records, DEFAULT_MODEL, max_block) == naive_candidates(
        records, max_block
    )


def agreement(field: str, m: float = 0.9, u: float = 0.1, *, tf: bool = False) -> Comparison:
    """`field` agrees exactly (level 1) or not (level 2)."""
    return Comparison(
        field,
        (
            Level("null", "null"),
            Level("same", "exact", tf_adjusted=tf, m=m, u=u),
            Level("else", "else", m=1 - m, u=1 - u),
        ),
    )


def named(names: list[str], **more: str) -> dict[str, FieldValues]:
    return {f"r{i:03d}": {"name": name, **more} for i, name in enumerate(names)}


NAME_MODEL = MatchModel((agreement("name"),), prior=0.01, blocking=(("name",),))


def test_the_defaults_are_seed_0_200_000_random_pairs_and_blocks_of_500() -> None:
    """633 records make 200,028 pairs, so u is fitted on a random 200,000 of them; the
    501 Smiths are one block too many."""
    records = named(["Smith"] * 501 + [f"Name{i % 60}" for i in range(132)])
    found = resolve_records(records, NAME_MODEL)
    assert found == resolve_records(
        records, NAME_MODEL, seed=0, random_pairs=200_000, max_block=500
    )
    assert found.fitted and found.oversized_blocks == [("0:smith", 501)]
    assert candidate_pairs(records, NAME_MODEL) == candidate_pairs(
        records, NAME_MODEL, max_block=500
    )
    smiths = {key: value for key, value in records.items() if value["name"] == "Smith"}
    assert scored_pairs(smiths, NAME_MODEL) == []


@pytest.mark.parametrize(
    ("count", "fitted"), [(MIN_RECORDS_TO_FIT - 1, False), (MIN_RECORDS_TO_FIT, True)]
)
def test_training_needs_min_records_to_fit(count: int, fitted: bool) -> None:
    records = named([f"Name{i % 30}" for i in range(count)])
    assert resolve_records(records, NAME_MODEL).fitted is fitted


def test_linking_fits_prior_u_and_m_on_pairs_across_sources_only() -> None:
    """Leeds A records pair up by name within A; five B records are Leeds namesakes of A
    records. The prior counts only the five cross pairs' matches, u only cross pairs, and
    m is EM over the blocked cross pairs: what the fitting functions give on those pairs."""
    records = {f"a{i:02d}": {"name": f"n{i // 2}", "city": "Leeds"} for i in range(50)}
    records |= {
        f"b{i:02d}": {"name": f"n{i}" if i < 5 else f"m{i}", "city": "Leeds" if i < 5 else "York"}
        for i in range(50)
    }
    sources = {record_id: record_id[0] for record_id in records}
    rules = (("name", "city"),)
    model = MatchModel(
        (agreement("name"), agreement("city")),
        prior=0.01,
        blocking=(("name",),),
        prior_rules=rules,
        prior_records=7,
    )
    prior = estimate_prior(records, rules, sources=sources)
    assert prior is not None and prior != estimate_prior(records, rules)
    across = [
        (records[a], records[b])
        for a, b in itertools.combinations(sorted(records), 2)
        if a[0] != b[0]
    ]
    blocked = [(a, b) for a, b in across if a["name"] == b["name"]]
    expected = replace(model, prior=prior, prior_records=100)
    expected = estimate_u(expected, [expected.vector(a, b) for a, b in across])
    expected = estimate_m(expected, [expected.vector(a, b) for a, b in blocked])
    found = resolve_records(records, model, sources=sources)
    assert found.fitted and found.model == replace(expected, term_frequencies={})


def test_without_blocked_pairs_training_keeps_the_models_m() -> None:
    model = replace(NAME_MODEL, comparisons=(agreement("name", m=0.7, u=0.2),))
    found = resolve_records(named([f"Name{i}" for i in range(120)]), model)
    assert found.fitted and found.candidate_pairs == 0
    assert [level.m for level in found.model.comparisons[0].levels] == [
        None,
        0.7,
        pytest.approx(0.3),
    ]
    assert found.model.comparisons[0].levels[1].u != 0.2


TF_MODEL = MatchModel(
    (agreement("name", m=0.9, u=0.1, tf=True),),
    prior=0.01,
    blocking=(("name",),),
    term_frequencies={"name": {"smith": 0.5, "okafor": 0.001}},
)


def test_scored_pairs_weigh_a_tf_level_by_the_models_own_frequencies() -> None:
    records: dict[str, FieldValues] = {
        "a": {"name": "Smith"},
        "b": {"name": "smith"},
        "c": {"name": "Okafor"},
        "d": {"name": "Okafor "},
    }
    # Bayes factor m / tf: 0.9 / 0.5 for Smith, 0.9 / 0.001 for Okafor; prior odds 1 / 99.
    found = scored_pairs(records, TF_MODEL)
    assert [(p.left, p.right) for p in found] == [("a", "b"), ("c", "d")]
    assert [p.probability for p in found] == [pytest.approx(1.8 / 100.8), pytest.approx(900 / 999)]
    assert (
        score(TF_MODEL, records["a"], records["b"]).probability
        < 0.5
        < score(TF_MODEL, records["c"], records["d"]).probability
    )


def test_no_records_score_and_link_nothing() -> None:
    assert scored_pairs({}, TF_MODEL) == []
    found = resolve_records({}, TF_MODEL, train=False)
    assert (found.links, found.clusters, found.candidate_pairs) == ([], {}, 0)


def test_a_never_link_rule_on_a_field_not_compared_vetoes_nothing() -> None:
    model = replace(
        NAME_MODEL,
        prior=0.5,
        link_threshold=0.8,
        never_link=(NonMatchRule("other phones", (("phone", ("else",)),)),),
    )
    records = named(["Ann", "Ann"], phone="1")
    assert score(model, records["r000"], records["r001"]).decision is Decision.LINK
    assert [(p.left, p.right) for p in scored_pairs(records, model)] == [("r000", "r001")]
    assert resolve_records(records, model, train=False).clusters == {"r000": "r000", "r001": "r000"}


def test_an_overwhelming_weight_is_probability_one() -> None:
    """26 fields agreeing where strangers never agree weigh over 1,000 bits: 2**w overflows,
    so the probability saturates at 1 as `probability` says."""
    fields = [f"f{i}" for i in range(26)]
    model = MatchModel(
        tuple(agreement(f, m=0.99, u=0.0) for f in fields), prior=0.01, blocking=(("f0",),)
    )
    same = {f: "x" for f in fields}
    assert score(model, same, same).weight >= 1000
    assert scored_pairs({"a": same, "b": same}, model) == [LinkedPair("a", "b", 1.0)]


def test_a_pair_exactly_at_the_link_threshold_links() -> None:
    """Prior 1/2 and m/u = 4: odds 4, probability 4/5 exactly."""
    model = MatchModel(
        (agreement("name", m=0.8, u=0.2),),
        prior=0.5,
        link_threshold=0.8,
        review_threshold=0.6,
        blocking=(("name",),),
    )
    found = resolve_records(named(["Ann", "Ann"]), model, train=False)
    assert found.links == [LinkedPair("r000", "r001", 0.8)]
    assert score(model, {"name": "Ann"}, {"name": "Ann"}).decision is Decision.LINK
