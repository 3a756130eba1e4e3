"""The prior from deterministic rules: pairs a near-certain rule catches, over its assumed
recall, over all pairs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from identity.domain.matching import prior as prior_module
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.model import FieldValues, MatchModel
from identity.domain.matching.prior import ASSUMED_RECALL, CEILING, estimate_prior
from identity.service import IdentityService
from identity.service.matching import GraphSize, Matcher
from identity.store.sqlite import SqliteGraphStore
from tests.builders import event, ident

RECORDS: dict[str, FieldValues] = {
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
        2 / ASSUMED_RECALL / 45
    )


def test_linking_counts_only_pairs_across_sources() -> None:
    sources = {key: "crm" if key in "ace" else "shop" for key in RECORDS}  # 3 x 7 records
    # across: a-b, c-d and d-e; c-e is inside one source
    prior = estimate_prior(RECORDS, [["email"], ["last_name"]], sources=sources)
    assert prior == pytest.approx(3 / ASSUMED_RECALL / 21)


def test_nothing_to_learn_from_gives_none() -> None:
    assert estimate_prior(RECORDS, []) is None
    assert estimate_prior(RECORDS, [["phone"]]) is None
    assert estimate_prior({"a": RECORDS["a"]}, [["email"]]) is None


# --- the prior follows the graph's size --------------------------------------------------------


def test_the_prior_falls_by_half_at_each_doubling_past_the_records_it_holds_for() -> None:
    model = replace(DEFAULT_MODEL, prior=1e-4, prior_records=10_000)
    assert model.at_size(10_000) is model and model.at_size(10) is model
    assert model.at_size(10_001).prior == pytest.approx(5e-5)
    assert model.at_size(20_000).prior == pytest.approx(5e-5)
    assert model.at_size(100_000).prior == pytest.approx(1e-4 / 16)
    assert replace(model, prior_records=None).at_size(10**9) is not None
    assert replace(model, prior_records=None).at_size(10**9).prior == 1e-4


def test_a_matcher_keeps_one_matcher_per_size_step_so_its_scorer_stays_warm() -> None:
    """Ingest asks for the matcher at the graph's size on every batch: within a step it must
    get the same matcher back, or the scorer's memory of compared values starts cold each time."""
    matcher = Matcher(replace(DEFAULT_MODEL, prior_records=10_000))
    assert matcher.at_size(9_000) is matcher
    sized = matcher.at_size(15_000)
    assert sized is not matcher and sized.model.prior == pytest.approx(DEFAULT_MODEL.prior / 2)
    assert matcher.at_size(20_000) is sized
    assert matcher.at_size(20_001) is not sized
    assert matcher.at_size(20_001).model.prior == pytest.approx(DEFAULT_MODEL.prior / 4)


def test_a_trained_prior_says_how_many_records_it_holds_for_and_round_trips() -> None:
    model = replace(DEFAULT_MODEL, prior=3e-4, prior_records=4_321)
    assert MatchModel.from_json(model.to_json()).prior_records == 4_321
    assert DEFAULT_MODEL.prior_records == 10_000


async def test_namesakes_that_link_in_a_small_graph_do_not_in_a_large_one() -> None:
    """Two records agreeing on a name and a city alone: likely one person among a handful
    of records, not among many (the untrained prior joined namesakes at 100k events)."""
    model = replace(DEFAULT_MODEL, prior_records=4)
    namesakes = [{"first_name": "Ann", "last_name": "Okafor", "city": "Leeds"}] * 2

    async def joined_after(strangers: int) -> bool:
        store = SqliteGraphStore(":memory:")
        service = IdentityService(store, matcher=Matcher(model), profile_cache=0)
        await service.ingest(
            [
                event(
                    ident("email", f"s{i}@x.com"),
                    traits={"first_name": f"Zed{i}", "last_name": f"Q{i}"},
                )
                for i in range(strangers)
            ]
        )
        first, second = await service.ingest(
            [
                event(ident("email", f"ann{i}@x.com"), traits=traits)
                for i, traits in enumerate(namesakes)
            ]
        )
        await store.close()
        return first.profile_id == second.profile_id

    assert await joined_after(0)
    assert not await joined_after(40)  # 42 records: the prior is a sixteenth


async def test_graph_size_reads_the_store_once_a_while_and_counts_what_it_files() -> None:
    now = [0.0]
    size = GraphSize(refresh_s=60, clock=lambda: now[0])
    store = SqliteGraphStore(":memory:")
    async with store.transaction() as tx:
        assert await size.records(tx.matches) == 0
        size.filed(5)
        assert await size.records(tx.matches) == 5  # not read again yet
        now[0] = 61
        assert await size.records(tx.matches) == 0  # the store knows best
    await store.close()


def test_two_records_caught_by_a_rule_give_the_ceiling() -> None:
    """One pair of one: caught over an assumed recall is above any sane prior, so capped."""
    pair: dict[str, FieldValues] = {"a": RECORDS["a"], "b": RECORDS["b"]}
    assert estimate_prior(pair, [["email"]]) == CEILING
    assert estimate_prior(pair, [["email"]], sources={"a": "crm", "b": "shop"}) == CEILING


def test_a_value_shared_by_more_records_than_a_person_has_is_a_placeholder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A group of MAX_GROUP records still counts; one more and it is skipped, and the
    groups after it still count. (MAX_GROUP lowered to 4 to keep the test small.)"""
    monkeypatch.setattr(prior_module, "MAX_GROUP", 4)

    def shared(group: int) -> dict[str, FieldValues]:
        emails = ["n/a@x.com"] * group + ["z@x.com"] * 2 + [f"s{i}@x.com" for i in range(20)]
        return {f"r{i:02}": {"email": email} for i, email in enumerate(emails)}

    assert estimate_prior(shared(4), [["email"]]) == pytest.approx(
        (6 + 1) / ASSUMED_RECALL / (26 * 25 // 2)
    )
    assert estimate_prior(shared(5), [["email"]]) == pytest.approx(
        1 / ASSUMED_RECALL / (27 * 26 // 2)
    )
