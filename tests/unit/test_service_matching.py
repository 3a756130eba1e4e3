"""Probabilistic matching through the service on a real SQLite store: links, possible
matches, definite non-matches, oversized blocks, explanations and order independence."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identity.domain.changes import ChangeKind
from identity.domain.errors import InvalidInput
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.scoring import Bucket, Decision
from identity.domain.types import Identifier
from identity.service import IdentityService
from identity.service.change_sinks import ListChangeSink
from identity.service.explain import ReviewPage
from identity.service.matching import OVERSIZED, Matcher
from identity.store.sqlite import SqliteGraphStore
from tests.builders import event, ident
from tests.contract.conftest import open_test_store
from tests.invariants import partition_checked

ANN = {"first_name": "Ann", "last_name": "Okafor", "date_of_birth": "1990-03-04",
       "address_line1": "12 High Street", "city": "London", "postcode": "SW1A 1AA"}
# The same woman typing faster on another site.
ANNE = {**ANN, "first_name": "Anne", "address_line1": "12 High St"}
# Her twin sister: same surname, birthday and home, another first name.
BEATRICE = {**ANN, "first_name": "Beatrice"}
# A namesake: same full name, nothing else in common.
OTHER_ANN = {"first_name": "Ann", "last_name": "Okafor", "date_of_birth": "1972-11-30",
             "address_line1": "4 Rue de la Paix", "city": "Paris", "postcode": "75002"}


@pytest.fixture(params=["sqlite-memory", pytest.param("neo4j", marks=pytest.mark.neo4j)])
async def matching(request: pytest.FixtureRequest, sink: ListChangeSink, tmp_path: Path
                   ) -> AsyncIterator[IdentityService]:
    """The service with the built-in model, on each store."""
    async with open_test_store(request.param, tmp_path, request) as store:
        yield IdentityService(store, sink=sink, matcher=Matcher(DEFAULT_MODEL))


def person(cookie: str, traits: dict[str, str], *more: dict[str, str], **fields: Any
           ) -> dict[str, Any]:
    return event(ident("anonymous_id", cookie), *more, traits=traits, **fields)


async def profile(service: IdentityService, kind: str, value: str) -> str | None:
    (found,) = await service.profile_ids([service.normalize(kind, value)])
    return found


async def test_records_that_match_are_linked_with_their_scored_comparison(
    matching: IdentityService, sink: ListChangeSink,
) -> None:
    first, = await matching.ingest([person("c1", ANN)])
    second, = await matching.ingest([person("c2", ANNE)])

    assert second.profile_id == first.profile_id
    assert second.merged_ids and sink.changes[-1].kind is ChangeKind.MERGED
    explanation = await matching.explain(Identifier("anonymous_id", "c1"),
                                         Identifier("anonymous_id", "c2"))
    (step,) = explanation.path
    assert step.link.evidence.rule == "probabilistic" and step.link.is_active
    comparison = step.comparison
    assert comparison is not None and comparison.decision is Decision.LINK
    assert explanation.link_threshold is not None
    assert comparison.probability >= explanation.link_threshold
    fields = {f.field: f for f in comparison.fields}
    assert (fields["first_name"].left, fields["first_name"].right) == ("Ann", "Anne")
    assert fields["date_of_birth"].bucket is Bucket.SAME
    assert fields["email"].bucket is Bucket.MISSING
    assert step.link.evidence.score == pytest.approx(comparison.probability)


async def test_a_pair_between_the_thresholds_waits_in_the_review_queue(
    matching: IdentityService,
) -> None:
    names = {"first_name": "Ann", "last_name": "Okafor"}
    await matching.ingest([person("c1", names), person("c2", names)])

    assert await profile(matching, "anonymous_id", "c1") != await profile(
        matching, "anonymous_id", "c2")
    page = await matching.review_queue(10)
    (item,) = page.items
    assert page.end_cursor is None
    assert {item.link.link.a.value, item.link.link.b.value} == {"c1", "c2"}
    assert item.profile_a != item.profile_b
    assert item.link.comparison is not None
    assert item.link.comparison.decision is Decision.REVIEW
    assert DEFAULT_MODEL.review_threshold <= item.link.comparison.probability \
        < DEFAULT_MODEL.link_threshold


async def test_the_review_queue_pages_and_drops_pairs_joined_since(
    matching: IdentityService,
) -> None:
    names = {"first_name": "Ann", "last_name": "Okafor"}
    await matching.ingest([person(f"c{i}", names) for i in range(4)])  # 6 possible pairs
    first = await matching.review_queue(4)
    assert len(first.items) == 4 and first.end_cursor is not None
    rest = await matching.review_queue(4, first.end_cursor)
    assert len(rest.items) == 2 and rest.end_cursor is None
    shown = [(i.link.link.a.value, i.link.link.b.value) for i in [*first.items, *rest.items]]
    # One score for all six (the same names): in order of their pairs.
    assert shown == [("c0", "c1"), ("c0", "c2"), ("c0", "c3"), ("c1", "c2"), ("c1", "c3"),
                     ("c2", "c3")]
    # c0 and c1 log in to one account: their pair is no longer a question.
    await matching.ingest([event(ident("customer_id", "u1"), ident("anonymous_id", "c0")),
                           event(ident("customer_id", "u1"), ident("anonymous_id", "c1"))])
    after = await matching.review_queue(10)
    assert len(after.items) == 5 and ("c0", "c1") not in pairs_of(after)
    with pytest.raises(InvalidInput, match="first"):
        await matching.review_queue(0)
    with pytest.raises(InvalidInput, match="cursor"):
        await matching.review_queue(5, "not-a-cursor!")


def pairs_of(page: ReviewPage) -> list[tuple[str, str]]:
    return [(i.link.link.a.value, i.link.link.b.value) for i in page.items]


def cookies(*names: str) -> tuple[Identifier, ...]:
    return tuple(Identifier("anonymous_id", name) for name in names)


# Three possible matches, each of its own source, scored apart under the built-in model:
# the same names only (0.82), the same surname and postcode (0.77), the same names and city
# but two birthdays (0.61). Their pairs' order (city, names, post) is not their scores'.
FAMILIES = {
    "names": ({"first_name": "Ann", "last_name": "Okafor"},
              {"first_name": "Ann", "last_name": "Okafor"}),
    "post": ({"last_name": "Lovelace", "postcode": "LS1 4AP", "address_line1": "7 Mill Lane"},
             {"last_name": "Lovelace", "postcode": "LS1 4AP", "address_line1": "90 Park Road"}),
    "city": ({"first_name": "Ivy", "last_name": "Achterberg", "city": "Bristol",
              "date_of_birth": "1979-02-13"},
             {"first_name": "Ivy", "last_name": "Achterberg", "city": "Bristol",
              "date_of_birth": "1961-08-30"}),
}


async def scored_apart(service: IdentityService) -> list[float]:
    await service.ingest([person(f"{name}-{side}", traits, source=name)
                          for name, pair in FAMILIES.items()
                          for side, traits in enumerate(pair, start=1)])
    return [i.link.link.evidence.score or 0.0 for i in (await service.review_queue(10)).items]


async def test_the_review_queue_shows_the_highest_scores_first(
    matching: IdentityService,
) -> None:
    scores = await scored_apart(matching)

    page = await matching.review_queue(10)
    assert pairs_of(page) == [("names-1", "names-2"), ("post-1", "post-2"),
                              ("city-1", "city-2")]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 3
    one = await matching.review_queue(1)
    two = await matching.review_queue(1, one.end_cursor)
    three = await matching.review_queue(1, two.end_cursor)
    assert [*pairs_of(one), *pairs_of(two), *pairs_of(three)] == pairs_of(page)
    assert (await matching.review_queue(1, three.end_cursor)).items == ()


async def test_the_review_queue_filters_by_score_range_and_source(
    matching: IdentityService,
) -> None:
    names, post, city = await scored_apart(matching)

    assert pairs_of(await matching.review_queue(10, min_score=post)) == [
        ("names-1", "names-2"), ("post-1", "post-2")]
    assert pairs_of(await matching.review_queue(10, max_score=post)) == [
        ("post-1", "post-2"), ("city-1", "city-2")]
    assert pairs_of(await matching.review_queue(10, min_score=city, max_score=(city + post) / 2)
                    ) == [("city-1", "city-2")]
    assert pairs_of(await matching.review_queue(10, source=" post ")) == [("post-1", "post-2")]
    assert pairs_of(await matching.review_queue(10, source="names", max_score=post)) == []
    first = await matching.review_queue(1, max_score=names - 0.01)
    assert pairs_of(first) == [("post-1", "post-2")]
    rest = await matching.review_queue(1, first.end_cursor, max_score=names - 0.01)
    assert pairs_of(rest) == [("city-1", "city-2")]


@pytest.mark.parametrize(("arguments", "message"), [
    ({"min_score": -0.1}, "minScore: must be between 0 and 1, got -0.1"),
    ({"max_score": 1.5}, "maxScore: must be between 0 and 1, got 1.5"),
    ({"min_score": float("nan")}, "minScore: must be between 0 and 1, got nan"),
    ({"min_score": 0.8, "max_score": 0.7}, "maxScore: must be at least minScore (0.8), got 0.7"),
    ({"source": "  "}, "source: must not be empty"),
    ({"source": "s" * 257}, "source: at most 256 characters, got 257"),
])
async def test_a_review_filter_out_of_bounds_is_refused_with_the_reason(
    matching: IdentityService, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await matching.review_queue(10, **arguments)
    assert str(refused.value) == message


@pytest.mark.parametrize("cursor", [
    "A" * 5000, base64.urlsafe_b64encode(b"nan\na\nb").decode(),
    base64.urlsafe_b64encode(b"0.5\nonly-two").decode(),
])
async def test_a_cursor_not_handed_out_is_refused(matching: IdentityService, cursor: str
                                                   ) -> None:
    with pytest.raises(InvalidInput, match="is not a cursor this API returned"):
        await matching.review_queue(10, cursor)


async def test_a_pair_found_joined_leaves_the_review_queue_for_good(
    matching: IdentityService, monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = {"first_name": "Ann", "last_name": "Okafor"}
    await matching.ingest([person(f"c{i}", names) for i in range(4)])  # 6 pairs, one score
    # c0, c1 and c2 log in to one account: three of the six pairs are joined now.
    await matching.ingest([event(ident("customer_id", "u1"), ident("anonymous_id", f"c{i}"))
                           for i in range(3)])
    c0, c1, c2, c3 = cookies("c0", "c1", "c2", "c3")
    monkeypatch.setattr("identity.service.explain.MAX_SCAN", 2)  # a call reads two

    first = await matching.review_queue(10)  # (c0, c1) and (c0, c2): both joined
    assert first.items == () and first.end_cursor is not None
    second = await matching.review_queue(10, first.end_cursor)  # (c0, c3); (c1, c2) joined
    assert pairs_of(second) == [("c0", "c3")] and second.end_cursor is not None
    third = await matching.review_queue(10, second.end_cursor)
    assert pairs_of(third) == [("c1", "c3"), ("c2", "c3")] and third.end_cursor is None

    async with matching.store.transaction(read_only=True) as tx:
        outcomes = {(q.a, q.b): q.outcome for q in await tx.reviews.read_items(
            [(c0, c1), (c0, c2), (c1, c2), (c0, c3), (c1, c3), (c2, c3)])}
        pending = await tx.reviews.page_pending(None, 100, 0.0, 1.0, None)
    assert outcomes == {(c0, c1): "joined", (c0, c2): "joined", (c1, c2): "joined",
                        (c0, c3): None, (c1, c3): None, (c2, c3): None}
    assert [(q.a, q.b) for q in pending] == [(c0, c3), (c1, c3), (c2, c3)]  # never read again
    again = await matching.review_queue(2)
    assert pairs_of(again) == [("c0", "c3"), ("c1", "c3")] and again.end_cursor is not None


async def test_a_review_pair_apart_or_decided_by_the_write_keeps_its_outcome(
    matching: IdentityService,
) -> None:
    """The write after a page checks again: a pair a steward split or decided between the
    read and the write is not marked joined."""
    names = {"first_name": "Ann", "last_name": "Okafor"}
    await matching.ingest([person(f"c{i}", names) for i in range(3)])
    await matching.ingest([event(ident("customer_id", "u1"), ident("anonymous_id", "c1")),
                           event(ident("customer_id", "u1"), ident("anonymous_id", "c2"))])
    c0, c1, c2 = cookies("c0", "c1", "c2")
    async with matching.store.transaction() as tx:
        await tx.reviews.resolve([(c1, c2, "rejected")])
        queued = await tx.reviews.read_items([(c0, c1), (c1, c2)])

    await matching._explainer._leave_queue(queued)  # as if a page had found both joined
    async with matching.store.transaction(read_only=True) as tx:
        assert [q.outcome for q in await tx.reviews.read_items([(c0, c1), (c1, c2)])] == [
            None, "rejected"]


async def test_twins_are_never_linked_and_the_veto_is_visible(matching: IdentityService) -> None:
    await matching.ingest([person("c1", ANN), person("c2", BEATRICE)])

    assert await profile(matching, "anonymous_id", "c1") != await profile(
        matching, "anonymous_id", "c2")
    history = await matching.profile_history(
        await profile(matching, "anonymous_id", "c1") or "")
    assert history is not None
    (vetoed,) = history.blocked
    assert vetoed.link.inactive_reason == "never-link rule 'twins'"
    assert vetoed.comparison is not None and vetoed.comparison.non_match == "twins"


async def test_namesakes_stay_apart(matching: IdentityService) -> None:
    await matching.ingest([person("c1", ANN), person("c2", OTHER_ANN)])
    assert await profile(matching, "anonymous_id", "c1") != await profile(
        matching, "anonymous_id", "c2")
    explanation = await matching.explain(Identifier("anonymous_id", "c1"),
                                         Identifier("anonymous_id", "c2"))
    assert explanation.path == () and not explanation.same_profile
    assert explanation.comparison is not None
    assert explanation.comparison.decision is Decision.NONE
    buckets = {f.field: f.bucket for f in explanation.comparison.fields}
    assert buckets["last_name"] is Bucket.SAME
    assert buckets["date_of_birth"] is Bucket.NO_CHANCE


async def test_records_carrying_two_customer_ids_never_link(matching: IdentityService) -> None:
    await matching.ingest([
        event(ident("customer_id", "u1"), traits=ANN),
        event(ident("customer_id", "u2"), traits=ANNE),
    ])
    assert await profile(matching, "customer_id", "u1") != await profile(
        matching, "customer_id", "u2")


async def test_profiles_holding_different_customer_ids_are_never_joined(
    matching: IdentityService,
) -> None:
    # Each guest email belongs to a different account; the emails' records match.
    await matching.ingest([
        event(ident("customer_id", "u1"), ident("email", "ann@one.com")),
        event(ident("customer_id", "u2"), ident("email", "anne@two.com")),
    ])
    await matching.ingest([event(ident("email", "ann@one.com"), traits=ANN)])
    await matching.ingest([event(ident("email", "anne@two.com"), traits=ANNE)])

    assert await profile(matching, "customer_id", "u1") != await profile(
        matching, "customer_id", "u2")
    links = (await matching.links([Identifier("email", "ann@one.com")]))[0]
    (guarded,) = [k for k in links if k.evidence.rule == "probabilistic"]
    assert not guarded.is_active
    assert guarded.inactive_reason == (
        "per-profile limit: joining would make one profile hold 2 customer_id identifiers "
        "(limit 1); the link through email anne@two.com stays inactive")


async def test_the_same_facts_sent_again_compare_nothing_new(matching: IdentityService) -> None:
    await matching.ingest([person("c1", ANN), person("c2", ANNE)])
    await matching.ingest([person("c2", ANNE)])  # a new event id, the same record
    (links,) = await matching.links([Identifier("anonymous_id", "c1")])
    (link,) = [k for k in links if k.evidence.rule == "probabilistic"]
    assert len(link.evidence.event_ids) == 1


async def test_an_oversized_block_is_skipped_and_ingest_goes_on(sink: ListChangeSink) -> None:
    store = SqliteGraphStore(":memory:")
    service = IdentityService(store, sink=sink, matcher=Matcher(DEFAULT_MODEL, max_block=3))
    before = OVERSIZED._value.get()
    crowd = [person(f"c{i}", {"first_name": f"Name{i}", "last_name": "Smith",
                              "date_of_birth": "1980-01-01"}) for i in range(6)]
    results = await service.ingest(crowd)
    assert all(r.profile_id for r in results)
    assert OVERSIZED._value.get() > before
    await store.close()


async def test_explain_profile_lists_the_links_that_built_it_in_order(
    matching: IdentityService,
) -> None:
    await matching.ingest([event(ident("email", "ann@one.com"), ident("anonymous_id", "c1"),
                                 timestamp="2024-01-01T00:00:00Z")])
    await matching.ingest([person("c2", ANNE, timestamp="2024-03-01T00:00:00Z")])
    await matching.ingest([person("c1", ANN, timestamp="2024-02-01T00:00:00Z")])
    history = await matching.profile_history(
        await profile(matching, "email", "ann@one.com") or "")
    assert history is not None
    # Decision order: two look-alike records before a link through a cookie, however early.
    assert [s.link.evidence.rule for s in history.steps] == ["probabilistic", "same_event"]
    assert history.steps[0].comparison is not None
    assert await matching.profile_history("prf_unknown") is None


async def test_explain_follows_a_path_across_kinds_of_links(matching: IdentityService) -> None:
    await matching.ingest([event(ident("email", "ann@one.com"), ident("anonymous_id", "c1"))])
    await matching.ingest([person("c1", ANN), person("c2", ANNE)])
    explanation = await matching.explain(Identifier("email", "ann@one.com"),
                                         Identifier("anonymous_id", "c2"))
    assert [s.link.evidence.rule for s in explanation.path] == ["same_event", "probabilistic"]
    unknown = await matching.explain(Identifier("email", "ann@one.com"),
                                     Identifier("email", "nobody@x.com"))
    assert unknown.profile_b is None and unknown.path == ()


PEOPLE = [ANN, ANNE, BEATRICE, OTHER_ANN, {**ANN, "postcode": "SW1A 2AA"},
          {"first_name": "Bob", "last_name": "Okafor", "date_of_birth": "1990-03-04"}]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(range(len(PEOPLE))), st.integers(min_value=1, max_value=3))
def test_the_partition_does_not_depend_on_arrival_order(order: list[int], batch: int) -> None:
    async def partition(sequence: list[int]) -> frozenset[frozenset[Identifier]]:
        store = SqliteGraphStore(":memory:")
        service = IdentityService(store, matcher=Matcher(DEFAULT_MODEL))
        events = [person(f"c{i}", PEOPLE[i], event_id=f"e{i}") for i in sequence]
        for start in range(0, len(events), batch):
            await service.ingest(events[start:start + batch])
        found = await partition_checked(
            store, [Identifier("anonymous_id", f"c{i}") for i in range(len(PEOPLE))])
        await store.close()
        return found

    expected = asyncio.run(partition(list(range(len(PEOPLE)))))
    assert asyncio.run(partition(order)) == expected
    assert len(expected) < len(PEOPLE)  # some records did link


async def test_within_a_batch_the_later_event_makes_the_link(matching: IdentityService) -> None:
    first, second = await matching.ingest([person("c1", ANN), person("c2", ANNE)])
    assert first.profile_id == second.profile_id
    assert first.merged_ids == () and len(second.merged_ids) == 1
    (links,) = await matching.links([Identifier("anonymous_id", "c1")])
    (link,) = [k for k in links if k.evidence.rule == "probabilistic"]
    assert link.evidence.event_ids == (second.event_id,)


async def test_a_veto_keeps_two_identifiers_apart_even_when_other_records_of_theirs_match(
    matching: IdentityService,
) -> None:
    """c1 carries Ann's record and her twin Beatrice's: it is shared, and the twins rule says
    Beatrice is not Anne. Privacy first: c2 is not joined to a cookie two people use."""
    await matching.ingest([person("c1", ANN), person("c2", ANNE)])
    await matching.ingest([person("c1", BEATRICE)])  # c1 now also looks like Anne's twin
    cookies = [Identifier("anonymous_id", "c1"), Identifier("anonymous_id", "c2")]
    assert await partition_checked(matching.store, cookies) == frozenset(
        {frozenset({cookies[0]}), frozenset({cookies[1]})})
    (links,) = await matching.links([cookies[0]])
    assert {(k.evidence.rule, k.is_active) for k in links} == {
        ("probabilistic", False), ("vetoed", False)}
    (held,) = [k for k in links if k.evidence.rule == "probabilistic"]
    assert held.inactive_reason is not None
    assert held.inactive_reason.startswith("never link: never-link rule 'twins' says")


async def test_one_persons_records_all_link_and_the_history_shows_the_steps_that_joined(
    matching: IdentityService,
) -> None:
    """Every matching pair is kept (whether two records are one person cannot depend on
    which came first, invariant 3); the history lists only the links that joined parts."""
    spellings = ["Ann", "Anne", "ANN", "Anna", "ann"]
    await matching.ingest([person(f"c{i}", {**ANN, "first_name": name})
                           for i, name in enumerate(spellings)])
    cookies = [Identifier("anonymous_id", f"c{i}") for i in range(len(spellings))]
    assert await partition_checked(matching.store, cookies) == frozenset({frozenset(cookies)})
    scored = {(k.a, k.b) for links in await matching.links(cookies) for k in links
              if k.evidence.rule == "probabilistic"}
    assert len(scored) == len(spellings) * (len(spellings) - 1) // 2
    history = await matching.profile_history(
        await profile(matching, "anonymous_id", "c0") or "")
    assert history is not None and len(history.steps) == len(spellings) - 1


async def test_placeholder_traits_never_make_strangers_alike(matching: IdentityService) -> None:
    filler = {"first_name": "Test", "last_name": "TEST", "date_of_birth": "1970-01-01",
              "postcode": "00000", "city": "xxx"}
    await matching.ingest([event(ident("email", f"p{i}@shop.com"), traits=filler)
                           for i in range(5)])
    emails = [Identifier("email", f"p{i}@shop.com") for i in range(5)]
    assert len(await partition_checked(matching.store, emails)) == 5
    assert (await matching.review_queue(10)).items == ()


async def test_identifiers_speak_for_fields_of_their_kind(matching: IdentityService) -> None:
    names = {"first_name": "Ann", "last_name": "Okafor"}
    await matching.ingest([
        event(ident("anonymous_id", "c1"), ident("email", "Ann.Okafor+shop@GMail.com"),
              traits={**names, "email": "Ann.Okafor+shop@GMail.com"}),
        event(ident("anonymous_id", "c2"), traits={**names, "email": "annokafor@gmail.com"}),
    ])
    explanation = await matching.explain(Identifier("email", "annokafor@gmail.com"),
                                         Identifier("anonymous_id", "c2"))
    assert explanation.same_profile  # the raw trait would have missed: Gmail dots and tags
    (step,) = explanation.path
    assert step.comparison is not None
    assert {f.field: f.level for f in step.comparison.fields}["email"] == "exact"


async def test_explain_compares_the_profiles_records_for_any_identifier(
    matching: IdentityService,
) -> None:
    device = Identifier("device_id", "d-1")
    await matching.ingest([
        event(ident("email", "ann@one.com"), ident("device_id", "d-1"), traits=ANN),
        person("c2", OTHER_ANN),
    ])
    apart = await matching.explain(device, Identifier("anonymous_id", "c2"))
    assert not apart.same_profile and apart.comparison is not None  # the email's record
    assert {f.field: f.right for f in apart.comparison.fields}["city"] == "Paris"
    itself = await matching.explain(device, device)
    assert itself.same_profile and itself.path == () and itself.comparison is None
