"""Read side: profiles and identifiers as callers see them, built in one read transaction,
or taken from the profile cache (profile_cache.py) when it holds them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import TypeVar

from identity.domain.consent import ConsentDecision, latest_decisions
from identity.domain.guards import held_kind
from identity.domain.identifiers import NormalizationRules, normalize_identifier
from identity.domain.links import Link
from identity.domain.resolution import GroupState
from identity.domain.survivorship import (
    GoldenField,
    Observation,
    OrderLine,
    OrderSummary,
    SurvivorshipRules,
    golden_record,
    summarize_orders,
)
from identity.domain.types import Identifier, ProfileId
from identity.service.profile_cache import ProfileCache, Ticket
from identity.service.retry import retry_on_conflict
from identity.store.errors import StoreConflict
from identity.store.protocol import (
    GraphStore,
    GraphTransaction,
    NodeRow,
    ProfileReading,
    StoredEvent,
)

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Member:
    """An identifier of a profile as readers see it (not the store's row): when it was seen,
    and why it no longer bridges profiles, if it is a hub."""

    identifier: Identifier
    first_seen: datetime
    last_seen: datetime
    hub_reason: str | None = None

    @classmethod
    def of(cls, row: NodeRow) -> Member:
        return cls(row.identifier, row.first_seen, row.last_seen, row.hub_reason)


@dataclass(frozen=True, slots=True)
class ProfileView:
    """A golden profile; `requested_id` differs from `profile_id` when it was merged away.
    Immutable all the way down: one view may answer many callers (the profile cache)."""

    profile_id: ProfileId
    requested_id: str
    created_at: datetime
    merged_ids: tuple[ProfileId, ...]
    identifiers: tuple[Member, ...]
    golden: Mapping[str, GoldenField]  # read-only: views are shared (the profile cache)
    orders: OrderSummary
    # (kind, limit) of each per-profile limit that holds a link at one of its identifiers:
    # a flag for stewards (on a weak kind, a bot's or a kiosk's chain; on a strong one, two
    # people who met, such as a household).
    limits_reached: tuple[tuple[str, int], ...] = ()
    # Bumped by every change to the profile: a front end's cache key (an ETag), and what
    # profileHistory lists (docs/architecture.md, "Steward operations"). 0: none recorded.
    version: int = 0
    # When the profile last changed: the time of its latest version (the version above).
    # None: no change recorded since versions were kept (version 0).
    updated_at: datetime | None = None
    # The latest consent decision per purpose among its identifiers' (domain/consent.py); a
    # purpose without one is not consented.
    consent: tuple[ConsentDecision, ...] = ()

    @property
    def first_seen(self) -> datetime:
        return min(n.first_seen for n in self.identifiers)

    @property
    def last_seen(self) -> datetime:
        return max(n.last_seen for n in self.identifiers)

    def identifiers_by_kind(self) -> dict[str, list[Member]]:
        grouped: dict[str, list[Member]] = defaultdict(list)
        for node in self.identifiers:
            grouped[node.identifier.kind].append(node)
        return dict(sorted(grouped.items()))


@dataclass(frozen=True, slots=True)
class IdentifierView:
    node: Member
    profile_id: ProfileId | None
    links: tuple[Link, ...]


class Queries:
    def __init__(self, store: GraphStore, rules: NormalizationRules,
                 survivorship: SurvivorshipRules, cache: ProfileCache) -> None:
        self._store = store
        self._cache = cache
        self._rules = rules
        self._survivorship = survivorship

    def normalize(self, kind: str, value: str) -> Identifier:
        """Raises InvalidIdentifier: a lookup uses the same normalization as ingest, and
        the same keyed hash when emails and phones are kept hashed (domain/pii_hashing.py)."""
        return self._rules.looked_up(normalize_identifier(kind, value, self._rules))

    def normalize_every_key(self, kind: str, value: str) -> tuple[Identifier, ...]:
        """As ingest links it: with PII hashing while a key is rotated, its hash under every
        key listed (domain/pii_hashing.py). Raises InvalidIdentifier."""
        return self._rules.linked(normalize_identifier(kind, value, self._rules))

    async def profiles(self, profile_ids: Sequence[str]) -> list[ProfileView | None]:
        """One result per id, in order; merged ids answer with their survivor
        (docs/architecture.md, invariant 2)."""
        return await self._cached(profile_ids, lambda pid: self._cache.view(ProfileId(pid)),
                                  self._read_profiles, self._cache.keep_views)

    async def profiles_by_identifier(
        self, identifiers: Sequence[Identifier]
    ) -> list[ProfileView | None]:
        """Identifiers of one profile share one view, built once."""
        return await self._cached(identifiers, self._cache.view_of, self._read_by_identifier,
                                  self._cache.keep_views)

    async def profile_ids(self, identifiers: Sequence[Identifier]) -> list[ProfileId | None]:
        """Just the current profile id per identifier: what a caller resolving at rate needs."""
        return await self._cached(identifiers, self._cache.profile_id, self._read_profile_ids,
                                  self._cache.keep_placements)

    async def _cached(self, keys: Sequence[K], cached: Callable[[K], V | None],
                      read: Callable[[list[K]], Awaitable[Mapping[K, V | None]]],
                      keep: Callable[[Ticket | None, Mapping[K, V | None]], None],
                      ) -> list[V | None]:
        """One answer per key, in order: from the cache where it holds one, the others read
        from the store in one transaction (retried on conflicts) and kept for next time."""
        await self._cache.catch_up()
        ticket = self._cache.ticket()
        found: dict[K, V | None] = {key: cached(key) for key in keys} if ticket else {}
        wanted = [key for key in dict.fromkeys(keys) if found.get(key) is None]
        if wanted:
            fresh = await retry_on_conflict(lambda: read(wanted))
            keep(ticket, fresh)
            found.update(fresh)
        return [found.get(key) for key in keys]

    async def _read_profiles(self, profile_ids: Sequence[str]) -> dict[str, ProfileView | None]:
        async with self._store.transaction(read_only=True) as tx:
            readings: dict[str, ProfileReading] = {
                r.row.requested_id: r for r in await tx.views.read_profiles(profile_ids)}
            missing = [pid for pid in profile_ids if pid not in readings]
            if missing and await tx.graph.lookup_profiles(missing):
                # a survivor relabelled mid-statement: "unknown id" must be certain
                raise StoreConflict("a profile was merged while it was being read")
            consents = await _consents(tx, readings.values())
        return {pid: self._view(readings[pid], consents) if pid in readings else None
                for pid in profile_ids}

    async def _read_by_identifier(self, identifiers: Sequence[Identifier]
                                  ) -> dict[Identifier, ProfileView]:
        async with self._store.transaction(read_only=True) as tx:
            readings = await tx.views.read_profiles_of(identifiers)
            consents = await _consents(tx, [r for r in readings.values() if r is not None])
        views: dict[ProfileId, ProfileView] = {}
        found: dict[Identifier, ProfileView] = {}
        for identifier, reading in readings.items():
            if reading is None:  # every node has a profile (invariant 1): a merge in flight
                raise StoreConflict("a profile was merged while it was being read")
            pid = reading.row.requested_id
            if pid not in views:
                views[pid] = self._view(reading, consents)
            found[identifier] = views[pid]
        return found

    async def _read_profile_ids(self, identifiers: Sequence[Identifier]
                                ) -> dict[Identifier, ProfileId]:
        async with self._store.transaction(read_only=True) as tx:
            found = await tx.views.profile_ids_of(identifiers)
        if None in found.values():  # every node has a profile (invariant 1): a merge in flight
            raise StoreConflict("a profile was merged while it was being read")
        return {i: pid for i, pid in found.items() if pid is not None}

    async def identifier(self, identifier: Identifier) -> IdentifierView | None:
        async def read() -> IdentifierView | None:
            async with self._store.transaction(read_only=True) as tx:
                entry = (await placed_nodes(tx, [identifier])).get(identifier)
                if entry is None:
                    return None
                links = await tx.graph.read_links([identifier])
            node, group = entry
            return IdentifierView(Member.of(node), group.profile_id, tuple(links))

        return await retry_on_conflict(read)

    async def links(self, identifiers: Sequence[Identifier]) -> list[list[Link]]:
        """The links touching each identifier, with their evidence, in input order."""
        async with self._store.transaction(read_only=True) as tx:
            links = await tx.graph.read_links(identifiers)
        touching: dict[Identifier, list[Link]] = defaultdict(list)
        for link in links:
            touching[link.a].append(link)
            touching[link.b].append(link)
        return [touching.get(identifier, []) for identifier in identifiers]

    def _view(self, reading: ProfileReading,
              consents: Mapping[Identifier, list[ConsentDecision]]) -> ProfileView:
        if not reading.members:
            raise StoreConflict("a profile was merged while it was being read")
        golden, orders = profile_data(reading.events, self._survivorship)
        reached = {found for reason in reading.held_reasons if (found := held_kind(reason))}
        row = reading.row
        return ProfileView(
            profile_id=row.profile_id,
            requested_id=row.requested_id,
            created_at=row.created_at,
            merged_ids=tuple(reading.merged_ids),
            identifiers=tuple(Member.of(m) for m in reading.members),
            golden=golden,
            orders=orders,
            limits_reached=tuple(sorted(reached)),
            version=reading.version,
            updated_at=reading.updated_at,
            consent=latest_decisions(d for m in reading.members
                                     for d in consents.get(m.identifier, ())),
        )

async def _consents(tx: GraphTransaction, readings: Iterable[ProfileReading]
                    ) -> dict[Identifier, list[ConsentDecision]]:
    """The consent decisions on the readings' members, in the read's transaction: one more
    query per read (docs/architecture.md, "Consent")."""
    found: dict[Identifier, list[ConsentDecision]] = defaultdict(list)
    members = sorted({m.identifier for r in readings for m in r.members})
    for row in await tx.consents.read_consents(members) if members else []:
        found[row.anchor].append(row.decision)
    return found


def profile_data(records: Sequence[StoredEvent], survivorship: SurvivorshipRules
                 ) -> tuple[Mapping[str, GoldenField], OrderSummary]:
    """The golden record and the orders the events of a profile's members make."""
    observations = [Observation(name, value, r.source, r.observed_at, r.event_id)
                    for r in records for name, value in r.traits]
    orders = [OrderLine(r.event_id, r.order.amount, r.order.currency, r.observed_at)
              for r in records if r.order is not None]
    return (MappingProxyType(golden_record(observations, survivorship)),
            summarize_orders(orders))


async def placed_nodes(
    tx: GraphTransaction, identifiers: Sequence[Identifier]
) -> dict[Identifier, tuple[NodeRow, GroupState]]:
    """Each known identifier's node and group (every node has one: docs/architecture.md,
    invariant 1). A store whose reads are not one snapshot (Neo4j reads committed data
    statement by statement) can show a node in a group that a concurrent merge has just
    deleted: a conflict, so the read is retried."""
    nodes = await tx.graph.find_identifiers(identifiers)
    groups = {g.group_id: g for g in await tx.graph.read_groups(
        [n.group_id for n in nodes if n.group_id is not None])}
    placed: dict[Identifier, tuple[NodeRow, GroupState]] = {}
    for node in nodes:
        group = groups.get(node.group_id) if node.group_id is not None else None
        if group is None:
            raise StoreConflict("a profile was merged while it was being read")
        placed[node.identifier] = (node, group)
    return placed
