"""`identity train` cannot make things worse: a fit is judged against the model in force on
the graph's own evidence before it is saved."""

from __future__ import annotations

from dataclasses import replace

import pytest

from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.engine import scored_pairs
from identity.service import IdentityService
from identity.service.matching import Matcher
from identity.service.training import (
    Estimate,
    Evidence,
    calibrated,
    evidence_in_store,
    judge,
    records_in_store,
    values_of,
)
from identity.store.sqlite import SqliteGraphStore
from tests.builders import event, ident

ANN = {"first_name": "Ann", "last_name": "Okafor", "date_of_birth": "1985-04-12",
       "postcode": "LS1 4AP"}
# The same facts without the rule that two accounts are two people: it links them.
LOOSE = replace(DEFAULT_MODEL, never_link=tuple(
    rule for rule in DEFAULT_MODEL.never_link if rule.name != "different customer ids"))


def estimate(precision: float, recall: float) -> Estimate:
    return Estimate(precision, recall, 0, 0, 0)


@pytest.mark.parametrize(("new", "old", "no_worse"), [
    ((0.99, 0.50), (0.99, 0.50), True),
    ((0.9995, 0.60), (0.99, 0.50), True),
    ((0.9985, 0.50), (0.99, 0.50), True),   # within the precision slack
    ((0.98, 0.90), (0.99, 0.50), False),   # recalls more, less precise: refused
    ((1.0, 0.10), (0.99, 0.50), False),    # precise by linking little: refused
])
def test_a_model_replaces_another_only_when_as_precise_and_recalling_as_much(
    new: tuple[float, float], old: tuple[float, float], no_worse: bool,
) -> None:
    assert estimate(*new).no_worse_than(estimate(*old)) is no_worse


@pytest.fixture
async def store() -> SqliteGraphStore:
    """Ann's login (account C-1 and her email), a record on each, and a look-alike record
    on another account (C-2): one pair events join, two pairs holding two accounts."""
    opened = SqliteGraphStore(":memory:")
    service = IdentityService(opened, matcher=Matcher(DEFAULT_MODEL))
    await service.ingest([
        event(ident("customer_id", "C-1"), ident("email", "ann@x.com")),
        event(ident("customer_id", "C-1"), traits=ANN),
        event(ident("email", "ann@x.com"), traits={**ANN, "first_name": "Anne"}),
        event(ident("customer_id", "C-2"), traits=ANN),
    ])
    return opened


async def test_the_graph_says_which_records_are_one_person_and_which_two(
    store: SqliteGraphStore,
) -> None:
    records = await records_in_store(store)
    anchor = {r.record_id: r.anchor.value for r in records}
    evidence = await evidence_in_store(store, records, DEFAULT_MODEL)
    assert {frozenset(anchor[r] for r in pair) for pair in evidence.same} == {
        frozenset({"C-1", "ann@x.com"})}
    assert {frozenset(anchor[r] for r in pair) for pair in evidence.apart} == {
        frozenset({"C-1", "C-2"}), frozenset({"ann@x.com", "C-2"})}
    await store.close()


async def test_a_fit_that_recalls_less_is_not_saved_over_the_model_in_force(
    store: SqliteGraphStore,
) -> None:
    timid = replace(DEFAULT_MODEL, link_threshold=1 - 1e-12)  # links nothing here
    refused = await judge(store, timid, DEFAULT_MODEL)
    assert refused.has_evidence and not refused.replaces
    assert (refused.fitted.recall, refused.in_force.recall) == (0.0, 1.0)
    assert (await judge(store, DEFAULT_MODEL, timid)).replaces
    await store.close()


async def test_a_fit_less_precise_than_the_model_in_force_is_calibrated_until_it_is_not(
    store: SqliteGraphStore,
) -> None:
    """LOOSE links the two accounts, which the model in force vetoes; raised above that
    pair, it is as precise, and recalls as much, so it may replace it."""
    judged = await judge(store, LOOSE, DEFAULT_MODEL)
    assert judged.model.link_threshold > LOOSE.link_threshold
    assert judged.fitted.precision >= judged.in_force.precision
    assert judged.replaces
    await store.close()


async def test_calibration_raises_the_threshold_above_the_pairs_holding_two_accounts(
    store: SqliteGraphStore,
) -> None:
    records = values_of(await records_in_store(store))
    evidence = await evidence_in_store(store, await records_in_store(store), LOOSE)
    tuned = calibrated(scored_pairs(records, LOOSE), LOOSE, evidence, precision=1.0)
    assert tuned.link_threshold > LOOSE.link_threshold
    assert tuned.review_threshold <= tuned.link_threshold
    assert calibrated(scored_pairs(records, LOOSE), LOOSE, Evidence(frozenset(), frozenset()),
                      1.0) is LOOSE
    await store.close()
