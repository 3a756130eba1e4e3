"""Real-time matching on a real Neo4j under concurrency: records that arrive at the same
moment, in separate transactions over separate drivers, still meet."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.types import Identifier
from identity.service import IdentityService, IngestStatus
from identity.service.matching import Matcher
from tests.builders import event, ident
from tests.invariants import partition_checked
from tests.neo4j_fixtures import Neo4jAccess, connect, empty_neo4j_store

pytestmark = pytest.mark.neo4j

SPELLINGS = ["Ann", "Anne", "Ann", "Anna", "ANN", "ann"]
ANN = {"last_name": "Okafor", "date_of_birth": "1990-03-04", "address_line1": "12 High Street",
       "city": "London", "postcode": "SW1A 1AA"}


async def test_records_arriving_at_once_are_all_compared(neo4j_access: Neo4jAccess) -> None:
    async with empty_neo4j_store(neo4j_access) as store:
        others = [await connect(neo4j_access) for _ in range(3)]
        services = [IdentityService(s, matcher=Matcher(DEFAULT_MODEL))
                    for s in [store, *others]]
        events = [event(ident("anonymous_id", f"c{i}"), traits={**ANN, "first_name": name})
                  for i, name in enumerate(SPELLINGS)]
        results = await asyncio.gather(*(service.ingest([e]) for service, e in zip(
            itertools.cycle(services), events, strict=False)))
        assert all(r.status is IngestStatus.ACCEPTED for (r,) in results)
        cookies = [Identifier("anonymous_id", f"c{i}") for i in range(len(SPELLINGS))]
        partition = await partition_checked(store, cookies)
        for other in others:
            await other.close()
    # Every record shares blocks with the others: a transaction filing a record into a block
    # waits for one filing into the same block, and then sees its record.
    assert partition == frozenset({frozenset(cookies)})
