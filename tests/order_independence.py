"""The order-independence property with every guard at work, for any store.

Events draw on a small pool of identifiers (three accounts, so limits and hubs trip), carry
person traits that link records (Ann, Anne), veto them (Beatrice, Ann's twin) or do neither
(Bob), and are stamped over a month, so a shuffled delivery brings old events late. The
partition of the pool, checked against every invariant the store can show, must not depend on
the order or the batches the events come in (docs/architecture.md, invariants 3 and 7).
"""

from __future__ import annotations

from hypothesis import strategies as st

from identity.domain.guards import GraphRules, HubRules, ProfileLimits
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.types import Identifier
from identity.service import IdentityService
from identity.service.matching import Matcher
from identity.store import GraphStore
from tests.builders import event, ident
from tests.invariants import partition_checked

POOL = [("customer_id", f"C-{i}") for i in range(3)] + [
    ("email", f"p{i}@shop.com") for i in range(4)] + [
    ("phone", "+14155552671"), ("phone", "+14155552672")] + [
    ("anonymous_id", f"c{i}") for i in range(4)] + [
    ("device_id", "tablet-1"), ("session_id", "s1"), ("session_id", "s2")]

# Tight limits, so a handful of events reaches them; hubs as built in.
RULES = GraphRules(HubRules(), ProfileLimits({
    "customer_id": 1, "email": 2, "phone": 1, "anonymous_id": 3, "device_id": 1,
    "session_id": 2}))

PEOPLE = [
    None,
    {"first_name": "Ann", "last_name": "Okafor", "date_of_birth": "1985-04-12"},
    {"first_name": "Anne", "last_name": "Okafor", "date_of_birth": "1985-04-12"},
    {"first_name": "Beatrice", "last_name": "Okafor", "date_of_birth": "1985-04-12"},
    {"first_name": "Bob", "last_name": "Jones", "date_of_birth": "1971-01-30"},
]

raw_events = st.lists(
    st.tuples(
        st.lists(st.sampled_from(POOL), min_size=1, max_size=3),
        st.integers(min_value=1, max_value=28),
        st.sampled_from(PEOPLE),
    ),
    min_size=1,
    max_size=14,
).map(lambda items: [
    event(*(ident(k, v) for k, v in ids), timestamp=f"2024-02-{day:02d}T00:00:00Z",
          source="web", traits=traits)
    for ids, day, traits in items
])


def guarded_service(store: GraphStore) -> IdentityService:
    return IdentityService(store, graph_rules=RULES, matcher=Matcher(DEFAULT_MODEL),
                           profile_cache=0)


async def partition_after(events: list[dict[str, object]], batch: int,
                          store: GraphStore) -> frozenset[frozenset[str]]:
    """Ingests in batches of `batch`, then reads the pool's partition, every invariant checked."""
    service = guarded_service(store)
    for start in range(0, len(events), batch):
        await service.ingest(events[start:start + batch])
    parts = await partition_checked(store, [Identifier(k, v) for k, v in POOL])
    return frozenset(frozenset(i.key for i in part) for part in parts)
