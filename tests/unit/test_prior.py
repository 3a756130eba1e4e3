"""The prior from deterministic rules: pairs a near-certain rule catches, over its assumed
recall, over all pairs."""

from __future__ import annotations

import pytest

from identity.domain.matching.model import Record
from identity.domain.matching.prior import ASSUMED_RECALL, estimate_prior

RECORDS: dict[str, Record] = {
    "a": {"email": "ann@x.com", "last_name": "Okafor"},
    "b": {"email": "ANN@x.com ", "last_name": "Okafor"},  # folded: the same email
    "c": {"email": "bob@y.com", "last_name": "Jones"},
    "d": {"email": None, "last_name": "Jones"},
    "e": {"email": "bob@y.com", "last_name": "Jones"},
    **{f"s{i}": {"email": f"s{i}@z.com", "last_name": f"Stranger{i}"} for i in range(5)},
}


def test_pairs_meeting_any_rule_count_once() -> None:
    # a-b and c-e share an email; a-b, c-d, c-e, d-e a surname: four pairs of 45.
    prior = estimate_prior(RECORDS, [["email"], ["last_name"]])
    assert prior == pytest.approx(4 / ASSUMED_RECALL / 45)


def test_a_rule_needs_every_field_present() -> None:
    assert estimate_prior(RECORDS, [["email", "last_name"]]) == pytest.approx(
        2 / ASSUMED_RECALL / 45)


def test_linking_counts_only_pairs_across_sources() -> None:
    sources = {key: "crm" if key in "ace" else "shop" for key in RECORDS}  # 3 x 7 records
    # across: a-b, c-d and d-e; c-e is inside one source
    prior = estimate_prior(RECORDS, [["email"], ["last_name"]], sources=sources)
    assert prior == pytest.approx(3 / ASSUMED_RECALL / 21)


def test_nothing_to_learn_from_gives_none() -> None:
    assert estimate_prior(RECORDS, []) is None
    assert estimate_prior(RECORDS, [["phone"]]) is None
    assert estimate_prior({"a": RECORDS["a"]}, [["email"]]) is None
