"""Ingest: one batch in one transaction, idempotent on event_id (docs/architecture.md,
invariants 3 and 5).

Validation happens before the transaction, so a bad event is rejected with its field errors
and never aborts the rest of its batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from prometheus_client import Counter

from identity.domain.changes import ChangeKind, ProfileChange
from identity.domain.errors import FieldError, ValidationError
from identity.domain.events import MAX_CLOCK_SKEW, Event, IgnoredIdentifier, parse_event
from identity.domain.guards import GraphRules
from identity.domain.identifiers import MAX_VALUE_LENGTH, NormalizationRules, printable
from identity.domain.types import EventId, ProfileId
from identity.service.batch import Applied, apply_batch
from identity.service.change_feed import DEFAULT_RETENTION, ChangeRetention, ChangeSignal
from identity.service.change_sinks import ChangeSink
from identity.service.erasure import Suppression, trim
from identity.service.group_commit import GroupCommit, commit_parts
from identity.service.history import record_changes
from identity.service.matching import GraphSize, Matcher
from identity.service.profile_cache import ProfileCache
from identity.service.retry import retry_on_conflict
from identity.store.protocol import GraphStore, GraphTransaction

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
    created: bool = False  # the event made `profile_id`: none of its identifiers had one
    warnings: tuple[FieldError, ...] = ()  # accepted in another form (an unknown order value)


def utc_now() -> datetime:
    return datetime.now(UTC)


def _raw_event_id(raw: object) -> str | None:
    """As the caller sent it, for the result of an event rejected before it had an id:
    bounded and escaped, like every value a result shows back."""
    value = None
    if isinstance(raw, Mapping):  # ours, or Segment's (domain/segment.py)
        value = raw.get("event_id", raw.get("eventId", raw.get("messageId")))
    if not isinstance(value, str) or not value.strip():
        return None
    return printable(value.strip(), MAX_VALUE_LENGTH)


PARSE_INLINE = 16  # events a request may hold and still be validated on the event loop
_PARSER = ThreadPoolExecutor(1, thread_name_prefix="ingest-parse")


class Ingestor:
    def __init__(self, store: GraphStore, rules: NormalizationRules, sink: ChangeSink,
                 clock: Clock = utc_now, graph_rules: GraphRules | None = None,
                 matcher: Matcher | None = None,
                 change_retention: timedelta = DEFAULT_RETENTION,
                 cache: ProfileCache | None = None, strict: bool = False,
                 size: GraphSize | None = None,
                 max_clock_skew: timedelta = MAX_CLOCK_SKEW,
                 suppression: Suppression | None = None) -> None:
        """`strict`: reject an event for a malformed identifier or a missing order amount
        instead of accepting it without (every call; a call may also ask for it).
        `max_clock_skew`: how far ahead of this server's clock an event may be dated.
        `suppression`: the erased identifiers every event is checked against."""
        self._suppression = suppression
        # What suppression did to events of a commit (refused: errors; trimmed: warnings),
        # by event id, until the call that sent them reads it (_commit to ingest).
        self._trimmed: dict[str, tuple[IngestStatus, tuple[FieldError, ...]]] = {}
        self._store = store
        self._cache = cache if cache is not None else ProfileCache(0, store)
        self._rules = rules
        self._graph_rules = graph_rules or GraphRules()
        self._sink = sink
        self._clock = clock
        self._matcher = matcher
        self._size = size or GraphSize()
        self._strict = strict
        self._max_clock_skew = max_clock_skew
        self._group = GroupCommit(lambda events: retry_on_conflict(lambda: self._commit(events)))
        self._retention = ChangeRetention(store, change_retention)
        self.committed = ChangeSignal()  # the change feed's watchers wait on it

    def _parse(self, raw_events: Sequence[object], strict: bool, received_at: datetime
               ) -> tuple[list[IngestResult], list[Event]]:
        results: list[IngestResult] = []
        fresh: list[Event] = []
        in_batch: set[str] = set()
        for index, raw in enumerate(raw_events):
            try:
                event = parse_event(raw, self._rules, strict=strict, received_at=received_at,
                                    max_clock_skew=self._max_clock_skew)
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
                                        ignored=event.ignored, warnings=event.warnings))
        return results, fresh

    async def _commit(self, fresh: list[Event]) -> dict[EventId, Applied | None]:
        """One transaction for the batch: all of it lands, or none of it and it is retried.
        Its changes are logged in it, last: durable exactly when their events are, and on
        Neo4j the change log's lock is held for the commit only."""
        now = self._clock()
        touched: frozenset[ProfileId] = frozenset()
        filed = 0
        key = await self._suppression.key() if self._suppression is not None else b""
        try:
            async with self._store.transaction() as tx:
                seen = await tx.events.seen_event_ids([e.event_id for e in fresh])
                unseen = await self._suppressed_out(
                    tx, key, [e for e in fresh if e.event_id not in seen])
                matcher = self._matcher
                if matcher is not None:  # its prior follows the graph's size
                    matcher = matcher.at_size(await self._size.records(tx.matches))
                batch = await apply_batch(tx, unseen,
                                          now, self._graph_rules, matcher)
                touched, filed = batch.touched, batch.filed
                applied = batch.events
                changes = list(batch.changes)
                await record_changes(tx, changes, touched=touched)
        finally:
            # Before anyone hears of the commit; also when committing failed, as a failed
            # commit may still have landed.
            self._cache.evict(touched)
        self._size.filed(filed)
        await self._published(changes)
        return {e.event_id: applied.get(e.event_id) for e in fresh}

    async def _suppressed_out(self, tx: GraphTransaction, key: bytes, events: list[Event]
                              ) -> list[Event]:
        """Erased identifiers never come back (docs/architecture.md, "Erasure and access"):
        the events without them (erasure.py: trim), checked in the transaction that would
        write them, one lookup for all its events. What was refused or trimmed is kept for
        the calls that sent them."""
        if self._suppression is None or not events:
            return events
        if self._trimmed:  # a retried commit decides again
            for event in events:
                self._trimmed.pop(event.event_id, None)
        hit = await self._suppression.suppressed(
            tx, key, {identifier for event in events for identifier in event.identifiers})
        if not hit:
            return events
        kept, refused, warned = trim(events, hit)
        self._trimmed.update((event_id, (IngestStatus.REJECTED, errors))
                             for event_id, errors in refused.items())
        self._trimmed.update((event_id, (IngestStatus.ACCEPTED, warnings))
                             for event_id, warnings in warned.items())
        return kept

    def _suppression_of(self, result: IngestResult) -> IngestResult:
        """An accepted result as suppression left its event: refused, or with warnings."""
        if result.status is not IngestStatus.ACCEPTED or result.event_id not in self._trimmed:
            return result
        status, said = self._trimmed.pop(result.event_id)
        if status is IngestStatus.REJECTED:
            return IngestResult(result.index, result.event_id, status, errors=said)
        return replace(result, warnings=(*result.warnings, *said))

    async def announce(self, changes: Sequence[ProfileChange],
                       touched: frozenset[ProfileId]) -> None:
        """What another writer of the graph (a steward's action) does after its commit, as a
        batch does: forget the cached views, wake the change feed, publish the changes."""
        self._cache.evict(touched)
        await self._published(changes)

    async def _published(self, changes: Sequence[ProfileChange]) -> None:
        """After a commit (the cache told first): wake the change feed, publish."""
        if changes:
            self.committed.notify()
            await self._sink.publish(changes)

    async def ingest(self, raw_events: Sequence[object], *, strict: bool = False
                     ) -> list[IngestResult]:
        """Returns after the batch has committed: an accepted event is durable
        (docs/architecture.md, invariant 5)."""
        received_at = self._clock()  # one reading for the request, when it arrived
        if len(raw_events) > PARSE_INLINE:
            # Validation is pure CPU (emails, phones, Unicode): a big batch is read in a
            # worker thread, so the event loop goes on serving other requests meanwhile;
            # one thread, so parsing requests never crowd the loop out of the GIL.
            results, fresh = await asyncio.get_running_loop().run_in_executor(
                _PARSER, self._parse, raw_events, strict or self._strict, received_at)
        else:
            results, fresh = self._parse(raw_events, strict or self._strict, received_at)
        outcome: dict[EventId, Applied | None] = {}
        # Part by part (the loop runs between them); a part that fails ends the request with
        # its error, and the parts before it stay committed: their events are durable, and
        # a retry reports them as duplicates.
        try:
            for part in commit_parts(fresh) if fresh else []:
                applied_part = await self._group.submit(part)
                outcome.update(applied_part)
                if any(applied and applied.changes for applied in applied_part.values()):
                    await self._retention.prune_if_due(self._clock())
                    self._cache.evict(())  # the pruning's commit, if any, touched no profile
            settled = [_settle(self._suppression_of(result), outcome) for result in results]
        finally:
            if self._trimmed:  # a part that failed leaves its verdicts unread
                for event in fresh:
                    self._trimmed.pop(event.event_id, None)
        for result in settled:
            EVENTS.labels(status=result.status.value).inc()
        return settled


def _settle(
    result: IngestResult,
    outcome: dict[EventId, Applied | None],
) -> IngestResult:
    if result.status is not IngestStatus.ACCEPTED:
        return result
    settled = outcome[EventId(result.event_id or "")]
    if settled is None:
        return IngestResult(result.index, result.event_id, IngestStatus.DUPLICATE)
    created = any(c.kind is ChangeKind.CREATED and c.profile_id == settled.profile_id
                  for c in settled.changes)
    return replace(result, profile_id=settled.profile_id, merged_ids=settled.merged_ids,
                   created=created)
