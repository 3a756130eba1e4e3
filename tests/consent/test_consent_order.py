"""Consent does not depend on the order events arrive in (docs/architecture.md, invariant 3,
and "Consent"): the events of tests/order_independence.py, each deciding a few purposes on
days that tie often (the event id decides then), ingested whole into one store and shuffled
in batches into another, leave every identifier's profile with the same decisions."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identity.domain.consent import ConsentDecision, Purpose
from identity.domain.types import Identifier
from identity.store import GraphStore
from identity.store.sqlite import SqliteGraphStore
from tests.neo4j_fixtures import Neo4jAccess, empty_neo4j_store
from tests.order_independence import POOL, guarded_service, raw_events

consents = st.dictionaries(st.sampled_from([p.value for p in Purpose]), st.booleans(),
                           max_size=3)
consenting_events = raw_events.flatmap(lambda events: st.lists(
    consents, min_size=len(events), max_size=len(events)).map(
    lambda decided: [{**e, "consent": c} for e, c in zip(events, decided, strict=True)]))

Consent = dict[str, tuple[ConsentDecision, ...]]


async def consent_after(events: list[dict[str, object]], batch: int, store: GraphStore
                        ) -> Consent:
    """Ingests in batches of `batch`; each pool identifier's profile's decisions."""
    service = guarded_service(store)
    for start in range(0, len(events), batch):
        await service.ingest(events[start:start + batch])
    views = await service.profiles_by_identifier([Identifier(k, v) for k, v in POOL])
    return {f"{k}|{v}": view.consent for (k, v), view in zip(POOL, views, strict=True)
            if view is not None}


async def expected_and_shuffled(events: list[dict[str, object]], data: st.DataObject,
                                other: GraphStore) -> tuple[Consent, Consent]:
    shuffled = data.draw(st.permutations(events))
    batch = data.draw(st.integers(min_value=1, max_value=5))
    embedded = SqliteGraphStore(":memory:")
    expected = await consent_after(events, len(events), embedded)
    await embedded.close()
    return expected, await consent_after(list(shuffled), batch, other)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=consenting_events, data=st.data())
def test_consent_is_the_same_in_any_order_and_batches(events: list[dict[str, object]],
                                                      data: st.DataObject) -> None:
    async def run() -> None:
        other = SqliteGraphStore(":memory:")
        expected, found = await expected_and_shuffled(events, data, other)
        await other.close()
        assert found == expected
        decided = {purpose for e in events for purpose in e["consent"]}  # type: ignore[attr-defined]
        shown = {d.purpose.value for view in expected.values() for d in view}
        assert shown == decided  # every decision lands on some profile

    asyncio.run(run())


@pytest.mark.neo4j
@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(events=consenting_events, data=st.data())
def test_neo4j_reaches_the_embedded_stores_consent_in_any_order(
        neo4j_access: Neo4jAccess, events: list[dict[str, object]], data: st.DataObject
) -> None:
    async def run() -> None:
        async with empty_neo4j_store(neo4j_access) as store:
            expected, found = await expected_and_shuffled(events, data, store)
        assert found == expected

    asyncio.run(run())
