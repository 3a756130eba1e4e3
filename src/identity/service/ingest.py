"""Ingest: one batch in one transaction, idempotent on event_id (DESIGN §2.3, §2.5).

Validation happens before the transaction, so a bad event is rejected with its field errors
and never aborts the rest of its batch.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from prometheus_client import Counter

from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.errors import FieldError, ValidationError
from identity.domain.events import Event, IgnoredIdentifier, parse_event
from identity.domain.guards import HubRules, hub_reason
from identity.domain.identifiers import NormalizationRules
from identity.domain.links import LinkObservation, anchor, plan_links
from identity.domain.resolution import components, plan_merge, plan_split
from identity.domain.types import EventId, Identifier, ProfileId
from identity.service.changes import ChangeSink
from identity.service.retry import retry_on_conflict
from identity.store.protocol import EventRecord, GraphStore, GraphTransaction, NodeRow

Clock = Callable[[], datetime]

EVENTS = Counter("identity_events_total", "Events ingested, by outcome", ["status"])


class IngestStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class IngestResult:
    """One per input event, in input order; `profile_id` is where the event's identifiers live."""

    index: int
    event_id: str | None
    status: IngestStatus
    profile_id: ProfileId | None = None
    merged_ids: tuple[ProfileId, ...] = ()
    errors: tuple[FieldError, ...] = ()
    ignored: tuple[IgnoredIdentifier, ...] = ()


def new_profile_id() -> ProfileId:
    """Random, so no id is ever reused, even across stores restored from backups (§2.2)."""
    return ProfileId(f"prf_{uuid.uuid4().hex}")


def utc_now() -> datetime:
    return datetime.now(UTC)


def _raw_event_id(raw: object) -> str | None:
    value = raw.get("event_id") if isinstance(raw, Mapping) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True, slots=True)
class _Applied:
    profile_id: ProfileId
    merged_ids: tuple[ProfileId, ...]
    changes: tuple[ProfileChange, ...]


@dataclass(frozen=True, slots=True)
class _Joined:
    profile_id: ProfileId
    merged_ids: tuple[ProfileId, ...]
    change: ProfileChange | None


async def _new_hubs(
    tx: GraphTransaction, links: list[LinkObservation], hubs: set[Identifier], rules: HubRules
) -> dict[Identifier, str]:
    """Only nodes that just gained a link to a watched kind can have crossed a limit."""
    candidates = sorted({
        node for link in links for node, other in ((link.a, link.b), (link.b, link.a))
        if node not in hubs and rules.watches(other.kind) and other.kind != node.kind
    })
    if not candidates:
        return {}
    neighbors: dict[Identifier, list[Identifier]] = defaultdict(list)
    for node, neighbor in await tx.read_neighbors(candidates, rules.kinds, rules.kind_prefixes):
        neighbors[node].append(neighbor)
    found = {node: hub_reason(node, neighbors[node], rules) for node in candidates}
    return {node: reason for node, reason in found.items() if reason is not None}


async def _split(
    tx: GraphTransaction, group_ids: set[int], event: Event, now: datetime
) -> list[ProfileChange]:
    """Recomputes the components of the profiles a new hub held, and only those (§2)."""
    changes: list[ProfileChange] = []
    for group in await tx.read_groups(sorted(group_ids)):
        members = await tx.read_members([group.group_id])
        inside = {m.identifier for m in members}
        edges = [(link.a, link.b) for link in await tx.read_links(sorted(inside))
                 if link.is_active and link.a in inside and link.b in inside]
        parts = plan_split([(m.identifier, m.first_seen) for m in members], edges)
        carved: list[ProfileId] = []
        for part in parts[1:]:
            new_group = await tx.create_group(new_profile_id(), now)
            await tx.assign_members(part, new_group.group_id)
            carved.append(new_group.profile_id)
        if carved:
            changes.append(ProfileChange(ChangeKind.SPLIT, group.profile_id, event.event_id, now,
                                         split_ids=tuple(carved)))
    return changes


async def _join(
    tx: GraphTransaction, nodes: list[NodeRow], event: Event, now: datetime, *, is_anchor: bool
) -> _Joined:
    """Folds every profile that one connected part of the event touches into one."""
    group_ids = sorted({n.group_id for n in nodes if n.group_id is not None})
    newcomers = [n.identifier for n in nodes if n.group_id is None]
    change: ProfileChange | None = None
    merged: tuple[ProfileId, ...] = ()
    if not group_ids:
        group = await tx.create_group(new_profile_id(), now)
        container, survivor = group.group_id, group.profile_id
        change = ProfileChange(ChangeKind.CREATED, survivor, event.event_id, now)
    elif len(group_ids) == 1:
        (group,) = await tx.read_groups(group_ids)
        container, survivor = group.group_id, group.profile_id
        if newcomers or (is_anchor and (event.traits or event.order)):
            change = ProfileChange(ChangeKind.UPDATED, survivor, event.event_id, now)
    else:
        plan = plan_merge(await tx.read_groups(group_ids))
        await tx.move_members(plan.absorbed_groups, plan.container)
        await tx.relabel_group(plan.container, plan.survivor, plan.absorbed_profiles)
        container, survivor, merged = plan.container, plan.survivor, plan.absorbed_profiles
        change = ProfileChange(ChangeKind.MERGED, survivor, event.event_id, now, merged)
    if newcomers:
        await tx.assign_members(newcomers, container)
    return _Joined(survivor, merged, change)


def _hub_link_reason(hub: Identifier, reason: str) -> str:
    return f"{hub.kind} {hub.value} stopped bridging: {reason}"


def _guarded(link: LinkObservation, hubs: dict[Identifier, str]) -> LinkObservation:
    """A link to a known hub is born inactive, with the reason (DESIGN §2.7)."""
    for end in (link.a, link.b):
        if end in hubs:
            return replace(link, inactive_reason=_hub_link_reason(end, hubs[end]))
    return link


async def _apply(tx: GraphTransaction, event: Event, now: datetime, rules: HubRules) -> _Applied:
    """Links the event's identifiers, guards against hubs, then joins what is connected."""
    nodes = await tx.find_identifiers(event.identifiers)  # upserted and locked by _commit
    hubs = {n.identifier: n.hub_reason or "" for n in nodes if n.hub_reason}
    links = [_guarded(link, hubs) for link in
             plan_links(event.identifiers, event.event_id, event.source, event.timestamp)]
    await tx.add_links(links)
    changes: list[ProfileChange] = []
    new_hubs = await _new_hubs(tx, links, set(hubs), rules)
    for hub, reason in sorted(new_hubs.items()):
        await tx.deactivate_links([hub], _hub_link_reason(hub, reason))
    if new_hubs:
        await tx.mark_hubs(sorted(new_hubs.items()))
        hubs.update(new_hubs)
        held = {n.group_id for n in nodes if n.identifier in new_hubs and n.group_id is not None}
        changes += await _split(tx, held, event, now)
        nodes = await tx.find_identifiers(event.identifiers)
    by_identifier = {n.identifier: n for n in nodes}
    active = [(link.a, link.b) for link in links if link.a not in hubs and link.b not in hubs]
    main = anchor(event.identifiers)
    joined: _Joined | None = None
    for part in components(event.identifiers, active):
        outcome = await _join(tx, [by_identifier[i] for i in part], event, now,
                              is_anchor=main in part)
        if outcome.change is not None:
            changes.append(outcome.change)
        if main in part:
            joined = outcome
    assert joined is not None
    await tx.record_events([EventRecord(event.event_id, event.type.value, event.source,
                                        event.timestamp, main, event.traits, event.order)])
    return _Applied(joined.profile_id, joined.merged_ids, tuple(changes))


class Ingestor:
    def __init__(self, store: GraphStore, rules: NormalizationRules, sink: ChangeSink,
                 clock: Clock = utc_now, hub_rules: HubRules | None = None) -> None:
        self._store = store
        self._rules = rules
        self._hub_rules = hub_rules or HubRules()
        self._sink = sink
        self._clock = clock

    def _parse(self, raw_events: Sequence[object]) -> tuple[list[IngestResult], list[Event]]:
        results: list[IngestResult] = []
        fresh: list[Event] = []
        in_batch: set[str] = set()
        for index, raw in enumerate(raw_events):
            try:
                event = parse_event(raw, self._rules)
            except ValidationError as exc:
                results.append(IngestResult(index, _raw_event_id(raw), IngestStatus.REJECTED,
                                            errors=tuple(exc.errors)))
                continue
            if event.event_id in in_batch:
                results.append(IngestResult(index, event.event_id, IngestStatus.DUPLICATE))
                continue
            in_batch.add(event.event_id)
            fresh.append(event)
            results.append(IngestResult(index, event.event_id, IngestStatus.ACCEPTED,
                                        ignored=event.ignored))
        return results, fresh

    async def _commit(self, fresh: list[Event]) -> dict[EventId, _Applied | None]:
        """One transaction for the batch: all of it lands, or none of it and it is retried."""
        outcome: dict[EventId, _Applied | None] = {}
        now = self._clock()
        async with self._store.transaction() as tx:
            seen = await tx.seen_event_ids([e.event_id for e in fresh])
            new = [e for e in fresh if e.event_id not in seen]
            # Every node of the batch first, in one sorted pass: first/last seen fold in
            # any order, and the node locks are taken in one global order (no deadlocks).
            await tx.upsert_identifiers(sorted(
                (identifier, e.timestamp) for e in new for identifier in e.identifiers))
            for event in fresh:
                if event.event_id in seen:
                    outcome[event.event_id] = None
                    continue
                outcome[event.event_id] = await _apply(tx, event, now, self._hub_rules)
        return outcome

    async def ingest(self, raw_events: Sequence[object]) -> list[IngestResult]:
        """Returns after the batch has committed: an accepted event is durable (§2.5)."""
        results, fresh = self._parse(raw_events)
        outcome: dict[EventId, _Applied | None] = {}
        if fresh:
            outcome = await retry_on_conflict(lambda: self._commit(fresh))
        changes = [c for applied in outcome.values() if applied for c in applied.changes]
        if changes:
            await self._sink.publish(changes)
        settled = [_settle(result, outcome) for result in results]
        for result in settled:
            EVENTS.labels(status=result.status.value).inc()
        return settled


def _settle(
    result: IngestResult,
    outcome: dict[EventId, _Applied | None],
) -> IngestResult:
    if result.status is not IngestStatus.ACCEPTED:
        return result
    settled = outcome[EventId(result.event_id or "")]
    if settled is None:
        return IngestResult(result.index, result.event_id, IngestStatus.DUPLICATE)
    return IngestResult(result.index, result.event_id, result.status, settled.profile_id,
                        settled.merged_ids, ignored=result.ignored)
