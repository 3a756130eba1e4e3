"""Ingest: one batch in one transaction, idempotent on event_id (DESIGN §2.3, §2.5).

Validation happens before the transaction, so a bad event is rejected with its field errors
and never aborts the rest of its batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from prometheus_client import Counter

from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.errors import FieldError, ValidationError
from identity.domain.events import Event, IgnoredIdentifier, parse_event
from identity.domain.identifiers import NormalizationRules
from identity.domain.links import anchor, plan_links
from identity.domain.resolution import plan_merge
from identity.domain.types import EventId, ProfileId
from identity.service.changes import ChangeSink
from identity.store.protocol import EventRecord, GraphStore, GraphTransaction

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
    change: ProfileChange | None


async def _apply(tx: GraphTransaction, event: Event, now: datetime) -> _Applied:
    """Links the event's identifiers and folds every profile they touch into one."""
    nodes = await tx.upsert_identifiers(event.identifiers, event.timestamp)
    await tx.add_links(plan_links(event.identifiers, event.event_id, event.source, event.timestamp))
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
        if newcomers or event.traits or event.order:
            change = ProfileChange(ChangeKind.UPDATED, survivor, event.event_id, now)
    else:
        plan = plan_merge(await tx.read_groups(group_ids))
        await tx.move_members(plan.absorbed_groups, plan.container)
        await tx.relabel_group(plan.container, plan.survivor, plan.absorbed_profiles)
        container, survivor, merged = plan.container, plan.survivor, plan.absorbed_profiles
        change = ProfileChange(ChangeKind.MERGED, survivor, event.event_id, now,
                               plan.absorbed_profiles)
    if newcomers:
        await tx.assign_members(newcomers, container)
    await tx.record_events([EventRecord(event.event_id, event.type.value, event.source,
                                        event.timestamp, anchor(event.identifiers),
                                        event.traits, event.order)])
    return _Applied(survivor, merged, change)


class Ingestor:
    def __init__(self, store: GraphStore, rules: NormalizationRules, sink: ChangeSink,
                 clock: Clock = utc_now) -> None:
        self._store = store
        self._rules = rules
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

    async def ingest(self, raw_events: Sequence[object]) -> list[IngestResult]:
        """Returns after the batch has committed: an accepted event is durable (§2.5)."""
        results, fresh = self._parse(raw_events)
        outcome: dict[EventId, _Applied | None] = {}
        changes: list[ProfileChange] = []
        if fresh:
            now = self._clock()
            async with self._store.transaction() as tx:
                seen = await tx.seen_event_ids([e.event_id for e in fresh])
                for event in fresh:
                    if event.event_id in seen:
                        outcome[event.event_id] = None
                        continue
                    applied = outcome[event.event_id] = await _apply(tx, event, now)
                    if applied.change is not None:
                        changes.append(applied.change)
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
