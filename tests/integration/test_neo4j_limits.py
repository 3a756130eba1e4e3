"""Per-profile limits on the production store: the same partition as the embedded store,
whatever the arrival order (docs/architecture.md, invariants 3 and 7)."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from identity.store.sqlite import SqliteGraphStore
from tests.neo4j_fixtures import Neo4jAccess, empty_neo4j_store
from tests.order_independence import partition_after, raw_events

pytestmark = pytest.mark.neo4j


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(events=raw_events, data=st.data())
def test_neo4j_reaches_the_embedded_stores_partition_in_any_order(
    neo4j_access: Neo4jAccess, events: list[dict[str, object]], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(events))
    batch = data.draw(st.integers(min_value=1, max_value=5))

    async def run() -> None:
        embedded = SqliteGraphStore(":memory:")
        expected = await partition_after(events, len(events), embedded)
        await embedded.close()
        async with empty_neo4j_store(neo4j_access) as store:
            assert await partition_after(list(shuffled), batch, store) == expected

    asyncio.run(run())
