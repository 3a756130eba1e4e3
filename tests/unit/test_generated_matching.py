"""Twins and namesakes from the journey generator stay apart through real-time matching,
while the generator's look-alike records of one person do link, and only them."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from itertools import combinations

import pytest

from identity.domain.errors import InvalidInput
from identity.domain.identifiers import NormalizationRules, normalize_identifier
from identity.domain.links import LinkRule
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.levels import fold
from identity.domain.types import Identifier
from identity.service import IdentityService
from identity.service.matching import Matcher
from identity.store.sqlite import SqliteGraphStore
from identity.synthetic import generate
from identity.synthetic.config import GeneratorConfig

Traits = dict[str, str]


@pytest.fixture(scope="module")
def outcome() -> tuple[dict[Identifier, str], dict[str, list[Traits]], list[tuple[str, str]],
                       dict[Identifier, str]]:
    """(truth, traits by person, active probabilistic links as person pairs, profile by
    identifier) after ingesting 600 people's journeys."""
    dataset = generate(GeneratorConfig(people=600, seed=3))
    # Shared identifiers (a family mailbox, a kiosk) belong to no one person: left out.
    truth = {Identifier(r.kind, r.value): r.person_id for r in dataset.truth if not r.is_shared}
    rules = NormalizationRules()
    traits: dict[str, list[Traits]] = defaultdict(list)
    for event in dataset.events:
        found = event.get("traits")
        identifiers = event.get("identifiers")
        if not isinstance(found, dict) or not isinstance(identifiers, list):
            continue
        for raw in identifiers:
            try:
                person = truth.get(normalize_identifier(raw["kind"], raw["value"], rules))
            except InvalidInput:  # the generator's deliberately bad values
                continue
            if person:
                traits[person].append({k: str(v) for k, v in found.items()})
                break

    async def ingest() -> tuple[list[tuple[str, str]], dict[Identifier, str]]:
        store = SqliteGraphStore(":memory:")
        service = IdentityService(store, matcher=Matcher(DEFAULT_MODEL))
        for start in range(0, len(dataset.events), 250):
            await service.ingest(dataset.events[start:start + 250])
        async with store.transaction(read_only=True) as tx:
            links = await tx.graph.read_links_by_rule(LinkRule.PROBABILISTIC, None, 100_000)
        known = sorted(truth)
        profiles = dict(zip(known, await service.profile_ids(known), strict=True))
        await store.close()
        joined = [(truth[k.a], truth[k.b]) for k in links
                  if k.is_active and k.a in truth and k.b in truth]
        return joined, {i: p for i, p in profiles.items() if p}

    joined, profiles = asyncio.run(ingest())
    return truth, traits, joined, profiles


def _pairs(traits: dict[str, list[Traits]], same: tuple[str, ...], differ: str
           ) -> set[frozenset[str]]:
    """Pairs of different people with records agreeing on `same` and disagreeing on `differ`."""
    by_key: dict[tuple[str, ...], set[str]] = defaultdict(set)
    values: dict[tuple[tuple[str, ...], str], set[str]] = defaultdict(set)
    for person, records in traits.items():
        for record in records:
            key = tuple(fold(record.get(name, "")) for name in same)
            if all(key) and record.get(differ):
                by_key[key].add(person)
                values[(key, person)].add(fold(record[differ]))
    found: set[frozenset[str]] = set()
    for key, people in by_key.items():
        for a, b in combinations(sorted(people), 2):
            if not values[(key, a)] & values[(key, b)]:
                found.add(frozenset((a, b)))
    return found


def test_twins_stay_apart(outcome: tuple) -> None:  # type: ignore[type-arg]
    _, traits, joined, _ = outcome
    twins = _pairs(traits, ("last_name", "date_of_birth"), "first_name")
    assert len(twins) >= 3, "the generator should have made twins"
    assert not twins & {frozenset(p) for p in joined}


def test_namesakes_stay_apart(outcome: tuple) -> None:  # type: ignore[type-arg]
    _, traits, joined, _ = outcome
    namesakes = _pairs(traits, ("first_name", "last_name"), "date_of_birth")
    assert len(namesakes) >= 3, "the generator should have made namesakes"
    assert not namesakes & {frozenset(p) for p in joined}


def test_probabilistic_links_join_records_of_one_person(outcome: tuple) -> None:  # type: ignore[type-arg]
    _, _, joined, _ = outcome
    # Every pair of look-alike records is linked (whether two records are one person cannot
    # depend on which came first); none of the active links joins two people.
    assert len(joined) >= 10
    assert [pair for pair in joined if pair[0] != pair[1]] == []
